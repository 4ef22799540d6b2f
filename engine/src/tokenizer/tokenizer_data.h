// The loaded form of a tokenizer.json: everything the encoder, decoder and chat encoder need.
#pragma once

#include "merge_table.h"

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace folio::tok {

// One step of the pre-tokenizer Sequence. Each is a hand-written matcher for a regex that
// tokenizer.json spells out (the loader accepts exactly these patterns, with behavior "Isolated").
enum class SplitKind : int {
    Digits, // \p{N}{1,K}: runs of numbers cut into groups of at most K code points
    Cjk, // [一-龥぀-ゟ゠-ヿ]+: runs of CJK ideographs U+4E00..U+9FA5 and kana U+3040..U+30FF
    DeepSeekWords, // DeepSeek's word regex (see pretokenizer.cpp)
};

struct PreTokenizerStep {
    SplitKind kind = SplitKind::DeepSeekWords;
    int maxDigits = 3; // Digits only
};

struct AddedToken {
    int32_t id = -1;
    std::string content;
    bool special = false;
};

struct TokenizerData {
    std::string sourceName;
    std::string fingerprint; // of the tokenizer.json text it was built from (Tokenizer::fingerprint)

    std::vector<PreTokenizerStep> preTokenizer; // applied in order, then ByteLevel (bytes -> chars)
    bool ignoreMerges = false; // BPE "ignore_merges": a word in the vocab is one token

    // Per id (size vocabSize): the spelling in tokenizer.json and the raw bytes it decodes to.
    std::vector<std::string> idText;
    std::vector<std::string> idBytes;
    std::vector<std::uint8_t> idKind; // 0 none, 1 BPE vocab, 2 added, 3 added special

    std::unordered_map<std::string, int32_t> textToId;  // vocab spelling and added content -> id
    std::unordered_map<std::string, int32_t> bytesToId; // BPE vocab only: raw bytes -> id
    std::array<int32_t, 256> byteToId{};                // id of each single-byte token
    MergeTable merges;

    std::vector<AddedToken> added;     // normalized=false ones first, then longest content first
    std::vector<bool> addedNormalized; // per `added`: matched in the second pass
    std::array<std::vector<std::uint32_t>, 256> addedByFirstByte; // indices into `added`

    int32_t bos = -1;
    int32_t eos = -1;

    int vocabSize() const { return static_cast<int>(idText.size()); }
};

} // namespace folio::tok
