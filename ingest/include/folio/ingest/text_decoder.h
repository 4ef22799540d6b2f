// Bytes of a file into the normalised UTF-8 text that ingestion packs: binary detection by content,
// BOM removal, UTF-16 with a BOM, a Latin-1 fallback for bytes that are not UTF-8, CRLF -> LF.
// Nothing is dropped silently: every change is described in DecodedText::notes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace folio::ingest {

// True when the bytes look like a binary file: a NUL byte in the first 8000 bytes (git's rule), or
// more than 10% control characters other than tab, LF, CR, FF and ESC in the first 1024. UTF-16
// text with a BOM is not binary.
bool looksBinary(std::string_view bytes);

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
// On failure *firstBad (if given) receives the offset of the first invalid byte.
bool isValidUtf8(std::string_view bytes, std::size_t* firstBad = nullptr);

struct DecodedText {
    std::string text;               // UTF-8, LF line endings, no BOM
    std::string encoding;           // "utf-8", "latin-1", "utf-16le", "utf-16be"
    std::vector<std::string> notes; // what was changed, for the manifest
};

// Decodes file content. Never fails: bytes that are not UTF-8 are read as Latin-1 (each byte one
// code point), with a note naming the first invalid offset. Lone CRs are kept.
DecodedText decodeText(std::string_view bytes);

// `bytes` as they are when they are UTF-8, else each byte read as Latin-1 (a file name or a
// message quoting one): always valid UTF-8, the same length in characters.
std::string validUtf8(std::string_view bytes);

} // namespace folio::ingest
