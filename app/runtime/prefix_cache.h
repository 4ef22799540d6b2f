// The prefix cache: snapshots of a sequence's full engine state (Sequence::save bytes) for prefixes
// of a token sequence, at 128-token boundaries (a multiple of both compression ratios' blocks and of
// the window; deepseek-v4.md section 6), keyed by a hash chain over the exact token ids seeded with
// the model's fingerprint and the format version. Two tiers, each with a byte budget and LRU
// eviction: memory, and files in a directory (the user's cache directory).
//
// Snapshot file (little-endian):
//   "FOLIOSNP" | u32 version | u64 model fingerprint | i64 token count | u64 token hash |
//   i64 base token count | u64 base token hash | u64 payload bytes | payload |
//   u64 checksum64 (folio/checksum.h) of the header, then the payload in 8 MiB pieces
// A snapshot may be a delta (Sequence::save with a base position): it then names its base, the
// snapshot of an earlier prefix of the same tokens, and a hit returns the whole chain, full state
// first. Checkpoints of a long prefill are written as deltas, so keeping all of them costs about one
// state, and a context that changes at some point restores every checkpoint before the change.
// A corrupt, truncated or foreign file is reported, deleted and treated as a miss; files are written
// to a temporary name, flushed and renamed into place, so a crash never leaves a half file under a
// real name. Without a usable directory (read-only, full disk) the memory tier still works.
#pragma once

#include "folio/engine.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <vector>

namespace folio::app {

inline constexpr std::int64_t kSnapshotAlign = 128;
inline constexpr std::uint32_t kSnapshotFormatVersion = 2;

// hashes[b] identifies the first (b + 1) * 128 tokens for this model: one per complete block.
std::vector<std::uint64_t> prefixHashes(std::uint64_t fingerprint, std::span<const std::int32_t> tokens);

struct SnapshotHit {
    std::int64_t tokens = 0;      // the prefix length the state covers
    std::vector<QByteArray> chain; // Sequence::save bytes: a full state, then deltas, in order
    bool fromDisk = false;        // any part of the chain came from disk
    qint64 bytes() const {
        qint64 n = 0;
        for (const QByteArray& b : chain) n += b.size();
        return n;
    }
};

class PrefixCache {
public:
    struct Options {
        QString directory;                           // empty: memory tier only
        qint64 memoryBudget = qint64(2) << 30;        // bytes
        qint64 diskBudget = qint64(20) << 30;         // bytes
    };
    explicit PrefixCache(Options options);

    // Stores the state of the first prefix.size() tokens (a non-zero multiple of 128). Always kept in
    // memory (within budget); returns false with *error when the disk tier could not take it.
    // baseTokens > 0: `state` is a delta from the snapshot of prefix[0:baseTokens] (which must be
    // cached; a chain whose base has been evicted is a miss).
    bool put(std::uint64_t fingerprint, std::span<const std::int32_t> prefix, const QByteArray& state, QString* error,
             std::int64_t baseTokens = 0);

    // The longest cached prefix of `tokens` for this model, memory first, then disk.
    std::optional<SnapshotHit> longest(std::uint64_t fingerprint, std::span<const std::int32_t> tokens);

    // The same, restored straight into `seq` (a fresh sequence): a snapshot on disk is read by a
    // second thread piece by piece while this one verifies and parses the piece before, so reading
    // and restoring overlap (a file's bytes do not go into the memory tier). Returns the tokens restored (0: a miss; `seq` is then unchanged only
    // if nothing was restored, so pass a fresh one). *fromDisk says whether a file was read.
    std::int64_t restoreLongest(std::uint64_t fingerprint, std::span<const std::int32_t> tokens, Sequence& seq,
                                bool* fromDisk = nullptr);

    // Problems met since the last call (corrupt files deleted, unwritable directory...).
    QStringList takeProblems();

    qint64 memoryBytes() const { return memoryBytes_; }
    qint64 diskBytes() const;
    int memoryEntries() const { return int(memory_.size()); }

private:
    struct Entry {
        std::uint64_t fingerprint = 0;
        std::uint64_t hash = 0;
        std::int64_t tokens = 0;
        QByteArray state;
        std::int64_t baseTokens = 0; // 0: a full state
        std::uint64_t baseHash = 0;
    };
    QString filePath(std::uint64_t fingerprint, std::uint64_t hash) const;
    // A file that cannot be used: reported, deleted, its prefix recomputed by the caller.
    void discard(const QString& path, const QString& why);
    std::optional<Entry> readFile(const QString& path, std::uint64_t fingerprint, std::int64_t tokens, std::uint64_t hash);
    // A file's header only (its base), checked like readFile checks it; the payload stays on disk.
    std::optional<Entry> readHeader(const QString& path, std::uint64_t fingerprint, std::int64_t tokens, std::uint64_t hash,
                                    qint64* payloadBytes);
    // Reads the payload of a checked file while restoring it into `seq`; false (file deleted and
    // reported) when it does not verify or restore.
    bool streamRestore(const QString& path, qint64 payloadBytes, Sequence& seq);
    struct Link {
        Entry entry;
        bool onDisk = false;     // found on disk (not in the memory tier)
        qint64 payloadBytes = 0; // its payload's size
    };
    // The snapshot of exactly this prefix, memory first, then disk: read whole into the memory tier
    // (payload), or only its checked header (to be streamed by streamRestore).
    std::optional<Link> link(std::uint64_t fingerprint, std::uint64_t hash, std::int64_t tokens, bool payload);
    // The chain ending at prefix block `block`, newest first down to its full state; nullopt when a
    // link is missing.
    std::optional<std::vector<Link>> chainAt(std::uint64_t fingerprint, const std::vector<std::uint64_t>& hashes,
                                             std::size_t block, bool payloads);
    bool writeFile(const Entry& e, QString* error);
    void evictMemory();
    void evictDisk();

    Options options_;
    std::list<Entry> memory_; // most recently used first
    qint64 memoryBytes_ = 0;
    QStringList problems_;
};

} // namespace folio::app
