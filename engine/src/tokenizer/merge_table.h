// BPE merge ranks: an open-addressing hash table keyed by the pair of token ids.
#pragma once

#include <cstdint>
#include <vector>

namespace folio::tok {

class MergeTable {
public:
    struct Merge {
        int32_t rank; // position in the merges list: lower merges first
        int32_t id;   // the merged token
    };

    void reserve(std::size_t merges) {
        std::size_t cap = 16;
        while (cap < merges * 2) cap <<= 1;
        slots_.assign(cap, Slot{kEmpty, {0, 0}});
        mask_ = cap - 1;
        size_ = 0;
    }

    // False when the pair is already present (the first rank is kept).
    bool insert(int32_t left, int32_t right, Merge m) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        const std::uint64_t k = key(left, right);
        for (std::size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
            if (slots_[i].key == kEmpty) {
                slots_[i] = Slot{k, m};
                ++size_;
                return true;
            }
            if (slots_[i].key == k) return false;
        }
    }

    // The merge of (left, right), or nullptr.
    const Merge* find(int32_t left, int32_t right) const {
        if (slots_.empty()) return nullptr;
        const std::uint64_t k = key(left, right);
        for (std::size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.key == k) return &s.merge;
            if (s.key == kEmpty) return nullptr;
        }
    }

    std::size_t size() const { return size_; }

private:
    static constexpr std::uint64_t kEmpty = ~0ull;
    struct Slot {
        std::uint64_t key;
        Merge merge;
    };
    static std::uint64_t key(int32_t l, int32_t r) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(l)) << 32) |
               static_cast<std::uint32_t>(r);
    }
    static std::size_t hash(std::uint64_t k) {
        k ^= k >> 29;
        k *= 0xBF58476D1CE4E5B9ull;
        k ^= k >> 32;
        return static_cast<std::size_t>(k);
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        reserve(old.empty() ? 8 : old.size());
        for (const Slot& s : old)
            if (s.key != kEmpty)
                insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu),
                       s.merge);
    }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

} // namespace folio::tok
