#include "folio/ingest/text_decoder.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace folio::ingest {

namespace {

constexpr std::size_t kSniffBytes = 8000;

bool hasUtf16Bom(std::string_view b) {
    return b.size() >= 2 &&
           ((static_cast<unsigned char>(b[0]) == 0xFF &&
             static_cast<unsigned char>(b[1]) == 0xFE) ||
            (static_cast<unsigned char>(b[0]) == 0xFE && static_cast<unsigned char>(b[1]) == 0xFF));
}

void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string decodeUtf16(std::string_view b, bool littleEndian) {
    std::string out;
    out.reserve(b.size());
    auto unit = [&](std::size_t i) -> std::uint32_t {
        const auto lo = static_cast<unsigned char>(b[i + (littleEndian ? 0 : 1)]);
        const auto hi = static_cast<unsigned char>(b[i + (littleEndian ? 1 : 0)]);
        return static_cast<std::uint32_t>(hi << 8 | lo);
    };
    for (std::size_t i = 2; i + 1 < b.size(); i += 2) {
        std::uint32_t u = unit(i);
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < b.size()) {
            const std::uint32_t v = unit(i + 2);
            if (v >= 0xDC00 && v < 0xE000) {
                appendUtf8(out, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
                i += 2;
                continue;
            }
        }
        if (u >= 0xD800 && u < 0xE000) u = 0xFFFD; // an unpaired surrogate
        appendUtf8(out, u);
    }
    return out;
}

// CRLF -> LF in place; returns how many pairs were folded.
std::size_t foldCrlf(std::string& s) {
    const char* first = static_cast<const char*>(std::memchr(s.data(), '\r', s.size()));
    if (!first) return 0;
    std::size_t w = static_cast<std::size_t>(first - s.data());
    std::size_t folded = 0;
    for (std::size_t r = w; r < s.size(); ++r) {
        if (s[r] == '\r' && r + 1 < s.size() && s[r + 1] == '\n') {
            ++folded;
            continue;
        }
        s[w++] = s[r];
    }
    s.resize(w);
    return folded;
}

} // namespace

bool looksBinary(std::string_view bytes) {
    if (hasUtf16Bom(bytes)) return false;
    const std::string_view head = bytes.substr(0, std::min(bytes.size(), kSniffBytes));
    if (std::memchr(head.data(), '\0', head.size())) return true;
    // Control characters are judged on the first 1 KiB: enough for a format without NULs to show,
    // and cheap for the 80,000 files of a kernel tree.
    const std::string_view start = head.substr(0, std::min<std::size_t>(head.size(), 1024));
    std::size_t control = 0;
    for (const char ch : start) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B) ++control;
    }
    return control * 10 > start.size();
}

bool isValidUtf8(std::string_view bytes, std::size_t* firstBad) {
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        // ASCII fast path, 8 bytes at a time.
        if (i + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            if (firstBad) *firstBad = i;
            return false;
        }
        if (i + len > n) {
            if (firstBad) *firstBad = i;
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) {
                if (firstBad) *firstBad = i;
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
            if (firstBad) *firstBad = i;
            return false;
        }
        i += len;
    }
    return true;
}

DecodedText decodeText(std::string_view bytes) {
    DecodedText out;
    if (hasUtf16Bom(bytes)) {
        const bool le = static_cast<unsigned char>(bytes[0]) == 0xFF;
        out.encoding = le ? "utf-16le" : "utf-16be";
        out.text = decodeUtf16(bytes, le);
        out.notes.push_back(std::string("decoded from ") + (le ? "UTF-16LE" : "UTF-16BE") +
                            " (byte order mark)");
    } else {
        if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") {
            bytes.remove_prefix(3);
            out.notes.push_back("UTF-8 byte order mark removed");
        }
        std::size_t bad = 0;
        if (isValidUtf8(bytes, &bad)) {
            out.encoding = "utf-8";
            out.text.assign(bytes);
        } else {
            out.encoding = "latin-1";
            out.text.reserve(bytes.size() + bytes.size() / 8);
            for (const char ch : bytes) appendUtf8(out.text, static_cast<unsigned char>(ch));
            out.notes.push_back("not valid UTF-8 (first bad byte at offset " + std::to_string(bad) +
                                "); decoded as Latin-1");
        }
    }
    if (const std::size_t folded = foldCrlf(out.text))
        out.notes.push_back("CRLF line endings converted to LF (" + std::to_string(folded) +
                            " lines)");
    return out;
}

std::string validUtf8(std::string_view bytes) {
    if (isValidUtf8(bytes)) return std::string(bytes);
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x80) {
            out.push_back(ch);
        } else {
            out.push_back(static_cast<char>(0xC0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
    return out;
}

} // namespace folio::ingest
