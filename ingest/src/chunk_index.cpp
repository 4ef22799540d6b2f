#include "folio/ingest/chunk_index.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>

namespace folio::ingest {

namespace {

bool isStopWord(std::string_view w) {
    static constexpr std::array<std::string_view, 48> kStop{
        "a",     "an",    "and",  "are",   "as",    "at",    "be",   "by",    "can",   "do",
        "does",  "did",   "for",  "from",  "has",   "have",  "how",  "in",    "into",  "is",
        "it",    "its",   "of",   "on",    "or",    "that",  "the",  "their", "then",  "there",
        "this",  "to",    "was",  "what",  "when",  "where", "which", "while", "who",  "why",
        "with",  "would", "should", "could", "will", "we",   "you",  "i"};
    std::string lower(w);
    for (char& c : lower)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return std::find(kStop.begin(), kStop.end(), lower) != kStop.end();
}

bool hasCamelCase(std::string_view w) {
    for (std::size_t i = 1; i < w.size(); ++i)
        if (w[i] >= 'A' && w[i] <= 'Z' && ((w[i - 1] >= 'a' && w[i - 1] <= 'z') ||
                                             (w[i - 1] >= '0' && w[i - 1] <= '9')))
            return true;
    return false;
}

bool wordChar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c >= 0x80;
}

// The words of the camelCase identifiers in [text, text + n), space-separated.
std::string camelWords(const char* text, std::size_t n) {
    std::string out;
    std::size_t i = 0;
    while (i < n) {
        if (!wordChar(static_cast<unsigned char>(text[i]))) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < n && wordChar(static_cast<unsigned char>(text[j]))) ++j;
        const std::string_view w(text + i, j - i);
        if (hasCamelCase(w))
            for (const std::string& part : identifierWords(w)) {
                out += part;
                out += ' ';
            }
        i = j;
    }
    return out;
}

} // namespace

std::string ftsQuery(std::string_view question) {
    std::string query;
    std::vector<std::string> seen;
    auto term = [&](const std::string& t) {
        if (t.size() < 2 || std::find(seen.begin(), seen.end(), t) != seen.end()) return;
        seen.push_back(t);
        if (!query.empty()) query += " OR ";
        query += '"' + t + '"';
    };
    std::string word;
    auto flush = [&]() {
        if (word.size() >= 2 && !isStopWord(word)) {
            term(word);
            if (hasCamelCase(word))
                for (const std::string& part : identifierWords(word)) term(part);
        }
        word.clear();
    };
    for (const char ch : question) {
        if (wordChar(static_cast<unsigned char>(ch))) word.push_back(ch);
        else flush();
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
            "CREATE VIRTUAL TABLE chunks USING fts5(path, symbols, body, words, "
            "tokenize = 'porter unicode61');",
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

bool ChunkIndex::add(const std::vector<Chunk>& chunks, const std::vector<Document>& docs,
                     const std::vector<std::vector<Definition>>* definitions) {
    if (!db_) return false;
    sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_,
                       "INSERT INTO chunks(rowid, path, symbols, body, words) VALUES (?, ?, ?, ?, ?)",
                       -1, &st, nullptr);
    bool ok = st != nullptr;
    std::string symbols, words;
    for (std::size_t i = 0; ok && i < chunks.size(); ++i) {
        const Chunk& c = chunks[i];
        const Document& d = docs[c.document];
        symbols.clear();
        if (definitions)
            for (const Definition& def : (*definitions)[c.document]) {
                if (def.line < c.firstLine) continue;
                if (def.line > c.lastLine) break;
                symbols += def.name;
                symbols += ' ';
                if (hasCamelCase(def.name))
                    for (const std::string& part : identifierWords(def.name)) {
                        symbols += part;
                        symbols += ' ';
                    }
            }
        words = camelWords(d.text.data() + c.begin, c.end - c.begin);
        sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(i));
        sqlite3_bind_text(st, 2, d.path.data(), static_cast<int>(d.path.size()), SQLITE_STATIC);
        sqlite3_bind_text(st, 3, symbols.data(), static_cast<int>(symbols.size()), SQLITE_STATIC);
        sqlite3_bind_text(st, 4, d.text.data() + c.begin, static_cast<int>(c.end - c.begin),
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 5, words.data(), static_cast<int>(words.size()), SQLITE_STATIC);
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
            "SELECT rowid FROM chunks WHERE chunks MATCH ? "
            "ORDER BY bm25(chunks, 2.0, 4.0, 1.0, 1.0), rowid",
            -1, &st, nullptr) != SQLITE_OK)
        return out;
    sqlite3_bind_text(st, 1, query.data(), static_cast<int>(query.size()), SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW)
        out.push_back(static_cast<std::size_t>(sqlite3_column_int64(st, 0)));
    sqlite3_finalize(st);
    return out;
}

} // namespace folio::ingest
