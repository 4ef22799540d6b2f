#include "chat_view.h"

#include "code_highlighter.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextBrowser>
#include <QTextCursor>
#include <QTimer>
#include <QVBoxLayout>

namespace folio::ui {

namespace {

// Ctrl+Enter sends the question; Enter alone starts a new line.
class QuestionEdit : public QPlainTextEdit {
public:
    std::function<void()> onSubmit;
    using QPlainTextEdit::QPlainTextEdit;

protected:
    void keyPressEvent(QKeyEvent* e) override {
        if ((e->key() == Qt::Key_Return || e->key() == Qt::Key_Enter) && (e->modifiers() & Qt::ControlModifier)) {
            if (onSubmit) onSubmit();
            return;
        }
        QPlainTextEdit::keyPressEvent(e);
    }
};

// Markdown-escapes the few characters that would change a link's label.
QString escapeLabel(const QString& s) {
    QString out;
    for (QChar c : s) {
        if (c == QLatin1Char('[') || c == QLatin1Char(']') || c == QLatin1Char('*') || c == QLatin1Char('_'))
            out += QLatin1Char('\\');
        out += c;
    }
    return out;
}

} // namespace

ChatView::ChatView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("chatPage"));
    auto* layout = new QVBoxLayout(this);
    browser_ = new QTextBrowser(this);
    browser_->setObjectName(QStringLiteral("chatView"));
    browser_->setOpenLinks(false);
    browser_->setPlaceholderText(tr("Ask about the sources once the context is prefilled. Citations in answers "
                                    "open the source at the cited place."));
    highlighter_ = new CodeHighlighter(browser_->document());
    layout->addWidget(browser_, 1);

    auto* row = new QHBoxLayout;
    auto* edit = new QuestionEdit(this);
    edit->onSubmit = [this] { submit(); };
    input_ = edit;
    input_->setObjectName(QStringLiteral("questionEdit"));
    input_->setPlaceholderText(tr("Question (Ctrl+Enter to ask)"));
    input_->setMaximumHeight(90);
    row->addWidget(input_, 1);
    auto* buttons = new QVBoxLayout;
    mode_ = new QComboBox(this);
    mode_->setObjectName(QStringLiteral("modeCombo"));
    mode_->addItem(tr("Chat"));
    mode_->addItem(tr("Thinking"));
    ask_ = new QPushButton(tr("Ask"), this);
    ask_->setObjectName(QStringLiteral("askButton"));
    stop_ = new QPushButton(tr("Stop"), this);
    stop_->setObjectName(QStringLiteral("stopButton"));
    stop_->setShortcut(QKeySequence(Qt::Key_Escape));
    buttons->addWidget(mode_);
    buttons->addWidget(ask_);
    buttons->addWidget(stop_);
    row->addLayout(buttons);
    layout->addLayout(row);

    connect(ask_, &QPushButton::clicked, this, &ChatView::submit);
    connect(stop_, &QPushButton::clicked, this, &ChatView::stopRequested);
    connect(browser_, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        // folio-cite:<entry>/<citation>
        const QStringList parts = url.path().split(QLatin1Char('/'));
        if (url.scheme() == QLatin1String("folio-cite") && parts.size() == 2)
            activateCitation(parts[0].toInt(), parts[1].toInt());
    });
    renderTimer_ = new QTimer(this);
    renderTimer_->setSingleShot(true);
    renderTimer_->setInterval(40); // streamed tokens are drawn at most 25 times a second
    connect(renderTimer_, &QTimer::timeout, this, &ChatView::render);
    setBusy(false);
    setReady(false);
}

ChatView::~ChatView() = default;

void ChatView::setContext(std::shared_ptr<const ingest::PackedContext> packed) {
    packed_ = std::move(packed);
    resolver_ = packed_ ? std::make_unique<ingest::CitationResolver>(packed_->documents) : nullptr;
    for (Entry& e : entries_) resolve(e);
    render();
}

void ChatView::clear() {
    entries_.clear();
    render();
}

void ChatView::resolve(Entry& e) const {
    if (e.user || !resolver_) return;
    e.citations = resolver_->scan(e.text.toStdString());
}

void ChatView::addQuestion(const QString& text) {
    entries_.push_back({true, text, {}, false});
    render();
}

void ChatView::addAnswer(const QString& text, const QString& reasoning) {
    Entry e{false, text, {}, false, reasoning};
    resolve(e);
    entries_.push_back(std::move(e));
    render();
}

void ChatView::beginAnswer() {
    entries_.push_back({false, QString(), {}, false});
    render();
}

void ChatView::appendToAnswer(const QString& piece) {
    if (entries_.empty() || entries_.back().user) beginAnswer();
    entries_.back().text += piece;
    if (!renderTimer_->isActive()) renderTimer_->start();
}

