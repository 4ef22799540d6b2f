// Token counts kept between runs: the exact count of every framed document and excerpt a pack has
// counted, in an SQLite file (the user's cache directory), keyed by the tokenizer and a 128-bit
// hash of the exact text counted (BLAKE2b-160, truncated). A second pack of the same tree (another question, one
// file edited) tokenizes only what it has not counted before: an unchanged file frames to the same
// text, so its count is found; an edited one is counted again. The framing (path header, line
// anchors) is part of the text hashed, so a moved file or another anchor interval is a new entry.
//
// Safe to share between threads: lookups take a shared lock, additions an exclusive one. The file
// is written by save(); a cache that cannot be opened or written costs only speed (the caller
// counts as before), never a wrong count. Entries not used for 60 days are dropped on save.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace folio::ingest {

class TokenCountCache {
public:
    // Opens (creating if needed) the cache file and loads the entries of `tokenizerId` (a
    // fingerprint of the tokenizer's content, e.g. Tokenizer::fingerprint()). Null with `error` set
    // when the file cannot be opened or is not a cache.
    static std::unique_ptr<TokenCountCache> open(const std::string& path, const std::string& tokenizerId,
                                                 std::string* error);
    // An empty cache that lives in memory only (save() does nothing).
    static std::unique_ptr<TokenCountCache> inMemory(const std::string& tokenizerId);
    ~TokenCountCache();
    TokenCountCache(const TokenCountCache&) = delete;
    TokenCountCache& operator=(const TokenCountCache&) = delete;

    using Key = std::string; // 16 bytes
    static Key keyOf(std::string_view text);

    std::optional<std::size_t> find(const Key& key) const;
    void put(const Key& key, std::size_t tokens);
    // The count of `text`: from the cache, or from `count` (then kept).
    template <class Count> std::size_t count(std::string_view text, const Count& count) {
        const Key key = keyOf(text);
        if (auto hit = find(key)) return *hit;
        const std::size_t n = count(text);
        put(key, n);
        return n;
    }

    // Writes what was added and marks what was used; false with `error` on failure.
    bool save(std::string* error);

    std::size_t hits() const;
    std::size_t misses() const;
    std::size_t size() const;

private:
    TokenCountCache();
    struct Impl;
    std::unique_ptr<Impl> d_;
};

} // namespace folio::ingest
