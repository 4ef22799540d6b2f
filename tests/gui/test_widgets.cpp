// The main window's building blocks: the source viewer (code, PDF, transcript), the budget chart,
// the tokens/s plot and the code highlighter, each on real data under the offscreen platform.
#include "budget_chart.h"
#include "code_highlighter.h"
#include "code_view.h"
#include "folio/ingest/citation_resolver.h"
#include "folio/ingest/source_loader.h"
#include "rate_plot.h"
#include "source_viewer.h"

#include <QAbstractTextDocumentLayout>
#include <QLabel>
#include <QPainter>
#include <QPdfWriter>
#include <QPixmap>
#include <QSet>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QTextDocument>
#include <QTextLayout>
#include <QtTest>

using folio::ingest::Citation;
using folio::ingest::CitationKind;
using folio::ingest::Document;
using folio::ingest::DocumentKind;

namespace {

// Number of distinct colours in `image`, counting up to `limit`.
int distinctColours(const QImage& image, int limit = 3) {
    QSet<QRgb> seen;
    const QImage img = image.convertToFormat(QImage::Format_ARGB32);
    for (int y = 0; y < img.height(); ++y) {
        const auto* line = reinterpret_cast<const QRgb*>(img.constScanLine(y));
        for (int x = 0; x < img.width(); ++x) {
            seen.insert(line[x]);
            if (seen.size() >= limit) return limit;
        }
    }
    return static_cast<int>(seen.size());
}

// Keeps a picture of the widget beside the main window's, for a person to look at.
void saveShot(QWidget& w, const char* name) {
    QDir().mkpath(FOLIO_BINARY_DIR "/screenshots");
    w.grab().save(QStringLiteral(FOLIO_BINARY_DIR "/screenshots/%1.png").arg(name));
}

Document codeDocument(int lines) {
    Document doc;
    doc.source = "repo";
    doc.path = "src/big.cpp";
    doc.title = doc.path;
    doc.kind = DocumentKind::Code;
    doc.language = "cpp";
    for (int i = 1; i <= lines; ++i)
        doc.text += "int value_" + std::to_string(i) + " = " + std::to_string(i) + "; // line\n";
    return doc;
}

// Three transcript cues, one line each.
Document transcriptDocument(bool withEnds) {
    Document doc;
    doc.path = "talk.vtt";
    doc.title = doc.path;
    doc.kind = DocumentKind::Transcript;
    doc.language = "vtt";
    const char* lines[] = {"Alice: welcome to the talk\n", "Bob: the second cue\n",
                           "Alice: and the third\n"};
    for (int i = 0; i < 3; ++i) {
        folio::ingest::Cue cue;
        cue.startMs = 5000LL * i;
        cue.endMs = withEnds ? 5000LL * (i + 1) : -1;
        cue.begin = doc.text.size();
        doc.text += lines[i];
        cue.end = doc.text.size();
        cue.sourceLine = 3 + 4 * i;
        cue.sourceLastLine = cue.sourceLine + 1;
        doc.cues.push_back(cue);
    }
    return doc;
}

} // namespace

class TestWidgets : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void sourceViewerMarksCitedLines();
    void sourceViewerRevealsAfterShow();
    void sourceViewerRendersPdfPage();
    void sourceViewerPdfMissingFile();
    void sourceViewerTranscriptCue_data();
    void sourceViewerTranscriptCue();
    void budgetChartGroupsBars();
    void ratePlotCapsSamples();
    void highlighterColoursOnlyCodeBlocks();
    void highlighterWholeDocument();
};

