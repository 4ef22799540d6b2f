// The conversation: questions and streamed answers rendered as Markdown (code blocks highlighted),
// citations turned into links that open the source viewer; citations that do not resolve against
// the session's sources are drawn struck through in the error colour, with the reason as tooltip.
#pragma once

#include "folio/ingest/citation_resolver.h"
#include "folio/ingest/packer.h"

#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QPlainTextEdit;
class QPushButton;
class QTextBrowser;
class QTimer;

namespace folio::ui {

class CodeHighlighter;

class ChatView : public QWidget {
    Q_OBJECT
public:
    struct Entry {
        bool user = false;
        QString text;
        std::vector<ingest::Citation> citations; // answers only
        bool stopped = false;
        QString reasoning; // thinking mode: shown above the answer, quoted
    };

    explicit ChatView(QWidget* parent = nullptr);
    ~ChatView() override;

    // The documents citations resolve against (the session's packed context).
    void setContext(std::shared_ptr<const ingest::PackedContext> packed);
    void clear();
    void addQuestion(const QString& text);
    void addAnswer(const QString& text, const QString& reasoning = {}); // a whole answer (a restored conversation)
    void beginAnswer();                        // streaming: an empty answer, then appendToAnswer
    void appendToAnswer(const QString& piece);
    void finishAnswer(const QString& fullText, bool stopped, const QString& reasoning = {});
    void setBusy(bool busy);                   // an answer is being generated: Ask off, Stop on
    void setReady(bool ready);                 // the context is prefilled: questions can be asked

    const std::vector<Entry>& entries() const { return entries_; }
    QTextBrowser* browser() const { return browser_; }
    // As if the user clicked citation `i` of entry `entry`.
    void activateCitation(int entry, int i);

signals:
    void askRequested(const QString& question, bool thinking);
    void stopRequested();
    void citationActivated(const folio::ingest::Citation& citation);

private:
    void render();
    void submit();
    void resolve(Entry& e) const;

    QTextBrowser* browser_ = nullptr;
    QPlainTextEdit* input_ = nullptr;
    QPushButton* ask_ = nullptr;
    QPushButton* stop_ = nullptr;
    QComboBox* mode_ = nullptr;
    QTimer* renderTimer_ = nullptr;
    CodeHighlighter* highlighter_ = nullptr;
    std::vector<Entry> entries_;
    std::shared_ptr<const ingest::PackedContext> packed_;
    std::unique_ptr<ingest::CitationResolver> resolver_;
    bool busy_ = false, ready_ = false;
};

} // namespace folio::ui
