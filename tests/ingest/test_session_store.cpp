// The session database: schema and migrations, round trips, FTS5 search, cascades, and durability
// under SIGKILL in the middle of an ingest.
#include "folio/ingest/chunker.h"
#include "folio/ingest/session_store.h"
#include "folio/ingest/text_source.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <csignal>
#include <sqlite3.h>
#include <thread>

using namespace folio::ingest;

namespace {

SourceResult sampleSource() {
    SourceResult s;
    s.name = "repo";
    s.location = "/tmp/repo";
    s.kindName = "git repository";
    s.description = "working tree of main at 0123456789ab";
    Document code;
    code.source = "repo";
    code.path = "src/parser.cpp";
    code.title = code.path;
    code.language = "cpp";
    code.text =
        "int parse() {\n    return tokenize();\n}\n\nint render() {\n    return draw();\n}\n";
    code.notes = {"decoded as Latin-1", "CRLF line endings converted"};
    code.changeRank = 3;
    code.lastCommit = "abc";
    s.documents.push_back(code);
    s.documents.push_back(documentFromBytes(
        "talk.srt", "1\n00:00:01,000 --> 00:00:02,000\n[Ada]: Hello quaternions\n", "repo"));
    Document pdf;
    pdf.path = "book.pdf";
    pdf.title = "Book";
    pdf.kind = DocumentKind::Pdf;
    pdf.text = "page one\npage two\n";
    pdf.pages = {{0, "i", 0, 9, true}, {1, "1", 9, 18, false}};
    s.documents.push_back(pdf);
    s.skipped.push_back({"logo.png", SkipReason::Binary, "binary content"});
    s.submodules.push_back({"third/lib", "https://example.invalid/lib.git", "deadbeef", false});
    return s;
}

} // namespace

class TestSessionStore : public QObject {
    Q_OBJECT
private slots:
    void schema();
    void fts5Available();
    void roundTrip();
    void chunksAndSearch();
    void cascadeAndRuntimeTables();
    void refusesNewerSchema();
    void migratesFromVersion2();
    void retrievalStatisticsRoundTrip();
    void concurrentOpensMigrateOnce();
    void survivesKillMidIngest();
};

void TestSessionStore::schema() {
    QTemporaryDir tmp;
    SessionStore store;
    QVERIFY2(store.open(tmp.filePath("s.db")), store.lastError().c_str());
    QCOMPARE(store.schemaVersion(), SessionStore::kSchemaVersion);
    QCOMPARE(QString::fromStdString(store.journalMode()), QString("wal"));
    QVERIFY(store.integrityCheck());
    store.close();
    // Reopening does not migrate again.
    QVERIFY(store.open(tmp.filePath("s.db")));
    QCOMPARE(store.schemaVersion(), SessionStore::kSchemaVersion);
}

void TestSessionStore::retrievalStatisticsRoundTrip() {
    QTemporaryDir tmp;
    const QString path = tmp.filePath("stats.db");
    RetrievalStatistics s;
    s.chunks = 452117;
    s.averageLength = {3.5, 1.25, 118.0, 7.75};
    s.documentFrequency = {{"schedul", 1234}, {"cfs", 17}, {"\xc3\xa9t\xc3\xa9", 2}};
    s.cuts = {{"32768|how does cfs pick", RetrievalCut{11.5, 3, false}}, {"4096|x", RetrievalCut{0, 0, true}}};
    std::int64_t sid = 0;
    {
        SessionStore store;
        QVERIFY(store.open(path));
        sid = *store.createSession({0, "s", "fp", 65536, 0, {}, "m"});
        QVERIFY(!store.retrievalStatistics(sid));
        QVERIFY2(store.saveRetrievalStatistics(sid, s), store.lastError().c_str());
    }
    SessionStore store;
    QVERIFY(store.open(path));
    const auto back = store.retrievalStatistics(sid);
    QVERIFY(back);
    QCOMPARE(back->chunks, s.chunks);
    QCOMPARE(back->averageLength, s.averageLength);
    QCOMPARE(back->documentFrequency, s.documentFrequency);
    QCOMPARE(back->cuts.size(), s.cuts.size());
    QCOMPARE(back->cuts.at("32768|how does cfs pick").score, 11.5);
    QCOMPARE(back->cuts.at("32768|how does cfs pick").ties, std::size_t(3));
    QCOMPARE(back->cuts.at("4096|x").greedy, true);
    // Saving again replaces them.
    RetrievalStatistics fewer;
    fewer.chunks = 1;
    QVERIFY(store.saveRetrievalStatistics(sid, fewer));
    QVERIFY(store.retrievalStatistics(sid)->documentFrequency.empty());
}

