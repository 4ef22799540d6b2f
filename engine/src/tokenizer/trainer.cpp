// A byte-level BPE trainer for the project's own tiny models. The output is a standard
// tokenizer.json with DeepSeek's normalizer, pre-tokenizer, post-processor and decoder, so a
// trained tokenizer runs through exactly the code paths of the real one.
//
// Training: pre-tokenize the corpus, count distinct pieces, then repeatedly merge the most frequent
// adjacent pair (ties: the smaller (left id, right id)). Pair counts are kept incrementally: a
// merge only revisits the pieces that contain the pair, found through a pair -> pieces index, and
// the best pair comes from a max-heap whose stale entries are skipped when popped.
#include "byte_level.h"
#include "folio/tokenizer.h"
#include "gguf_vocab.h"
#include "loader.h"
#include "pretokenizer.h"
#include "utf8.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>
#include <unordered_set>

namespace folio {

namespace {

using ojson = nlohmann::ordered_json;

std::uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
}

ojson deepseekPreTokenizer() { return ojson::parse(tok::deepseekPreTokenizerJson()); }

} // namespace

std::vector<std::string> defaultSpecialTokens() {
    return {"<\xEF\xBD\x9C"
            "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
            "<\xEF\xBD\x9C"
            "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
            "<\xEF\xBD\x9CUser\xEF\xBD\x9C>",
            "<\xEF\xBD\x9C"
            "Assistant\xEF\xBD\x9C>",
            "<think>",
            "</think>"};
}

