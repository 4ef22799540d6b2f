// Internal: timestamped text and Markdown transcripts (stamps and speaker labels inside prose).
#pragma once

#include "folio/ingest/document.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace folio::ingest::detail {

// A stamp such as "[01:02:03]", "\[01:02:03.45\]" or "(12:34)" at `pos`: its value and length.
struct Stamp {
    std::int64_t ms = 0;
    std::size_t length = 0;
};
std::optional<Stamp> stampAt(std::string_view text, std::size_t pos);

// At least 3 stamps, in non-decreasing order.
bool looksTimestamped(std::string_view text);

// Fills doc.cues from doc.text: one cue per paragraph or per stamped/labelled line.
void cueTimestampedText(Document& doc);

} // namespace folio::ingest::detail