void TestSessionStore::migratesFromVersion2() {
    // A database written before model names, reasoning and retrieval statistics were kept: version
    // 2, without those columns and tables. Opening it adds them; the session, its sources and
    // messages are all still there.
    QTemporaryDir tmp;
    const QString path = tmp.filePath("old.db");
    {
        SessionStore store;
        QVERIFY(store.open(path));
        const auto sid = store.createSession({0, "old", "1234567890", 65536, 0, {}, "ignored"});
        QVERIFY(sid);
        QVERIFY(store.saveSource(*sid, sampleSource()));
        QVERIFY(store.addMessage(*sid, "user", "q"));
        store.close();
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
        char* err = nullptr;
        const int rc = sqlite3_exec(db,
                                    "ALTER TABLE sessions DROP COLUMN model_name; "
                                    "ALTER TABLE messages DROP COLUMN reasoning; DROP TABLE retrieval_statistics; "
                                    "DROP TABLE retrieval_terms; DROP TABLE retrieval_cuts; PRAGMA user_version = 2",
                                    nullptr, nullptr, &err);
        QVERIFY2(rc == SQLITE_OK, err ? err : "");
        sqlite3_close(db);
    }
    SessionStore store;
    QVERIFY2(store.open(path), store.lastError().c_str());
    QCOMPARE(store.schemaVersion(), SessionStore::kSchemaVersion);
    const auto old = store.findSession("old");
    QVERIFY(old);
    QCOMPARE(old->modelFingerprint, std::string("1234567890"));
    QCOMPARE(old->modelName, std::string());
    QCOMPARE(old->contextSize, std::int64_t(65536));
    QCOMPARE(store.sources(old->id).size(), std::size_t(1));
    QCOMPARE(store.messages(old->id).size(), std::size_t(1));
    QCOMPARE(store.messages(old->id).front().content, std::string("q"));
    QCOMPARE(store.messages(old->id).front().reasoning, std::string());
    const auto sid = store.createSession({0, "new", "42", 4096, 0, {}, "DeepSeek-V4-Flash"});
    QVERIFY(sid);
    QCOMPARE(store.findSession("new")->modelName, std::string("DeepSeek-V4-Flash"));
    QVERIFY(store.addMessage(*sid, "assistant", "answer", 3, "first this\nthen that"));
    QCOMPARE(store.messages(*sid).front().reasoning, std::string("first this\nthen that"));
    QCOMPARE(store.sessions().size(), std::size_t(2));
}

void TestSessionStore::concurrentOpensMigrateOnce() {
    // The window's session list and a session's worker open a new database at the same moment:
    // each migration step runs once, and every connection opens.
    QTemporaryDir tmp;
    for (int round = 0; round < 20; ++round) {
        const QString path = tmp.filePath(QString("race-%1.db").arg(round));
        std::atomic<int> opened{0};
        std::vector<std::string> errors(4);
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < errors.size(); ++t)
            threads.emplace_back([&, t] {
                SessionStore store;
                if (store.open(path) && store.schemaVersion() == SessionStore::kSchemaVersion) ++opened;
                else errors[t] = store.lastError();
            });
        for (std::thread& th : threads) th.join();
        for (const std::string& e : errors) QVERIFY2(e.empty(), e.c_str());
        QCOMPARE(opened.load(), int(errors.size()));
    }
}

