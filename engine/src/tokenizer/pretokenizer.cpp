// Hand-written equivalents of the pre-tokenizer Split regexes (behavior "Isolated": the matches and
// the text between them both become pieces; each step splits the pieces of the step before).
//
// DeepSeek's word regex, tried alternative by alternative at each position (Oniguruma semantics:
// leftmost match, first alternative that matches, greedy quantifiers with backtracking):
//   A1  [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+   one ASCII punctuation + ASCII letters
//   A2  [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+               optional lead (space, digit, mark,
//                                                           other) + letters and marks
//   A3   ?[\p{P}\p{S}]+[\r\n]*                             optional space + punctuation/symbols +
//                                                           trailing line breaks
//   A4  \s*[\r\n]+                                         whitespace up to the last line break
//   A5  \s+(?!\S)                                          whitespace but the last one before \S
//   A6  \s+                                                whitespace
// Positions where nothing matches are gathered into gap pieces.
#include "pretokenizer.h"

#include "unicode_classes.h"
#include "utf8.h"

#include <array>

namespace folio::tok {

namespace {

struct Char {
    std::uint32_t cp;
    std::uint32_t len;
    CharClass k;
};

const std::array<CharClass, 128>& asciiClasses() {
    static const std::array<CharClass, 128> t = [] {
        std::array<CharClass, 128> a{};
        for (std::uint32_t c = 0; c < 128; ++c) a[c] = charClass(c);
        return a;
    }();
    return t;
}

inline bool isLM(CharClass k) {
    return k == kLetter || k == kMark;
}
inline bool isPS(CharClass k) {
    return k == kPunct || k == kSymbol;
}
inline bool isCrLf(std::uint32_t cp) {
    return cp == '\r' || cp == '\n';
}
inline bool isAsciiAlpha(unsigned char c) {
    return static_cast<unsigned char>((c | 0x20) - 'a') < 26;
}
inline bool isCjk(std::uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x3040 && cp <= 0x30FF);
}

class Splitter {
public:
    Splitter(const std::vector<PreTokenizerStep>& steps, std::string_view text,
             std::vector<Piece>& out)
        : steps_(steps), s_(reinterpret_cast<const unsigned char*>(text.data())), out_(out),
          ascii_(asciiClasses()) {}

    void run(std::size_t step, std::uint32_t b, std::uint32_t e) {
        if (b >= e) return;
        if (step == steps_.size()) {
            out_.push_back(Piece{b, e});
            return;
        }
        switch (steps_[step].kind) {
        case SplitKind::Digits:
            runs(step, b, e, true);
            break;
        case SplitKind::Cjk:
            runs(step, b, e, false);
            break;
        case SplitKind::DeepSeekWords:
            words(step, b, e);
            break;
        }
    }

private:
    Char at(std::uint32_t i) const {
        const unsigned char c = s_[i];
        if (c < 0x80) return Char{c, 1, ascii_[c]};
        std::size_t len;
        const std::uint32_t cp = decodeUtf8(s_ + i, &len);
        return Char{cp, static_cast<std::uint32_t>(len), charClass(cp)};
    }

    // Digits (\p{N}{1,K}) or CJK runs: the matching runs are pieces (digit runs cut every K code
    // points from the left, as the greedy bounded repeat does), and so is the text between them.
    void runs(std::size_t step, std::uint32_t b, std::uint32_t e, bool digits) {
        const int maxDigits = steps_[step].maxDigits;
        std::uint32_t gap = b, p = b;
        while (p < e) {
            if (s_[p] < 0x80 && !(digits && s_[p] >= '0' && s_[p] <= '9')) {
                ++p;
                continue;
            }
            Char c = at(p);
            const bool in = digits ? c.k == kNumber : isCjk(c.cp);
            if (!in) {
                p += c.len;
                continue;
            }
            if (gap < p) run(step + 1, gap, p);
            std::uint32_t q = p;
            int n = 0;
            while (q < e) {
                c = at(q);
                if (!(digits ? c.k == kNumber : isCjk(c.cp))) break;
                q += c.len;
                if (digits && ++n == maxDigits) {
                    run(step + 1, p, q);
                    p = q;
                    n = 0;
                }
            }
            if (p < q) run(step + 1, p, q);
            p = gap = q;
        }
        if (gap < e) run(step + 1, gap, e);
    }

