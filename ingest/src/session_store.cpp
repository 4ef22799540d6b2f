#include "folio/ingest/session_store.h"

#include "folio/ingest/chunk_index.h"
#include "sqlite_statement.h"
#include "store_schema.h"

#include <QDateTime>
#include <QFile>
#include <sqlite3.h>

#include <chrono>
#include <thread>

namespace folio::ingest {

using detail::Statement;

namespace {

constexpr int kSpanPage = 1;
constexpr int kSpanCue = 2;

std::string nowUtc() {
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs).toStdString();
}

std::string joinNotes(const std::vector<std::string>& notes) {
    std::string out;
    for (const auto& n : notes) {
        if (!out.empty()) out += '\n';
        out += n;
    }
    return out;
}

std::vector<std::string> splitNotes(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        auto nl = s.find('\n', pos);
        if (nl == std::string::npos) nl = s.size();
        out.push_back(s.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

// A nestable transaction: SAVEPOINT ... RELEASE, or ROLLBACK TO + RELEASE on failure.
class Savepoint {
public:
    explicit Savepoint(sqlite3* db) : db_(db) {
        ok_ = sqlite3_exec(db_, "SAVEPOINT folio", nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    ~Savepoint() {
        if (ok_ && !done_)
            sqlite3_exec(db_, "ROLLBACK TO folio; RELEASE folio", nullptr, nullptr, nullptr);
    }
    bool ok() const { return ok_; }
    bool commit() {
        done_ = true;
        return sqlite3_exec(db_, "RELEASE folio", nullptr, nullptr, nullptr) == SQLITE_OK;
    }

private:
    sqlite3* db_;
    bool ok_ = false;
    bool done_ = false;
};

} // namespace

SessionStore::~SessionStore() {
    close();
}

void SessionStore::close() {
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
}

bool SessionStore::exec(const char* sql) {
    char* err = nullptr;
    if (const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
        busy_ = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
        error_ = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        return false;
    }
    return true;
}

bool SessionStore::open(const QString& path) {
    close();
    const QByteArray local =
        path == QLatin1String(":memory:") ? QByteArray(":memory:") : QFile::encodeName(path);
    if (sqlite3_open_v2(local.constData(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        error_ = "cannot open " + local.toStdString() + ": " +
                 (db_ ? sqlite3_errmsg(db_) : "out of memory");
        close();
        return false;
    }
    sqlite3_busy_timeout(db_, 5000);
    // WAL: readers beside the writer, and a killed writer leaves the last commit intact.
    // synchronous=FULL also makes a commit survive power loss, not only a crash.
    // A new file opened by two connections at once (the window's session list and a session's
    // worker on the first start): switching to WAL needs the file to itself and can fail at once
    // with "database is locked" instead of waiting, so the set-up is tried again for a while.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        busy_ = false;
        if (exec("PRAGMA journal_mode = WAL") && exec("PRAGMA synchronous = FULL") &&
            exec("PRAGMA foreign_keys = ON") && migrate())
            return true;
        if (!busy_ || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    close();
    return false;
}

int SessionStore::schemaVersion() const {
    if (!db_) return -1;
    Statement st(db_, "PRAGMA user_version");
    return st.step() ? static_cast<int>(st.i64(0)) : -1;
}

bool SessionStore::migrate() {
    const int current = schemaVersion();
    if (current > kSchemaVersion) {
        error_ = "the session database has schema version " + std::to_string(current) +
                 ", newer than this build (" + std::to_string(kSchemaVersion) +
                 "); refusing to touch it";
        return false;
    }
    const auto unreadable = [this] {
        error_ = std::string("cannot read the session database's schema version: ") + sqlite3_errmsg(db_);
    };
    if (current < 0) {
        unreadable();
        return false;
    }
    // Rolls the step's transaction back, keeping the error that made it fail.
    auto rollback = [this] {
        const std::string why = error_;
        const bool busy = busy_;
        exec("ROLLBACK");
        error_ = why;
        busy_ = busy;
        return false;
    };
    for (const auto& m : detail::storeMigrations()) {
        if (m.version <= current) continue;
        if (!exec("BEGIN IMMEDIATE")) return false;
        // Another connection (the window's session list, a session's worker, a second process)
        // may have run this step while this one waited for the write lock: read the version again
        // under the lock.
        const int now = schemaVersion();
        if (now < 0) {
            unreadable();
            return rollback();
        }
        if (now >= m.version) {
            if (!exec("COMMIT")) return rollback();
            continue;
        }
        const std::string setVersion = "PRAGMA user_version = " + std::to_string(m.version);
        if (!exec(m.sql) || !exec(setVersion.c_str())) {
            error_ = "migration to schema version " + std::to_string(m.version) + " failed: " + error_;
            return rollback();
        }
        if (!exec("COMMIT")) return rollback();
    }
    return true;
}

bool SessionStore::integrityCheck(std::string* detail) const {
    if (!db_) return false;
    Statement st(db_, "PRAGMA integrity_check");
    const std::string first = st.step() ? st.text(0) : std::string("no result");
    if (detail) *detail = first;
    return first == "ok";
}

std::string SessionStore::journalMode() const {
    Statement st(db_, "PRAGMA journal_mode");
    return st.step() ? st.text(0) : std::string();
}

bool SessionStore::transaction(const std::function<bool()>& body) {
    if (!db_) return false;
    Savepoint sp(db_);
    if (!sp.ok()) {
        error_ = sqlite3_errmsg(db_);
        return false;
    }
    if (!body()) return false;
    return sp.commit();
}

std::optional<std::int64_t> SessionStore::createSession(const SessionInfo& info) {
    if (!db_) return std::nullopt;
    Statement st(db_, "INSERT INTO sessions(name, model_fingerprint, context_size, budget, "
                      "created_at, model_name) VALUES (?,?,?,?,?,?)");
    st.bind(1, info.name)
        .bind(2, info.modelFingerprint)
        .bind(3, info.contextSize)
        .bind(4, info.budget)
        .bind(5, nowUtc())
        .bind(6, info.modelName);
    if (!st.run()) {
        error_ = "cannot create session '" + info.name + "': " + sqlite3_errmsg(db_);
        return std::nullopt;
    }
    return sqlite3_last_insert_rowid(db_);
}

std::vector<SessionInfo> SessionStore::sessions() const {
    std::vector<SessionInfo> out;
    if (!db_) return out;
    Statement st(db_, "SELECT id, name, model_fingerprint, context_size, budget, created_at, model_name "
                      "FROM sessions ORDER BY id");
    while (st.step())
        out.push_back({st.i64(0), st.text(1), st.text(2), st.i64(3), st.i64(4), st.text(5), st.text(6)});
    return out;
}

std::optional<SessionInfo> SessionStore::findSession(std::string_view name) const {
    if (!db_) return std::nullopt;
    Statement st(db_, "SELECT id, name, model_fingerprint, context_size, budget, created_at, model_name "
                      "FROM sessions WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    return SessionInfo{st.i64(0), st.text(1), st.text(2), st.i64(3), st.i64(4), st.text(5), st.text(6)};
}

bool SessionStore::removeSession(std::int64_t sessionId) {
    if (!db_) return false;
    Statement st(db_, "DELETE FROM sessions WHERE id = ?");
    st.bind(1, sessionId);
    return st.run() && sqlite3_changes(db_) > 0;
}

SessionStore::Activity SessionStore::activity(std::int64_t sessionId) const {
    Activity a;
    if (!db_) return a;
    Statement st(db_, "SELECT COUNT(m.id), COALESCE(MAX(m.created_at), s.created_at) FROM sessions s "
                      "LEFT JOIN messages m ON m.session_id = s.id WHERE s.id = ?");
    st.bind(1, sessionId);
    if (st.step()) a = {st.i64(0), st.text(1)};
    return a;
}

bool SessionStore::setExclusions(std::int64_t sessionId, const std::vector<std::string>& prefixes) {
    if (!db_) return false;
    return transaction([&] {
        Statement del(db_, "DELETE FROM exclusions WHERE session_id = ?");
        del.bind(1, sessionId);
        if (!del.run()) return false;
        for (const std::string& p : prefixes) {
            Statement ins(db_, "INSERT OR IGNORE INTO exclusions (session_id, prefix) VALUES (?, ?)");
            ins.bind(1, sessionId);
            ins.bind(2, p);
            if (!ins.run()) {
                error_ = std::string("cannot save the exclusions: ") + sqlite3_errmsg(db_);
                return false;
            }
        }
        return true;
    });
}

std::vector<std::string> SessionStore::exclusions(std::int64_t sessionId) const {
    std::vector<std::string> out;
    if (!db_) return out;
    Statement st(db_, "SELECT prefix FROM exclusions WHERE session_id = ? ORDER BY prefix");
    st.bind(1, sessionId);
    while (st.step()) out.push_back(st.text(0));
    return out;
}

bool SessionStore::saveRetrievalStatistics(std::int64_t sessionId, const RetrievalStatistics& s) {
    if (!db_) return false;
    return transaction([&] {
        for (const char* sql : {"DELETE FROM retrieval_statistics WHERE session_id = ?",
                                "DELETE FROM retrieval_terms WHERE session_id = ?", "DELETE FROM retrieval_cuts WHERE session_id = ?"}) {
            Statement del(db_, sql);
            del.bind(1, sessionId);
            if (!del.run()) return false;
        }
        Statement head(db_, "INSERT INTO retrieval_statistics (session_id, chunks, average_path, average_names, "
                            "average_text, average_words) VALUES (?, ?, ?, ?, ?, ?)");
        head.bind(1, sessionId).bind(2, s.chunks);
        for (int f = 0; f < 4; ++f) head.bind(3 + f, s.averageLength[std::size_t(f)]);
        bool ok = head.run();
        Statement term(db_, "INSERT INTO retrieval_terms (session_id, term, document_frequency) VALUES (?, ?, ?)");
        for (const auto& [t, df] : s.documentFrequency) {
            if (!ok) break;
            ok = term.bind(1, sessionId).bind(2, t).bind(3, df).run();
        }
        Statement cut(db_, "INSERT INTO retrieval_cuts (session_id, key, score, ties, greedy) VALUES (?, ?, ?, ?, ?)");
        for (const auto& [key, c] : s.cuts) {
            if (!ok) break;
            ok = cut.bind(1, sessionId).bind(2, key).bind(3, c.score).bind(4, std::int64_t(c.ties)).bind(5, c.greedy ? 1 : 0).run();
        }
        if (!ok) error_ = std::string("cannot save the retrieval statistics: ") + sqlite3_errmsg(db_);
        return ok;
    });
}

std::optional<RetrievalStatistics> SessionStore::retrievalStatistics(std::int64_t sessionId) const {
    if (!db_) return std::nullopt;
    Statement head(db_, "SELECT chunks, average_path, average_names, average_text, average_words FROM retrieval_statistics "
                        "WHERE session_id = ?");
    head.bind(1, sessionId);
    if (!head.step()) return std::nullopt;
    RetrievalStatistics s;
    s.chunks = head.f64(0);
    for (int f = 0; f < 4; ++f) s.averageLength[std::size_t(f)] = head.f64(1 + f);
    Statement term(db_, "SELECT term, document_frequency FROM retrieval_terms WHERE session_id = ?");
    term.bind(1, sessionId);
    while (term.step()) s.documentFrequency.emplace(term.text(0), term.f64(1));
    Statement cut(db_, "SELECT key, score, ties, greedy FROM retrieval_cuts WHERE session_id = ?");
    cut.bind(1, sessionId);
    while (cut.step()) s.cuts.emplace(cut.text(0), RetrievalCut{cut.f64(1), std::size_t(cut.i64(2)), cut.i64(3) != 0});
    return s;
}

bool SessionStore::removeSources(std::int64_t sessionId) {
    if (!db_) return false;
    Statement st(db_, "DELETE FROM sources WHERE session_id = ?");
    st.bind(1, sessionId);
    if (!st.run()) {
        error_ = std::string("cannot remove the sources: ") + sqlite3_errmsg(db_);
        return false;
    }
    return true;
}

bool SessionStore::renameSession(std::int64_t sessionId, std::string_view name) {
    if (!db_) return false;
    Statement st(db_, "UPDATE sessions SET name = ? WHERE id = ?");
    st.bind(1, name);
    st.bind(2, sessionId);
    if (!st.run()) {
        error_ = std::string("cannot rename the session: ") + sqlite3_errmsg(db_);
        return false;
    }
    return sqlite3_changes(db_) > 0;
}

std::optional<std::int64_t>
SessionStore::saveSource(std::int64_t sessionId, const SourceResult& source,
                         const std::vector<std::int64_t>* tokensPerDocument,
                         std::string_view tokenizer) {
    if (!db_) return std::nullopt;
    Savepoint sp(db_);
    auto failed = [&](const char* what) -> std::optional<std::int64_t> {
        error_ = std::string(what) + ": " + sqlite3_errmsg(db_);
        return std::nullopt;
    };
    int position = 0;
    {
        Statement count(db_, "SELECT COUNT(*) FROM sources WHERE session_id = ?");
        count.bind(1, sessionId);
        if (count.step()) position = static_cast<int>(count.i64(0));
    }
    Statement src(db_, "INSERT INTO sources(session_id, position, name, location, kind_name, "
                       "description, error) VALUES (?,?,?,?,?,?,?)");
    src.bind(1, sessionId)
        .bind(2, position)
        .bind(3, source.name)
        .bind(4, source.location)
        .bind(5, source.kindName)
        .bind(6, source.description)
        .bind(7, source.error);
    if (!src.run()) return failed("saving the source");
    const std::int64_t sourceId = sqlite3_last_insert_rowid(db_);

    Statement doc(db_, "INSERT INTO documents(source_id, position, path, title, kind, language, "
                       "text, notes, byte_size, "
                       "line_count, change_rank, last_commit_time, last_commit) VALUES "
                       "(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    Statement span(db_, "INSERT INTO spans(document_id, kind, ordinal, label, start_ms, end_ms, "
                        "begin_byte, end_byte, "
                        "source_line, source_last_line, has_text) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    Statement tok(
        db_, "INSERT OR REPLACE INTO token_counts(document_id, tokenizer, tokens) VALUES (?,?,?)");
    for (std::size_t i = 0; i < source.documents.size(); ++i) {
        const Document& d = source.documents[i];
        doc.bind(1, sourceId)
            .bind(2, static_cast<std::int64_t>(i))
            .bind(3, d.path)
            .bind(4, d.title)
            .bind(5, static_cast<int>(d.kind))
            .bind(6, d.language)
            .bindBlob(7, d.text)
            .bind(8, joinNotes(d.notes))
            .bind(9, static_cast<std::int64_t>(d.byteSize))
            .bind(10, d.lineCount())
            .bind(11, d.changeRank)
            .bind(12, d.lastCommitTime)
            .bind(13, d.lastCommit);
        if (!doc.run()) return failed(("saving document " + d.path).c_str());
        const std::int64_t docId = sqlite3_last_insert_rowid(db_);
        for (std::size_t k = 0; k < d.pages.size(); ++k) {
            const Page& p = d.pages[k];
            span.bind(1, docId)
                .bind(2, kSpanPage)
                .bind(3, static_cast<std::int64_t>(p.index))
                .bind(4, p.label)
                .bind(5, std::int64_t{0})
                .bind(6, std::int64_t{-1})
                .bind(7, static_cast<std::int64_t>(p.begin))
                .bind(8, static_cast<std::int64_t>(p.end))
                .bind(9, 0)
                .bind(10, 0)
                .bind(11, p.hasText ? 1 : 0);
            if (!span.run()) return failed("saving a page");
        }
        for (std::size_t k = 0; k < d.cues.size(); ++k) {
            const Cue& c = d.cues[k];
            span.bind(1, docId)
                .bind(2, kSpanCue)
                .bind(3, static_cast<std::int64_t>(k))
                .bind(4, c.speaker)
                .bind(5, c.startMs)
                .bind(6, c.endMs)
                .bind(7, static_cast<std::int64_t>(c.begin))
                .bind(8, static_cast<std::int64_t>(c.end))
                .bind(9, c.sourceLine)
                .bind(10, c.sourceLastLine)
                .bind(11, 1);
            if (!span.run()) return failed("saving a cue");
        }
        if (tokensPerDocument && i < tokensPerDocument->size()) {
            tok.bind(1, docId).bind(2, tokenizer).bind(3, (*tokensPerDocument)[i]);
            if (!tok.run()) return failed("saving a token count");
        }
    }
    Statement skip(db_, "INSERT INTO skipped(source_id, path, reason, detail) VALUES (?,?,?,?)");
    for (const SkippedFile& s : source.skipped) {
        skip.bind(1, sourceId)
            .bind(2, s.path)
            .bind(3, static_cast<int>(s.reason))
            .bind(4, s.detail);
        if (!skip.run()) return failed("saving a skipped file");
    }
    Statement sub(db_, "INSERT OR REPLACE INTO submodules(source_id, path, url, commit_id, "
                       "followed) VALUES (?,?,?,?,?)");
    for (const Submodule& s : source.submodules) {
        sub.bind(1, sourceId)
            .bind(2, s.path)
            .bind(3, s.url)
            .bind(4, s.commit)
            .bind(5, s.followed ? 1 : 0);
        if (!sub.run()) return failed("saving a submodule");
    }
    if (!sp.commit()) return failed("committing the source");
    return sourceId;
}

std::vector<StoredSource> SessionStore::sources(std::int64_t sessionId) const {
    std::vector<StoredSource> out;
    if (!db_) return out;
    Statement st(db_, "SELECT id, session_id, position, name, location, kind_name, description, "
                      "error FROM sources "
                      "WHERE session_id = ? ORDER BY position");
    st.bind(1, sessionId);
    while (st.step())
        out.push_back({st.i64(0), st.i64(1), static_cast<int>(st.i64(2)), st.text(3), st.text(4),
                       st.text(5), st.text(6), st.text(7)});
    return out;
}

std::vector<std::int64_t> SessionStore::documentIds(std::int64_t sourceId) const {
    std::vector<std::int64_t> out;
    if (!db_) return out;
    Statement st(db_, "SELECT id FROM documents WHERE source_id = ? ORDER BY position");
    st.bind(1, sourceId);
    while (st.step()) out.push_back(st.i64(0));
    return out;
}

std::vector<Document> SessionStore::documents(std::int64_t sourceId) const {
    std::vector<Document> out;
    if (!db_) return out;
    Statement st(
        db_,
        "SELECT d.id, s.name, d.path, d.title, d.kind, d.language, d.text, d.notes, d.byte_size, "
        "d.change_rank, "
        "d.last_commit_time, d.last_commit FROM documents d JOIN sources s ON s.id = d.source_id "
        "WHERE d.source_id = ? ORDER BY d.position");
    Statement spans(db_, "SELECT kind, ordinal, label, start_ms, end_ms, begin_byte, end_byte, "
                         "source_line, source_last_line, "
                         "has_text FROM spans WHERE document_id = ? ORDER BY kind, ordinal");
    st.bind(1, sourceId);
    while (st.step()) {
        Document d;
        d.source = st.text(1);
        d.path = st.text(2);
        d.title = st.text(3);
        d.kind = static_cast<DocumentKind>(st.i64(4));
        d.language = st.text(5);
        d.text = st.text(6);
        d.notes = splitNotes(st.text(7));
        d.byteSize = static_cast<std::uint64_t>(st.i64(8));
        d.changeRank = st.i64(9);
        d.lastCommitTime = st.i64(10);
        d.lastCommit = st.text(11);
        spans.bind(1, st.i64(0));
        while (spans.step()) {
            if (spans.i64(0) == kSpanPage) {
                d.pages.push_back({static_cast<int>(spans.i64(1)), spans.text(2),
                                   static_cast<std::size_t>(spans.i64(5)),
                                   static_cast<std::size_t>(spans.i64(6)), spans.i64(9) != 0});
            } else {
                d.cues.push_back({spans.i64(3), spans.i64(4), spans.text(2),
                                  static_cast<std::size_t>(spans.i64(5)),
                                  static_cast<std::size_t>(spans.i64(6)),
                                  static_cast<int>(spans.i64(7)), static_cast<int>(spans.i64(8))});
            }
        }
        spans.reset();
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<SkippedFile> SessionStore::skipped(std::int64_t sourceId) const {
    std::vector<SkippedFile> out;
    if (!db_) return out;
    Statement st(db_, "SELECT path, reason, detail FROM skipped WHERE source_id = ? ORDER BY id");
    st.bind(1, sourceId);
    while (st.step()) out.push_back({st.text(0), static_cast<SkipReason>(st.i64(1)), st.text(2)});
    return out;
}

std::optional<std::int64_t> SessionStore::tokenCount(std::int64_t documentId,
                                                     std::string_view tokenizer) const {
    if (!db_) return std::nullopt;
    Statement st(db_, "SELECT tokens FROM token_counts WHERE document_id = ? AND tokenizer = ?");
    st.bind(1, documentId).bind(2, tokenizer);
    if (!st.step()) return std::nullopt;
    return st.i64(0);
}

bool SessionStore::saveChunks(const std::vector<Chunk>& chunks,
                              const std::vector<std::int64_t>& documentIds,
                              const std::vector<std::int64_t>* tokens) {
    if (!db_) return false;
    Savepoint sp(db_);
    Statement text(db_, "SELECT text FROM documents WHERE id = ?");
    Statement ins(db_, "INSERT INTO chunks(document_id, ordinal, begin_byte, end_byte, first_line, "
                       "last_line, tokens, body) "
                       "VALUES (?,?,?,?,?,?,?,?)");
    std::int64_t cachedId = -1;
    std::string body;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        const Chunk& c = chunks[i];
        if (c.document >= documentIds.size()) {
            error_ = "chunk " + std::to_string(i) + " names document " +
                     std::to_string(c.document) + " of " + std::to_string(documentIds.size());
            return false;
        }
        const std::int64_t docId = documentIds[c.document];
        if (docId != cachedId) {
            text.bind(1, docId);
            body = text.step() ? text.text(0) : std::string();
            text.reset();
            cachedId = docId;
        }
        if (c.end > body.size() || c.begin > c.end) {
            error_ = "chunk " + std::to_string(i) + " lies outside its document";
            return false;
        }
        ins.bind(1, docId)
            .bind(2, c.ordinal)
            .bind(3, static_cast<std::int64_t>(c.begin))
            .bind(4, static_cast<std::int64_t>(c.end))
            .bind(5, c.firstLine)
            .bind(6, c.lastLine)
            .bind(7, tokens && i < tokens->size() ? (*tokens)[i] : std::int64_t{-1})
            .bind(8, std::string_view(body).substr(c.begin, c.end - c.begin));
        if (!ins.run()) {
            error_ = std::string("saving a chunk: ") + sqlite3_errmsg(db_);
            return false;
        }
    }
    return sp.commit();
}

std::vector<StoredChunk> SessionStore::searchChunks(std::int64_t sessionId,
                                                    std::string_view question, int limit) const {
    std::vector<StoredChunk> out;
    const std::string query = ftsQuery(question);
    if (!db_ || query.empty()) return out;
    Statement st(
        db_, "SELECT c.id, c.document_id, c.ordinal, c.begin_byte, c.end_byte, c.first_line, "
             "c.last_line, c.tokens, "
             "bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
             "JOIN documents d ON d.id = c.document_id JOIN sources s ON s.id = d.source_id "
             "WHERE chunks_fts MATCH ? AND s.session_id = ? ORDER BY score, c.id LIMIT ?");
    st.bind(1, query).bind(2, sessionId).bind(3, limit);
    while (st.step())
        out.push_back({st.i64(0), st.i64(1), static_cast<int>(st.i64(2)),
                       static_cast<std::size_t>(st.i64(3)), static_cast<std::size_t>(st.i64(4)),
                       static_cast<int>(st.i64(5)), static_cast<int>(st.i64(6)), st.i64(7),
                       st.f64(8)});
    if (st.rc() != SQLITE_DONE && st.rc() != SQLITE_ROW) error_ = sqlite3_errmsg(db_);
    return out;
}

std::optional<std::int64_t> SessionStore::addMessage(std::int64_t sessionId, std::string_view role,
                                                     std::string_view content,
                                                     std::int64_t tokens, std::string_view reasoning) {
    if (!db_) return std::nullopt;
    Statement st(db_, "INSERT INTO messages(session_id, role, content, tokens, created_at, reasoning) "
                      "VALUES (?,?,?,?,?,?)");
    st.bind(1, sessionId).bind(2, role).bind(3, content).bind(4, tokens).bind(5, nowUtc()).bind(6, reasoning);
    if (!st.run()) {
        error_ = std::string("saving a message: ") + sqlite3_errmsg(db_);
        return std::nullopt;
    }
    return sqlite3_last_insert_rowid(db_);
}

std::vector<Message> SessionStore::messages(std::int64_t sessionId) const {
    std::vector<Message> out;
    if (!db_) return out;
    Statement st(db_, "SELECT id, role, content, tokens, created_at, reasoning FROM messages WHERE "
                      "session_id = ? ORDER BY id");
    st.bind(1, sessionId);
    while (st.step()) out.push_back({st.i64(0), st.text(1), st.text(2), st.i64(3), st.text(4), st.text(5)});
    return out;
}

bool SessionStore::putSnapshot(const Snapshot& s) {
    if (!db_) return false;
    Statement st(db_, "INSERT OR REPLACE INTO snapshots(session_id, key, path, token_count, "
                      "model_fingerprint, byte_size, created_at) "
                      "VALUES (?,?,?,?,?,?,?)");
    st.bind(1, s.sessionId)
        .bind(2, s.key)
        .bind(3, s.path)
        .bind(4, s.tokenCount)
        .bind(5, s.modelFingerprint)
        .bind(6, s.byteSize)
        .bind(7, s.createdAt.empty() ? nowUtc() : s.createdAt);
    if (!st.run()) {
        error_ = std::string("saving a snapshot: ") + sqlite3_errmsg(db_);
        return false;
    }
    return true;
}

std::vector<Snapshot> SessionStore::snapshots(std::int64_t sessionId) const {
    std::vector<Snapshot> out;
    if (!db_) return out;
    Statement st(db_, "SELECT session_id, key, path, token_count, model_fingerprint, byte_size, "
                      "created_at FROM snapshots "
                      "WHERE session_id = ? ORDER BY key");
    st.bind(1, sessionId);
    while (st.step())
        out.push_back(
            {st.i64(0), st.text(1), st.text(2), st.i64(3), st.text(4), st.i64(5), st.text(6)});
    return out;
}

} // namespace folio::ingest