void TestSessionStore::fts5Available() {
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(":memory:", &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(x)", nullptr, nullptr, &err);
    QVERIFY2(rc == SQLITE_OK, err ? err : "");
    sqlite3_close(db);
}

void TestSessionStore::roundTrip() {
    SessionStore store;
    QVERIFY(store.open(":memory:"));
    const auto sid = store.createSession({0, "alpha", "deepseek-v4-flash:abc", 262144, 200000, {}});
    QVERIFY(sid);
    QVERIFY(!store.createSession({0, "alpha", {}, 0, 0, {}})); // names are unique
    const SourceResult src = sampleSource();
    const std::vector<std::int64_t> tokens{11, 22, 33};
    const auto srcId = store.saveSource(*sid, src, &tokens, "stand-in");
    QVERIFY2(srcId, store.lastError().c_str());
    const auto sources = store.sources(*sid);
    QCOMPARE(sources.size(), std::size_t{1});
    QCOMPARE(QString::fromStdString(sources[0].description),
             QString("working tree of main at 0123456789ab"));
    const auto docs = store.documents(*srcId);
    QCOMPARE(docs.size(), src.documents.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
        QCOMPARE(docs[i].path, src.documents[i].path);
        QCOMPARE(docs[i].text, src.documents[i].text);
        QCOMPARE(docs[i].kind, src.documents[i].kind);
        QCOMPARE(docs[i].notes, src.documents[i].notes);
        QCOMPARE(docs[i].cues.size(), src.documents[i].cues.size());
        QCOMPARE(docs[i].pages.size(), src.documents[i].pages.size());
    }
    QCOMPARE(docs[1].cues[0].speaker, std::string("Ada"));
    QCOMPARE(docs[2].pages[1].label, std::string("1"));
    QVERIFY(!docs[2].pages[1].hasText);
    QCOMPARE(docs[0].changeRank, 3);
    const auto ids = store.documentIds(*srcId);
    QCOMPARE(store.tokenCount(ids[1], "stand-in").value_or(-1), 22);
    QVERIFY(!store.tokenCount(ids[1], "other"));
    const auto skipped = store.skipped(*srcId);
    QCOMPARE(skipped.size(), std::size_t{1});
    QCOMPARE(skipped[0].reason, SkipReason::Binary);
    QCOMPARE(store.findSession("alpha")->contextSize, 262144);
}

void TestSessionStore::chunksAndSearch() {
    SessionStore store;
    QVERIFY(store.open(":memory:"));
    const auto sid = store.createSession({0, "s", {}, 0, 0, {}});
    const SourceResult src = sampleSource();
    const auto srcId = store.saveSource(*sid, src);
    const auto chunks = chunkDocuments(src.documents, {30, 60});
    QVERIFY(store.saveChunks(chunks, store.documentIds(*srcId)));
    const auto hits = store.searchChunks(*sid, "How does parse tokenize?", 5);
    QVERIFY(!hits.empty());
    QCOMPARE(hits[0].documentId, store.documentIds(*srcId)[0]);
    QCOMPARE(hits[0].firstLine, 1);
    QVERIFY(store.searchChunks(*sid, "quaternion", 5).size() == 1); // porter stemming
    // Quotes, parentheses and operators in a question are never FTS5 syntax errors.
    QVERIFY(!store.searchChunks(*sid, "\"parse\" AND (render OR", 5).empty());
    // Another session's chunks are not found.
    const auto other = store.createSession({0, "t", {}, 0, 0, {}});
    QVERIFY(store.searchChunks(*other, "parse", 5).empty());
}

void TestSessionStore::cascadeAndRuntimeTables() {
    SessionStore store;
    QVERIFY(store.open(":memory:"));
    const auto sid = store.createSession({0, "s", {}, 0, 0, {}});
    const auto srcId = store.saveSource(*sid, sampleSource());
    QVERIFY(store.saveChunks(chunkDocuments(sampleSource().documents), store.documentIds(*srcId)));
    // Without messages, the activity is the session's creation.
    QCOMPARE(store.activity(*sid).messages, 0);
    QCOMPARE(store.activity(*sid).lastAt, store.findSession("s")->createdAt);
    QVERIFY(store.addMessage(*sid, "user", "What does parse do?", 6));
    QVERIFY(store.addMessage(*sid, "assistant", "It tokenizes [src/parser.cpp:1-3].", 12));
    QCOMPARE(store.activity(*sid).messages, 2);
    QCOMPARE(store.activity(*sid).lastAt, store.messages(*sid).back().createdAt);
    QVERIFY(store.putSnapshot({*sid, "prefix-abc", "/cache/abc.kv", 1234, "model:1", 4096, {}}));
    QVERIFY(store.putSnapshot(
        {*sid, "prefix-abc", "/cache/abc2.kv", 1300, "model:1", 4096, {}})); // replaces
    QCOMPARE(store.messages(*sid).size(), std::size_t{2});
    QCOMPARE(store.messages(*sid)[1].role, std::string("assistant"));
    QCOMPARE(store.snapshots(*sid).size(), std::size_t{1});
    QCOMPARE(store.snapshots(*sid)[0].tokenCount, 1300);
    QVERIFY(store.removeSession(*sid));
    QVERIFY(store.sources(*sid).empty());
    QVERIFY(store.documents(*srcId).empty());
    QVERIFY(store.messages(*sid).empty());
    QVERIFY(store.snapshots(*sid).empty());
    QVERIFY(store.searchChunks(*sid, "parse", 5).empty());
    QVERIFY(store.integrityCheck());
}

void TestSessionStore::refusesNewerSchema() {
    QTemporaryDir tmp;
    const QString path = tmp.filePath("future.db");
    {
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(qPrintable(path), &db), SQLITE_OK);
        sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
        sqlite3_close(db);
    }
    SessionStore store;
    QVERIFY(!store.open(path));
    QVERIFY(QString::fromStdString(store.lastError()).contains("newer than this build"));
}