void TestWidgets::sourceViewerMarksCitedLines() {
    const Document doc = codeDocument(200);
    Citation c;
    c.kind = CitationKind::Lines;
    c.resolved = true;
    c.path = doc.path;
    c.firstLine = 120;
    c.lastLine = 125;

    folio::ui::SourceViewer viewer;
    viewer.resize(700, 400);
    viewer.show();
    QVERIFY(QTest::qWaitForWindowExposed(&viewer));
    viewer.showCitation(doc, c, QString());
    QCOMPARE(viewer.objectName(), QStringLiteral("sourceViewer"));
    QCOMPARE(viewer.mode(), QStringLiteral("text"));
    QCOMPARE(viewer.highlightedFirstLine(), 120);
    QCOMPARE(viewer.highlightedLastLine(), 125);
    QCOMPARE(viewer.cursorLine(), 120);
    QCOMPARE(viewer.shownPageIndex(), -1);
    QVERIFY(!viewer.pageRendered());
    QCOMPARE(viewer.headerText(), QStringLiteral("src/big.cpp, lines 120-125"));

    auto* view = viewer.findChild<folio::ui::CodeView*>("sourceText");
    QVERIFY(view);
    QVERIFY(view->gutterWidth() > 0);
    QCOMPARE(view->extraSelections().size(), 6);
    QCOMPARE(view->extraSelections().front().cursor.blockNumber(), 119);
    QVERIFY(view->extraSelections().front().format.boolProperty(QTextFormat::FullWidthSelection));
    // The cited line is on screen.
    QVERIFY(view->viewport()->rect().contains(view->cursorRect()));
    QVERIFY(view->cursorRect().top() >= 0);
    // The code is coloured (the highlighter runs on the viewer's text).
    QTRY_VERIFY(!view->document()->findBlockByNumber(119).layout()->formats().isEmpty());
    saveShot(viewer, "source-viewer-code");

    // A one-line citation.
    c.firstLine = c.lastLine = 7;
    viewer.showCitation(doc, c, QString());
    QCOMPARE(viewer.highlightedFirstLine(), 7);
    QCOMPARE(viewer.highlightedLastLine(), 7);
    QCOMPARE(viewer.cursorLine(), 7);
    QCOMPARE(viewer.headerText(), QStringLiteral("src/big.cpp, line 7"));

    // The whole document: nothing marked, cursor at the top.
    viewer.showDocument(doc, QString());
    QCOMPARE(viewer.highlightedFirstLine(), 0);
    QCOMPARE(viewer.cursorLine(), 1);
    QVERIFY(view->extraSelections().isEmpty());
}

void TestWidgets::sourceViewerRevealsAfterShow() {
    // Shown while hidden: the view scrolls to the citation once it has its size.
    const Document doc = codeDocument(400);
    Citation c;
    c.kind = CitationKind::Lines;
    c.resolved = true;
    c.firstLine = 300;
    c.lastLine = 302;
    folio::ui::SourceViewer viewer;
    viewer.showCitation(doc, c, QString());
    viewer.resize(600, 300);
    viewer.show();
    QVERIFY(QTest::qWaitForWindowExposed(&viewer));
    auto* view = viewer.findChild<folio::ui::CodeView*>("sourceText");
    QVERIFY(view);
    QCOMPARE(viewer.cursorLine(), 300);
    QTRY_VERIFY(view->viewport()->rect().contains(view->cursorRect()));
    QVERIFY(view->firstVisibleLine() > 200);
}

