// Reliability: folio-cli is killed (SIGKILL, no clean-up) during a prefill, in the middle of a
// snapshot write and inside a database transaction. Each time the session reopens with everything
// committed before the kill and resumes: the sources are there, the prefill continues from the last
// checkpoint, nothing half-written is used.
#include "folio/ingest/session_store.h"
#include "test_support.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using namespace folio::ingest;

namespace {

QString databasePath() { return qEnvironmentVariable("FOLIO_DATA_DIR") + "/sessions.sqlite"; }

void startCli(QProcess& p, const QStringList& args, const QString& fault = {}) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (!fault.isEmpty()) env.insert("FOLIO_FAULT", fault);
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(FOLIO_CLI_PATH), args);
}

// Runs to the end; returns stderr. *crashed says whether the process died of a signal.
QByteArray runToEnd(const QStringList& args, const QString& fault, bool* crashed, int* exitCode) {
    QProcess p;
    startCli(p, args, fault);
    if (!p.waitForFinished(300000)) {
        p.kill();
        p.waitForFinished();
    }
    *crashed = p.exitStatus() == QProcess::CrashExit;
    *exitCode = p.exitCode();
    return p.readAllStandardError();
}

// "Reused N of M context tokens" -> N; 0 when there is no such line.
long long reusedTokens(const QByteArray& err) {
    const int at = err.indexOf("Reused ");
    if (at < 0) return 0;
    return err.mid(at + 7, err.indexOf(' ', at + 7) - at - 7).toLongLong();
}

} // namespace

class TestSessionCrash : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        // The data and cache directories are this test's own (see tests/CMakeLists.txt): start
        // from empty ones, also when the test runs again in the same build tree.
        for (const char* var : {"FOLIO_DATA_DIR", "FOLIO_CACHE_DIR"}) {
            const QString dir = qEnvironmentVariable(var);
            QVERIFY2(dir.contains("test-scratch"), qPrintable(dir));
            QDir(dir).removeRecursively();
        }
    }
    void killedDuringPrefillResumesFromTheLastCheckpoint();
    void killedDuringASnapshotWriteLeavesNoHalfFile();
    void killedInsideADatabaseWriteKeepsWhatWasCommitted();
};

void TestSessionCrash::killedDuringPrefillResumesFromTheLastCheckpoint() {
    QTemporaryDir tmp;
    const QString notes = folio::test::writeNotes(tmp.path(), 130);
    const QStringList args = {"ask", "--demo", "--session", "crash-prefill", "--chunk", "128", "--checkpoint-every", "1024",
                              "--max-tokens", "4", "--seed", "1"};
    QProcess p;
    startCli(p, args + QStringList{notes, "--", "What is on line 4?"});
    QVERIFY(p.waitForStarted(10000));
    // Progress lines ("prefill D/T tokens ..."), one per tenth when stderr is not a terminal: kill
    // once the prefill has passed the second checkpoint.
    p.setReadChannel(QProcess::StandardError);
    long long killedAt = -1;
    QByteArray seen;
    QElapsedTimer t;
    t.start();
    while (killedAt < 0 && t.elapsed() < 120000 && p.state() == QProcess::Running) {
        if (!p.canReadLine() && !p.waitForReadyRead(1000)) continue;
        while (p.canReadLine()) {
            const QByteArray line = p.readLine();
            seen += line;
            if (!line.startsWith("prefill ")) continue;
            const long long done = line.mid(8, line.indexOf('/') - 8).toLongLong();
            if (done >= 2300) {
                ::kill(pid_t(p.processId()), SIGKILL);
                killedAt = done;
                break;
            }
        }
    }
    QVERIFY2(killedAt > 0, seen.constData());
    p.waitForFinished();
    QCOMPARE(p.exitStatus(), QProcess::CrashExit);

    // Committed before the kill: the session and its source.
    {
        SessionStore store;
        QVERIFY(store.open(databasePath()));
        std::string detail;
        QVERIFY2(store.integrityCheck(&detail), detail.c_str());
        const auto info = store.findSession("crash-prefill");
        QVERIFY(info.has_value());
        QCOMPARE(store.sources(info->id).size(), std::size_t(1));
        QCOMPARE(store.messages(info->id).size(), std::size_t(0));
    }

    bool crashed = false;
    int code = -1;
    const QByteArray err = runToEnd(args + QStringList{"--", "What is on line 4?"}, {}, &crashed, &code);
    QVERIFY2(!crashed && code == 0, err.constData());
    // The last checkpoint before the kill (every 1024 tokens) is where it resumes.
    const long long reused = reusedTokens(err);
    QVERIFY2(reused >= 2048 && reused <= killedAt, err.constData());
    QVERIFY2(!err.contains("unusable"), err.constData());
    SessionStore store;
    QVERIFY(store.open(databasePath()));
    QCOMPARE(store.messages(store.findSession("crash-prefill")->id).size(), std::size_t(2));
}

