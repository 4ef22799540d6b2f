#include "bpe.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <queue>

namespace folio::tok {

namespace {

// Words up to this many symbols use the quadratic scan (no allocation, cache friendly); longer ones
// (long identifiers, base64, runs of spaces) a heap over a linked list: O(n log n).
constexpr std::size_t kSmallWord = 48;

void mergeSmall(const MergeTable& merges, int32_t* sym, std::size_t m, std::vector<int32_t>& out) {
    int32_t rank[kSmallWord];
    int32_t merged[kSmallWord];
    auto pairRank = [&](std::size_t i) {
        const MergeTable::Merge* mg = merges.find(sym[i], sym[i + 1]);
        rank[i] = mg ? mg->rank : INT32_MAX;
        merged[i] = mg ? mg->id : -1;
    };
    for (std::size_t i = 0; i + 1 < m; ++i) pairRank(i);
    while (m > 1) {
        std::size_t best = 0;
        for (std::size_t i = 1; i + 1 < m; ++i)
            if (rank[i] < rank[best]) best = i;
        if (rank[best] == INT32_MAX) break;
        sym[best] = merged[best];
        // Remove symbol best+1 and pair best+1 (its pair with the right neighbour moves into best).
        std::memmove(sym + best + 1, sym + best + 2, (m - best - 2) * sizeof(int32_t));
        if (best + 2 < m) {
            std::memmove(rank + best + 1, rank + best + 2, (m - best - 3) * sizeof(int32_t));
            std::memmove(merged + best + 1, merged + best + 2, (m - best - 3) * sizeof(int32_t));
        }
        --m;
        if (best > 0) pairRank(best - 1);
        if (best + 1 < m) pairRank(best);
    }
    out.insert(out.end(), sym, sym + m);
}

void mergeLarge(const MergeTable& merges, const std::vector<int32_t>& init,
                std::vector<int32_t>& out) {
    const std::size_t n = init.size();
    std::vector<int32_t> id(init), prev(n), next(n);
    for (std::size_t i = 0; i < n; ++i) {
        prev[i] = static_cast<int32_t>(i) - 1;
        next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
    }
    struct Cand {
        int32_t rank, pos, left, right;
        bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](int32_t pos) {
        if (pos < 0 || next[pos] < 0) return;
        if (const MergeTable::Merge* mg = merges.find(id[pos], id[next[pos]]))
            heap.push(Cand{mg->rank, pos, id[pos], id[next[pos]]});
    };
    for (std::size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
    std::vector<char> alive(n, 1);
    while (!heap.empty()) {
        const Cand c = heap.top();
        heap.pop();
        if (!alive[c.pos] || next[c.pos] < 0 || id[c.pos] != c.left || id[next[c.pos]] != c.right)
            continue; // stale
        const int32_t r = next[c.pos];
        id[c.pos] = merges.find(c.left, c.right)->id;
        alive[r] = 0;
        next[c.pos] = next[r];
        if (next[r] >= 0) prev[next[r]] = c.pos;
        push(prev[c.pos]);
        push(c.pos);
    }
    for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(id[i]);
}

} // namespace

void bpeEncodeWord(const TokenizerData& d, const unsigned char* bytes, std::size_t n,
                   std::vector<int32_t>& out) {
    if (n == 0) return;
    if (d.ignoreMerges) {
        auto it = d.bytesToId.find(std::string(reinterpret_cast<const char*>(bytes), n));
        if (it != d.bytesToId.end()) {
            out.push_back(it->second);
            return;
        }
    }
    if (n <= kSmallWord) {
        int32_t sym[kSmallWord];
        for (std::size_t i = 0; i < n; ++i) sym[i] = d.byteToId[bytes[i]];
        mergeSmall(d.merges, sym, n, out);
        return;
    }
    std::vector<int32_t> init(n);
    for (std::size_t i = 0; i < n; ++i) init[i] = d.byteToId[bytes[i]];
    mergeLarge(d.merges, init, out);
}

// ---- WordCache ----

namespace {
constexpr std::size_t kFirstSlots = 512;
constexpr std::size_t kMaxSlots = std::size_t(1) << 18; // entries up to half of this, then reset
} // namespace

WordCache::WordCache() {
    clear();
}

void WordCache::clear() {
    slots_.assign(kFirstSlots, Slot{});
    mask_ = kFirstSlots - 1;
    used_ = 0;
    keys_.clear();
    vals_.clear();
}

void WordCache::grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& o : old) {
        if (o.keyLen == 0) continue;
        std::size_t i = o.hash & mask_;
        while (slots_[i].keyLen != 0) i = (i + 1) & mask_;
        slots_[i] = o;
    }
}

std::uint64_t WordCache::hashBytes(const unsigned char* p, std::size_t n) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    return h;
}

bool WordCache::find(const unsigned char* bytes, std::size_t n, std::uint64_t hash,
                     const int32_t** ids, std::size_t* count) const {
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
        const Slot& s = slots_[i];
        if (s.keyLen == 0) return false;
        if (s.hash == hash && s.keyLen == n &&
            std::memcmp(keys_.data() + s.keyOff, bytes, n) == 0) {
            *ids = vals_.data() + s.valOff;
            *count = s.valLen;
            return true;
        }
    }
}

void WordCache::insert(const unsigned char* bytes, std::size_t n, std::uint64_t hash,
                       const int32_t* ids, std::size_t count) {
    if (n == 0 || n > kMaxKey || count > 0xFFFF) return;
    if ((used_ + 1) * 2 > slots_.size()) {
        if (slots_.size() >= kMaxSlots)
            clear();
        else
            grow();
    }
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
        Slot& s = slots_[i];
        if (s.keyLen != 0) continue;
        s.hash = hash;
        s.keyOff = static_cast<std::uint32_t>(keys_.size());
        s.keyLen = static_cast<std::uint16_t>(n);
        s.valOff = static_cast<std::uint32_t>(vals_.size());
        s.valLen = static_cast<std::uint16_t>(count);
        keys_.append(reinterpret_cast<const char*>(bytes), n);
        vals_.insert(vals_.end(), ids, ids + count);
        ++used_;
        return;
    }
}

} // namespace folio::tok
