#include "git_history.h"

#include <git2.h>
#include <memory>
#include <unordered_set>

namespace folio::ingest::detail {

namespace {

struct Deleter {
    void operator()(git_revwalk* p) const { git_revwalk_free(p); }
    void operator()(git_commit* p) const { git_commit_free(p); }
    void operator()(git_tree* p) const { git_tree_free(p); }
    void operator()(git_diff* p) const { git_diff_free(p); }
};
template <typename T> using Owned = std::unique_ptr<T, Deleter>;

std::string hexId(const git_oid* oid) {
    char buf[GIT_OID_HEXSZ + 1];
    git_oid_tostr(buf, sizeof buf, oid);
    return buf;
}

} // namespace

std::unordered_map<std::string, LastChange> lastChanges(git_repository* repo, git_commit* head,
                                                        const std::vector<std::string>& paths,
                                                        int maxCommits, std::int64_t* newestRank) {
    std::unordered_map<std::string, LastChange> result;
    if (newestRank) *newestRank = 0;
    if (!head) return result;

    // Collect the first-parent chain, newest first.
    std::vector<git_oid> chain;
    {
        git_revwalk* raw = nullptr;
        if (git_revwalk_new(&raw, repo) != 0) return result;
        Owned<git_revwalk> walk(raw);
        git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
        git_revwalk_simplify_first_parent(walk.get());
        git_revwalk_push(walk.get(), git_commit_id(head));
        git_oid oid;
        while (static_cast<int>(chain.size()) < maxCommits &&
               git_revwalk_next(&oid, walk.get()) == 0)
            chain.push_back(oid);
    }
    const auto n = static_cast<std::int64_t>(chain.size());
    if (newestRank) *newestRank = n;

    std::unordered_set<std::string_view> wanted(paths.begin(), paths.end());
    std::size_t remaining = wanted.size();
    for (std::int64_t i = 0; i < n && remaining > 0; ++i) {
        git_commit* rawCommit = nullptr;
        if (git_commit_lookup(&rawCommit, repo, &chain[static_cast<std::size_t>(i)]) != 0) continue;
        Owned<git_commit> commit(rawCommit);
        git_tree* rawTree = nullptr;
        if (git_commit_tree(&rawTree, commit.get()) != 0) continue;
        Owned<git_tree> tree(rawTree);
        Owned<git_tree> parentTree;
        if (git_commit_parentcount(commit.get()) > 0) {
            git_commit* rawParent = nullptr;
            if (git_commit_parent(&rawParent, commit.get(), 0) == 0) {
                Owned<git_commit> parent(rawParent);
                git_tree* rawParentTree = nullptr;
                if (git_commit_tree(&rawParentTree, parent.get()) == 0)
                    parentTree.reset(rawParentTree);
            }
        }
        git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
        opts.flags = GIT_DIFF_SKIP_BINARY_CHECK;
        git_diff* rawDiff = nullptr;
        // Tree-to-tree diffs compare object ids, so unchanged subtrees cost nothing.
        if (git_diff_tree_to_tree(&rawDiff, repo, parentTree.get(), tree.get(), &opts) != 0)
            continue;
        Owned<git_diff> diff(rawDiff);
        const LastChange change{n - i, static_cast<std::int64_t>(git_commit_time(commit.get())),
                                hexId(git_commit_id(commit.get()))};
        const std::size_t deltas = git_diff_num_deltas(diff.get());
        for (std::size_t d = 0; d < deltas; ++d) {
            const git_diff_delta* delta = git_diff_get_delta(diff.get(), d);
            const char* p = delta->new_file.path;
            if (!p) continue;
            const auto it = wanted.find(std::string_view(p));
            if (it == wanted.end()) continue;
            result.emplace(std::string(*it), change);
            wanted.erase(it);
            --remaining;
        }
    }
    return result;
}

} // namespace folio::ingest::detail
