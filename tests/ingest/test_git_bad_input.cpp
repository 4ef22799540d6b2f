// Repositories that fight back: a named pipe where a file was, folders nested 100 deep, a file
// name that is not UTF-8, a submodule whose repository is missing, a 200 MB file of one line, a
// folder the user may not read, a repository owned by someone else. Each is read without a hang
// or a crash, with the reason for what was left out.
#include "folio/ingest/git_source.h"
#include "folio/ingest/packer.h"
#include "ingest_test_support.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <fcntl.h>
#include <future>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace folio::ingest;
using folio::test::git;
using folio::test::writeFile;

namespace {

const Document* doc(const SourceResult& r, const std::string& path) {
    for (const Document& d : r.documents)
        if (d.path == path) return &d;
    return nullptr;
}

const SkippedFile* skipped(const SourceResult& r, const std::string& path) {
    for (const SkippedFile& s : r.skipped)
        if (s.path == path) return &s;
    return nullptr;
}

bool commitAll(const QString& repo) {
    return git(repo, {"add", "-A"}) && git(repo, {"commit", "-q", "-m", "fixture"}, nullptr, 1);
}

long peakRssKib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

} // namespace

class TestGitBadInput : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void namedPipeDoesNotStall();
    void foldersNestedPastTheLimit();
    void fileNameNotUtf8();
    void submoduleWithoutItsRepository();
    void hugeOneLineFile();
    void progressWhileReading();
    void unreadableFolder();
};

void TestGitBadInput::initTestCase() {
    if (!folio::test::haveGit()) QSKIP("git is not installed; the fixtures are built with it");
}

void TestGitBadInput::namedPipeDoesNotStall() {
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    QVERIFY(writeFile(repo + "/a.c", "int a;\n"));
    QVERIFY(writeFile(repo + "/pipe.txt", "was a file\n"));
    QVERIFY(commitAll(repo));
    const QByteArray pipe = QFile::encodeName(repo + "/pipe.txt");
    QVERIFY(::unlink(pipe.constData()) == 0);
    QVERIFY(::mkfifo(pipe.constData(), 0644) == 0);
    auto result = std::async(std::launch::async, [&] { return readGitRepository(repo); });
    if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
        // Unblock the reader (it waits for a writer) before failing.
        const int fd = ::open(pipe.constData(), O_WRONLY | O_NONBLOCK);
        if (fd >= 0) ::close(fd);
        QFAIL("reading the working tree stalled on a named pipe");
    }
    const SourceResult r = result.get();
    QVERIFY2(r.error.empty(), r.error.c_str());
    QVERIFY(doc(r, "a.c"));
    const SkippedFile* s = skipped(r, "pipe.txt");
    QVERIFY(s);
    QCOMPARE(s->reason, SkipReason::Unreadable);
    QVERIFY(QString::fromStdString(s->detail).contains("named pipe"));
}

void TestGitBadInput::foldersNestedPastTheLimit() {
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    QString deep;
    for (int i = 0; i < 100; ++i) deep += "d/";
    QVERIFY(writeFile(repo + "/" + deep + "deep.c", "int deep;\n"));
    QVERIFY(writeFile(repo + "/top.c", "int top;\n"));
    QVERIFY(commitAll(repo));
    QVERIFY(writeFile(repo + "/new.c", "int untracked;\n"));
    const SourceResult r = readGitRepository(repo);
    QVERIFY2(r.error.empty(), r.error.c_str());
    QVERIFY(doc(r, (deep + "deep.c").toStdString()));
    QVERIFY(doc(r, "top.c"));
    // libgit2 refuses to walk past 100 levels: the tracked files are still read, and what is
    // missing is said, not dropped silently.
    if (!doc(r, "new.c")) {
        QCOMPARE(r.warnings.size(), std::size_t(1));
        QVERIFY(QString::fromStdString(r.warnings[0]).contains("untracked"));
    }
    // The manifest lists the chain as one line, not 100.
    const PackedContext p = packSources({r}, folio::test::standInCounting());
    const QString m = QString::fromStdString(p.segments.back().text);
    QVERIFY2(m.count("\n") < 10, qPrintable(m));
    QVERIFY(m.contains("\n" + deep + ": 1 file, "));
    if (!r.warnings.empty()) QVERIFY(m.contains("Warning: "));
}

