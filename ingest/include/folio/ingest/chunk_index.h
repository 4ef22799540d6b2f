// The FTS5 query for the session store's persistent chunk index (SessionStore::searchChunks); the
// packer ranks with its own in-memory index (retrieval_index.h).
#pragma once

#include <string>
#include <string_view>

namespace folio::ingest {

// A question as an FTS5 MATCH expression: its words (letters and digits, 2+ characters, common
// English function words such as "how" and "the" left out), each quoted, joined with OR, so
// punctuation in the question can never be a syntax error; a camelCase word also brings its
// parts ("parseHeader": "parseHeader" OR "parse" OR "header"). Empty when the question has no
// words.
std::string ftsQuery(std::string_view question);

} // namespace folio::ingest
