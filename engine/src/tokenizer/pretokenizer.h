// The pre-tokenizer: splits valid UTF-8 text into the pieces ("words") that BPE encodes one by one.
// Hand-written matchers for the Split regexes of DeepSeek's tokenizer.json, equal to what Hugging
// Face tokenizers' regex engine does with them (checked by the golden tests).
#pragma once

#include "tokenizer_data.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace folio::tok {

struct Piece {
    std::uint32_t begin;
    std::uint32_t end;
};

// Appends the pieces of `text` (valid UTF-8, at most 4 GiB) to `out`, in order; offsets are bytes
// into `text`. The pieces cover the text exactly.
void preTokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text,
                 std::vector<Piece>& out);

// True when every pre-tokenizer the loader accepts always splits `text` at byte `i` and the pieces
// on either side do not depend on the text across it, so that text[0, i) and text[i, end) can be
// encoded apart. Used to cut large texts into blocks and across threads.
bool isSafeBoundary(std::string_view text, std::size_t i);

// A safe boundary at or after `from` and before `limit`; `limit` (not a cut) when there is none.
std::size_t nextSafeBoundary(std::string_view text, std::size_t from, std::size_t limit);

} // namespace folio::tok
