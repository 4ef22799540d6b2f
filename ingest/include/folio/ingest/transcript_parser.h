// Transcripts into documents with cues: SRT, WebVTT, Whisper-style JSON ({"segments": [{start, end,
// text, speaker?}]}) and timestamped text or Markdown ("[hh:mm:ss]" stamps, Markdown-escaped
// "\[hh:mm:ss.cc\]" stamps, speaker labels such as "**Name:**", "Name:" or "[SPEAKER_00]:").
//
// SRT, WebVTT and JSON are rendered as one line per cue, "[hh:mm:ss] Speaker: text", which is what
// gets packed; each cue remembers its line in the original file. Timestamped text is packed as it
// is (so path:line citations work too), and its cues are its paragraphs or stamped lines; a cue
// without a stamp of its own starts at the last stamp before it.
#pragma once

#include "folio/ingest/document.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace folio::ingest {

enum class TranscriptFormat : int { Srt = 1, WebVtt = 2, WhisperJson = 3, TimestampedText = 4 };

// Decides from the name and the decoded content. Text and Markdown count as timestamped transcripts
// only when they hold at least 3 stamps in increasing order.
std::optional<TranscriptFormat> detectTranscript(std::string_view path, std::string_view text);

// Parses `text` (decoded UTF-8, LF) into doc.text and doc.cues; sets kind and language. Returns an
// empty string on success, else what was wrong and where ("line 14: bad timing line ...").
std::string parseTranscript(TranscriptFormat format, std::string_view text, Document& doc);

// "hh:mm:ss" (always with hours, as citations use).
std::string formatTimestamp(std::int64_t ms);

// Reads "hh:mm:ss", "h:mm:ss.ff", "mm:ss", "mm:ss,mmm" and "hh:mm:ss,mmm". Nothing on malformed
// input.
std::optional<std::int64_t> parseTimestamp(std::string_view s);

} // namespace folio::ingest
