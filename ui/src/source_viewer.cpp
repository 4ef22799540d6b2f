#include "source_viewer.h"

#include "code_highlighter.h"
#include "code_view.h"

#include <QDateTime>
#include <QFileInfo>
#include <QLabel>
#include <QPixmap>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <limits>
#include <poppler-qt6.h>

namespace folio::ui {

namespace {

// Files larger than this are shown without syntax colouring: QSyntaxHighlighter colours the whole
// document synchronously, which would stall the GUI on a huge generated file.
constexpr std::size_t kMaxHighlightBytes = 4u << 20;
constexpr double kPageDpi = 100.0;

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

// 1-based line of Document::text that holds byte `offset`.
int lineOfByte(const std::string& text, std::size_t offset) {
    offset = std::min(offset, text.size());
    return 1 + static_cast<int>(std::count(
                   text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

QString hhmmss(std::int64_t ms) {
    const std::int64_t s = std::max<std::int64_t>(0, ms) / 1000;
    return QStringLiteral("%1:%2:%3")
        .arg(s / 3600, 2, 10, QLatin1Char('0'))
        .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
        .arg(s % 60, 2, 10, QLatin1Char('0'));
}

} // namespace

SourceViewer::SourceViewer(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("sourceViewer"));

    header_ = new QLabel(this);
    header_->setObjectName(QStringLiteral("sourceHeader"));
    header_->setTextFormat(Qt::PlainText); // paths are not markup
    header_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    header_->setWordWrap(true);
    QFont bold = header_->font();
    bold.setBold(true);
    header_->setFont(bold);

    notice_ = new QLabel(this);
    notice_->setObjectName(QStringLiteral("sourceNotice"));
    notice_->setTextFormat(Qt::PlainText);
    notice_->setWordWrap(true);
    notice_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    notice_->hide();

    pageImage_ = new QLabel;
    pageImage_->setObjectName(QStringLiteral("sourcePageImage"));
    pageImage_->setAlignment(Qt::AlignCenter);
    pageScroll_ = new QScrollArea;
    pageScroll_->setObjectName(QStringLiteral("sourcePageScroll"));
    pageScroll_->setBackgroundRole(QPalette::Dark); // the page stands out in both themes
    pageScroll_->setAlignment(Qt::AlignHCenter | Qt::AlignTop);
    pageScroll_->setWidget(pageImage_);
    pageScroll_->hide();

    view_ = new CodeView;
    view_->setObjectName(QStringLiteral("sourceText"));
    highlighter_ = new CodeHighlighter(nullptr, CodeHighlighter::Mode::WholeDocument);
    highlighter_->setParent(this);

    splitter_ = new QSplitter(Qt::Horizontal, this);
    splitter_->addWidget(pageScroll_);
    splitter_->addWidget(view_);
    splitter_->setStretchFactor(0, 3);
    splitter_->setStretchFactor(1, 2);
    splitter_->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(header_);
    layout->addWidget(notice_);
    layout->addWidget(splitter_, 1);
}

SourceViewer::~SourceViewer() = default;

int SourceViewer::highlightedFirstLine() const {
    return view_->markedFirstLine();
}
int SourceViewer::highlightedLastLine() const {
    return view_->markedLastLine();
}
int SourceViewer::cursorLine() const {
    return view_->cursorLine();
}
QString SourceViewer::headerText() const {
    return header_->text();
}

void SourceViewer::setNotice(const QString& text) {
    notice_->setText(text);
    notice_->setVisible(!text.isEmpty());
}

void SourceViewer::setViewText(const ingest::Document& doc, const QString& key,
                               const std::string& text) {
    const bool code = doc.kind == ingest::DocumentKind::Code;
    const QString fullKey =
        key + QLatin1Char('\x1f') + QString::number(text.size()) + QLatin1Char('\x1f') +
        QString::number(qHash(QByteArrayView(text.data(), static_cast<qsizetype>(text.size()))));
    view_->setLineWrapMode(code ? QPlainTextEdit::NoWrap : QPlainTextEdit::WidgetWidth);
    if (fullKey == viewKey_) return;
    viewKey_ = fullKey;
    // Detached while the text goes in, so it is coloured once, after.
    highlighter_->setDocument(nullptr);
    view_->setPlainText(qs(text));
    if (code && text.size() <= kMaxHighlightBytes) {
        highlighter_->setLanguage(qs(doc.language));
        highlighter_->setDocument(view_->document());
    }
}

void SourceViewer::showText(const ingest::Document& doc, int first, int last) {
    mode_ = QStringLiteral("text");
    pageIndex_ = -1;
    pageRendered_ = false;
    pageScroll_->hide();
    view_->setLineNumbersVisible(true);
    setViewText(doc, QStringLiteral("text:") + qs(doc.path), doc.text);
    view_->markLines(first, last);
    pendingReveal_ = !isVisible();
}

void SourceViewer::showCitation(const ingest::Document& doc, const ingest::Citation& c,
                                const QString& fileLocation) {
    setNotice(c.resolved
                  ? QString()
                  : tr("The citation [%1] does not resolve: %2").arg(qs(c.text), qs(c.error)));
    const QString path = qs(doc.path);
    switch (doc.kind) {
    case ingest::DocumentKind::Pdf: {
        int page = c.pageIndex;
        if (page < 0) {
            // No page named: the page that holds the cited bytes, else the first.
            page = 0;
            for (const ingest::Page& p : doc.pages)
                if (c.beginByte >= p.begin && c.beginByte < p.end) page = p.index;
        }
        showPdf(doc, page, fileLocation);
        break;
    }
    case ingest::DocumentKind::Transcript:
        showTranscript(doc, c.startMs, c.endMs, c.beginByte, c.endByte, c.startMs >= 0);
        header_->setText(c.startMs >= 0 ? tr("%1 at %2").arg(path, hhmmss(c.startMs)) : path);
        break;
    case ingest::DocumentKind::Code:
    case ingest::DocumentKind::Prose:
        if (c.kind == ingest::CitationKind::Document || c.firstLine <= 0) {
            showText(doc, 0, 0);
            header_->setText(tr("%1 (whole file, %n line(s))", nullptr, doc.lineCount()).arg(path));
        } else {
            const int last = std::max(c.firstLine, c.lastLine);
            showText(doc, c.firstLine, last);
            header_->setText(last == c.firstLine
                                 ? tr("%1, line %2").arg(path).arg(c.firstLine)
                                 : tr("%1, lines %2-%3").arg(path).arg(c.firstLine).arg(last));
        }
        break;
    }
}

void SourceViewer::showDocument(const ingest::Document& doc, const QString& fileLocation) {
    setNotice(QString());
    const QString path = qs(doc.path);
    switch (doc.kind) {
    case ingest::DocumentKind::Pdf:
        showPdf(doc, 0, fileLocation);
        break;
    case ingest::DocumentKind::Transcript:
        showTranscript(doc, -1, -1, 0, 0, false);
        header_->setText(
            tr("%1 (%n cue(s))", nullptr, static_cast<int>(doc.cues.size())).arg(path));
        break;
    case ingest::DocumentKind::Code:
    case ingest::DocumentKind::Prose:
        showText(doc, 0, 0);
        header_->setText(tr("%1 (%n line(s))", nullptr, doc.lineCount()).arg(path));
        break;
    }
}

void SourceViewer::showPdf(const ingest::Document& doc, int pageIndex,
                           const QString& fileLocation) {
    mode_ = QStringLiteral("pdf");
    const int pageCount = static_cast<int>(doc.pages.size());
    const ingest::Page* page = nullptr;
    for (const ingest::Page& p : doc.pages)
        if (p.index == pageIndex) page = &p;
    pageIndex_ = pageIndex;

    const QString label = page ? qs(page->label) : QString::number(pageIndex + 1);
    QString where = tr("%1, page %2").arg(qs(doc.path), label);
    if (page && page->label != std::to_string(pageIndex + 1))
        where += tr(" (page %1 of %2 in the file)").arg(pageIndex + 1).arg(pageCount);
    else if (pageCount > 0)
        where += tr(" of %1").arg(pageCount);
    header_->setText(where);

    // The page's text, so it can be read and copied even when the image cannot be made.
    std::string text;
    if (!page)
        text = tr("(page %1 is not in this document)").arg(pageIndex + 1).toStdString();
    else if (!page->hasText)
        text = tr("(this page has no text layer: a scan or an image)").toStdString();
    else
        text = doc.text.substr(std::min(page->begin, doc.text.size()),
                               page->end > page->begin ? page->end - page->begin : 0);
    view_->setLineNumbersVisible(false);
    setViewText(doc, QStringLiteral("pdf:%1#%2:").arg(qs(doc.path)).arg(pageIndex), text);
    view_->markLines(0, 0);

    QString error;
    pageRendered_ = renderPage(pageIndex, fileLocation, &error);
    if (pageRendered_ && pageScroll_->isHidden()) {
        // A splitter gives a pane that was hidden when it was laid out no room when it is shown
        // again: share the width out explicitly, the page taking the larger part.
        pageScroll_->show();
        const int w = std::max(splitter_->width(), 400);
        splitter_->setSizes({w * 3 / 5, w - w * 3 / 5});
    } else if (!pageRendered_) {
        pageScroll_->hide();
    }
    if (!pageRendered_) {
        pageImage_->clear();
        setNotice(tr("Cannot show page %1 as an image: %2 Showing its extracted text.")
                      .arg(label, error));
    }
    pageScroll_->verticalScrollBar()->setValue(0);
    pendingReveal_ = false;
}

bool SourceViewer::renderPage(int pageIndex, const QString& fileLocation, QString* error) {
    const QFileInfo info(fileLocation);
    const qint64 stamp = info.exists() ? info.lastModified().toMSecsSinceEpoch() : 0;
    if (!pdf_ || pdfLocation_ != fileLocation || pdfStamp_ != stamp) {
        pdf_.reset();
        pdfLocation_.clear();
        if (fileLocation.isEmpty()) {
            *error = tr("no file location was given for the PDF.");
            return false;
        }
        if (!info.exists()) {
            *error = tr("the file %1 does not exist.").arg(fileLocation);
            return false;
        }
        std::unique_ptr<Poppler::Document> loaded = Poppler::Document::load(fileLocation);
        if (!loaded) {
            *error = tr("Poppler cannot open %1 (not a PDF, or damaged).").arg(fileLocation);
            return false;
        }
        if (loaded->isLocked()) {
            *error = tr("%1 is encrypted.").arg(fileLocation);
            return false;
        }
        loaded->setRenderHint(Poppler::Document::Antialiasing);
        loaded->setRenderHint(Poppler::Document::TextAntialiasing);
        pdf_ = std::move(loaded);
        pdfLocation_ = fileLocation;
        pdfStamp_ = stamp;
    }
    if (pageIndex < 0 || pageIndex >= pdf_->numPages()) {
        *error = tr("%1 has %n page(s), no page %2.", nullptr, pdf_->numPages())
                     .arg(fileLocation)
                     .arg(pageIndex + 1);
        return false;
    }
    const std::unique_ptr<Poppler::Page> page = pdf_->page(pageIndex);
    // Rendered at the screen's pixel density so the page is sharp on high-DPI displays.
    const double dpr = devicePixelRatioF();
    QImage image = page ? page->renderToImage(kPageDpi * dpr, kPageDpi * dpr) : QImage();
    if (image.isNull()) {
        *error = tr("Poppler could not render page %1 of %2.").arg(pageIndex + 1).arg(fileLocation);
        return false;
    }
    image.setDevicePixelRatio(dpr);
    pageImage_->setPixmap(QPixmap::fromImage(image));
    pageImage_->adjustSize();
    return true;
}

void SourceViewer::showTranscript(const ingest::Document& doc, std::int64_t startMs,
                                  std::int64_t endMs, std::size_t beginByte, std::size_t endByte,
                                  bool timed) {
    mode_ = QStringLiteral("transcript");
    pageIndex_ = -1;
    pageRendered_ = false;
    pageScroll_->hide();
    // Lines of the normalised text are not lines of the file: no numbers, the header has the time.
    view_->setLineNumbersVisible(false);
    setViewText(doc, QStringLiteral("transcript:") + qs(doc.path), doc.text);

    std::size_t from = 0, to = 0;
    const auto& cues = doc.cues;
    if (timed && !cues.empty()) {
        // Cues overlapping [startMs, endMs); a cue without an end lasts until the next one starts.
        const std::int64_t lo = startMs, hi = std::max(startMs + 1, endMs);
        long firstHit = -1, lastHit = -1;
        for (std::size_t k = 0; k < cues.size(); ++k) {
            std::int64_t end = cues[k].endMs;
            if (end < 0)
                end = k + 1 < cues.size() ? cues[k + 1].startMs
                                          : std::numeric_limits<std::int64_t>::max();
            end = std::max(end, cues[k].startMs + 1);
            if (cues[k].startMs < hi && end > lo) {
                if (firstHit < 0) firstHit = static_cast<long>(k);
                lastHit = static_cast<long>(k);
            }
        }
        if (firstHit < 0) {
            // In a gap between cues: the last one that started before the time.
            firstHit = 0;
            for (std::size_t k = 0; k < cues.size(); ++k)
                if (cues[k].startMs <= startMs) firstHit = static_cast<long>(k);
            lastHit = firstHit;
        }
        from = cues[static_cast<std::size_t>(firstHit)].begin;
        to = cues[static_cast<std::size_t>(lastHit)].end;
    } else if (timed && endByte > beginByte) {
        from = beginByte;
        to = endByte;
    }
    if (to > from)
        view_->markLines(lineOfByte(doc.text, from), lineOfByte(doc.text, to - 1));
    else
        view_->markLines(0, 0);
    pendingReveal_ = !isVisible();
}

void SourceViewer::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (pendingReveal_) {
        pendingReveal_ = false;
        view_->revealMark();
    }
}

void SourceViewer::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) highlighter_->setPalette(palette());
}

} // namespace folio::ui
