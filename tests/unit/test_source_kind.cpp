#include "folio/ingest/source_kind.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace folio::ingest;

class TestSourceKind : public QObject {
    Q_OBJECT
private slots:
    void classify_data();
    void classify();
    void missingIsUnknown();
};

void TestSourceKind::classify_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("isDir");
    QTest::addColumn<int>("kind");
    QTest::newRow("pdf") << "book.PDF" << false << int(SourceKind::Pdf);
    QTest::newRow("srt") << "talk.srt" << false << int(SourceKind::Transcript);
    QTest::newRow("vtt") << "talk.vtt" << false << int(SourceKind::Transcript);
    QTest::newRow("whisper") << "talk.json" << false << int(SourceKind::Transcript);
    QTest::newRow("markdown") << "notes.md" << false << int(SourceKind::Text);
    QTest::newRow("plain dir") << "folder" << true << int(SourceKind::Directory);
    QTest::newRow("repo") << "repo/.git" << true << int(SourceKind::GitRepository);
}

void TestSourceKind::classify() {
    QFETCH(QString, name);
    QFETCH(bool, isDir);
    QFETCH(int, kind);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath(name);
    if (isDir) {
        QVERIFY(QDir().mkpath(path));
    } else {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
    }
    const QString target = name.endsWith("/.git") ? tmp.filePath("repo") : path;
    QCOMPARE(int(classifySource(target)), kind);
}

void TestSourceKind::missingIsUnknown() {
    QCOMPARE(classifySource("/nonexistent/path/x.pdf"), SourceKind::Unknown);
    QCOMPARE(sourceKindName(SourceKind::GitRepository), QString("git repository"));
}

QTEST_GUILESS_MAIN(TestSourceKind)
#include "test_source_kind.moc"
