// The session database: one SQLite file per user (under the data directory) holding sessions, their
// sources, documents (text and citation anchors), skipped files with reasons, chunks with an FTS5
// index, token counts, and the tables the session runtime fills (messages, state snapshots).
//
// Durability: WAL journal, synchronous=FULL, foreign keys on. Every write method is one
// transaction (a SAVEPOINT, so calls nest inside transaction()); a process killed at any moment
// leaves a database that opens, passes integrity_check and holds every committed transaction.
// Schema: PRAGMA user_version is the schema version; open() applies the missing migrations in
// order, each in its own transaction, and refuses a database newer than this build. Threads: a
// SessionStore is one connection; use it only on the thread that opened it (open one per thread;
// WAL lets readers run beside the writer).
#pragma once

#include "folio/ingest/chunker.h"
#include "folio/ingest/document.h"
#include "folio/ingest/retrieval_index.h"

#include <QString>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace folio::ingest {

struct SessionInfo {
    std::int64_t id = 0;
    std::string name;
    std::string modelFingerprint; // what the token counts and snapshots are valid for
    std::int64_t contextSize = 0;
    std::int64_t budget = 0;
    std::string createdAt; // ISO 8601 UTC, set by the store
    std::string modelName; // what the user knows the model by: its folder, "demo" or the remote id
};

struct StoredSource {
    std::int64_t id = 0;
    std::int64_t sessionId = 0;
    int position = 0;
    std::string name, location, kindName, description, error;
};

struct StoredChunk {
    std::int64_t id = 0;
    std::int64_t documentId = 0;
    int ordinal = 0;
    std::size_t begin = 0, end = 0;
    int firstLine = 0, lastLine = 0;
    std::int64_t tokens = -1;
    double score = 0; // searchChunks: bm25, smaller is better
};

struct Message {
    std::int64_t id = 0;
    std::string role; // "user", "assistant", "system"
    std::string content;
    std::int64_t tokens = -1;
    std::string createdAt;
    std::string reasoning; // a thinking-mode answer's reasoning (what came before </think>)
};

// A saved prefilled state (KV cache) on disk: the store keeps only its metadata.
struct Snapshot {
    std::int64_t sessionId = 0;
    std::string key;             // e.g. the hash of the token prefix it holds
    std::string path;            // file in the cache directory
    std::int64_t tokenCount = 0; // tokens of prefix it covers
    std::string modelFingerprint;
    std::int64_t byteSize = 0;
    std::string createdAt;
};

class SessionStore {
public:
    static constexpr int kSchemaVersion = 5;

    SessionStore() = default;
    ~SessionStore();
    SessionStore(const SessionStore&) = delete;
    SessionStore& operator=(const SessionStore&) = delete;

    // Opens or creates `path` (":memory:" for a private temporary database) and migrates it.
    bool open(const QString& path);
    void close();
    bool isOpen() const { return db_ != nullptr; }
    const std::string& lastError() const { return error_; }
    int schemaVersion() const;
    // PRAGMA integrity_check; `detail` gets its first message when it fails.
    bool integrityCheck(std::string* detail = nullptr) const;
    std::string journalMode() const;

    // Runs `body` in one transaction: committed when it returns true, rolled back otherwise.
    bool transaction(const std::function<bool()>& body);

    // Sessions. Names are unique.
    std::optional<std::int64_t> createSession(const SessionInfo& info);
    std::vector<SessionInfo> sessions() const;
    std::optional<SessionInfo> findSession(std::string_view name) const;
    bool removeSession(std::int64_t sessionId); // cascades to everything the session owns
    bool renameSession(std::int64_t sessionId, std::string_view name); // false if the name is taken
    bool removeSources(std::int64_t sessionId); // with their documents; the session stays

    // A source with its documents (text, pages, cues), skipped files and submodules. When
    // `tokensPerDocument` is given (same length as documents), counts are stored under `tokenizer`.
    std::optional<std::int64_t>
    saveSource(std::int64_t sessionId, const SourceResult& source,
               const std::vector<std::int64_t>* tokensPerDocument = nullptr,
               std::string_view tokenizer = {});
    std::vector<StoredSource> sources(std::int64_t sessionId) const;
    std::vector<std::int64_t> documentIds(std::int64_t sourceId) const; // in stored order
    std::vector<Document> documents(std::int64_t sourceId) const;       // restores text and anchors
    std::vector<SkippedFile> skipped(std::int64_t sourceId) const;
    std::optional<std::int64_t> tokenCount(std::int64_t documentId,
                                           std::string_view tokenizer) const;

    // Chunks of stored documents (chunk.document indexes `documentIds`), indexed for full-text
    // search.
    bool saveChunks(const std::vector<Chunk>& chunks, const std::vector<std::int64_t>& documentIds,
                    const std::vector<std::int64_t>* tokens = nullptr);
    // Best BM25 matches among the session's chunks, best first.
    std::vector<StoredChunk> searchChunks(std::int64_t sessionId, std::string_view question,
                                          int limit) const;

    // Session runtime.
    std::optional<std::int64_t> addMessage(std::int64_t sessionId, std::string_view role,
                                           std::string_view content, std::int64_t tokens = -1,
                                           std::string_view reasoning = {});
    std::vector<Message> messages(std::int64_t sessionId) const;
    // How many messages a session has and when the last was written (its created_at when none),
    // without reading them.
    struct Activity {
        std::int64_t messages = 0;
        std::string lastAt;
    };
    Activity activity(std::int64_t sessionId) const;
    bool putSnapshot(const Snapshot& snapshot); // replaces the session's snapshot with the same key
    // What the user left out of the session ("source/path" prefixes); setExclusions replaces them.
    bool setExclusions(std::int64_t sessionId, const std::vector<std::string>& prefixes);
    std::vector<std::string> exclusions(std::int64_t sessionId) const;
    // The retrieval statistics the session ranks with (retrieval_index.h); save replaces them,
    // load gives nullopt when none were saved.
    bool saveRetrievalStatistics(std::int64_t sessionId, const RetrievalStatistics& statistics);
    std::optional<RetrievalStatistics> retrievalStatistics(std::int64_t sessionId) const;
    std::vector<Snapshot> snapshots(std::int64_t sessionId) const;

private:
    bool exec(const char* sql);
    bool migrate();
    sqlite3* db_ = nullptr;
    mutable std::string error_;
    bool busy_ = false; // the last failed exec() met another connection's lock
};

} // namespace folio::ingest
