// Splits documents into chunks at natural boundaries, for when the corpus does not fit the budget.
// Code and Markdown with definitions (definitions.h) are cut where a definition starts, its leading
// comment included: consecutive small definitions share a chunk up to targetBytes, a definition
// larger than maxBytes is split at blank lines. Code without definitions is cut at blank lines
// (preferring one before a top-level line), prose at paragraphs, PDFs at pages and then paragraphs,
// transcripts at cues. A chunk never splits a line, a page boundary or a cue.
#pragma once

#include "folio/ingest/definitions.h"
#include "folio/ingest/document.h"

#include <cstddef>
#include <vector>

namespace folio::ingest {

struct Chunk {
    std::size_t document = 0; // index into the document list given to chunkDocuments
    int ordinal = 0;          // 0-based position within its document
    std::size_t begin = 0;    // byte range in Document::text
    std::size_t end = 0;
    int firstLine = 1; // 1-based lines of Document::text covered
    int lastLine = 1;
};

struct ChunkOptions {
    std::size_t targetBytes = 2400; // about 600 tokens of code or prose
    std::size_t maxBytes = 4800;    // a hard cut (at a line end) past this
};

// `definitions`: findDefinitions(doc), when the caller has them; null finds them here.
std::vector<Chunk> chunkDocument(const Document& doc, std::size_t documentIndex,
                                 const ChunkOptions& options = {},
                                 const std::vector<Definition>* definitions = nullptr);
// `definitions`: one list per document, or null.
std::vector<Chunk> chunkDocuments(const std::vector<Document>& docs,
                                  const ChunkOptions& options = {},
                                  const std::vector<std::vector<Definition>>* definitions = nullptr);

} // namespace folio::ingest
