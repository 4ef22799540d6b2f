// Standalone files and plain folders: screens, ignore files, symlinks, PDFs and transcripts inside.
#include "folio/ingest/source_loader.h"
#include "folio/ingest/text_source.h"
#include "ingest_test_support.h"

#include <QTemporaryDir>
#include <QtTest>
#include <unistd.h>

using namespace folio::ingest;
using folio::test::writeFile;

class TestTextSource : public QObject {
    Q_OBJECT
private slots:
    void folder();
    void standaloneFiles_data();
    void standaloneFiles();
    void missingPath();
};

void TestTextSource::folder() {
    QTemporaryDir tmp;
    const QString root = tmp.filePath("notes");
    QVERIFY(writeFile(root + "/b.md", "# B\n"));
    QVERIFY(writeFile(root + "/a/z.txt", "zed\n"));
    QVERIFY(writeFile(root + "/talk.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n"));
    QVERIFY(writeFile(root + "/yarn.lock", "x\n"));
    QVERIFY(writeFile(root + "/out/gen.txt", "generated\n"));
    QVERIFY(writeFile(root + "/private.md", "secret\n"));
    QVERIFY(writeFile(root + "/.gitignore", "out/\n"));
    QVERIFY(writeFile(root + "/.folioignore", "private.md\n"));
    folio::test::PdfSpec pdf;
    pdf.pages = {{"Page text"}};
    QVERIFY(writeFile(root + "/doc.pdf", folio::test::makePdf(pdf)));
    QVERIFY(::symlink("/etc", qPrintable(root + "/etc-link")) == 0);

    const SourceResult r = loadSource(root);
    QVERIFY2(r.error.empty(), r.error.c_str());
    QCOMPARE(QString::fromStdString(r.kindName), QString("folder"));
    QStringList paths;
    for (const auto& d : r.documents) paths << QString::fromStdString(d.path);
    QCOMPARE(paths,
             (QStringList{".folioignore", ".gitignore", "a/z.txt", "b.md", "doc.pdf", "talk.vtt"}));
    QCOMPARE(r.documents[4].kind, DocumentKind::Pdf);
    QCOMPARE(r.documents[5].kind, DocumentKind::Transcript);
    QStringList skipped;
    for (const auto& s : r.skipped)
        skipped << QString::fromStdString(s.path) + "=" + skipReasonName(s.reason);
    QCOMPARE(skipped, (QStringList{"etc-link=symlink", "out/=gitignored", "private.md=folioignored",
                                   "yarn.lock=lock file"}));
}

void TestTextSource::standaloneFiles_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("documents");
    QTest::addColumn<int>("kind");   // of the document
    QTest::addColumn<int>("reason"); // of the skip
    QTest::newRow("markdown") << "a.md" << QByteArray("# T\n") << 1 << int(DocumentKind::Prose)
                              << 0;
    QTest::newRow("plain json") << "package.json" << QByteArray("{\"name\": \"x\"}\n") << 1
                                << int(DocumentKind::Code) << 0;
    QTest::newRow("whisper json") << "talk.json"
                                  << QByteArray(
                                         "{\"segments\":[{\"start\":1,\"end\":2,\"text\":\"hi\"}]}")
                                  << 1 << int(DocumentKind::Transcript) << 0;
    QTest::newRow("binary") << "blob.txt" << QByteArray("\0\1\2", 3) << 0 << 0
                            << int(SkipReason::Binary);
    QTest::newRow("empty") << "e.txt" << QByteArray() << 0 << 0 << int(SkipReason::Empty);
}

void TestTextSource::standaloneFiles() {
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    QFETCH(int, documents);
    QFETCH(int, kind);
    QFETCH(int, reason);
    QTemporaryDir tmp;
    QVERIFY(writeFile(tmp.filePath(name), content));
    const SourceResult r = loadSource(tmp.filePath(name));
    QCOMPARE(int(r.documents.size()), documents);
    if (documents)
        QCOMPARE(int(r.documents[0].kind), kind);
    else
        QCOMPARE(int(r.skipped.at(0).reason), reason);
}

void TestTextSource::missingPath() {
    const SourceResult r = loadSource("/nonexistent/folio/x.md");
    QVERIFY(!r.error.empty());
}

QTEST_GUILESS_MAIN(TestTextSource)
#include "test_text_source.moc"
