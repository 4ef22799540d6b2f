// The repository map: in retrieval mode, the definitions of every file the context holds only in
// excerpts, with their lines, so that the model sees where each excerpt sits in its file and what
// else the file defines. It comes after the content (before the manifest), so it never disturbs
// the prefix.
//
//   <<<MAP>>>
//   Definitions in the files shown in excerpts (name and line; * marks those in an excerpt):
//   kernel/sched/fair.c (12,897 lines): update_curr 890, *pick_next_task_fair 7794, ...
//   <<<END OF MAP>>>
//
// Per file: the definitions inside its excerpts (functions and types before macros), and those
// outside nearest to the excerpts (macros left out), as many of each as the cap allows for every
// file alike, and how many more there are; files are dropped from the end of the context when not
// even one definition a file fits.
#pragma once

#include "folio/ingest/definitions.h"
#include "folio/ingest/document.h"
#include "folio/ingest/token_counter.h"

#include <cstddef>
#include <string>
#include <vector>

namespace folio::ingest {

struct MapExcerpt {
    std::size_t document = 0;
    int firstLine = 0, lastLine = 0;
};

// `excerpts` in context order; `definitions` per document. At most `cap` tokens by `counting`
// (the final text is counted); the empty string when no excerpted file has definitions or not
// even one file's line fits.
std::string frameRepoMap(const std::vector<Document>& docs,
                         const std::vector<std::vector<Definition>>& definitions,
                         const std::vector<MapExcerpt>& excerpts, const TokenCounting& counting,
                         std::size_t cap);

} // namespace folio::ingest
