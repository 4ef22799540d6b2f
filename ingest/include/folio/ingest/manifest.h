// The manifest: the packed context's last segment (or second, with manifestFirst), a folder-level
// summary of what is in the context and what is not, bounded by a token cap.
//
//   <<<MANIFEST>>>
//   Source linux: git repository, working tree of master at 1a2b3c4d5e6f. 75,753 files, 412M
//   tokens: 8 whole, 84 in excerpts, 75,661 over the budget; 2,558 left out (2,000 binary, ...).
//   kernel/: 3,021 files, 18.2M tokens; 1 whole, 12 in excerpts, 3,008 over the budget
//   kernel/sched/: 45 files, 1.2M tokens; 1 whole, 10 in excerpts, 34 over the budget
//   (1,204 more folders not listed)
//   <<<END OF CONTEXT>>>
//
// Per-file lists never go into the context: on a large repository they are thousands of names that
// tell the model nothing and cost a fifth of the window. They live in the session store, in
// `pack --json` and in the GUI's sources tree. The folders shown are chosen by priority while the
// text stays within the cap: the top-level folders, then the folders that hold content in the
// context, breadth first and as deep as that content goes, then the others, shallowest first (a
// folder is only listed when its parent is, or when its parent holds nothing else: "a/b/" stands
// for "a/" then). Lines are printed in path order, so the summary reads as a tree.
#pragma once

#include "folio/ingest/document.h"
#include "folio/ingest/token_counter.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace folio::ingest {

// Inclusion of a document in a packed context.
inline constexpr int kLeftOut = 0, kExcerpts = 1, kWhole = 2;

struct ManifestInput {
    const std::vector<SourceResult>* sources = nullptr; // name, kind, description, skipped, error
    const std::vector<Document>* documents = nullptr;   // in pack order
    const std::vector<std::size_t>* documentSource = nullptr; // index into sources, per document
    const std::vector<std::size_t>* documentTokens = nullptr; // whole framed tokens, per document
    const std::vector<int>* inclusion = nullptr;              // kLeftOut, kExcerpts or kWhole
};

// One folder of one source, counted recursively (a folder's counts include its subfolders'). The
// source's root is the folder with the empty path.
struct FolderStats {
    std::size_t source = 0;
    std::string path; // "" for the root, else "src/engine/" (always ending in '/')
    int depth = 0;    // 0 for the root
    std::size_t files = 0;  // documents
    std::size_t tokens = 0; // whole-document tokens of those
    std::size_t whole = 0, excerpts = 0, overBudget = 0;
    std::size_t includedFiles() const { return whole + excerpts; }
    std::size_t skipped = 0;                  // files left out at ingestion
    std::array<std::uint32_t, 32> byReason{}; // skipped, indexed by SkipReason
};

// Every folder of every source, sorted by (source, path); the roots included. A skipped entry whose
// path ends in '/' (a whole folder left out) counts in its parent.
std::vector<FolderStats> folderSummary(const ManifestInput& in);

// The manifest text, at most `cap` tokens by `counting` (exactly: the final text is counted). A cap
// too small for even the frame lines gives the empty string.
std::string frameManifest(const ManifestInput& in, const TokenCounting& counting, std::size_t cap);

// "1,234" and "12.3K" / "4.1M" (3 significant digits past 9,999), for counts that a reader skims.
std::string groupedCount(std::size_t n);
std::string compactCount(std::size_t n);

} // namespace folio::ingest
