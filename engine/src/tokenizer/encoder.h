// Untrusted text -> ids: pre-tokenize, then BPE per piece with a word cache. One per thread.
#pragma once

#include "bpe.h"
#include "pretokenizer.h"
#include "tokenizer_data.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace folio::tok {

class Encoder {
public:
    explicit Encoder(const TokenizerData& d) : d_(d) {}
    // Starts with a copy of `warm`'s word cache (see Tokenizer::encodeParallel).
    Encoder(const TokenizerData& d, const Encoder& warm) : d_(d), cache_(warm.cache_) {}

    // Encodes valid UTF-8 `text` (no added-token matching): appends ids to *out when `out` is set,
    // and adds the number of ids to *count when `count` is set.
    void encode(std::string_view text, std::vector<int32_t>* out, std::size_t* count);

private:
    void encodeBlock(std::string_view block, std::vector<int32_t>* out, std::size_t* count);

    const TokenizerData& d_;
    WordCache cache_;
    std::vector<Piece> pieces_;
    std::vector<int32_t> word_;
};

// Blocks of about this many bytes are pre-tokenized at a time (cut at safe boundaries).
constexpr std::size_t kEncodeBlock = std::size_t(1) << 20;

} // namespace folio::tok
