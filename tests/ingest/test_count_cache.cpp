// The token count cache (count_cache.h): a real SQLite file that keeps exact counts between runs,
// and a pack of a real git repository made by the test that, the second time, tokenizes nothing it
// counted before, after an edit only the edited file, and writes the same context as a pack without
// the cache.
#include "folio/ingest/count_cache.h"
#include "folio/ingest/git_source.h"
#include "folio/ingest/packer.h"

#include "ingest_test_support.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <mutex>
#include <set>
#include <sqlite3.h>

using namespace folio;
using namespace folio::ingest;

namespace {

// The stand-in tokenizer, recording the texts it was asked to count.
struct RecordingCounter {
    std::mutex mutex;
    std::vector<std::string> texts;
    TokenCounting counting() {
        return {[this](std::string_view t) {
                    std::lock_guard lock(mutex);
                    texts.emplace_back(t);
                    return test::standInEncode(t).size();
                },
                "stand-in test tokenizer", true};
    }
    // How many counted texts are the whole framed document `path` (context_format.h's header).
    int framing(const std::string& path) {
        std::lock_guard lock(mutex);
        int n = 0;
        for (const std::string& t : texts)
            if (t.rfind("<<<FILE " + path + " (", 0) == 0) ++n; // "(N lines)>>>": the whole document
        return n;
    }
};

} // namespace

class TestCountCache : public QObject {
    Q_OBJECT

private slots:
    void keepsCountsInAFile() {
        QTemporaryDir tmp;
        const std::string path = tmp.filePath("counts.sqlite").toStdString();
        std::string error;
        {
            auto c = TokenCountCache::open(path, "tok-A", &error);
            QVERIFY2(c, error.c_str());
            QCOMPARE(c->size(), std::size_t(0));
            QVERIFY(!c->find(TokenCountCache::keyOf("alpha")));
            c->put(TokenCountCache::keyOf("alpha"), 7);
            QCOMPARE(c->count("beta gamma", [](std::string_view) { return std::size_t(11); }), std::size_t(11));
            QVERIFY(c->save(&error));
        }
        {
            auto c = TokenCountCache::open(path, "tok-A", &error);
            QVERIFY2(c, error.c_str());
            QCOMPARE(c->size(), std::size_t(2));
            QCOMPARE(c->find(TokenCountCache::keyOf("alpha")).value_or(0), std::size_t(7));
            QCOMPARE(c->count("beta gamma", [](std::string_view) -> std::size_t { return 999; }), std::size_t(11));
            QCOMPARE(c->hits(), std::size_t(2));
            QCOMPARE(c->misses(), std::size_t(0));
            QVERIFY(!c->find(TokenCountCache::keyOf("alpha ")));
        }
        // Another tokenizer sees none of them.
        auto other = TokenCountCache::open(path, "tok-B", &error);
        QVERIFY2(other, error.c_str());
        QCOMPARE(other->size(), std::size_t(0));
        QVERIFY(!other->find(TokenCountCache::keyOf("alpha")));
    }

