#include "store_schema.h"

namespace folio::ingest::detail {

namespace {

// Enums stored here carry explicit values in document.h / git_source.h (DocumentKind, SkipReason,
// GitTreeMode). Spans hold PDF pages (kind 1) and transcript cues (kind 2).
constexpr const char* kVersion1 = R"sql(
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model_fingerprint TEXT NOT NULL DEFAULT '',
    context_size INTEGER NOT NULL DEFAULT 0,
    budget INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    kind_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sources_session ON sources(session_id, position);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    kind INTEGER NOT NULL,
    language TEXT NOT NULL,
    text BLOB NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    byte_size INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    change_rank INTEGER NOT NULL,
    last_commit_time INTEGER NOT NULL DEFAULT 0,
    last_commit TEXT NOT NULL DEFAULT '',
    UNIQUE (source_id, path)
);
CREATE TABLE spans (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    start_ms INTEGER NOT NULL DEFAULT 0,
    end_ms INTEGER NOT NULL DEFAULT -1,
    begin_byte INTEGER NOT NULL,
    end_byte INTEGER NOT NULL,
    source_line INTEGER NOT NULL DEFAULT 0,
    source_last_line INTEGER NOT NULL DEFAULT 0,
    has_text INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (document_id, kind, ordinal)
);
CREATE TABLE skipped (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    reason INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX skipped_source ON skipped(source_id);
CREATE TABLE submodules (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    commit_id TEXT NOT NULL DEFAULT '',
    followed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source_id, path)
);
CREATE TABLE token_counts (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    tokenizer TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    PRIMARY KEY (document_id, tokenizer)
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    begin_byte INTEGER NOT NULL,
    end_byte INTEGER NOT NULL,
    first_line INTEGER NOT NULL,
    last_line INTEGER NOT NULL,
    tokens INTEGER NOT NULL DEFAULT -1,
    body TEXT NOT NULL,
    UNIQUE (document_id, ordinal)
);
CREATE VIRTUAL TABLE chunks_fts USING fts5(body, content = 'chunks', content_rowid = 'id',
                                          tokenize = 'porter unicode61');
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    tokens INTEGER NOT NULL DEFAULT -1,
    created_at TEXT NOT NULL
);
CREATE INDEX messages_session ON messages(session_id, id);
CREATE TABLE snapshots (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    model_fingerprint TEXT NOT NULL,
    byte_size INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (session_id, key)
);
)sql";

// Version 2: files and folders the user left out of a session ("source/path" prefixes).
constexpr const char* kVersion2 = R"sql(
CREATE TABLE exclusions (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    PRIMARY KEY (session_id, prefix)
);
)sql";

// Version 3: the model's name as the user knows it, beside the fingerprint (sessions made before
// it show the fingerprint).
constexpr const char* kVersion3 = R"sql(
ALTER TABLE sessions ADD COLUMN model_name TEXT NOT NULL DEFAULT '';
)sql";

// Version 4: a thinking-mode answer's reasoning (shown again on reopening; never part of the
// prompt again).
constexpr const char* kVersion4 = R"sql(
ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';
)sql";

// Version 5: the retrieval statistics a session ranks with (retrieval_index.h), so that a reopened
// session ranks as it did and a changed file leaves the rest of its selection alone.
constexpr const char* kVersion5 = R"sql(
CREATE TABLE retrieval_statistics (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    chunks REAL NOT NULL,
    average_path REAL NOT NULL,
    average_names REAL NOT NULL,
    average_text REAL NOT NULL,
    average_words REAL NOT NULL
);
CREATE TABLE retrieval_terms (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    term TEXT NOT NULL,
    document_frequency REAL NOT NULL,
    PRIMARY KEY (session_id, term)
);
CREATE TABLE retrieval_cuts (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    score REAL NOT NULL,
    ties INTEGER NOT NULL,
    greedy INTEGER NOT NULL,
    PRIMARY KEY (session_id, key)
);
)sql";

} // namespace

const std::vector<Migration>& storeMigrations() {
    static const std::vector<Migration> migrations = {{1, kVersion1}, {2, kVersion2}, {3, kVersion3}, {4, kVersion4},
                                                      {5, kVersion5}};
    return migrations;
}

} // namespace folio::ingest::detail
