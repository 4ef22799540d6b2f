// The ByteLevel mapping of GPT-2 style BPE: every byte is spelled as one printable code point, so
// that a vocabulary of strings covers arbitrary bytes. Printable Latin-1 bytes (33..126, 161..172,
// 174..255) stand for themselves; the other 68 bytes map to U+0100.. in byte order (space -> U+0120
// 'Ġ', newline -> U+010A 'Ċ').
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace folio::tok {

struct ByteLevel {
    static constexpr std::uint32_t kHigh = 68; // bytes spelled as U+0100..U+0143
    std::array<std::uint32_t, 256> byteToChar{};
    std::array<std::uint8_t, kHigh> highToByte{};

    ByteLevel() {
        std::uint32_t next = 256;
        for (std::uint32_t b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
            if (!printable) highToByte[next - 256] = static_cast<std::uint8_t>(b);
            byteToChar[b] = printable ? b : next++;
        }
    }

    static const ByteLevel& instance() {
        static const ByteLevel bl;
        return bl;
    }

    // The byte a code point stands for, or -1 when it is not one of the 256 byte characters.
    int charToByte(std::uint32_t cp) const {
        if (cp < 256) {
            const bool printable =
                (cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174);
            return printable ? static_cast<int>(cp) : -1;
        }
        return cp < 256 + kHigh ? highToByte[cp - 256] : -1;
    }

    // The byte-level spelling of raw bytes.
    std::string encode(std::string_view bytes) const;
    // Raw bytes of a byte-level spelling; nullopt when a character is not a byte character or the
    // spelling is not valid UTF-8.
    std::optional<std::string> decode(std::string_view spelling) const;
};

} // namespace folio::tok
