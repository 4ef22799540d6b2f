// One entry point for every kind of source: decides the kind from the path (classifySource) and
// reads it with the matching reader.
#pragma once

#include "folio/ingest/document.h"
#include "folio/ingest/git_source.h"

#include <QString>
#include <cstdint>

namespace folio::ingest {

struct IngestOptions {
    GitSourceOptions git;                            // repositories (also gives the size cap)
    std::uint64_t maxStandaloneBytes = 256ULL << 20; // a file named directly (a whole book)
};

// Never throws. A missing or unreadable path gives SourceResult::error; per-file problems are in
// SourceResult::skipped.
SourceResult loadSource(const QString& path, const IngestOptions& options = {});

} // namespace folio::ingest
