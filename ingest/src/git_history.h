// Internal: when each path last changed, from the first-parent history of a commit.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

struct git_repository;
struct git_commit;

namespace folio::ingest::detail {

struct LastChange {
    std::int64_t rank = 0; // 1 = the oldest commit walked; larger = newer
    std::int64_t time = 0; // committer time, seconds since epoch
    std::string commit;    // hex id
};

// Walks first parents from `head` (at most maxCommits) and, for every path in `paths`, finds the
// newest commit whose tree diff against its first parent touches it. Paths untouched within the
// walked window are absent from the result (they are older than everything walked).
std::unordered_map<std::string, LastChange> lastChanges(git_repository* repo, git_commit* head,
                                                        const std::vector<std::string>& paths,
                                                        int maxCommits, std::int64_t* newestRank);

} // namespace folio::ingest::detail
