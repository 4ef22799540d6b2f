// UTF-8 validation and repair with the Unicode "maximal subpart" rule (Unicode 16, section 3.9,
// "U+FFFD Substitution of Maximal Subparts"), which Python's "replace" error handler also follows.
#include "utf8.h"

#include <cstring>

namespace folio::tok {

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

std::size_t wellFormedLength(const unsigned char* s, std::size_t n, std::size_t* maximalSubpart) {
    const unsigned c = s[0];
    *maximalSubpart = 1;
    if (c < 0x80) return 1;
    std::size_t need;
    unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte (Table 3-7)
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c == 0xE0) {
        need = 2;
        lo = 0xA0;
    } else if (c >= 0xE1 && c <= 0xEC)
        need = 2;
    else if (c == 0xED) {
        need = 2;
        hi = 0x9F;
    } else if (c >= 0xEE && c <= 0xEF)
        need = 2;
    else if (c == 0xF0) {
        need = 3;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3)
        need = 3;
    else if (c == 0xF4) {
        need = 3;
        hi = 0x8F;
    } else
        return 0; // 80..C1, F5..FF: never valid, one U+FFFD each
    for (std::size_t k = 1; k <= need; ++k) {
        if (k >= n) return 0;
        const unsigned b = s[k];
        const unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (b < l || b > h) return 0;
        *maximalSubpart = k + 1;
    }
    return need + 1;
}

bool isValidUtf8(std::string_view sv) {
    const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
    const std::size_t n = sv.size();
    std::size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if (s[i] < 0x80) {
            ++i;
            continue;
        }
        std::size_t sub;
        const std::size_t len = wellFormedLength(s + i, n - i, &sub);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::string repairUtf8(std::string_view sv) {
    const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
    const std::size_t n = sv.size();
    std::string out;
    out.reserve(n + 16);
    std::size_t i = 0;
    while (i < n) {
        std::size_t sub;
        const std::size_t len = wellFormedLength(s + i, n - i, &sub);
        if (len) {
            out.append(sv.data() + i, len);
            i += len;
        } else {
            out.append("\xEF\xBF\xBD");
            i += sub;
        }
    }
    return out;
}

std::size_t completePrefixLength(std::string_view sv) {
    const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
    const std::size_t n = sv.size();
    // Look back at most 3 bytes for the start of a character that is not finished yet.
    for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
        const unsigned c = s[n - back];
        if ((c & 0xC0) == 0x80) continue;   // continuation byte: keep looking for the lead
        if (c < 0xC2 || c > 0xF4) return n; // ASCII, or a byte that never starts a character
        std::size_t sub;
        const std::size_t len = wellFormedLength(s + n - back, back, &sub);
        if (len != 0) return n;                       // complete character at the end
        if (sub == back && back < 4) return n - back; // a valid but unfinished prefix: hold it
        return n;                                     // ill-formed: nothing to wait for
    }
    return n;
}

} // namespace folio::tok