void ChatView::finishAnswer(const QString& fullText, bool stopped, const QString& reasoning) {
    if (entries_.empty() || entries_.back().user) beginAnswer();
    Entry& e = entries_.back();
    e.text = fullText;
    e.stopped = stopped;
    e.reasoning = reasoning;
    resolve(e);
    renderTimer_->stop();
    render();
}

void ChatView::setBusy(bool busy) {
    busy_ = busy;
    ask_->setEnabled(!busy_ && ready_);
    stop_->setEnabled(busy_);
}

void ChatView::setReady(bool ready) {
    ready_ = ready;
    setBusy(busy_);
}

void ChatView::submit() {
    const QString q = input_->toPlainText().trimmed();
    if (q.isEmpty() || busy_ || !ready_) return;
    input_->clear();
    emit askRequested(q, mode_->currentIndex() == 1);
}

void ChatView::activateCitation(int entry, int i) {
    if (entry < 0 || entry >= int(entries_.size())) return;
    const Entry& e = entries_[std::size_t(entry)];
    if (i < 0 || i >= int(e.citations.size())) return;
    emit citationActivated(e.citations[std::size_t(i)]);
}

void ChatView::render() {
    // Each entry is parsed on its own (insertMarkdown per entry), so that whatever one answer holds
    // (an unclosed fence, a stray "<", a half link) cannot change how the others read.
    QScrollBar* bar = browser_->verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 4;
    browser_->document()->clear();
    QTextCursor cursor(browser_->document());
    for (std::size_t n = 0; n < entries_.size(); ++n) {
        const Entry& e = entries_[n];
        QString md;
        if (e.user) {
            md = QStringLiteral("**You:** ") + e.text.toHtmlEscaped();
        } else {
            md = QStringLiteral("**Folio:**\n\n");
            if (!e.reasoning.isEmpty()) {
                QString quoted;
                for (const QString& line : e.reasoning.split(QLatin1Char('\n')))
                    quoted += QStringLiteral("> ") + line.toHtmlEscaped() + QLatin1Char('\n');
                md += QStringLiteral("> *Reasoning*\n>\n") + quoted + QLatin1Char('\n');
            }
            // Citations become links (by byte offset in the UTF-8 text they were scanned in).
            const QByteArray utf8 = e.text.toUtf8();
            QByteArray out;
            std::size_t at = 0;
            for (std::size_t c = 0; c < e.citations.size(); ++c) {
                const ingest::Citation& cit = e.citations[c];
                if (cit.offset < at || cit.offset + cit.length > std::size_t(utf8.size())) continue;
                out += utf8.mid(qsizetype(at), qsizetype(cit.offset - at));
                const QString label = escapeLabel(QString::fromStdString(cit.text));
                const QString scheme = cit.resolved ? QStringLiteral("folio-cite") : QStringLiteral("folio-unresolved");
                out += QStringLiteral("[%1](%2:%3/%4)").arg(label, scheme).arg(n).arg(c).toUtf8();
                at = cit.offset + cit.length;
            }
            out += utf8.mid(qsizetype(at));
            // An answer cut off (or streamed) inside a code fence is closed.
            if (out.count("```") % 2 == 1) out += "\n```";
            md += QString::fromUtf8(out);
            if (e.stopped) md += QStringLiteral("\n\n*(stopped)*");
        }
        if (n > 0) cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        cursor.insertMarkdown(md);
        cursor.movePosition(QTextCursor::End);
    }

    // Unresolved citations: error colour, struck through, the reason as tooltip; they are not
    // links (nothing to open).
    QTextDocument* doc = browser_->document();
    for (QTextBlock b = doc->begin(); b.isValid(); b = b.next())
        for (auto it = b.begin(); !it.atEnd(); ++it) {
            const QTextFragment f = it.fragment();
            const QString href = f.charFormat().anchorHref();
            if (!href.startsWith(QLatin1String("folio-unresolved:"))) continue;
            const QStringList parts = href.mid(17).split(QLatin1Char('/'));
            QString why;
            if (parts.size() == 2) {
                const std::size_t en = std::size_t(parts[0].toInt()), cn = std::size_t(parts[1].toInt());
                if (en < entries_.size() && cn < entries_[en].citations.size())
                    why = QString::fromStdString(entries_[en].citations[cn].error);
            }
            QTextCursor cur(doc);
            cur.setPosition(f.position());
            cur.setPosition(f.position() + f.length(), QTextCursor::KeepAnchor);
            QTextCharFormat fmt;
            fmt.setAnchor(false);
            fmt.setAnchorHref(QString());
            fmt.setForeground(QColor(0xc0, 0x39, 0x2b));
            fmt.setFontStrikeOut(true);
            fmt.setFontUnderline(false);
            fmt.setToolTip(tr("does not resolve: %1").arg(why));
            cur.mergeCharFormat(fmt);
        }
    if (atEnd) bar->setValue(bar->maximum());
}

} // namespace folio::ui