void TestGitBadInput::fileNameNotUtf8() {
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    const QByteArray latin1 = QFile::encodeName(repo) + "/caf\xe9.c";
    {
        // By its bytes: Qt would re-encode the name.
        const int fd = ::open(latin1.constData(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0) QSKIP("this file system does not take a Latin-1 file name");
        const char text[] = "int cafe;\n";
        QCOMPARE(::write(fd, text, sizeof text - 1), ssize_t(sizeof text - 1));
        ::close(fd);
    }
    QVERIFY(commitAll(repo));
    for (const GitTreeMode mode : {GitTreeMode::WorkingTree, GitTreeMode::Committed}) {
        GitSourceOptions o;
        o.mode = mode;
        const SourceResult r = readGitRepository(repo, o);
        QVERIFY2(r.error.empty(), r.error.c_str());
        const Document* d = doc(r, "caf\xc3\xa9.c"); // shown decoded, as UTF-8
        QVERIFY(d);
        QCOMPARE(QString::fromStdString(d->text), QString("int cafe;\n"));
        QVERIFY(std::find(d->notes.begin(), d->notes.end(),
                          "the file name is not UTF-8; shown decoded as Latin-1") != d->notes.end());
    }
}

void TestGitBadInput::submoduleWithoutItsRepository() {
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    QVERIFY(writeFile(repo + "/a.c", "int a;\n"));
    QVERIFY(git(repo, {"add", "a.c"}));
    // A gitlink with no .gitmodules entry and no checkout: a clone made without its submodules,
    // or a submodule whose URL is gone.
    QVERIFY(git(repo, {"update-index", "--add", "--cacheinfo",
                       "160000,1234567890abcdef1234567890abcdef12345678,vendor/lib"}));
    QVERIFY(git(repo, {"commit", "-q", "-m", "gitlink"}, nullptr, 2));
    for (const GitTreeMode mode : {GitTreeMode::WorkingTree, GitTreeMode::Committed}) {
        GitSourceOptions o;
        o.mode = mode;
        o.followSubmodules = true;
        const SourceResult r = readGitRepository(repo, o);
        QVERIFY2(r.error.empty(), r.error.c_str());
        QVERIFY(doc(r, "a.c"));
        const SkippedFile* s = skipped(r, "vendor/lib");
        QVERIFY(s);
        QCOMPARE(s->reason, SkipReason::Submodule);
        QVERIFY(QString::fromStdString(s->detail).contains("1234567890ab"));
        QCOMPARE(r.submodules.size(), std::size_t(1));
        QVERIFY(!r.submodules[0].followed);
    }
}

void TestGitBadInput::hugeOneLineFile() {
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    QVERIFY(writeFile(repo + "/a.c", "int a;\n"));
    QVERIFY(commitAll(repo));
    {
        QFile f(repo + "/one-line.txt"); // untracked: read from the working tree
        QVERIFY(f.open(QIODevice::WriteOnly));
        const QByteArray block(1 << 20, 'a');
        for (int i = 0; i < 200; ++i) QCOMPARE(f.write(block), qint64(block.size()));
    }
    const long before = peakRssKib();
    const SourceResult r = readGitRepository(repo);
    QVERIFY2(r.error.empty(), r.error.c_str());
    const SkippedFile* s = skipped(r, "one-line.txt");
    QVERIFY(s);
    QCOMPARE(s->reason, SkipReason::TooLarge);
    QVERIFY(doc(r, "a.c"));
    // Only the head of the file was read: the peak grew by far less than its 200 MB.
    QVERIFY2(peakRssKib() - before < 64 * 1024,
             qPrintable(QString("peak RSS grew by %1 KiB").arg(peakRssKib() - before)));
}

void TestGitBadInput::progressWhileReading() {
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    for (int i = 0; i < 2500; ++i)
        QVERIFY(writeFile(repo + QString("/d%1/f%2.c").arg(i % 10).arg(i), "int x;\n"));
    QVERIFY(commitAll(repo));
    for (const int threads : {1, 3}) {
        std::vector<std::pair<std::size_t, std::size_t>> calls;
        GitSourceOptions o;
        o.threads = threads;
        o.progress = [&](std::size_t read, std::size_t total) { calls.emplace_back(read, total); };
        const SourceResult r = readGitRepository(repo, o);
        QCOMPARE(r.documents.size(), std::size_t(2500));
        // Every 1,024 files and at the end: 2 on the way (threads can merge them into fewer
        // calls, never more) and the last with everything read.
        QVERIFY(calls.size() >= 2 && calls.size() <= 3);
        QCOMPARE(calls.back(), (std::pair<std::size_t, std::size_t>(2500, 2500)));
        for (std::size_t i = 1; i < calls.size(); ++i) QVERIFY(calls[i].first >= calls[i - 1].first);
    }
}

// `folio-cli pack DIR --json` as a user who may not read what mode 000 keeps: as root (whom file
// modes do not stop) through setpriv as nobody, with the fixture handed to nobody; else directly.
// Returns the JSON lines; empty with *why when it cannot be run.
static std::vector<QJsonObject> packAsUnprivileged(const QString& tmp, const QString& dir, QString* why) {
    QStringList program{QStringLiteral(FOLIO_CLI_PATH), "pack", dir, "--json"};
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("HOME", tmp); // nobody may not read root's ~/.gitconfig
    p.setProcessEnvironment(env);
    if (::geteuid() == 0) {
        const QString setpriv = QStandardPaths::findExecutable("setpriv");
        if (setpriv.isEmpty()) {
            *why = "running as root and setpriv is not installed";
            return {};
        }
        program = QStringList{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"} + program;
    }
    p.start(program.front(), program.mid(1));
    if (!p.waitForFinished(60000)) {
        *why = "folio-cli pack did not finish";
        return {};
    }
    std::vector<QJsonObject> lines;
    for (const QByteArray& line : p.readAllStandardOutput().split('\n'))
        if (!line.isEmpty()) lines.push_back(QJsonDocument::fromJson(line).object());
    if (lines.empty()) *why = QString::fromUtf8(p.readAllStandardError());
    return lines;
}

void TestGitBadInput::unreadableFolder() {
    QTemporaryDir tmp;
    QVERIFY(::chmod(QFile::encodeName(tmp.path()).constData(), 0755) == 0);
    const QString repo = tmp.path() + "/repo", plain = tmp.path() + "/plain";
    QVERIFY(QDir().mkpath(repo));
    QVERIFY(git(repo, {"init", "-q"}));
    QVERIFY(writeFile(repo + "/src/a.c", "int a;\n"));
    QVERIFY(writeFile(repo + "/secret/b.c", "int b;\n"));
    QVERIFY(commitAll(repo));
    QVERIFY(writeFile(plain + "/d.txt", "readable\n"));
    QVERIFY(writeFile(plain + "/secret/c.txt", "hidden\n"));
    const bool root = ::geteuid() == 0;
    if (root) {
        QProcess chown;
        chown.start("chown", {"-R", "65534:65534", repo, plain});
        QVERIFY(chown.waitForFinished(30000) && chown.exitCode() == 0);
    }
    QVERIFY(::chmod(QFile::encodeName(repo + "/secret").constData(), 0) == 0);
    QVERIFY(::chmod(QFile::encodeName(plain + "/secret").constData(), 0) == 0);
    auto restore = qScopeGuard([&] {
        ::chmod(QFile::encodeName(repo + "/secret").constData(), 0755);
        ::chmod(QFile::encodeName(plain + "/secret").constData(), 0755);
    });
    auto find = [](const std::vector<QJsonObject>& lines, const QString& type, const QString& path) {
        for (const QJsonObject& o : lines)
            if (o.value("type").toString() == type && o.value("path").toString() == path) return o;
        return QJsonObject();
    };
    QString why;
    // A repository: the tracked file behind the folder is named unreadable (not "deleted"), the
    // rest is read.
    std::vector<QJsonObject> lines = packAsUnprivileged(tmp.path(), repo, &why);
    if (lines.empty()) QSKIP(qPrintable("cannot run folio-cli as an unprivileged user: " + why));
    QVERIFY(!find(lines, "document", "src/a.c").isEmpty());
    QJsonObject s = find(lines, "skipped", "secret/b.c");
    QCOMPARE(s.value("reason").toString(), QStringLiteral("unreadable"));
    QVERIFY2(s.value("detail").toString().contains("Permission denied"), qPrintable(s.value("detail").toString()));
    // A plain folder: the folder that cannot be listed is named, not silently empty.
    lines = packAsUnprivileged(tmp.path(), plain, &why);
    QVERIFY2(!lines.empty(), qPrintable(why));
    QVERIFY(!find(lines, "document", "d.txt").isEmpty());
    s = find(lines, "skipped", "secret/");
    QCOMPARE(s.value("reason").toString(), QStringLiteral("unreadable"));
    QVERIFY2(s.value("detail").toString().contains("cannot list the folder"), qPrintable(s.value("detail").toString()));
    if (!root) return;
    // A repository owned by another user: git's safe.directory refusal, said in words.
    QProcess chown;
    chown.start("chown", {"-R", "0:0", repo});
    QVERIFY(chown.waitForFinished(30000) && chown.exitCode() == 0);
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("HOME", tmp.path());
    p.setProcessEnvironment(env);
    p.start(QStandardPaths::findExecutable("setpriv"),
            {"--reuid=65534", "--regid=65534", "--clear-groups", FOLIO_CLI_PATH, "pack", repo});
    QVERIFY(p.waitForFinished(60000));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.contains("owned by another user") && err.contains("safe.directory " + repo), qPrintable(err));
}

QTEST_GUILESS_MAIN(TestGitBadInput)
#include "test_git_bad_input.moc"