    void refusesOtherFiles() {
        QTemporaryDir tmp;
        // An SQLite file of something else: refused by name, and left as it was.
        const std::string foreign = tmp.filePath("notes.sqlite").toStdString();
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db, "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('keep me')", nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(db);
        std::string error;
        QVERIFY(!TokenCountCache::open(foreign, "tok", &error));
        QVERIFY2(QString::fromStdString(error).contains("notes.sqlite: not a Folio token count cache"), error.c_str());
        QCOMPARE(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        QCOMPARE(sqlite3_prepare_v2(db, "SELECT t FROM notes", -1, &st, nullptr), SQLITE_OK);
        QCOMPARE(sqlite3_step(st), SQLITE_ROW);
        QCOMPARE(QString(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))), QString("keep me"));
        sqlite3_finalize(st);
        sqlite3_close(db);
        // A cache of a newer schema: refused, not rewritten.
        const std::string newer = tmp.filePath("newer.sqlite").toStdString();
        QCOMPARE(sqlite3_open(newer.c_str(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db, "PRAGMA user_version = 9", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(db);
        QVERIFY(!TokenCountCache::open(newer, "tok", &error));
        QVERIFY2(QString::fromStdString(error).contains("schema 9"), error.c_str());
        // Not a database at all.
        const QString garbage = tmp.filePath("garbage.sqlite");
        QVERIFY(test::writeFile(garbage, QByteArray(4096, 'x')));
        QVERIFY(!TokenCountCache::open(garbage.toStdString(), "tok", &error));
        QVERIFY2(QString::fromStdString(error).contains("garbage.sqlite"), error.c_str());
    }

    void secondPackTokenizesOnlyWhatChanged() {
        if (!test::haveGit()) QSKIP("git is not installed");
        QTemporaryDir tmp;
        const QString repo = tmp.filePath("repo");
        QVERIFY(QDir().mkpath(repo));
        QVERIFY(test::git(repo, {"init", "-q"}));
        for (int f = 0; f < 30; ++f) {
            QByteArray text;
            for (int l = 0; l < 40; ++l)
                text += "int function_" + QByteArray::number(f) + "_" + QByteArray::number(l) + "(int x) { return x * " +
                        QByteArray::number(l) + "; }\n";
            QVERIFY(test::writeFile(repo + QStringLiteral("/src/file%1.c").arg(f, 2, 10, QLatin1Char('0')), text));
        }
        QVERIFY(test::git(repo, {"add", "-A"}));
        QVERIFY(test::git(repo, {"commit", "-q", "-m", "files"}, nullptr, 1));
        const std::string cachePath = tmp.filePath("counts.sqlite").toStdString();
        auto packWith = [&](TokenCountCache* cache, RecordingCounter& rec, std::size_t budget) {
            PackOptions o;
            o.budget = budget;
            o.question = "function_7_3 return";
            o.countCache = cache;
            std::vector<SourceResult> sources{readGitRepository(repo)};
            return packSources(std::move(sources), rec.counting(), o).text();
        };
        for (const std::size_t budget : {std::size_t(0), std::size_t(3000)}) { // everything, and excerpts
            RecordingCounter plain, first, second;
            QFile::remove(QString::fromStdString(cachePath)); // each budget starts from an empty cache
            const std::string reference = packWith(nullptr, plain, budget);
            std::string error;
            auto cache = TokenCountCache::open(cachePath, "stand-in", &error);
            QVERIFY2(cache, error.c_str());
            QCOMPARE(packWith(cache.get(), first, budget), reference);
            QVERIFY(cache->save(&error));
            cache.reset();
            cache = TokenCountCache::open(cachePath, "stand-in", &error);
            QVERIFY2(cache, error.c_str());
            QCOMPARE(packWith(cache.get(), second, budget), reference);
            // The first pack framed and counted every document; the second none of them (only the
            // preamble, the manifest and the merged segments, which are counted per pack).
            QCOMPARE(first.framing("src/file05.c") > 0, true);
            QCOMPARE(second.framing("src/file05.c"), 0);
            QVERIFY2(second.texts.size() < first.texts.size(), qPrintable(QString("%1 vs %2").arg(second.texts.size()).arg(first.texts.size())));
            QVERIFY(cache->hits() >= 30);
            QVERIFY(cache->save(&error));
        }
        // One file edited: only it is counted again, and the context equals a pack without the cache.
        QVERIFY(test::writeFile(repo + "/src/file12.c", "int edited(void) { return 12; }\n"));
        RecordingCounter plain, after;
        const std::string reference = packWith(nullptr, plain, 0);
        std::string error;
        auto cache = TokenCountCache::open(cachePath, "stand-in", &error);
        QVERIFY2(cache, error.c_str());
        QCOMPARE(packWith(cache.get(), after, 0), reference);
        QVERIFY(after.framing("src/file12.c") > 0);
        for (int f = 0; f < 30; ++f)
            if (f != 12) QCOMPARE(after.framing(QStringLiteral("src/file%1.c").arg(f, 2, 10, QLatin1Char('0')).toStdString()), 0);
        QCOMPARE(cache->misses() >= 1, true);
    }
};

QTEST_GUILESS_MAIN(TestCountCache)
#include "test_count_cache.moc"
