// PDFs through Poppler: pages in order with their labels, a page without text flagged, and clear
// per-file errors for encrypted, damaged and empty files. PDFs are written by a tiny generator.
#include "folio/ingest/pdf_source.h"
#include "folio/ingest/source_loader.h"
#include "ingest_test_support.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace folio::ingest;
using folio::test::makePdf;
using folio::test::PdfSpec;
using folio::test::writeFile;

class TestPdfSource : public QObject {
    Q_OBJECT
private slots:
    void pagesAndLabels();
    void pageWithoutText();
    void brokenFiles_data();
    void brokenFiles();
    void realBook();
};

void TestPdfSource::pagesAndLabels() {
    QTemporaryDir tmp;
    PdfSpec spec;
    spec.title = "A Small Book";
    spec.pages = {{"Preface line"},
                  {"Contents line"},
                  {"Chapter one begins", "second line of it"},
                  {"Chapter two"}};
    spec.pageLabels = "0 << /S /r >> 2 << /S /D >>";
    const QString path = tmp.filePath("small.pdf");
    QVERIFY(writeFile(path, makePdf(spec)));
    const SourceResult r = readPdf(path);
    QVERIFY2(r.skipped.empty(), r.skipped.empty() ? "" : r.skipped[0].detail.c_str());
    QCOMPARE(r.documents.size(), std::size_t{1});
    const Document& d = r.documents[0];
    QCOMPARE(QString::fromStdString(d.title), QString("A Small Book"));
    QCOMPARE(QString::fromStdString(d.path), QString("small.pdf"));
    QCOMPARE(d.pages.size(), std::size_t{4});
    const QStringList labels{"i", "ii", "1", "2"};
    for (int i = 0; i < 4; ++i)
        QCOMPARE(QString::fromStdString(d.pages[static_cast<std::size_t>(i)].label), labels[i]);
    const std::string page3 = d.text.substr(d.pages[2].begin, d.pages[2].end - d.pages[2].begin);
    QCOMPARE(QString::fromStdString(page3), QString("Chapter one begins\nsecond line of it\n"));
    QVERIFY(d.pages[0].end <= d.pages[1].begin); // in order, not overlapping
}

void TestPdfSource::pageWithoutText() {
    QTemporaryDir tmp;
    PdfSpec spec;
    spec.pages = {{"Page one"}, {}, {"Page three"}};
    const QString path = tmp.filePath("scan.pdf");
    QVERIFY(writeFile(path, makePdf(spec)));
    const SourceResult r = readPdf(path);
    QCOMPARE(r.documents.size(), std::size_t{1});
    const Document& d = r.documents[0];
    QVERIFY(d.pages[0].hasText);
    QVERIFY(!d.pages[1].hasText);
    QVERIFY(d.pages[2].hasText);
    QCOMPARE(d.title, d.path); // no Title metadata: the file name
    QVERIFY(!d.notes.empty());
    QVERIFY(QString::fromStdString(d.notes[0]).contains("without a text layer"));
    QVERIFY(QString::fromStdString(d.notes[0]).contains("p. 2"));
}

void TestPdfSource::brokenFiles_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("reason");
    QTest::addColumn<QString>("detail");
    PdfSpec enc;
    enc.pages = {{"secret"}};
    enc.encrypted = true;
    QTest::newRow("encrypted") << makePdf(enc) << int(SkipReason::Encrypted) << "password";
    QTest::newRow("empty file") << QByteArray() << int(SkipReason::Empty) << "0 bytes";
    QTest::newRow("not a pdf") << QByteArray("hello, this is text") << int(SkipReason::Damaged)
                               << "%PDF-";
    QTest::newRow("garbage after header")
        << QByteArray("%PDF-1.4\n\x01\x02garbage") << int(SkipReason::Damaged) << "Poppler";
    PdfSpec blank;
    blank.pages = {{}, {}};
    QTest::newRow("only scans") << makePdf(blank) << int(SkipReason::Empty) << "text layer";
}

void TestPdfSource::brokenFiles() {
    QFETCH(QByteArray, bytes);
    QFETCH(int, reason);
    QFETCH(QString, detail);
    QTemporaryDir tmp;
    const QString path = tmp.filePath("bad.pdf");
    QVERIFY(writeFile(path, bytes));
    const SourceResult r = readPdf(path);
    QVERIFY(r.documents.empty());
    QCOMPARE(r.skipped.size(), std::size_t{1});
    QCOMPARE(int(r.skipped[0].reason), reason);
    QVERIFY2(QString::fromStdString(r.skipped[0].detail).contains(detail),
             r.skipped[0].detail.c_str());
    // The rest of a session goes on: loading a good file after a bad one works.
    QVERIFY(writeFile(tmp.filePath("good.txt"), "fine\n"));
    QCOMPARE(loadSource(tmp.filePath("good.txt")).documents.size(), std::size_t{1});
}

void TestPdfSource::realBook() {
    FOLIO_REQUIRE_FIXTURE(path, "books/pride-and-prejudice.macro-type.pdf");
    const SourceResult r = readPdf(path);
    QCOMPARE(r.documents.size(), std::size_t{1});
    const Document& d = r.documents[0];
    QCOMPARE(d.pages.size(), std::size_t{224});
    QVERIFY(d.text.find("Bennet") != std::string::npos);
    int withText = 0;
    for (const auto& p : d.pages) withText += p.hasText ? 1 : 0;
    QVERIFY(withText > 200);
}

QTEST_GUILESS_MAIN(TestPdfSource)
#include "test_pdf_source.moc"
