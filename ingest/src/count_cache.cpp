#include "folio/ingest/count_cache.h"

#include "sqlite_statement.h"

#include <QCryptographicHash>
#include <QDateTime>

#include <atomic>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <sqlite3.h>
#include <unordered_map>
#include <vector>

namespace folio::ingest {

using detail::Statement;

namespace {

constexpr int kSchemaVersion = 1;
constexpr std::int64_t kKeepDays = 60;

std::int64_t today() { return QDateTime::currentSecsSinceEpoch() / 86400; }

struct Entry {
    std::uint32_t tokens = 0;
    std::int64_t day = 0;  // last day used, as stored
    bool added = false;    // not in the file yet
    std::size_t slot = 0;  // its flag in Impl::used
};

} // namespace

struct TokenCountCache::Impl {
    sqlite3* db = nullptr;
    std::string tokenizer;
    mutable std::shared_mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    std::deque<std::atomic<bool>> used; // per entry: found by this run (set under the shared lock)
    mutable std::atomic<std::size_t> hits{0}, misses{0};
    std::int64_t day = today();

    ~Impl() {
        if (db) sqlite3_close(db);
    }
    bool exec(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }
    std::string lastError() const { return db ? sqlite3_errmsg(db) : "no database"; }
};

TokenCountCache::TokenCountCache() : d_(std::make_unique<Impl>()) {}
TokenCountCache::~TokenCountCache() = default;

std::unique_ptr<TokenCountCache> TokenCountCache::inMemory(const std::string& tokenizerId) {
    std::unique_ptr<TokenCountCache> c(new TokenCountCache());
    c->d_->tokenizer = tokenizerId;
    return c;
}

std::unique_ptr<TokenCountCache> TokenCountCache::open(const std::string& path, const std::string& tokenizerId,
                                                       std::string* error) {
    std::unique_ptr<TokenCountCache> c(new TokenCountCache());
    Impl& d = *c->d_;
    d.tokenizer = tokenizerId;
    if (sqlite3_open_v2(path.c_str(), &d.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        *error = path + ": cannot open the token count cache: " + d.lastError();
        return nullptr;
    }
    sqlite3_busy_timeout(d.db, 5000);
    // Another program's file, or a newer Folio's: refused, never overwritten.
    int version = 0;
    {
        Statement st(d.db, "PRAGMA user_version");
        if (st.ok() && st.step()) version = int(st.i64(0));
    }
    if (version == 0) {
        bool empty = false;
        {
            Statement tables(d.db, "SELECT count(*) FROM sqlite_master");
            empty = tables.ok() && tables.step() && tables.i64(0) == 0;
        }
        if (!empty) {
            *error = path + ": not a Folio token count cache (it holds other tables)";
            return nullptr;
        }
        if (!d.exec("PRAGMA journal_mode = WAL") ||
            !d.exec("CREATE TABLE counts (tokenizer TEXT NOT NULL, hash BLOB NOT NULL, tokens INTEGER NOT NULL, "
                    "day INTEGER NOT NULL, PRIMARY KEY (tokenizer, hash)) WITHOUT ROWID") ||
            !d.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str())) {
            *error = path + ": cannot create the token count cache: " + d.lastError();
            return nullptr;
        }
    } else if (version != kSchemaVersion) {
        *error = path + ": token count cache of schema " + std::to_string(version) + ", this build reads " +
                 std::to_string(kSchemaVersion);
        return nullptr;
    }
    Statement st(d.db, "SELECT hash, tokens, day FROM counts WHERE tokenizer = ?");
    if (!st.ok()) {
        *error = path + ": " + d.lastError();
        return nullptr;
    }
    st.bind(1, tokenizerId);
    while (st.step()) {
        std::string key = st.text(0);
        if (key.size() != 16) continue; // not one of ours: ignored
        Entry e;
        e.tokens = std::uint32_t(st.i64(1));
        e.day = st.i64(2);
        e.slot = d.used.size();
        d.used.emplace_back(false);
        d.entries.emplace(std::move(key), e);
    }
    return c;
}

TokenCountCache::Key TokenCountCache::keyOf(std::string_view text) {
    const QByteArray h = QCryptographicHash::hash(QByteArrayView(text.data(), qsizetype(text.size())),
                                                  QCryptographicHash::Blake2b_160);
    return Key(h.constData(), 16); // the first 128 of its 160 bits
}

std::optional<std::size_t> TokenCountCache::find(const Key& key) const {
    std::shared_lock lock(d_->mutex);
    const auto it = d_->entries.find(key);
    if (it == d_->entries.end()) {
        ++d_->misses;
        return std::nullopt;
    }
    ++d_->hits;
    d_->used[it->second.slot].store(true, std::memory_order_relaxed);
    return it->second.tokens;
}

void TokenCountCache::put(const Key& key, std::size_t tokens) {
    std::unique_lock lock(d_->mutex);
    auto [it, fresh] = d_->entries.try_emplace(key);
    if (fresh) {
        it->second.slot = d_->used.size();
        d_->used.emplace_back(false);
    }
    it->second.tokens = std::uint32_t(tokens);
    it->second.day = d_->day;
    it->second.added = true;
}

bool TokenCountCache::save(std::string* error) {
    Impl& d = *d_;
    if (!d.db) return true;
    std::unique_lock lock(d.mutex);
    if (!d.exec("BEGIN IMMEDIATE")) {
        *error = "token count cache: " + d.lastError();
        return false;
    }
    bool ok = true;
    {
        Statement add(d.db, "INSERT OR REPLACE INTO counts (tokenizer, hash, tokens, day) VALUES (?, ?, ?, ?)");
        Statement touch(d.db, "UPDATE counts SET day = ? WHERE tokenizer = ? AND hash = ?");
        ok = add.ok() && touch.ok();
        for (auto& [key, e] : d.entries) {
            if (!ok) break;
            if (e.added) {
                ok = add.bind(1, d.tokenizer).bindBlob(2, key).bind(3, std::int64_t(e.tokens)).bind(4, d.day).run();
                e.added = false;
                e.day = d.day;
            } else if (d.used[e.slot].load(std::memory_order_relaxed) && e.day < d.day) {
                ok = touch.bind(1, d.day).bind(2, d.tokenizer).bindBlob(3, key).run();
                e.day = d.day;
            }
        }
        if (ok) {
            Statement prune(d.db, "DELETE FROM counts WHERE day < ?");
            ok = prune.ok() && prune.bind(1, d.day - kKeepDays).run();
        }
    }
    if (!ok || !d.exec("COMMIT")) {
        *error = "token count cache: " + d.lastError();
        d.exec("ROLLBACK");
        return false;
    }
    return true;
}

std::size_t TokenCountCache::hits() const { return d_->hits; }
std::size_t TokenCountCache::misses() const { return d_->misses; }
std::size_t TokenCountCache::size() const {
    std::shared_lock lock(d_->mutex);
    return d_->entries.size();
}

} // namespace folio::ingest