void TestSessionStore::survivesKillMidIngest() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("kill.db");
    const int docsPerSession = 200;
    for (int round = 0; round < 3; ++round) {
        QProcess writer;
        writer.start(QStringLiteral(FOLIO_STORE_WRITER), {db, QString::number(docsPerSession)});
        QVERIFY(writer.waitForStarted());
        // Let it commit a few sessions (more each round), then kill it while it writes the next.
        int committed = -1;
        QByteArray pending;
        while (committed < 2 + round * 3) {
            QVERIFY2(writer.waitForReadyRead(20000), "the writer stopped committing");
            pending += writer.readAllStandardOutput();
            qsizetype nl;
            while ((nl = pending.indexOf('\n')) >= 0) {
                const QByteArray line = pending.left(nl);
                pending.remove(0, nl + 1);
                if (line.startsWith("committed ")) committed = line.mid(10).toInt();
            }
        }
        ::kill(static_cast<pid_t>(writer.processId()), SIGKILL);
        QVERIFY(writer.waitForFinished(10000));
        QCOMPARE(writer.exitStatus(), QProcess::CrashExit);
        pending += writer.readAllStandardOutput();
        for (const QByteArray& line : pending.split('\n'))
            if (line.startsWith("committed ")) committed = line.mid(10).toInt();

        SessionStore store;
        QVERIFY2(store.open(db), store.lastError().c_str());
        std::string detail;
        QVERIFY2(store.integrityCheck(&detail), detail.c_str());
        // Every reported commit is there, complete; nothing half-written is visible.
        const auto sessions = store.sessions();
        QVERIFY(static_cast<int>(sessions.size()) >= committed + 1);
        for (const auto& s : sessions) {
            const auto sources = store.sources(s.id);
            QCOMPARE(sources.size(), std::size_t{1});
            QCOMPARE(static_cast<int>(store.documentIds(sources[0].id).size()), docsPerSession);
        }
        qInfo("round %d: killed after commit %d; %zu complete sessions on reopen", round, committed,
              sessions.size());
        store.close();
        // The next round's writer numbers its sessions from 0 again: clear the names.
        SessionStore rename;
        QVERIFY(rename.open(db));
        QVERIFY(rename.transaction([&] {
            for (const auto& s : rename.sessions())
                if (!rename.removeSession(s.id)) return false;
            return true;
        }));
    }
}

QTEST_GUILESS_MAIN(TestSessionStore)
#include "test_session_store.moc"