void TestWidgets::sourceViewerRendersPdfPage() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("book.pdf");
    {
        QPdfWriter writer(path);
        writer.setTitle("A Test Book");
        writer.setPageSize(QPageSize(QPageSize::A5));
        writer.setResolution(72);
        QPainter painter(&writer);
        QFont font("DejaVu Sans");
        font.setPointSize(14);
        painter.setFont(font);
        for (int page = 1; page <= 3; ++page) {
            if (page > 1) QVERIFY(writer.newPage());
            for (int line = 0; line < 5; ++line)
                painter.drawText(
                    40, 60 + 24 * line,
                    QStringLiteral("Page %1 line %2: the whale swims on").arg(page).arg(line + 1));
        }
    }
    const folio::ingest::SourceResult result = folio::ingest::loadSource(path, {});
    QVERIFY2(result.error.empty(), result.error.c_str());
    QCOMPARE(result.documents.size(), std::size_t(1));
    const Document& doc = result.documents[0];
    QCOMPARE(doc.kind, DocumentKind::Pdf);
    QCOMPARE(doc.pages.size(), std::size_t(3));

    const folio::ingest::CitationResolver resolver(result.documents);
    const Citation c = resolver.resolve("book.pdf p. 2");
    QVERIFY2(c.resolved, c.error.c_str());
    QCOMPARE(c.pageIndex, 1);

    folio::ui::SourceViewer viewer;
    viewer.resize(900, 600);
    viewer.show();
    QVERIFY(QTest::qWaitForWindowExposed(&viewer));
    viewer.showCitation(doc, c, path);
    QCOMPARE(viewer.mode(), QStringLiteral("pdf"));
    QCOMPARE(viewer.shownPageIndex(), 1);
    QVERIFY(viewer.pageRendered());
    QVERIFY2(viewer.headerText().startsWith("book.pdf, page 2"), qPrintable(viewer.headerText()));

    auto* image = viewer.findChild<QLabel*>("sourcePageImage");
    QVERIFY(image);
    const QImage page = image->pixmap().toImage();
    QVERIFY(!page.isNull());
    // A5 at 100 dpi is about 583 x 827 pixels; the text makes it more than one colour.
    QVERIFY2(page.width() > 400 && page.height() > 600,
             qPrintable(QStringLiteral("%1x%2").arg(page.width()).arg(page.height())));
    QVERIFY(distinctColours(page) > 1);
    auto* notice = viewer.findChild<QLabel*>("sourceNotice");
    QVERIFY(notice);
    QVERIFY(notice->isHidden());

    // The page's own text is beside the image, and only that page's.
    auto* view = viewer.findChild<folio::ui::CodeView*>("sourceText");
    QVERIFY(view);
    const QString text = view->toPlainText();
    QVERIFY2(text.contains("Page 2 line 1"), qPrintable(text));
    QVERIFY(!text.contains("Page 1 line"));
    QVERIFY(!text.contains("Page 3 line"));
    saveShot(viewer, "source-viewer-pdf");

    // The whole document starts at the first page.
    viewer.showDocument(doc, path);
    QCOMPARE(viewer.shownPageIndex(), 0);
    QVERIFY(viewer.pageRendered());
    QVERIFY(view->toPlainText().contains("Page 1 line 1"));
}

void TestWidgets::sourceViewerPdfMissingFile() {
    Document doc;
    doc.path = "gone.pdf";
    doc.kind = DocumentKind::Pdf;
    doc.text = "first page text\nsecond page text\n";
    doc.pages = {{0, "1", 0, 16, true}, {1, "2", 16, doc.text.size(), true}};
    Citation c;
    c.kind = CitationKind::Page;
    c.resolved = true;
    c.pageIndex = 1;
    c.pageLabel = "2";

    folio::ui::SourceViewer viewer;
    const QString missing = QStringLiteral("/nonexistent/folio/gone.pdf");
    viewer.showCitation(doc, c, missing);
    QCOMPARE(viewer.mode(), QStringLiteral("pdf"));
    QCOMPARE(viewer.shownPageIndex(), 1);
    QVERIFY(!viewer.pageRendered());
    auto* notice = viewer.findChild<QLabel*>("sourceNotice");
    QVERIFY(notice);
    QVERIFY(!notice->isHidden());
    QVERIFY2(notice->text().contains(missing), qPrintable(notice->text()));
    auto* view = viewer.findChild<folio::ui::CodeView*>("sourceText");
    QVERIFY(view);
    QCOMPARE(view->toPlainText(), QStringLiteral("second page text\n"));

    // Not a PDF at all.
    QTemporaryDir dir;
    const QString junk = dir.filePath("junk.pdf");
    QFile f(junk);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("this is not a pdf");
    f.close();
    viewer.showCitation(doc, c, junk);
    QVERIFY(!viewer.pageRendered());
    QVERIFY(notice->text().contains(junk));
}

