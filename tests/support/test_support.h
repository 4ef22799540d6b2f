// Shared helpers for Folio's tests: the shared fixtures folder and running folio-cli.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QtTest>

namespace folio::test {

// ../shared/fixtures beside the checkout (FOLIO_SHARED_FIXTURES overrides). Empty if absent.
inline QString fixturesDir() {
    QString dir = qEnvironmentVariable("FOLIO_SHARED_FIXTURES");
    if (dir.isEmpty()) dir = QStringLiteral(FOLIO_SHARED_DIR "/fixtures");
    return QDir(dir).exists() ? QDir(dir).absolutePath() : QString();
}

// Path of a fixture file, or empty when the fixtures folder or the file is absent.
inline QString fixture(const QString& relative) {
    const QString dir = fixturesDir();
    if (dir.isEmpty()) return {};
    const QString path = QDir(dir).filePath(relative);
    return QFileInfo::exists(path) ? path : QString();
}

#define FOLIO_REQUIRE_FIXTURE(var, relative)                                                        \
    const QString var = ::folio::test::fixture(relative);                                          \
    if (var.isEmpty()) QSKIP("shared fixture " relative " is absent; skipping");

// Writes `lines` lines of varied words (about 40 demo-model tokens each) to DIR/notes.md: a source
// whose prefill length the session tests can dial. Returns the path, or empty on failure.
inline QString writeNotes(const QString& dir, int lines) {
    QFile f(dir + "/notes.md");
    if (!f.open(QIODevice::WriteOnly)) return {};
    const char* words[] = {"alpha", "beta", "gamma", "delta", "engine", "prefill", "cache", "window"};
    for (int i = 0; i < lines; ++i) {
        QByteArray line = "line " + QByteArray::number(i) + ":";
        for (int w = 0; w < 10; ++w) line += QByteArray(" ") + words[(i * 7 + w * 3) % 8];
        f.write(line + "\n");
    }
    return f.fileName();
}

struct CliResult {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// Runs folio-cli with `args`, feeding `input` on stdin.
inline CliResult runCli(const QStringList& args, const QByteArray& input = {}, int timeoutMs = 120000) {
    QProcess p;
    p.start(QStringLiteral(FOLIO_CLI_PATH), args);
    CliResult r;
    if (!p.waitForStarted(10000)) return r;
    if (!input.isEmpty()) p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

} // namespace folio::test
