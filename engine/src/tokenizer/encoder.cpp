#include "encoder.h"

#include "utf8.h"

namespace folio::tok {

void Encoder::encode(std::string_view text, std::vector<int32_t>* out, std::size_t* count) {
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t cut = text.size();
        if (text.size() - start > kEncodeBlock) {
            // Prefer a safe boundary; a text without any (no newline, no "a b") is cut at a
            // character boundary only past 1 GiB, to keep piece offsets in 32 bits.
            const std::size_t hardLimit = start + (std::size_t(1) << 30);
            cut = nextSafeBoundary(text, start + kEncodeBlock, std::min(text.size(), hardLimit));
            while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
                ++cut;
        }
        encodeBlock(text.substr(start, cut - start), out, count);
        start = cut;
    }
}

void Encoder::encodeBlock(std::string_view block, std::vector<int32_t>* out, std::size_t* count) {
    pieces_.clear();
    preTokenize(d_.preTokenizer, block, pieces_);
    const auto* s = reinterpret_cast<const unsigned char*>(block.data());
    std::size_t n = 0;
    for (const Piece& p : pieces_) {
        const unsigned char* w = s + p.begin;
        const std::size_t len = p.end - p.begin;
        if (len == 1) { // a single byte is always its byte token
            if (out) out->push_back(d_.byteToId[w[0]]);
            ++n;
            continue;
        }
        const std::int32_t* ids;
        std::size_t k;
        if (len <= WordCache::kMaxKey) {
            const std::uint64_t h = WordCache::hashBytes(w, len);
            if (!cache_.find(w, len, h, &ids, &k)) {
                word_.clear();
                bpeEncodeWord(d_, w, len, word_);
                cache_.insert(w, len, h, word_.data(), word_.size());
                ids = word_.data();
                k = word_.size();
            }
        } else {
            word_.clear();
            bpeEncodeWord(d_, w, len, word_);
            ids = word_.data();
            k = word_.size();
        }
        if (out) out->insert(out->end(), ids, ids + k);
        n += k;
    }
    if (count) *count += n;
}

} // namespace folio::tok