void TestWidgets::sourceViewerTranscriptCue_data() {
    QTest::addColumn<bool>("withEnds");
    QTest::addColumn<qint64>("startMs");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("time");
    QTest::newRow("second cue") << true << qint64(7000) << 2 << "00:00:07";
    QTest::newRow("cue start") << true << qint64(10000) << 3 << "00:00:10";
    QTest::newRow("first cue") << true << qint64(0) << 1 << "00:00:00";
    QTest::newRow("no end times") << false << qint64(9999) << 2 << "00:00:09";
    QTest::newRow("past the last start") << false << qint64(3725000) << 3 << "01:02:05";
}

void TestWidgets::sourceViewerTranscriptCue() {
    QFETCH(bool, withEnds);
    QFETCH(qint64, startMs);
    QFETCH(int, line);
    QFETCH(QString, time);
    const Document doc = transcriptDocument(withEnds);
    Citation c;
    c.kind = CitationKind::Time;
    c.resolved = true;
    c.startMs = startMs;
    folio::ui::SourceViewer viewer;
    viewer.resize(500, 300);
    viewer.show();
    QVERIFY(QTest::qWaitForWindowExposed(&viewer));
    viewer.showCitation(doc, c, QString());
    QCOMPARE(viewer.mode(), QStringLiteral("transcript"));
    QCOMPARE(viewer.highlightedFirstLine(), line);
    QCOMPARE(viewer.highlightedLastLine(), line);
    QCOMPARE(viewer.cursorLine(), line);
    QCOMPARE(viewer.headerText(), QStringLiteral("talk.vtt at ") + time);
}

void TestWidgets::budgetChartGroupsBars() {
    std::vector<folio::ui::BudgetChart::Bar> bars;
    qint64 total = 0;
    for (int i = 0; i < 20; ++i) {
        const qint64 tokens = 1000 * (i + 1);
        bars.push_back({QStringLiteral("dir%1/").arg(i), tokens, i % 2 ? tokens : tokens / 2});
        total += tokens;
    }
    folio::ui::BudgetChart chart;
    QCOMPARE(chart.objectName(), QStringLiteral("budgetChart"));
    chart.setData(bars, 128000, total, true);
    QCOMPARE(chart.barCount(), folio::ui::BudgetChart::kMaxBars);
    const auto& rows = chart.rows();
    QCOMPARE(rows.front().tokens, qint64(20000)); // largest first
    QCOMPARE(rows[10].tokens, qint64(10000));
    QCOMPARE(rows.back().label, QStringLiteral("9 more"));
    QCOMPARE(rows.back().tokens, qint64(45000)); // 1000 + ... + 9000
    QVERIFY(chart.sizeHint().height() > 12 * chart.fontMetrics().height());

    chart.resize(chart.sizeHint());
    const QImage image = chart.grab().toImage();
    QVERIFY(!image.isNull());
    QVERIFY(distinctColours(image) > 2);
    saveShot(chart, "budget-chart");

    // Few bars: no grouping, and a source that fits whole.
    chart.setData({{"a", 10, 10}, {"b", 30, 30}}, 1000, 40, false);
    QCOMPARE(chart.barCount(), 2);
    QCOMPARE(chart.rows().front().label, QStringLiteral("b"));
    QVERIFY(chart.toolTip().contains("whole"));
}

void TestWidgets::ratePlotCapsSamples() {
    folio::ui::RatePlot plot;
    QCOMPARE(plot.objectName(), QStringLiteral("ratePlot"));
    QVERIFY(plot.minimumHeight() >= 60);
    for (int i = 0; i < 350; ++i) plot.addSample(0.1 * i, 20.0 + (i % 7));
    QCOMPARE(plot.sampleCount(), folio::ui::RatePlot::kMaxSamples);
    QCOMPARE(plot.latest(), 20.0 + (349 % 7));
    plot.resize(300, 80);
    QVERIFY(distinctColours(plot.grab().toImage()) > 2);
    saveShot(plot, "rate-plot");
    plot.clear();
    QCOMPARE(plot.sampleCount(), 0);
}

