// A local git repository as documents, through libgit2.
//
// Default: the WORKING TREE. "Ask about the code I am working on" means the files as they are on
// disk now, uncommitted edits and new (untracked, not ignored) files included; that is what users
// of repomix and of IDE assistants expect, and it is the only mode where .gitignore matters. The
// commit history is still read to order the documents (least recently changed first), and files
// with uncommitted changes rank as the newest, so they sit at the tail of the context where a
// change costs the least re-prefill.
// COMMITTED mode reads the tree of a ref or commit (ResolvedRef), ignoring the working tree
// entirely: the same ref always gives the same bytes, which is what a reproducible or shared
// session needs. Asking for a ref implies this mode.
#pragma once

#include "folio/ingest/document.h"

#include <QString>
#include <cstdint>
#include <functional>
#include <string>

namespace folio::ingest {

// Stored on disk (sources.mode): explicit values.
enum class GitTreeMode : int { WorkingTree = 1, Committed = 2 };

struct GitSourceOptions {
    GitTreeMode mode = GitTreeMode::WorkingTree;
    std::string ref = "HEAD";                 // Committed mode: a branch, tag, or commit id
    std::uint64_t maxFileBytes = 1024 * 1024; // larger files are skipped (TooLarge)
    bool followSubmodules = false;            // read checked-out submodules as part of the source
    int maxHistoryCommits = 20000;            // first-parent commits walked to order the files
    int threads = 0;                          // threads reading and decoding files; 0 = all cores
    // Called as files are read: (read so far, to read), every 1,024 files and once at the end.
    // It may be called from any reading thread, never from two at once.
    std::function<void(std::size_t, std::size_t)> progress;
};

// Reads the repository at `path` (its working directory or any folder inside it). Never throws; on
// a failure of the whole source (not a repository, unknown ref) SourceResult::error says why. Every
// file left out is in SourceResult::skipped with its reason; .gitignore'd folders appear once, as
// the folder. Documents come back sorted by (changeRank, path).
SourceResult readGitRepository(const QString& path, const GitSourceOptions& options = {});

} // namespace folio::ingest
