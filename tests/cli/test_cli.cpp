// folio-cli end to end: the command list, every command's --help, usage errors and the commands that
// later parts of the project fill.
#include "test_support.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

using folio::test::runCli;

namespace {
const QStringList kCommands = {"make-model", "model-info", "tokenize", "logits", "pack",
                               "ask",        "session",    "bench",    "serve",  "devices"};
}

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void helpListsEveryCommand();
    void everyCommandAnswersHelp_data();
    void everyCommandAnswersHelp();
    void unknownCommandIsAUsageError();
    void badOptionIsAUsageError();
    void devicesReportsCpu();
    void askRunsTheWholeJobOnTheDemoModel();
};

void TestCli::helpListsEveryCommand() {
    const auto r = runCli({"--help"});
    QCOMPARE(r.exitCode, 0);
    for (const QString& c : kCommands)
        QVERIFY2(r.out.contains(("  " + c).toUtf8()), qPrintable(c));
}

void TestCli::everyCommandAnswersHelp_data() {
    QTest::addColumn<QString>("command");
    for (const QString& c : kCommands) QTest::newRow(qPrintable(c)) << c;
}

void TestCli::everyCommandAnswersHelp() {
    QFETCH(QString, command);
    const auto r = runCli({command, "--help"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith(("Usage: folio-cli " + command).toUtf8()), r.out.constData());
}

void TestCli::unknownCommandIsAUsageError() {
    const auto r = runCli({"frobnicate"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains("unknown command 'frobnicate'"));
}

void TestCli::badOptionIsAUsageError() {
    const auto r = runCli({"devices", "--bogus"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains("unknown option --bogus"));
}

void TestCli::devicesReportsCpu() {
    const auto r = runCli({"devices", "--json"});
    QCOMPARE(r.exitCode, 0);
    const QList<QByteArray> lines = r.out.trimmed().split('\n');
    QVERIFY(!lines.isEmpty());
    const QJsonObject first = QJsonDocument::fromJson(lines.front()).object();
    QCOMPARE(first.value("device").toString(), QString("cpu"));
    QVERIFY(first.value("name").toString().startsWith("CPU ("));
}

void TestCli::askRunsTheWholeJobOnTheDemoModel() {
    // The demo model is generated on first use into FOLIO_CACHE_DIR (private to this test), then the
    // source is packed, prefilled with progress on stderr, and an answer streamed to stdout.
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString cacheDir = qEnvironmentVariable("FOLIO_CACHE_DIR");
    QVERIFY2(!cacheDir.isEmpty(), "ctest gives this test a private FOLIO_CACHE_DIR");
    QDir(cacheDir + "/snapshots").removeRecursively(); // start cold: the first ask must prefill all
    QFile src(tmp.filePath("notes.md"));
    QVERIFY(src.open(QIODevice::WriteOnly));
    src.write("# Notes\n\nThe launch is on Tuesday. The budget is 40 units.\n");
    for (int i = 0; i < 40; ++i) src.write(QByteArray("Item ") + QByteArray::number(i) + " is reviewed by the team on day " + QByteArray::number(i % 7) + ".\n");
    src.close();
    const auto r = runCli({"ask", "--demo", "--max-tokens", "8", "--seed", "3", tmp.filePath("notes.md"), "--", "When is the launch?"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(r.err.contains("carry no meaning"));
    QVERIFY(r.err.contains("Context: 1 documents"));
    QVERIFY(r.err.contains("prefill"));
    QVERIFY(r.err.contains("(100%)"));
    QVERIFY(!r.out.trimmed().isEmpty());
    QVERIFY(!r.err.contains("Reused"));
    // Asked again: the context comes from the prefix cache (restored from disk), only the rest is
    // prefilled, and with the same seed the answer is the same, token for token.
    const auto again = runCli({"ask", "--demo", "--max-tokens", "8", "--seed", "3", tmp.filePath("notes.md"), "--", "When is the launch?"});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QVERIFY2(again.err.contains("Reused "), again.err.constData());
    QCOMPARE(again.out, r.out);
    const auto noQuestion = runCli({"ask", "--demo", tmp.filePath("notes.md")});
    QCOMPARE(noQuestion.exitCode, 2);
    const auto session = runCli({"ask", "--demo", "--session", "x", "--", "q"});
    QCOMPARE(session.exitCode, 3);
    QVERIFY(session.err.contains("not available yet"));
}

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
