// UTF-8 helpers of the tokenizer: decoding one code point from valid text, validation and repair.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace folio::tok {

// Decodes the code point at s[i] of VALID UTF-8; sets *len to its byte length.
inline std::uint32_t decodeUtf8(const unsigned char* s, std::size_t* len) {
    const unsigned c = s[0];
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if (c < 0xE0) {
        *len = 2;
        return ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    }
    if (c < 0xF0) {
        *len = 3;
        return ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    }
    *len = 4;
    return ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
}

void appendUtf8(std::string& out, std::uint32_t cp);

// Length of the well-formed UTF-8 sequence at s[0..n), or 0 when ill-formed. When ill-formed,
// *maximalSubpart is the length of the maximal subpart to replace with one U+FFFD (>= 1).
std::size_t wellFormedLength(const unsigned char* s, std::size_t n, std::size_t* maximalSubpart);

// True when `s` is entirely well-formed UTF-8.
bool isValidUtf8(std::string_view s);

// `s` with every maximal ill-formed subsequence replaced by U+FFFD (as Python's "replace").
std::string repairUtf8(std::string_view s);

// Length of the longest prefix of `s` that ends on a character boundary and could still be the
// start of valid text: trailing bytes of an incomplete (but so far valid) character are excluded.
std::size_t completePrefixLength(std::string_view s);

} // namespace folio::tok
