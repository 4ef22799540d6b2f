// The two-stage code point class table, built on first use from the generated runs.
#include "unicode_classes.h"

#include <array>
#include <map>
#include <memory>
#include <vector>

namespace folio::tok {

namespace {

constexpr std::uint32_t kMaxCodePoint = 0x10FFFF;
constexpr std::uint32_t kBlock = 256;

struct ClassTable {
    std::vector<std::uint16_t> stage1; // [0x1100] block index per 256 code points
    std::vector<std::array<std::uint8_t, kBlock>> blocks; // distinct blocks

    ClassTable() {
        std::vector<std::uint8_t> flat(kMaxCodePoint + 1, kOther);
        for (std::size_t r = 0; r < kUnicodeRunCount; ++r) {
            const std::uint32_t begin = kUnicodeRuns[r].first;
            const std::uint32_t end =
                r + 1 < kUnicodeRunCount ? kUnicodeRuns[r + 1].first : kMaxCodePoint + 1;
            for (std::uint32_t cp = begin; cp < end; ++cp) flat[cp] = kUnicodeRuns[r].klass;
        }
        const std::uint32_t nBlocks = (kMaxCodePoint + 1) / kBlock;
        stage1.resize(nBlocks);
        std::map<std::array<std::uint8_t, kBlock>, std::uint16_t> index; // distinct block -> its number
        for (std::uint32_t b = 0; b < nBlocks; ++b) {
            std::array<std::uint8_t, kBlock> block;
            for (std::uint32_t i = 0; i < kBlock; ++i) block[i] = flat[b * kBlock + i];
            auto [it, added] = index.emplace(block, static_cast<std::uint16_t>(blocks.size()));
            if (added) blocks.push_back(block);
            stage1[b] = it->second;
        }
    }
};

const ClassTable& table() {
    static const ClassTable t;
    return t;
}

} // namespace

CharClass charClass(std::uint32_t cp) {
    if (cp > kMaxCodePoint) return kOther;
    const ClassTable& t = table();
    return static_cast<CharClass>(t.blocks[t.stage1[cp >> 8]][cp & 0xFF]);
}

} // namespace folio::tok