    std::uint32_t lmRun(std::uint32_t q, std::uint32_t e) const {
        while (q < e) {
            const unsigned char c = s_[q];
            if (c < 0x80) {
                if (!isLM(ascii_[c])) break;
                ++q;
                continue;
            }
            const Char ch = at(q);
            if (!isLM(ch.k)) break;
            q += ch.len;
        }
        return q;
    }

    std::uint32_t psRun(std::uint32_t q, std::uint32_t e) const {
        while (q < e) {
            const Char ch = at(q);
            if (!isPS(ch.k)) break;
            q += ch.len;
        }
        return q;
    }

    std::uint32_t crLfRun(std::uint32_t q, std::uint32_t e) const {
        while (q < e && (s_[q] == '\r' || s_[q] == '\n')) ++q;
        return q;
    }

    // End of the word-regex match at p (p < end), or 0 when nothing matches there.
    std::uint32_t matchAt(std::uint32_t p, std::uint32_t e, const Char& c) const {
        // A1
        if (c.cp < 0x80 && isPS(c.k)) {
            std::uint32_t q = p + 1;
            while (q < e && isAsciiAlpha(s_[q])) ++q;
            if (q > p + 1) return q;
        }
        // A2
        const std::uint32_t next = p + c.len;
        const bool lead =
            !isCrLf(c.cp) && (c.k == kOther || c.k == kMark || c.k == kNumber || c.k == kSpace);
        if (lead && next < e && isLM(at(next).k)) return lmRun(next, e);
        if (isLM(c.k)) return lmRun(p, e);
        // A3
        if (c.cp == ' ' && next < e && isPS(at(next).k)) return crLfRun(psRun(next, e), e);
        if (isPS(c.k)) return crLfRun(psRun(p, e), e);
        // A4..A6
        if (c.k == kSpace) {
            std::uint32_t q = p, lastBreakEnd = 0, lastStart = p;
            int n = 0;
            while (q < e) {
                const Char ch = at(q);
                if (ch.k != kSpace) break;
                if (isCrLf(ch.cp)) lastBreakEnd = q + 1;
                lastStart = q;
                q += ch.len;
                ++n;
            }
            if (lastBreakEnd) return lastBreakEnd; // A4
            if (q == e) return q;                  // A5, at the end of the piece
            if (n >= 2) return lastStart;          // A5, leaving the last space to the next word
            return q;                              // A6
        }
        return 0;
    }

    void words(std::size_t step, std::uint32_t b, std::uint32_t e) {
        std::uint32_t p = b, gap = b;
        while (p < e) {
            const Char c = at(p);
            const std::uint32_t m = matchAt(p, e, c);
            if (m) {
                if (gap < p) run(step + 1, gap, p);
                run(step + 1, p, m);
                p = gap = m;
            } else {
                p += c.len;
            }
        }
        if (gap < e) run(step + 1, gap, e);
    }

    const std::vector<PreTokenizerStep>& steps_;
    const unsigned char* s_;
    std::vector<Piece>& out_;
    const std::array<CharClass, 128>& ascii_;
};

} // namespace

void preTokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text,
                 std::vector<Piece>& out) {
    Splitter(steps, text, out).run(0, 0, static_cast<std::uint32_t>(text.size()));
}

// Two kinds of cut, both between ASCII characters (so never inside a digit or CJK run):
//  * after '\n' when the whitespace that follows (spaces and tabs only) ends at a non-space ASCII
//    character: the match holding the '\n' ends right after it (A3 or A4), and no match starts
//    before the cut and runs past it;
//  * before a space that sits between two ASCII letters: the letters' match (A1 or A2) ends at the
//    space, and " x..." starts a new A2 match either way.
bool isSafeBoundary(std::string_view text, std::size_t i) {
    if (i == 0 || i >= text.size()) return true;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    if (s[i - 1] == '\n') {
        std::size_t j = i;
        while (j < text.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
        return j < text.size() && s[j] > ' ' && s[j] < 0x7F;
    }
    return s[i] == ' ' && i + 1 < text.size() && isAsciiAlpha(s[i - 1]) && isAsciiAlpha(s[i + 1]);
}

std::size_t nextSafeBoundary(std::string_view text, std::size_t from, std::size_t limit) {
    for (std::size_t i = from; i < limit; ++i)
        if (isSafeBoundary(text, i)) return i;
    return limit;
}

} // namespace folio::tok
