// Shows the place a citation points at: the cited lines of a source file (line numbers, the lines
// marked and scrolled to), the cited page of a PDF (rendered with Poppler next to its text), or
// the cue of a transcript at the cited time.
#pragma once

#include "folio/ingest/citation_resolver.h"
#include "folio/ingest/document.h"

#include <QString>
#include <QWidget>
#include <memory>

class QLabel;
class QScrollArea;
class QSplitter;

namespace Poppler {
class Document;
}

namespace folio::ui {

class CodeHighlighter;
class CodeView;

class SourceViewer : public QWidget {
    Q_OBJECT
public:
    explicit SourceViewer(QWidget* parent = nullptr);
    ~SourceViewer() override;

    // Shows the span of `c` in `doc` (c.firstLine..c.lastLine for code and text, page c.pageIndex
    // for PDFs, the cue(s) at c.startMs for transcripts). `fileLocation` is the file on disk; it is
    // only read for PDFs (to render the page), and a PDF that cannot be opened there is shown as
    // its extracted text with a message naming the file. `doc` is not kept.
    void showCitation(const ingest::Document& doc, const ingest::Citation& c,
                      const QString& fileLocation);
    // The whole document from its start (the first page of a PDF).
    void showDocument(const ingest::Document& doc, const QString& fileLocation);

    // What is shown, for tests and the status bar.
    QString mode() const { return mode_; } // "text", "pdf", "transcript"; empty before the first
    int highlightedFirstLine() const;      // 1-based line of the shown text; 0 when none
    int highlightedLastLine() const;
    int cursorLine() const;                           // 1-based line of the text cursor
    int shownPageIndex() const { return pageIndex_; } // 0-based; -1 when no page is shown
    bool pageRendered() const { return pageRendered_; }
    QString headerText() const;

protected:
    void showEvent(QShowEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void showText(const ingest::Document& doc, int first, int last);
    void showPdf(const ingest::Document& doc, int pageIndex, const QString& fileLocation);
    void showTranscript(const ingest::Document& doc, std::int64_t startMs, std::int64_t endMs,
                        std::size_t beginByte, std::size_t endByte, bool timed);
    // Puts `text` into the view unless it is already there (large files are shown once).
    void setViewText(const ingest::Document& doc, const QString& key, const std::string& text);
    bool renderPage(int pageIndex, const QString& fileLocation, QString* error);
    void setNotice(const QString& text);

    QLabel* header_ = nullptr;
    QLabel* notice_ = nullptr;
    QSplitter* splitter_ = nullptr;
    QScrollArea* pageScroll_ = nullptr;
    QLabel* pageImage_ = nullptr;
    CodeView* view_ = nullptr;
    CodeHighlighter* highlighter_ = nullptr;

    QString mode_;
    QString viewKey_; // identifies the text in view_
    int pageIndex_ = -1;
    bool pageRendered_ = false;
    bool pendingReveal_ = false; // scroll to the mark once the widget has its real size
    QString pdfLocation_;        // the file pdf_ was opened from, and its time stamp then
    qint64 pdfStamp_ = 0;
    std::unique_ptr<Poppler::Document> pdf_;
};

} // namespace folio::ui