void TestWidgets::highlighterColoursOnlyCodeBlocks() {
    QTextDocument doc;
    // As in a view: a QTextDocument reports edits (and so gets highlighted) only once it has a
    // layout, which every view showing it gives it.
    doc.documentLayout();
    folio::ui::CodeHighlighter highlighter(&doc);
    doc.setMarkdown("text\n\n```cpp\nint x = 1; // c\n```\n");
    QTextBlock prose, code;
    for (QTextBlock b = doc.begin(); b.isValid(); b = b.next()) {
        if (b.text() == "text") prose = b;
        if (b.text().startsWith("int x")) code = b;
    }
    QVERIFY(prose.isValid());
    QVERIFY(code.isValid());
    QVERIFY(folio::ui::CodeHighlighter::isCodeBlock(code));
    QVERIFY(!folio::ui::CodeHighlighter::isCodeBlock(prose));
    QTRY_VERIFY(!code.layout()->formats().isEmpty());
    QVERIFY(prose.layout()->formats().isEmpty());

    // "int" a keyword, "1" a number, "// c" a comment, each in its own colour.
    const auto formatAt = [&](int pos) {
        for (const QTextLayout::FormatRange& r : code.layout()->formats())
            if (pos >= r.start && pos < r.start + r.length) return r.format;
        return QTextCharFormat();
    };
    const QColor keyword = formatAt(0).foreground().color();
    const QColor number = formatAt(8).foreground().color();
    const QColor comment = formatAt(11).foreground().color();
    QVERIFY(formatAt(0).hasProperty(QTextFormat::ForegroundBrush));
    QVERIFY(formatAt(8).hasProperty(QTextFormat::ForegroundBrush));
    QVERIFY(formatAt(14).hasProperty(QTextFormat::ForegroundBrush));
    QVERIFY(keyword != number && number != comment && keyword != comment);
    QVERIFY(!formatAt(4).hasProperty(QTextFormat::ForegroundBrush)); // "x"
}

void TestWidgets::highlighterWholeDocument() {
    QTextDocument doc;
    doc.setPlainText("def f(s):\n    return 'a' # note\n/* not a comment here */\n");
    folio::ui::CodeHighlighter highlighter(nullptr,
                                           folio::ui::CodeHighlighter::Mode::WholeDocument);
    highlighter.setLanguage("python");
    highlighter.setDocument(&doc);
    QTRY_VERIFY(!doc.firstBlock().layout()->formats().isEmpty());
    const QTextBlock second = doc.firstBlock().next();
    bool comment = false, string = false;
    for (const QTextLayout::FormatRange& r : second.layout()->formats()) {
        const QString part = second.text().mid(r.start, r.length);
        comment = comment || part == "# note";
        string = string || part == "'a'";
    }
    QVERIFY(comment);
    QVERIFY(string);

    // C: a block comment spans lines; '#include' is a directive, not a comment.
    QTextDocument c;
    c.setPlainText("#include <vector>\n/* one\ntwo */ int y;\n");
    folio::ui::CodeHighlighter ch(nullptr, folio::ui::CodeHighlighter::Mode::WholeDocument);
    ch.setLanguage("cpp");
    ch.setDocument(&c);
    QTRY_VERIFY(!c.firstBlock().layout()->formats().isEmpty());
    const QTextBlock two = c.findBlockByNumber(2);
    bool twoComment = false, intKeyword = false;
    for (const QTextLayout::FormatRange& r : two.layout()->formats()) {
        const QString part = two.text().mid(r.start, r.length);
        twoComment = twoComment || part == "two */";
        intKeyword = intKeyword || part == "int";
    }
    QVERIFY(twoComment);
    QVERIFY(intKeyword);
}

QTEST_MAIN(TestWidgets)
#include "test_widgets.moc"
