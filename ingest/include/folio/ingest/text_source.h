// Standalone files and plain folders: text and Markdown as documents, transcripts (by extension or,
// for text and Markdown, by their timestamps) as transcripts, PDFs through readPdf.
#pragma once

#include "folio/ingest/document.h"

#include <QString>
#include <cstdint>
#include <string_view>

namespace folio::ingest {

// One text-like file (text, Markdown, SRT, WebVTT, Whisper JSON, timestamped text). Binary content
// and files over `maxBytes` are skipped with the reason; a malformed transcript falls back to plain
// text with a note, so nothing is lost.
SourceResult readTextFile(const QString& path, std::uint64_t maxBytes = 256ULL * 1024 * 1024);

// A folder that is not a git repository: every file below it, in path order, with the same screens
// as a repository (lock files, vendored, generated, binary, size) and its .folioignore and root
// .gitignore honoured. Symbolic links are listed as skipped, never followed.
SourceResult readFolder(const QString& path, std::uint64_t maxFileBytes = 1024 * 1024);

// Builds the document for already-read bytes: decoding, transcript detection and parsing. `path` is
// the citation key. Exposed for tests.
Document documentFromBytes(std::string_view path, std::string_view bytes, std::string_view source);

} // namespace folio::ingest
