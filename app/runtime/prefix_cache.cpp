#include "prefix_cache.h"

#include "fault.h"
#include "piece_reader.h"
#include "folio/checksum.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QStorageInfo>

#include <algorithm>
#include <cstring>
#include <istream>

namespace folio::app {

namespace {

constexpr char kMagic[8] = {'F', 'O', 'L', 'I', 'O', 'S', 'N', 'P'};
constexpr qint64 kHeaderBytes = 8 + 4 + 8 + 8 + 8 + 8 + 8 + 8;

template <typename T> void append(QByteArray& out, T v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

template <typename T> T readAt(const QByteArray& in, qint64 offset) {
    T v;
    std::memcpy(&v, in.constData() + offset, sizeof v);
    return v;
}

// Marks a file recently used for the disk tier's LRU (its modification time).
void touch(const QString& path) {
    QFile f(path);
    if (f.open(QIODevice::ReadWrite)) f.setFileTime(QDateTime::currentDateTimeUtc(), QFileDevice::FileModificationTime);
}

// Why a snapshot header does not belong to this prefix, or an empty string.
QString headerProblem(const QByteArray& head, std::uint64_t fingerprint, std::int64_t tokens, std::uint64_t hash,
                      qint64 fileSize) {
    if (std::memcmp(head.constData(), kMagic, 8) != 0) return QStringLiteral("not a snapshot (bad magic)");
    if (readAt<std::uint32_t>(head, 8) != kSnapshotFormatVersion)
        return QStringLiteral("format version %1").arg(readAt<std::uint32_t>(head, 8));
    if (readAt<std::uint64_t>(head, 12) != fingerprint) return QStringLiteral("made by another model");
    if (readAt<std::int64_t>(head, 20) != tokens || readAt<std::uint64_t>(head, 28) != hash)
        return QStringLiteral("header names other tokens");
    if (readAt<std::int64_t>(head, 36) < 0 || readAt<std::int64_t>(head, 36) >= tokens)
        return QStringLiteral("names an impossible base");
    if (qint64(readAt<std::uint64_t>(head, 52)) != fileSize - kHeaderBytes - 8) return QStringLiteral("truncated");
    return {};
}

} // namespace

std::vector<std::uint64_t> prefixHashes(std::uint64_t fingerprint, std::span<const std::int32_t> tokens) {
    std::vector<std::uint64_t> out;
    std::uint64_t h = checksum64(&fingerprint, sizeof fingerprint);
    h = checksum64(&kSnapshotFormatVersion, sizeof kSnapshotFormatVersion, h);
    const std::size_t blocks = tokens.size() / std::size_t(kSnapshotAlign);
    for (std::size_t b = 0; b < blocks; ++b) {
        h = checksum64(tokens.data() + b * kSnapshotAlign, std::size_t(kSnapshotAlign) * sizeof(std::int32_t), h);
        out.push_back(h);
    }
    return out;
}

PrefixCache::PrefixCache(Options options) : options_(std::move(options)) {
    if (options_.directory.isEmpty()) return;
    if (!QDir().mkpath(options_.directory)) {
        problems_ << QStringLiteral("cannot create the cache directory %1; snapshots stay in memory").arg(options_.directory);
        return;
    }
    // A process killed while writing a snapshot leaves its temporary file (QSaveFile's
    // "<name>.fsnap.XXXXXX" where the filesystem has no O_TMPFILE); never a file under a real name.
    // Recent ones may belong to another Folio process writing right now.
    const QDateTime stale = QDateTime::currentDateTimeUtc().addSecs(-600);
    for (const QFileInfo& fi : QDir(options_.directory).entryInfoList({QStringLiteral("*.fsnap.*")}, QDir::Files))
        if (fi.lastModified().toUTC() < stale) QFile::remove(fi.filePath());
}

QString PrefixCache::filePath(std::uint64_t fingerprint, std::uint64_t hash) const {
    return QDir(options_.directory)
        .filePath(QStringLiteral("%1-%2.fsnap").arg(fingerprint, 16, 16, QLatin1Char('0')).arg(hash, 16, 16, QLatin1Char('0')));
}

bool PrefixCache::put(std::uint64_t fingerprint, std::span<const std::int32_t> prefix, const QByteArray& state,
                      QString* error, std::int64_t baseTokens) {
    if (prefix.empty() || std::int64_t(prefix.size()) % kSnapshotAlign != 0) {
        if (error) *error = QStringLiteral("snapshots cover a multiple of %1 tokens, not %2").arg(kSnapshotAlign).arg(prefix.size());
        return false;
    }
    if (baseTokens < 0 || baseTokens >= std::int64_t(prefix.size()) || baseTokens % kSnapshotAlign != 0) {
        if (error) *error = QStringLiteral("a delta's base must be an earlier multiple of %1 tokens").arg(kSnapshotAlign);
        return false;
    }
    const std::vector<std::uint64_t> hashes = prefixHashes(fingerprint, prefix);
    Entry e{fingerprint, hashes.back(), std::int64_t(prefix.size()), state, baseTokens,
            baseTokens ? hashes[std::size_t(baseTokens / kSnapshotAlign) - 1] : 0};
    memory_.remove_if([&](const Entry& m) {
        if (m.fingerprint != e.fingerprint || m.hash != e.hash) return false;
        memoryBytes_ -= m.state.size();
        return true;
    });
    memory_.push_front(e);
    memoryBytes_ += state.size();
    evictMemory();
    if (options_.directory.isEmpty()) return true;
    if (!writeFile(e, error)) return false;
    evictDisk();
    return true;
}

bool PrefixCache::writeFile(const Entry& e, QString* error) {
    QByteArray head;
    head.append(kMagic, 8);
    append(head, kSnapshotFormatVersion);
    append(head, e.fingerprint);
    append(head, e.tokens);
    append(head, e.hash);
    append(head, e.baseTokens);
    append(head, e.baseHash);
    append(head, std::uint64_t(e.state.size()));
    std::uint64_t sum = checksum64(head.constData(), std::size_t(head.size()));
    for (qsizetype at = 0; at < e.state.size(); at += kChecksumPiece)
        sum = checksum64(e.state.constData() + at, std::size_t(std::min<qsizetype>(kChecksumPiece, e.state.size() - at)), sum);
    QSaveFile f(filePath(e.fingerprint, e.hash));
    const qsizetype half = e.state.size() / 2;
    const bool ok = f.open(QIODevice::WriteOnly) && f.write(head) == head.size() &&
                    f.write(e.state.constData(), half) == half && (faultPoint("snapshot-write"), true) &&
                    f.write(e.state.constData() + half, e.state.size() - half) == e.state.size() - half &&
                    f.write(reinterpret_cast<const char*>(&sum), sizeof sum) == sizeof sum && f.commit();
    if (!ok) {
        // A write the disk takes only part of (full, or over a size limit) sets no error in Qt.
        const qint64 free = QStorageInfo(options_.directory).bytesAvailable();
        const QString reason = f.error() != QFileDevice::NoError ? f.errorString()
                               : free >= 0 ? QStringLiteral("the disk took only part of it (%1 MiB free there)").arg(free >> 20)
                                           : QStringLiteral("the disk took only part of it");
        const QString why = QStringLiteral("cannot write snapshot %1: %2; it stays in memory only").arg(f.fileName(), reason);
        problems_ << why;
        if (error) *error = why;
        f.cancelWriting();
    }
    return ok;
}

void PrefixCache::discard(const QString& path, const QString& why) {
    problems_ << QStringLiteral("snapshot %1 is unusable (%2); deleted, the prefix will be recomputed").arg(path, why);
    QFile::remove(path);
}

std::optional<PrefixCache::Entry> PrefixCache::readFile(const QString& path, std::uint64_t fingerprint,
                                                       std::int64_t tokens, std::uint64_t hash) {
    QFile f(path);
    if (!f.exists()) return std::nullopt;
    QString why;
    QByteArray head(kHeaderBytes, Qt::Uninitialized);
    QByteArray payload;
    auto readFully = [&f](char* to, qint64 n) {
        qint64 got = 0;
        while (got < n) {
            const qint64 r = f.read(to + got, n - got);
            if (r <= 0) break;
            got += r;
        }
        return got == n;
    };
    if (!f.open(QIODevice::ReadOnly)) {
        why = f.errorString();
    } else if (f.size() < kHeaderBytes + 8 || !readFully(head.data(), kHeaderBytes)) {
        why = QStringLiteral("truncated");
    } else if (why = headerProblem(head, fingerprint, tokens, hash, f.size()); !why.isEmpty()) {
    } else {
        // The payload straight into its own buffer, piece by piece, each piece checksummed while
        // the kernel's read-ahead fetches the next: verification overlaps the disk.
        payload = QByteArray(f.size() - kHeaderBytes - 8, Qt::Uninitialized);
        std::uint64_t sum = checksum64(head.constData(), std::size_t(kHeaderBytes));
        bool complete = true;
        for (qint64 at = 0; at < payload.size() && complete; at += kChecksumPiece) {
            const qint64 n = std::min<qint64>(kChecksumPiece, payload.size() - at);
            complete = readFully(payload.data() + at, n);
            if (complete) sum = checksum64(payload.constData() + at, std::size_t(n), sum);
        }
        std::uint64_t stored = 0;
        if (!complete || !readFully(reinterpret_cast<char*>(&stored), 8)) why = QStringLiteral("truncated");
        else if (stored != sum) why = QStringLiteral("checksum mismatch");
    }
    f.close();
    if (!why.isEmpty()) {
        discard(path, why);
        return std::nullopt;
    }
    touch(path);
    return Entry{fingerprint, hash, tokens, std::move(payload), readAt<std::int64_t>(head, 36), readAt<std::uint64_t>(head, 44)};
}

std::optional<PrefixCache::Entry> PrefixCache::readHeader(const QString& path, std::uint64_t fingerprint,
                                                         std::int64_t tokens, std::uint64_t hash, qint64* payloadBytes) {
    QFile f(path);
    if (!f.exists()) return std::nullopt;
    QString why;
    QByteArray head;
    if (!f.open(QIODevice::ReadOnly)) why = f.errorString();
    else if (f.size() < kHeaderBytes + 8 || (head = f.read(kHeaderBytes)).size() != kHeaderBytes) why = QStringLiteral("truncated");
    else why = headerProblem(head, fingerprint, tokens, hash, f.size());
    if (!why.isEmpty()) {
        f.close();
        discard(path, why);
        return std::nullopt;
    }
    *payloadBytes = f.size() - kHeaderBytes - 8;
    return Entry{fingerprint, hash, tokens, {}, readAt<std::int64_t>(head, 36), readAt<std::uint64_t>(head, 44)};
}

bool PrefixCache::streamRestore(const QString& path, qint64 payloadBytes, Sequence& seq) {
    QFile f(path);
    QString why;
    if (!f.open(QIODevice::ReadOnly)) {
        why = f.errorString();
    } else {
        QByteArray head = f.read(kHeaderBytes);
        Status restored;
        // The file's checksum covers the same bytes as the state's own: that one is not computed a
        // second time. What the parser read counts only once the whole payload has verified; a
        // failure leaves a partial state that the caller discards.
        const PieceRead read = readPieces(f, payloadBytes, checksum64(head.constData(), std::size_t(head.size())),
                                          [&](std::istream& in) { restored = seq.restore(in, StateCheck::Trusted); });
        if (!read.complete) why = QStringLiteral("truncated");
        else if (read.sum != read.stored) why = QStringLiteral("checksum mismatch");
        else if (!restored.ok()) why = QString::fromStdString(restored.error());
    }
    f.close();
    if (!why.isEmpty()) {
        discard(path, why);
        return false;
    }
    touch(path);
    return true;
}

std::optional<PrefixCache::Link> PrefixCache::link(std::uint64_t fingerprint, std::uint64_t hash, std::int64_t tokens,
                                                   bool payload) {
    for (auto it = memory_.begin(); it != memory_.end(); ++it)
        if (it->fingerprint == fingerprint && it->hash == hash && it->tokens == tokens) {
            memory_.splice(memory_.begin(), memory_, it);
            if (!options_.directory.isEmpty()) touch(filePath(fingerprint, hash));
            return Link{memory_.front(), false, 0};
        }
    if (options_.directory.isEmpty()) return std::nullopt;
    if (!payload) {
        qint64 bytes = 0;
        auto e = readHeader(filePath(fingerprint, hash), fingerprint, tokens, hash, &bytes);
        if (!e) return std::nullopt;
        return Link{*e, true, bytes};
    }
    auto e = readFile(filePath(fingerprint, hash), fingerprint, tokens, hash);
    if (!e) return std::nullopt;
    // Shared, not copied: QByteArray is implicitly shared.
    memory_.push_front(*e);
    memoryBytes_ += e->state.size();
    evictMemory();
    return Link{*e, true, e->state.size()};
}

std::optional<std::vector<PrefixCache::Link>> PrefixCache::chainAt(std::uint64_t fingerprint,
                                                                   const std::vector<std::uint64_t>& hashes,
                                                                   std::size_t block, bool payloads) {
    std::vector<Link> chain;
    std::int64_t len = std::int64_t(block + 1) * kSnapshotAlign;
    std::uint64_t hash = hashes[block];
    // Down to the full state; a missing link makes this length a miss.
    while (true) {
        auto l = link(fingerprint, hash, len, payloads);
        if (!l) return std::nullopt;
        chain.push_back(*l);
        const std::int64_t baseLen = l->entry.baseTokens;
        if (baseLen == 0) return chain;
        if (l->entry.baseHash != hashes[std::size_t(baseLen / kSnapshotAlign) - 1]) return std::nullopt;
        len = baseLen;
        hash = l->entry.baseHash;
    }
}

std::int64_t PrefixCache::restoreLongest(std::uint64_t fingerprint, std::span<const std::int32_t> tokens, Sequence& seq,
                                         bool* fromDisk) {
    const std::vector<std::uint64_t> hashes = prefixHashes(fingerprint, tokens);
    for (std::size_t b = hashes.size(); b-- > 0;) {
        auto chain = chainAt(fingerprint, hashes, b, false);
        if (!chain) continue;
        // Full state first; a link on disk is read while it is restored.
        for (auto it = chain->rbegin(); it != chain->rend(); ++it) {
            if (!it->onDisk) {
                if (!seq.restore(std::span(it->entry.state.constData(), std::size_t(it->entry.state.size()))).ok()) return 0;
                continue;
            }
            // A failure part way leaves a partial state: the caller discards the sequence. The bytes
            // are not kept in the memory tier: the restored sequence holds the state, and the file
            // stays in the page cache for a second restore.
            if (!streamRestore(filePath(fingerprint, it->entry.hash), it->payloadBytes, seq)) return 0;
            if (fromDisk) *fromDisk = true;
        }
        return std::int64_t(b + 1) * kSnapshotAlign;
    }
    return 0;
}

std::optional<SnapshotHit> PrefixCache::longest(std::uint64_t fingerprint, std::span<const std::int32_t> tokens) {
    const std::vector<std::uint64_t> hashes = prefixHashes(fingerprint, tokens);
    for (std::size_t b = hashes.size(); b-- > 0;) {
        auto chain = chainAt(fingerprint, hashes, b, true);
        if (!chain) continue;
        SnapshotHit hit;
        hit.tokens = std::int64_t(b + 1) * kSnapshotAlign;
        for (auto it = chain->rbegin(); it != chain->rend(); ++it) {
            hit.chain.push_back(it->entry.state);
            hit.fromDisk = hit.fromDisk || it->onDisk;
        }
        return hit;
    }
    return std::nullopt;
}

void PrefixCache::evictMemory() {
    while (memoryBytes_ > options_.memoryBudget && !memory_.empty()) {
        memoryBytes_ -= memory_.back().state.size();
        memory_.pop_back();
    }
}

qint64 PrefixCache::diskBytes() const {
    if (options_.directory.isEmpty()) return 0;
    qint64 total = 0;
    for (const QFileInfo& fi : QDir(options_.directory).entryInfoList({QStringLiteral("*.fsnap")}, QDir::Files))
        total += fi.size();
    return total;
}

void PrefixCache::evictDisk() {
    QFileInfoList files = QDir(options_.directory).entryInfoList({QStringLiteral("*.fsnap")}, QDir::Files, QDir::Time);
    qint64 total = 0;
    for (const QFileInfo& fi : files) total += fi.size();
    // QDir::Time sorts newest first: delete from the back (least recently used).
    while (total > options_.diskBudget && !files.isEmpty()) {
        total -= files.back().size();
        QFile::remove(files.back().filePath());
        files.pop_back();
    }
}

QStringList PrefixCache::takeProblems() {
    QStringList p;
    p.swap(problems_);
    return p;
}

} // namespace folio::app
