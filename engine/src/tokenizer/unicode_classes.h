// Code point classes for the hand-written pre-tokenizer regexes, from the generated run table
// (unicode_classes.cpp, made by gen_unicode_classes.py).
#pragma once

#include <cstddef>
#include <cstdint>

namespace folio::tok {

// \p{L}, \p{M}, \p{N}, \p{P}, \p{S}, \s (Oniguruma's Unicode whitespace), anything else.
enum CharClass : std::uint8_t {
    kOther = 0,
    kLetter = 1,
    kMark = 2,
    kNumber = 3,
    kPunct = 4,
    kSymbol = 5,
    kSpace = 6
};

struct UnicodeRun {
    std::uint32_t first;
    std::uint8_t klass;
};
extern const UnicodeRun kUnicodeRuns[];
extern const std::size_t kUnicodeRunCount;
extern const char kUnicodeVersion[];

// Class of a code point (0..0x10FFFF); a two-stage table built once from the runs.
CharClass charClass(std::uint32_t cp);

} // namespace folio::tok
