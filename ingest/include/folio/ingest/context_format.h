// The packed context's text format (version 2: the manifest became a bounded folder summary). Every piece is a pure function of its inputs, so
// the same sources give the same bytes; nothing here reads a clock or iterates a hash map.
//
//   <<<FOLIO CONTEXT v2>>>                      preamble: sources and how to cite (stable)
//   <<<FILE src/main.cpp (134 lines)>>>         code and text; "N|" starts line N every K lines
//   1|#include <cstdio>
//   ...
//   11|int main() {
//   <<<PDF moby-dick.pdf: "Moby Dick" (224 pages)>>>
//   <<<p. xii>>>                                a page, by its label
//   <<<TRANSCRIPT keynote.vtt (01:02:11, 812 cues)>>>
//   [00:41:07] Ada: text                        one cue per line
//   <<<FILE src/big.cpp lines 120-180 of 900>>> an excerpt (retrieval mode)
//   <<<MANIFEST>>>                              by folder: what is in, what was left out, why
//                                               (manifest.h)
//
// Line anchors: prefixing every line with its number costs about 2 tokens a line (15-25% of code);
// an anchor every K=10 lines costs a tenth of that and leaves the model at most 9 lines to count.
// The first line of every document and excerpt is anchored.
// Content is not escaped: a source line that itself starts with "<<<" looks like a frame to the
// model (the resolver never parses the packed text, so citations are unaffected).
#pragma once

#include "folio/ingest/chunker.h"
#include "folio/ingest/document.h"

#include <cstddef>
#include <string>
#include <vector>

namespace folio::ingest {

inline constexpr int kContextFormatVersion = 2;

// Appends `doc.text` lines [begin, end) to `out`, prefixing line numbers with "N|" on the first
// line and every line N with (N-1) % every == 0. `every` <= 0 disables anchors (the first line
// too).
void appendAnchoredLines(std::string& out, const std::string& text, std::size_t begin,
                         std::size_t end, int firstLine, int every);

// The stable head of the context: the source names and kinds and the citation rules, and where the
// manifest is.
std::string framePreamble(const std::vector<SourceResult>& sources, bool manifestFirst = false);

// A whole document, framed. The second form takes doc.lineCount() when the caller has it already.
std::string frameDocument(const Document& doc, int anchorEvery);
std::string frameDocument(const Document& doc, int anchorEvery, int lineCount);

// A chunk of a document (retrieval mode), framed with its line, page or time range.
std::string frameExcerpt(const Document& doc, const Chunk& chunk, int anchorEvery);

} // namespace folio::ingest
