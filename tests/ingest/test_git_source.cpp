// Repositories through libgit2: a fixture repository built with git, with history, ignore rules,
// binaries, a huge file, symlinks, a submodule, an LFS pointer, non-UTF-8 and CRLF files.
#include "folio/ingest/git_source.h"
#include "ingest_test_support.h"

#include <QTemporaryDir>
#include <QtTest>
#include <unistd.h>

using namespace folio::ingest;
using folio::test::git;
using folio::test::writeFile;

class TestGitSource : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void workingTree();
    void skipReasons_data();
    void skipReasons();
    void orderByLastCommit();
    void committedTreeAtRef();
    void followSubmodules();
    void threadsDoNotChangeTheResult();
    void repositoryWithoutCommits();
    void notARepository();
    void unknownRef();

private:
    const Document* doc(const SourceResult& r, const std::string& path) {
        for (const auto& d : r.documents)
            if (d.path == path) return &d;
        return nullptr;
    }
    QTemporaryDir tmp_;
    QString repo_;
    SourceResult work_;
};

void TestGitSource::initTestCase() {
    if (!folio::test::haveGit())
        QSKIP("git is not installed; the fixture repository is built with it");
    QVERIFY(tmp_.isValid());
    const QString sub = tmp_.filePath("sub");
    QVERIFY(QDir().mkpath(sub));
    QVERIFY(git(sub, {"init", "-q"}));
    QVERIFY(writeFile(sub + "/lib.h", "int lib();\n"));
    QVERIFY(git(sub, {"add", "."}));
    QVERIFY(git(sub, {"commit", "-q", "-m", "sub"}, nullptr, 1));

    repo_ = tmp_.filePath("repo");
    QVERIFY(QDir().mkpath(repo_));
    QVERIFY(git(repo_, {"init", "-q"}));
    // Commit 1: the oldest files.
    QVERIFY(writeFile(repo_ + "/old.cpp", "int old() { return 1; }\n"));
    QVERIFY(writeFile(repo_ + "/docs/guide.md", "# Guide\n\nRead me.\n"));
    QVERIFY(writeFile(repo_ + "/.gitignore", "build/\n*.log\n"));
    QVERIFY(writeFile(repo_ + "/.folioignore", "secret.txt\n"));
    QVERIFY(git(repo_, {"add", "-A"}));
    QVERIFY(git(repo_, {"commit", "-q", "-m", "one"}, nullptr, 1));
    // Commit 2: everything that must be screened out, and mid.cpp.
    QVERIFY(writeFile(repo_ + "/mid.cpp", "int mid();\n"));
    QVERIFY(writeFile(repo_ + "/logo.png", QByteArray("\x89PNG\r\n\x1A\n\0\0\0\rIHDR", 16)));
    QVERIFY(writeFile(repo_ + "/huge.txt", QByteArray(2 * 1024 * 1024, 'x')));
    QVERIFY(writeFile(repo_ + "/latin1.txt", "caf\xE9\n"));
    QVERIFY(writeFile(repo_ + "/crlf.txt", "one\r\ntwo\r\n"));
    QVERIFY(writeFile(repo_ + "/package-lock.json", "{}\n"));
    QVERIFY(writeFile(repo_ + "/vendor/lib.c", "int v;\n"));
    QVERIFY(writeFile(
        repo_ + "/model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:0123abcd\nsize 999999\n"));
    QVERIFY(writeFile(repo_ + "/secret.txt", "hunter2\n"));
    QVERIFY(::symlink("old.cpp", qPrintable(repo_ + "/link-in.cpp")) == 0);
    QVERIFY(::symlink("/etc/hostname", qPrintable(repo_ + "/link-out")) == 0);
    QVERIFY(git(repo_, {"add", "-A"}));
    QVERIFY(git(repo_, {"-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "sub"}));
    QVERIFY(git(repo_, {"commit", "-q", "-m", "two"}, nullptr, 2));
    // Commit 3: the newest file.
    QVERIFY(writeFile(repo_ + "/new.cpp", "int fresh();\n"));
    QVERIFY(git(repo_, {"add", "-A"}));
    QVERIFY(git(repo_, {"commit", "-q", "-m", "three"}, nullptr, 3));
    // The working tree: an uncommitted edit, an untracked file, ignored files.
    QVERIFY(writeFile(repo_ + "/old.cpp", "int old() { return 2; }\n"));
    QVERIFY(writeFile(repo_ + "/untracked.cpp", "int u;\n"));
    QVERIFY(writeFile(repo_ + "/build/out.o", QByteArray("\0\0", 2)));
    QVERIFY(writeFile(repo_ + "/debug.log", "log\n"));

    work_ = readGitRepository(repo_);
    QVERIFY2(work_.error.empty(), work_.error.c_str());
}

void TestGitSource::workingTree() {
    QCOMPARE(QString::fromStdString(work_.kindName), QString("git repository"));
    QVERIFY(QString::fromStdString(work_.description).startsWith("working tree of main at "));
    const Document* old = doc(work_, "old.cpp");
    QVERIFY(old);
    QCOMPARE(QString::fromStdString(old->text),
             QString("int old() { return 2; }\n")); // the edit, not HEAD
    QVERIFY(doc(work_, "untracked.cpp"));
    QVERIFY(doc(work_, "docs/guide.md"));
    QCOMPARE(doc(work_, "docs/guide.md")->kind, DocumentKind::Prose);
    const Document* latin = doc(work_, "latin1.txt");
    QVERIFY(latin);
    QCOMPARE(QString::fromStdString(latin->text), QString::fromUtf8("café\n"));
    QVERIFY(!latin->notes.empty() &&
            QString::fromStdString(latin->notes.front()).contains("Latin-1"));
    const Document* crlf = doc(work_, "crlf.txt");
    QVERIFY(crlf);
    QCOMPARE(QString::fromStdString(crlf->text), QString("one\ntwo\n"));
    QCOMPARE(work_.submodules.size(), std::size_t{1});
    QCOMPARE(QString::fromStdString(work_.submodules[0].path), QString("sub"));
    QVERIFY(!work_.submodules[0].followed);
    QVERIFY(!doc(work_, "sub/lib.h"));
}

void TestGitSource::skipReasons_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("reason");
    QTest::addColumn<QString>("detail");
    QTest::newRow("ignored folder once") << "build/" << int(SkipReason::GitIgnored) << ".gitignore";
    QTest::newRow("ignored file") << "debug.log" << int(SkipReason::GitIgnored) << ".gitignore";
    QTest::newRow("folioignore") << "secret.txt" << int(SkipReason::FolioIgnored) << ".folioignore";
    QTest::newRow("binary") << "logo.png" << int(SkipReason::Binary) << "binary";
    QTest::newRow("huge") << "huge.txt" << int(SkipReason::TooLarge) << "2.0 MiB > 1.0 MiB";
    QTest::newRow("lock") << "package-lock.json" << int(SkipReason::LockFile) << "lock";
    QTest::newRow("vendored") << "vendor/lib.c" << int(SkipReason::Vendored) << "vendor/";
    QTest::newRow("lfs") << "model.bin" << int(SkipReason::LfsPointer) << "LFS";
    QTest::newRow("link inside") << "link-in.cpp" << int(SkipReason::Symlink)
                                 << "inside the repository";
    QTest::newRow("link outside") << "link-out" << int(SkipReason::Symlink)
                                  << "outside the repository";
    QTest::newRow("submodule") << "sub" << int(SkipReason::Submodule) << "not followed";
}

void TestGitSource::skipReasons() {
    QFETCH(QString, path);
    QFETCH(int, reason);
    QFETCH(QString, detail);
    const SkippedFile* found = nullptr;
    for (const auto& s : work_.skipped)
        if (QString::fromStdString(s.path) == path) found = &s;
    QVERIFY2(found, qPrintable(path + " is not in the skipped list"));
    QCOMPARE(int(found->reason), reason);
    QVERIFY2(QString::fromStdString(found->detail).contains(detail), found->detail.c_str());
    QVERIFY(!doc(work_, path.toStdString()));
}

void TestGitSource::orderByLastCommit() {
    // Oldest commit first, ties by path; uncommitted (edited or untracked) files last.
    std::vector<std::string> order;
    for (const auto& d : work_.documents) order.push_back(d.path);
    const std::vector<std::string> expected = {
        ".folioignore", ".gitignore", "docs/guide.md", ".gitmodules", "crlf.txt",
        "latin1.txt",   "mid.cpp",    "new.cpp",       "old.cpp",     "untracked.cpp"};
    QCOMPARE(order, expected);
    QCOMPARE(doc(work_, "docs/guide.md")->changeRank, 1);
    QCOMPARE(doc(work_, "mid.cpp")->changeRank, 2);
    QCOMPARE(doc(work_, "new.cpp")->changeRank, 3);
    QVERIFY(doc(work_, "old.cpp")->changeRank > 3);
    QCOMPARE(QString::fromStdString(doc(work_, "new.cpp")->lastCommit).size(), 40);
}

void TestGitSource::committedTreeAtRef() {
    GitSourceOptions o;
    o.mode = GitTreeMode::Committed;
    o.ref = "HEAD~1";
    const SourceResult r = readGitRepository(repo_, o);
    QVERIFY2(r.error.empty(), r.error.c_str());
    QVERIFY(QString::fromStdString(r.description).startsWith("committed tree of HEAD~1 at "));
    QVERIFY(!doc(r, "new.cpp"));
    QVERIFY(!doc(r, "untracked.cpp"));
    QCOMPARE(QString::fromStdString(doc(r, "old.cpp")->text), QString("int old() { return 1; }\n"));
    QCOMPARE(doc(r, "mid.cpp")->changeRank, 2); // HEAD~1 is the newest commit walked: rank 2 of 2
    bool sawLink = false, sawSecret = false;
    for (const auto& s : r.skipped) {
        sawLink = sawLink || (s.path == "link-out" && s.reason == SkipReason::Symlink);
        sawSecret = sawSecret || (s.path == "secret.txt" && s.reason == SkipReason::FolioIgnored);
    }
    QVERIFY(sawLink);
    QVERIFY(sawSecret);
    // The same ref twice gives the same documents.
    const SourceResult again = readGitRepository(repo_, o);
    QCOMPARE(again.documents.size(), r.documents.size());
    for (std::size_t i = 0; i < r.documents.size(); ++i)
        QCOMPARE(again.documents[i].text, r.documents[i].text);
}

void TestGitSource::followSubmodules() {
    GitSourceOptions o;
    o.followSubmodules = true;
    const SourceResult r = readGitRepository(repo_, o);
    QVERIFY(doc(r, "sub/lib.h"));
    QVERIFY(r.submodules.at(0).followed);
}

void TestGitSource::threadsDoNotChangeTheResult() {
    for (const GitTreeMode mode : {GitTreeMode::WorkingTree, GitTreeMode::Committed}) {
        GitSourceOptions one, many;
        one.mode = many.mode = mode;
        one.threads = 1;
        many.threads = 4;
        const SourceResult a = readGitRepository(repo_, one), b = readGitRepository(repo_, many);
        QCOMPARE(a.documents.size(), b.documents.size());
        for (std::size_t i = 0; i < a.documents.size(); ++i) {
            QCOMPARE(a.documents[i].path, b.documents[i].path);
            QCOMPARE(a.documents[i].text, b.documents[i].text);
        }
        QCOMPARE(a.skipped.size(), b.skipped.size());
        for (std::size_t i = 0; i < a.skipped.size(); ++i)
            QCOMPARE(a.skipped[i].path, b.skipped[i].path);
    }
}

void TestGitSource::repositoryWithoutCommits() {
    QTemporaryDir fresh;
    QVERIFY(git(fresh.path(), {"init", "-q"}));
    QVERIFY(writeFile(fresh.filePath("staged.c"), "int s;\n"));
    QVERIFY(git(fresh.path(), {"add", "staged.c"}));
    QVERIFY(writeFile(fresh.filePath("loose.c"), "int l;\n"));
    const SourceResult r = readGitRepository(fresh.path());
    QVERIFY2(r.error.empty(), r.error.c_str());
    QVERIFY(QString::fromStdString(r.description).endsWith("no commits yet"));
    QCOMPARE(r.documents.size(), std::size_t{2});
    GitSourceOptions committed;
    committed.mode = GitTreeMode::Committed;
    QVERIFY(
        QString::fromStdString(readGitRepository(fresh.path(), committed).error).contains("HEAD"));
}

void TestGitSource::notARepository() {
    QTemporaryDir empty;
    const SourceResult r = readGitRepository(empty.path());
    QVERIFY(!r.error.empty());
    QVERIFY(r.documents.empty());
}

void TestGitSource::unknownRef() {
    GitSourceOptions o;
    o.mode = GitTreeMode::Committed;
    o.ref = "no-such-branch";
    const SourceResult r = readGitRepository(repo_, o);
    QVERIFY(QString::fromStdString(r.error).contains("no-such-branch"));
}

QTEST_GUILESS_MAIN(TestGitSource)
#include "test_git_source.moc"
