// A repository of a million small files (issue: bad input at scale): `folio-cli pack` as a user
// runs it reads every one, stays inside the budget with a bounded manifest, finds the file the
// question names, and keeps its peak memory bounded. Label slow: the whole test took 2 to 7 minutes
// on the development machine (writing and removing a million files is the file system's time; the
// pack itself about 14 s), and the files take 4 GB of disk blocks while it runs.
#include "ingest_test_support.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

class TestMillionFiles : public QObject {
    Q_OBJECT
private slots:
    void packsAMillionFiles() {
        if (!folio::test::haveGit()) QSKIP("git is not installed");
        QTemporaryDir& tmp = tmp_;
        fixture_ = tmp.path() + "/repo";
        const QString repo = fixture_;
        QVERIFY(QDir().mkpath(repo));
        QVERIFY(folio::test::git(repo, {"init", "-q"}));
        constexpr int kDirs = 1000, kFiles = 1000;
        const QByteArray root = QFile::encodeName(repo);
        for (int d = 0; d < kDirs; ++d) {
            char dir[64];
            std::snprintf(dir, sizeof dir, "/d%03d", d);
            QVERIFY(::mkdir((root + dir).constData(), 0755) == 0);
            for (int f = 0; f < kFiles; ++f) {
                char name[64], text[64];
                std::snprintf(name, sizeof name, "%s/f%03d.c", dir, f);
                const int n = std::snprintf(text, sizeof text, "int v%d_%d = %d;\n", d, f, f);
                const int fd = ::open((root + name).constData(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                QVERIFY(fd >= 0);
                QCOMPARE(::write(fd, text, std::size_t(n)), ssize_t(n));
                ::close(fd);
            }
        }
        QProcess pack;
        pack.start(FOLIO_CLI_PATH, {"pack", repo, "--budget", "32768", "--question", "v500_7", "--json", "--output",
                                    tmp.path() + "/ctx.txt"});
        QVERIFY(pack.waitForStarted());
        QVERIFY(pack.waitForFinished(600000));
        QCOMPARE(pack.exitCode(), 0);
        rusage children{};
        getrusage(RUSAGE_CHILDREN, &children); // the largest child waited for: folio-cli
        QJsonObject summary;
        for (const QByteArray& line : pack.readAllStandardOutput().split('\n'))
            if (line.contains("\"type\":\"summary\"")) summary = QJsonDocument::fromJson(line).object();
        QVERIFY2(!summary.isEmpty(), pack.readAllStandardError().constData());
        QCOMPARE(summary.value("documents").toInt(), kDirs * kFiles);
        QVERIFY(summary.value("total_tokens").toInt() <= 32768);
        QVERIFY(summary.value("manifest_tokens").toInt() <= 32768 / 50);
        QFile ctx(tmp.path() + "/ctx.txt");
        QVERIFY(ctx.open(QIODevice::ReadOnly));
        QVERIFY(ctx.readAll().contains("<<<FILE d500/f007.c"));
        // Measured: 1.24 GB (about 1.2 KB a file of 20 bytes: its document, chunk, definitions and
        // index entries). Bounded: no more than 2 GB for a million files.
        const double gib = double(children.ru_maxrss) / (1024.0 * 1024.0);
        qInfo("peak RSS of folio-cli pack over %d files: %.2f GiB", kDirs * kFiles, gib);
        QVERIFY2(gib < 2.0, qPrintable(QString::number(gib)));
    }

    // The fixture goes with rm -rf (QDir::removeRecursively takes minutes over a million files).
    void cleanup() {
        QProcess rm;
        rm.start("rm", {"-rf", fixture_});
        rm.waitForFinished(600000);
    }

private:
    QTemporaryDir tmp_; // removed after cleanup() has emptied it
    QString fixture_;
};

QTEST_GUILESS_MAIN(TestMillionFiles)
#include "test_million_files.moc"
