// BPE on one pre-tokenizer piece, and the per-encoder cache of pieces already encoded.
#pragma once

#include "tokenizer_data.h"

#include <cstdint>
#include <string>
#include <vector>

namespace folio::tok {

// Appends the BPE ids of one piece (raw bytes, spelled byte-level) to `out`: start from one token
// per byte and repeatedly apply the lowest-ranked merge among adjacent pairs, leftmost first.
void bpeEncodeWord(const TokenizerData& d, const unsigned char* bytes, std::size_t n,
                   std::vector<int32_t>& out);

// Piece bytes -> ids for pieces up to kMaxKey bytes: text reuses the same words over and over, so
// most pieces are found here and BPE runs once per distinct word. Not thread-safe: one per encoder.
class WordCache {
public:
    static constexpr std::size_t kMaxKey = 96;

    WordCache();
    // The cached ids of the piece, or false.
    bool find(const unsigned char* bytes, std::size_t n, std::uint64_t hash, const int32_t** ids,
              std::size_t* count) const;
    void insert(const unsigned char* bytes, std::size_t n, std::uint64_t hash, const int32_t* ids,
                std::size_t count);

    static std::uint64_t hashBytes(const unsigned char* bytes, std::size_t n);

private:
    struct Slot {
        std::uint64_t hash = 0;
        std::uint32_t keyOff = 0, valOff = 0;
        std::uint16_t keyLen = 0, valLen = 0; // keyLen 0: empty slot
    };
    void clear();
    void grow();

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t used_ = 0;
    std::string keys_;
    std::vector<int32_t> vals_;
};

} // namespace folio::tok
