// folio-cli end to end: the command list, every command's --help, usage errors and the commands that
// later parts of the project fill.
#include "test_support.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QDateTime>
#include <QTemporaryDir>

#include "folio/ingest/session_store.h"

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
    void sessionsKeepSourcesAndConversation();
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
    // (What the demo model answers, even whether it says anything before EOS, depends on the CPU.)
    QVERIFY(!r.err.contains("Reused"));
    // Asked again: the context comes from the prefix cache (restored from disk), only the rest is
    // prefilled, and with the same seed the answer is the same, token for token.
    const auto again = runCli({"ask", "--demo", "--max-tokens", "8", "--seed", "3", tmp.filePath("notes.md"), "--", "When is the launch?"});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QVERIFY2(again.err.contains("Reused "), again.err.constData());
    QCOMPARE(again.out, r.out);
    const auto noQuestion = runCli({"ask", "--demo", tmp.filePath("notes.md")});
    QCOMPARE(noQuestion.exitCode, 2);
}

void TestCli::sessionsKeepSourcesAndConversation() {
    // ask --session saves the sources and both messages in the session database (a real SQLite file
    // in this test's private FOLIO_DATA_DIR); a second ask continues without sources; export marks
    // citations that do not resolve; rm removes the session.
    QTemporaryDir tmp;
    QFile src(tmp.filePath("plan.md"));
    QVERIFY(src.open(QIODevice::WriteOnly));
    src.write("# Plan\n\nShip on Friday.\nThen rest.\n");
    src.close();
    const QString name = "plan-" + QString::number(QDateTime::currentMSecsSinceEpoch());
    auto r = runCli({"ask", "--demo", "--session", name, "--max-tokens", "4", tmp.filePath("plan.md"), "--", "When do we ship?"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = runCli({"ask", "--demo", "--session", name, "--max-tokens", "4", "--", "And then?"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(r.err.contains("1 sources, 2 earlier messages"));
    QCOMPARE(runCli({"ask", "--demo", "--session", name, tmp.filePath("plan.md"), "--", "again"}).exitCode, 2);

    const auto list = runCli({"session", "list", "--json"});
    QCOMPARE(list.exitCode, 0);
    bool found = false;
    for (const QByteArray& line : list.out.trimmed().split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (o.value("name").toString() != name) continue;
        found = true;
        QCOMPARE(o.value("sources").toInt(), 1);
        QCOMPARE(o.value("messages").toInt(), 4);
        QCOMPARE(o.value("model").toString(), QStringLiteral("demo"));
    }
    QVERIFY(found);

    // An answer with one good and one bad citation, written straight into the store.
    {
        folio::ingest::SessionStore store;
        QVERIFY(store.open(qEnvironmentVariable("FOLIO_DATA_DIR") + "/sessions.sqlite"));
        const auto s = store.findSession(name.toStdString());
        QVERIFY(s);
        QVERIFY(store.addMessage(s->id, "assistant", "Friday [plan.md:3], see [missing.cpp:9].", -1,
                                 "The plan says Friday.\nCheck line 3."));
    }
    const QString out = tmp.filePath("export.md");
    QCOMPARE(runCli({"session", "export", name, "--out", out}).exitCode, 0);
    QFile md(out);
    QVERIFY(md.open(QIODevice::ReadOnly));
    const QByteArray text = md.readAll();
    QVERIFY(text.contains("### Question\n\nWhen do we ship?"));
    QVERIFY(text.contains("[missing.cpp:9]: does not resolve"));
    QVERIFY(!text.contains("[plan.md:3]: does not resolve"));
    // A thinking-mode answer's reasoning, quoted before the answer.
    QVERIFY2(text.contains("### Answer\n\n> *Reasoning*\n>\n> The plan says Friday.\n> Check line 3.\n\nFriday [plan.md:3]"),
             text.constData());

    QCOMPARE(runCli({"session", "rm", name}).exitCode, 0);
    QCOMPARE(runCli({"session", "show", name}).exitCode, 1);
}

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
