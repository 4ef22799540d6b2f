#include "folio/ingest/chunk_index.h"

#include <sqlite3.h>

namespace folio::ingest {

std::string ftsQuery(std::string_view question) {
    std::string query;
    std::string word;
    auto flush = [&]() {
        if (word.size() >= 2) {
            if (!query.empty()) query += " OR ";
            query += '"' + word + '"';
        }
        word.clear();
    };
    for (const char ch : question) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '_' || c >= 0x80)
            word.push_back(ch);
        else
            flush();
    }
    flush();
    return query;
}

ChunkIndex::ChunkIndex() {
    if (sqlite3_open_v2(":memory:", &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        error_ = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        return;
    }
    char* err = nullptr;
    // unicode61 folds case and diacritics; porter stems English ("parsing" finds "parse").
    if (sqlite3_exec(
            db_,
            "CREATE VIRTUAL TABLE chunks USING fts5(path, body, tokenize = 'porter unicode61');",
            nullptr, nullptr, &err) != SQLITE_OK) {
        error_ = std::string("FTS5 is not available: ") + (err ? err : "?");
        sqlite3_free(err);
        sqlite3_close(db_);
        db_ = nullptr;
    }
}

ChunkIndex::~ChunkIndex() {
    if (db_) sqlite3_close(db_);
}

bool ChunkIndex::add(const std::vector<Chunk>& chunks, const std::vector<Document>& docs) {
    if (!db_) return false;
    sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "INSERT INTO chunks(rowid, path, body) VALUES (?, ?, ?)", -1, &st,
                       nullptr);
    bool ok = st != nullptr;
    for (std::size_t i = 0; ok && i < chunks.size(); ++i) {
        const Chunk& c = chunks[i];
        const Document& d = docs[c.document];
        sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(i));
        sqlite3_bind_text(st, 2, d.path.data(), static_cast<int>(d.path.size()), SQLITE_STATIC);
        sqlite3_bind_text(st, 3, d.text.data() + c.begin, static_cast<int>(c.end - c.begin),
                          SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    if (!ok) error_ = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    sqlite3_exec(db_, ok ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr);
    return ok;
}

std::vector<std::size_t> ChunkIndex::rank(std::string_view question) const {
    std::vector<std::size_t> out;
    const std::string query = ftsQuery(question);
    if (!db_ || query.empty()) return out;
    sqlite3_stmt* st = nullptr;
    // bm25() is smaller for better matches; ties broken by rowid so the ranking is deterministic.
    if (sqlite3_prepare_v2(
            db_,
            "SELECT rowid FROM chunks WHERE chunks MATCH ? ORDER BY bm25(chunks, 2.0, 1.0), rowid",
            -1, &st, nullptr) != SQLITE_OK)
        return out;
    sqlite3_bind_text(st, 1, query.data(), static_cast<int>(query.size()), SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW)
        out.push_back(static_cast<std::size_t>(sqlite3_column_int64(st, 0)));
    sqlite3_finalize(st);
    return out;
}

} // namespace folio::ingest
