// folio-cli end to end: the command list, every command's --help, usage errors and the commands that
// later parts of the project fill.
#include "test_support.h"

#include <QJsonDocument>
#include <QJsonObject>

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

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