Result<std::string> trainByteLevelBpe(const std::vector<std::string_view>& corpus, int vocabSize,
                                      const std::vector<std::string>& specialTokens) {
    if (vocabSize < 256 || vocabSize > (1 << 20))
        return makeError("trainByteLevelBpe: vocabSize " + std::to_string(vocabSize) +
                         " is outside 256..1048576");
    for (std::size_t i = 0; i < specialTokens.size(); ++i) {
        if (specialTokens[i].empty() || !tok::isValidUtf8(specialTokens[i]))
            return makeError("trainByteLevelBpe: special token " + std::to_string(i) +
                             " is empty or not UTF-8");
        for (std::size_t j = 0; j < i; ++j)
            if (specialTokens[j] == specialTokens[i])
                return makeError("trainByteLevelBpe: special token '" + specialTokens[i] +
                                 "' is listed twice");
    }

    // 1. Distinct pieces and their counts.
    const std::vector<tok::PreTokenizerStep> steps{
        {tok::SplitKind::Digits, 3}, {tok::SplitKind::Cjk, 3}, {tok::SplitKind::DeepSeekWords, 3}};
    std::unordered_map<std::string, std::int64_t> pieceCount;
    std::vector<tok::Piece> pieces;
    for (std::string_view doc : corpus) {
        std::string storage;
        if (!tok::isValidUtf8(doc)) {
            storage = tok::repairUtf8(doc);
            doc = storage;
        }
        // Blocks at safe boundaries keep the piece list small for large documents.
        std::size_t start = 0;
        while (start < doc.size()) {
            std::size_t cut = doc.size();
            if (doc.size() - start > (std::size_t(1) << 20))
                cut = tok::nextSafeBoundary(doc, start + (std::size_t(1) << 20), doc.size());
            const std::string_view block = doc.substr(start, cut - start);
            pieces.clear();
            tok::preTokenize(steps, block, pieces);
            for (const tok::Piece& p : pieces)
                ++pieceCount[std::string(block.substr(p.begin, p.end - p.begin))];
            start = cut;
        }
    }

    // 2. Words as symbol ids (the byte value is the initial id), pair counts and the pair index.
    std::vector<std::vector<int32_t>> words;
    std::vector<std::int64_t> wordCount;
    words.reserve(pieceCount.size());
    {
        std::vector<std::pair<std::string, std::int64_t>> sorted(pieceCount.begin(),
                                                                 pieceCount.end());
        std::sort(sorted.begin(), sorted.end()); // deterministic word order
        for (auto& [w, c] : sorted) {
            std::vector<int32_t> sym(w.size());
            for (std::size_t i = 0; i < w.size(); ++i) sym[i] = static_cast<unsigned char>(w[i]);
            words.push_back(std::move(sym));
            wordCount.push_back(c);
        }
    }
    std::unordered_map<std::uint64_t, std::int64_t> pairCount;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> pairWords;
    for (std::uint32_t w = 0; w < words.size(); ++w)
        for (std::size_t i = 0; i + 1 < words[w].size(); ++i) {
            const std::uint64_t k = pairKey(words[w][i], words[w][i + 1]);
            pairCount[k] += wordCount[w];
            auto& list = pairWords[k];
            if (list.empty() || list.back() != w) list.push_back(w);
        }
    struct Cand {
        std::int64_t count;
        std::uint64_t key;
        bool operator<(const Cand& o) const {
            return count != o.count ? count < o.count : key > o.key;
        }
    };
    std::priority_queue<Cand> heap;
    for (const auto& [k, c] : pairCount) heap.push(Cand{c, k});

    // 3. Merge.
    std::vector<std::string> tokenBytes(256);
    for (int b = 0; b < 256; ++b) tokenBytes[b] = std::string(1, static_cast<char>(b));
    std::unordered_map<std::string, int32_t> bytesToId;
    for (int b = 0; b < 256; ++b) bytesToId[tokenBytes[b]] = b;
    std::vector<std::pair<int32_t, int32_t>> merges;
    std::vector<std::uint32_t> seenAt(words.size(), 0);
    std::unordered_set<std::uint64_t> mergedPairs;
    std::uint32_t step = 0;
    while (static_cast<int>(tokenBytes.size()) < vocabSize && !heap.empty()) {
        const Cand c = heap.top();
        heap.pop();
        auto pc = pairCount.find(c.key);
        if (pc == pairCount.end() || pc->second != c.count || c.count <= 0) continue; // stale
        const int32_t a = static_cast<int32_t>(c.key >> 32),
                      b = static_cast<int32_t>(c.key & 0xFFFFFFFFu);
        const std::string merged = tokenBytes[a] + tokenBytes[b];
        // A pair can form again after an earlier merge: when a later merge rebuilds an existing
        // token (same bytes, same id). Its first merge already ranks it; apply it without a new
        // entry.
        const bool again = !mergedPairs.insert(c.key).second;
        int32_t id;
        if (auto it = bytesToId.find(merged); it != bytesToId.end()) {
            id = it->second;
        } else {
            id = static_cast<int32_t>(tokenBytes.size());
            tokenBytes.push_back(merged);
            bytesToId.emplace(merged, id);
        }
        if (!again) merges.emplace_back(a, b);
        ++step;
        std::unordered_map<std::uint64_t, std::int64_t> delta;
        const std::vector<std::uint32_t> affected = std::move(pairWords[c.key]);
        pairWords.erase(c.key);
        for (std::uint32_t w : affected) {
            if (seenAt[w] == step) continue;
            seenAt[w] = step;
            std::vector<int32_t>& sym = words[w];
            bool has = false;
            for (std::size_t i = 0; i + 1 < sym.size(); ++i)
                if (sym[i] == a && sym[i + 1] == b) {
                    has = true;
                    break;
                }
            if (!has) continue;
            for (std::size_t i = 0; i + 1 < sym.size(); ++i)
                delta[pairKey(sym[i], sym[i + 1])] -= wordCount[w];
            std::vector<int32_t> out;
            out.reserve(sym.size());
            for (std::size_t i = 0; i < sym.size();) {
                if (i + 1 < sym.size() && sym[i] == a && sym[i + 1] == b) {
                    out.push_back(id);
                    i += 2;
                } else {
                    out.push_back(sym[i++]);
                }
            }
            sym = std::move(out);
            for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
                const std::uint64_t k = pairKey(sym[i], sym[i + 1]);
                delta[k] += wordCount[w];
                auto& list = pairWords[k];
                if (list.empty() || list.back() != w) list.push_back(w);
            }
        }
        for (const auto& [k, dlt] : delta) {
            if (dlt == 0) continue;
            std::int64_t& cnt = pairCount[k];
            cnt += dlt;
            if (cnt > 0) heap.push(Cand{cnt, k});
        }
        pairCount.erase(c.key);
    }

    // 4. tokenizer.json.
    const tok::ByteLevel& bl = tok::ByteLevel::instance();
    ojson vocab = ojson::object();
    std::vector<std::string> spelling(tokenBytes.size());
    for (std::size_t i = 0; i < tokenBytes.size(); ++i) {
        spelling[i] = bl.encode(tokenBytes[i]);
        vocab[spelling[i]] = i;
    }
    ojson mergeList = ojson::array();
    for (auto [a, b] : merges) mergeList.push_back(spelling[a] + " " + spelling[b]);
    ojson added = ojson::array();
    for (std::size_t i = 0; i < specialTokens.size(); ++i)
        added.push_back(ojson{{"id", tokenBytes.size() + i},
                              {"content", specialTokens[i]},
                              {"single_word", false},
                              {"lstrip", false},
                              {"rstrip", false},
                              {"normalized", false},
                              {"special", true}});
    ojson root{{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", added},
               {"normalizer", {{"type", "Sequence"}, {"normalizers", ojson::array()}}},
               {"pre_tokenizer", deepseekPreTokenizer()},
               {"post_processor",
                {{"type", "ByteLevel"},
                 {"add_prefix_space", true},
                 {"trim_offsets", false},
                 {"use_regex", true}}},
               {"decoder",
                {{"type", "ByteLevel"},
                 {"add_prefix_space", true},
                 {"trim_offsets", true},
                 {"use_regex", true}}},
               {"model",
                {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"vocab", vocab},
                 {"merges", mergeList}}}};
    return root.dump(1);
}

} // namespace folio
