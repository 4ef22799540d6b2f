// Full-text ranking of chunks with SQLite FTS5 and BM25, for selecting what fills a token budget.
// The index lives in its own in-memory database (one connection, used on the thread that made it);
// the session store keeps the same chunks persistently (SessionStore::searchChunks).
#pragma once

#include "folio/ingest/chunker.h"
#include "folio/ingest/definitions.h"
#include "folio/ingest/document.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace folio::ingest {

// A question as an FTS5 MATCH expression: its words (letters and digits, 2+ characters, common
// English function words such as "how" and "the" left out), each quoted, joined with OR, so
// punctuation in the question can never be a syntax error; a camelCase word also brings its
// parts ("parseHeader": "parseheader" OR "parse" OR "header"). Empty when the question has no
// words.
std::string ftsQuery(std::string_view question);

class ChunkIndex {
public:
    ChunkIndex();
    ~ChunkIndex();
    ChunkIndex(const ChunkIndex&) = delete;
    ChunkIndex& operator=(const ChunkIndex&) = delete;

    bool ok() const { return db_ != nullptr; }
    const std::string& error() const { return error_; }

    // Indexes each chunk in four fields: its document's path (so a question that names a file or
    // folder finds it), the names of the definitions it holds with their words (definitions.h:
    // identifierWords), its text, and the words of the camelCase identifiers in its text (FTS5
    // splits snake_case itself). `definitions`: one list per document, or null. Row i is chunks[i].
    bool add(const std::vector<Chunk>& chunks, const std::vector<Document>& docs,
             const std::vector<std::vector<Definition>>* definitions = nullptr);

    // Indices into the added chunks, best first by BM25 over the fields, weighted (definition
    // names 4, path 2, text 1, camelCase words 1); chunks without any matching word are absent.
    std::vector<std::size_t> rank(std::string_view question) const;

private:
    sqlite3* db_ = nullptr;
    std::string error_;
};

} // namespace folio::ingest