void TestSessionCrash::killedDuringASnapshotWriteLeavesNoHalfFile() {
    QTemporaryDir tmp;
    const QString notes = folio::test::writeNotes(tmp.path(), 50);
    const QStringList args = {"ask", "--demo", "--session", "crash-snapshot", "--max-tokens", "4", "--seed", "2"};
    bool crashed = false;
    int code = -1;
    QByteArray err = runToEnd(args + QStringList{notes, "--", "First?"}, "snapshot-write", &crashed, &code);
    QVERIFY2(crashed, err.constData());
    // No snapshot file under a real name: the kill came half way through the payload.
    const QString dir = qEnvironmentVariable("FOLIO_CACHE_DIR") + "/snapshots";
    for (const QFileInfo& fi : QDir(dir).entryInfoList({"*.fsnap"}, QDir::Files)) {
        QFile f(fi.filePath());
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY2(f.read(8) == "FOLIOSNP", qPrintable(fi.fileName()));
    }
    err = runToEnd(args + QStringList{"--", "First?"}, {}, &crashed, &code);
    QVERIFY2(!crashed && code == 0, err.constData());
    QVERIFY2(!err.contains("unusable"), err.constData());
    QVERIFY2(err.contains("Session crash-snapshot: 1 sources"), err.constData());
    // And the snapshot written this time is used by the next question.
    err = runToEnd(args + QStringList{"--", "Second?"}, {}, &crashed, &code);
    QVERIFY2(!crashed && code == 0, err.constData());
    QVERIFY2(reusedTokens(err) > 0, err.constData());
}

void TestSessionCrash::killedInsideADatabaseWriteKeepsWhatWasCommitted() {
    QTemporaryDir tmp;
    const QString notes = folio::test::writeNotes(tmp.path(), 20);
    const QStringList args = {"ask", "--demo", "--session", "crash-db", "--max-tokens", "4", "--seed", "3"};
    bool crashed = false;
    int code = -1;
    QByteArray err = runToEnd(args + QStringList{notes, "--", "Question one?"}, "db-write", &crashed, &code);
    QVERIFY2(crashed, err.constData());
    {
        SessionStore store;
        QVERIFY(store.open(databasePath()));
        std::string detail;
        QVERIFY2(store.integrityCheck(&detail), detail.c_str());
        const auto info = store.findSession("crash-db");
        QVERIFY(info.has_value());
        QCOMPARE(store.sources(info->id).size(), std::size_t(1));
        // The question and its answer are one transaction: the kill between them left neither.
        QCOMPARE(store.messages(info->id).size(), std::size_t(0));
    }
    err = runToEnd(args + QStringList{"--", "Question one?"}, {}, &crashed, &code);
    QVERIFY2(!crashed && code == 0, err.constData());
    QVERIFY2(reusedTokens(err) > 0, err.constData()); // the context prefilled before the kill
    SessionStore store;
    QVERIFY(store.open(databasePath()));
    const auto messages = store.messages(store.findSession("crash-db")->id);
    QCOMPARE(messages.size(), std::size_t(2));
    QCOMPARE(messages[0].content, std::string("Question one?"));
}

QTEST_MAIN(TestSessionCrash)
#include "test_session_crash.moc"
