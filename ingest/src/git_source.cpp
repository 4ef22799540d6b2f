#include "folio/ingest/git_source.h"

#include "folio/ingest/file_filters.h"
#include "folio/ingest/ignore_rules.h"
#include "folio/ingest/text_decoder.h"
#include "git_history.h"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <git2.h>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace folio::ingest {

namespace {

struct Deleter {
    void operator()(git_repository* p) const { git_repository_free(p); }
    void operator()(git_object* p) const { git_object_free(p); }
    void operator()(git_commit* p) const { git_commit_free(p); }
    void operator()(git_tree* p) const { git_tree_free(p); }
    void operator()(git_blob* p) const { git_blob_free(p); }
    void operator()(git_index* p) const { git_index_free(p); }
    void operator()(git_status_list* p) const { git_status_list_free(p); }
    void operator()(git_reference* p) const { git_reference_free(p); }
    void operator()(git_submodule* p) const { git_submodule_free(p); }
};
template <typename T> using Owned = std::unique_ptr<T, Deleter>;

struct LibGit2 {
    LibGit2() { git_libgit2_init(); }
    ~LibGit2() { git_libgit2_shutdown(); }
};

std::string lastGitError(const char* what) {
    const git_error* e = git_error_last();
    return std::string(what) + ": " + (e && e->message ? e->message : "unknown libgit2 error");
}

std::string hexId(const git_oid* oid) {
    char buf[GIT_OID_HEXSZ + 1];
    git_oid_tostr(buf, sizeof buf, oid);
    return buf;
}

// A file to ingest, before screening: where its bytes come from.
struct Candidate {
    std::string path;
    git_oid blob{}; // committed mode
    bool uncommitted = false;
};

// Reads a working-tree file without following a final symlink. Returns false when unreadable.
bool readFile(const std::string& absolute, std::string& out, std::uint64_t& size, std::uint64_t cap,
              std::string& error) {
    // O_NONBLOCK: a named pipe put where a file was must not stall the scan (open would wait for
    // a writer); regular files ignore the flag.
    const int fd = ::open(absolute.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        error = std::string("cannot open: ") + std::strerror(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        error = "not a regular file";
        return false;
    }
    size = static_cast<std::uint64_t>(st.st_size);
    // Past the cap only the head is needed (for the binary/generated checks that come first).
    const std::size_t want =
        static_cast<std::size_t>(size > cap ? std::min<std::uint64_t>(size, 8192) : size);
    out.resize(want);
    std::size_t got = 0;
    while (got < want) {
        const ssize_t r = ::read(fd, out.data() + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    ::close(fd);
    out.resize(got);
    return true;
}

class RepositoryReader {
public:
    RepositoryReader(git_repository* repo, const GitSourceOptions& options, SourceResult& result)
        : repo_(repo), options_(options), result_(result) {}

    bool run(); // fills result_; false with result_.error on a fatal error

private:
    bool listWorkingTree();
    bool listCommittedTree();
    struct Outcome {
        std::optional<Document> doc;
        std::optional<SkippedFile> skip;
    };
    void addSubmodule(const std::string& path, const git_oid* id);
    // Thread-safe (const, no shared state but `repo`, which must be the calling thread's own).
    SkippedFile symlinkSkip(const std::string& path, const std::string& target) const;
    Outcome screen(const Candidate& c, const std::string& bytes, std::uint64_t size) const;
    Outcome read(const Candidate& c, git_repository* repo, std::string& bytes) const;
    void order();

    git_repository* repo_;
    const GitSourceOptions& options_;
    SourceResult& result_;
    IgnoreRules folioIgnore_;
    Owned<git_commit> commit_;
    std::string workdir_; // with a trailing '/'
    bool committed_ = false;
    std::vector<Candidate> candidates_;
};

bool RepositoryReader::run() {
    const char* wd = git_repository_workdir(repo_);
    workdir_ = wd ? wd : "";
    const bool committed = options_.mode == GitTreeMode::Committed || workdir_.empty();
    committed_ = committed;

    // The commit the history is read from: the ref in committed mode, HEAD otherwise (may be
    // unborn).
    const std::string spec =
        committed ? (options_.ref.empty() ? std::string("HEAD") : options_.ref) : "HEAD";
    git_object* rawObject = nullptr;
    if (git_revparse_single(&rawObject, repo_, spec.c_str()) == 0) {
        Owned<git_object> object(rawObject);
        git_object* peeled = nullptr;
        if (git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) == 0)
            commit_.reset(reinterpret_cast<git_commit*>(peeled));
    }
    if (committed && !commit_) {
        result_.error =
            "cannot resolve '" + spec + "' to a commit" +
            (git_error_last() ? " (" + std::string(git_error_last()->message) + ")" : "");
        return false;
    }
    std::string branch;
    git_reference* rawHead = nullptr;
    if (git_repository_head(&rawHead, repo_) == 0) {
        Owned<git_reference> head(rawHead);
        if (git_reference_is_branch(head.get())) branch = git_reference_shorthand(head.get());
    }
    const std::string at =
        commit_ ? hexId(git_commit_id(commit_.get())).substr(0, 12) : "no commits yet";
    if (committed) {
        result_.description = "committed tree of " + spec + " at " + at;
        if (!listCommittedTree()) return false;
    } else {
        result_.description =
            "working tree" + (branch.empty() ? std::string() : " of " + branch) + " at " + at;
        if (!listWorkingTree()) return false;
    }
    order();
    return true;
}

bool RepositoryReader::listWorkingTree() {
    {
        std::string bytes, error;
        std::uint64_t size = 0;
        if (readFile(workdir_ + ".folioignore", bytes, size, 1 << 20, error))
            folioIgnore_ = IgnoreRules::parse(bytes);
    }
    // Untracked, ignored and modified paths from one status pass.
    git_status_options so = GIT_STATUS_OPTIONS_INIT;
    so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
               GIT_STATUS_OPT_INCLUDE_IGNORED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    git_status_list* rawStatus = nullptr;
    if (git_status_list_new(&rawStatus, repo_, &so) != 0) {
        // libgit2 refuses some trees outright (folders nested past 100 levels). The tracked files
        // can still be read from the index; what the status would have added is said.
        result_.warnings.push_back(lastGitError("reading the working tree status") +
                                   "; read the tracked files only: untracked and ignored files "
                                   "are left out, and edits are ordered as if committed");
        rawStatus = nullptr;
    }
    Owned<git_status_list> status(rawStatus);
    std::unordered_set<std::string> changed;
    std::vector<std::string> untracked;
    for (std::size_t i = 0, n = status ? git_status_list_entrycount(status.get()) : 0; i < n; ++i) {
        const git_status_entry* e = git_status_byindex(status.get(), i);
        const git_diff_delta* d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
        if (!d) continue;
        const std::string path = d->new_file.path ? d->new_file.path : d->old_file.path;
        if (e->status & GIT_STATUS_IGNORED) {
            result_.skipped.push_back({path, SkipReason::GitIgnored, "matched by .gitignore"});
        } else if (e->status & GIT_STATUS_WT_NEW) {
            untracked.push_back(path);
        } else if (e->status != GIT_STATUS_CURRENT) {
            changed.insert(path);
        }
    }

    git_index* rawIndex = nullptr;
    if (git_repository_index(&rawIndex, repo_) != 0) {
        result_.error = lastGitError("reading the index");
        return false;
    }
    Owned<git_index> index(rawIndex);
    const std::size_t count = git_index_entrycount(index.get());
    candidates_.reserve(count + untracked.size());
    std::string previous;
    for (std::size_t i = 0; i < count; ++i) {
        const git_index_entry* e = git_index_get_byindex(index.get(), i);
        const std::string path = e->path;
        if (i > 0 && previous == path) continue; // conflict stages: one entry per path
        previous = path;
        if (folioIgnore_.isIgnored(path, false)) {
            result_.skipped.push_back({path, SkipReason::FolioIgnored, "matched by .folioignore"});
            continue;
        }
        if (e->mode == GIT_FILEMODE_COMMIT) {
            addSubmodule(path, &e->id);
            continue;
        }
        candidates_.push_back({path, {}, changed.count(path) > 0});
    }
    for (auto& path : untracked) {
        if (folioIgnore_.isIgnored(path, false)) {
            result_.skipped.push_back({path, SkipReason::FolioIgnored, "matched by .folioignore"});
            continue;
        }
        candidates_.push_back({path, {}, true});
    }
    return true;
}

struct TreeWalk {
    RepositoryReader* reader;
    std::vector<std::pair<std::string, git_oid>> blobs, links, gitlinks;
    std::vector<std::string> ignoredDirs;
    const IgnoreRules* ignore;
};

int treeWalkCallback(const char* root, const git_tree_entry* entry, void* payload) {
    auto* walk = static_cast<TreeWalk*>(payload);
    std::string path = std::string(root) + git_tree_entry_name(entry);
    const git_filemode_t mode = git_tree_entry_filemode(entry);
    if (mode == GIT_FILEMODE_TREE) {
        if (walk->ignore->isIgnored(path, true)) {
            walk->ignoredDirs.push_back(path + "/");
            return 1; // skip the subtree
        }
        return 0;
    }
    const git_oid id = *git_tree_entry_id(entry);
    if (mode == GIT_FILEMODE_LINK)
        walk->links.emplace_back(std::move(path), id);
    else if (mode == GIT_FILEMODE_COMMIT)
        walk->gitlinks.emplace_back(std::move(path), id);
    else
        walk->blobs.emplace_back(std::move(path), id);
    return 0;
}

bool RepositoryReader::listCommittedTree() {
    git_tree* rawTree = nullptr;
    if (git_commit_tree(&rawTree, commit_.get()) != 0) {
        result_.error = lastGitError("reading the commit's tree");
        return false;
    }
    Owned<git_tree> tree(rawTree);
    if (const git_tree_entry* fi = git_tree_entry_byname(tree.get(), ".folioignore")) {
        git_blob* rawBlob = nullptr;
        if (git_blob_lookup(&rawBlob, repo_, git_tree_entry_id(fi)) == 0) {
            Owned<git_blob> blob(rawBlob);
            folioIgnore_ = IgnoreRules::parse(
                std::string_view(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                                 static_cast<std::size_t>(git_blob_rawsize(blob.get()))));
        }
    }
    TreeWalk walk{this, {}, {}, {}, {}, &folioIgnore_};
    if (git_tree_walk(tree.get(), GIT_TREEWALK_PRE, treeWalkCallback, &walk) != 0) {
        result_.error = lastGitError("walking the commit's tree");
        return false;
    }
    for (auto& dir : walk.ignoredDirs)
        result_.skipped.push_back({dir, SkipReason::FolioIgnored, "matched by .folioignore"});
    for (auto& [path, id] : walk.gitlinks) addSubmodule(path, &id);
    for (auto& [path, id] : walk.links) {
        if (folioIgnore_.isIgnored(path, false)) continue;
        git_blob* rawBlob = nullptr;
        std::string target;
        if (git_blob_lookup(&rawBlob, repo_, &id) == 0) {
            Owned<git_blob> blob(rawBlob);
            target.assign(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                          static_cast<std::size_t>(git_blob_rawsize(blob.get())));
        }
        result_.skipped.push_back(
            {path, SkipReason::Symlink, "symbolic link to " + target + "; links are not followed"});
    }
    for (auto& [path, id] : walk.blobs) {
        if (folioIgnore_.isIgnored(path, false)) {
            result_.skipped.push_back({path, SkipReason::FolioIgnored, "matched by .folioignore"});
            continue;
        }
        candidates_.push_back({std::move(path), id, false});
    }
    return true;
}

void RepositoryReader::addSubmodule(const std::string& path, const git_oid* id) {
    Submodule sm{path, {}, hexId(id), false};
    git_submodule* raw = nullptr;
    if (git_submodule_lookup(&raw, repo_, path.c_str()) == 0) {
        Owned<git_submodule> s(raw);
        if (const char* url = git_submodule_url(s.get())) sm.url = url;
    }
    git_error_clear();
    if (options_.followSubmodules && !workdir_.empty() &&
        options_.mode == GitTreeMode::WorkingTree) {
        GitSourceOptions sub = options_;
        const SourceResult inner = readGitRepository(QString::fromStdString(workdir_ + path), sub);
        if (inner.error.empty()) {
            sm.followed = true;
            for (const Document& d : inner.documents) {
                Document copy = d;
                copy.path = path + "/" + d.path;
                copy.source = result_.name;
                result_.documents.push_back(std::move(copy));
            }
            for (const SkippedFile& s : inner.skipped)
                result_.skipped.push_back({path + "/" + s.path, s.reason, s.detail});
        }
    }
    if (!sm.followed)
        result_.skipped.push_back({path, SkipReason::Submodule,
                                   "submodule at " + sm.commit.substr(0, 12) +
                                       (sm.url.empty() ? "" : " (" + sm.url + ")") +
                                       "; not followed"});
    result_.submodules.push_back(std::move(sm));
}

SkippedFile RepositoryReader::symlinkSkip(const std::string& path,
                                          const std::string& target) const {
    // Never followed: a link out of the repository could pull in anything on the machine, and a
    // link inside it would duplicate a file that is ingested in its own right.
    const QString absolute = QString::fromStdString(workdir_ + path);
    const QString resolved = QFileInfo(absolute).canonicalFilePath();
    const QString root =
        QFileInfo(QString::fromStdString(workdir_)).canonicalFilePath() + QLatin1Char('/');
    const bool inside = !resolved.isEmpty() && resolved.startsWith(root);
    return {path, SkipReason::Symlink,
            "symbolic link to " + target +
                (inside ? " (inside the repository; not followed)"
                        : " (outside the repository; not followed)")};
}

RepositoryReader::Outcome RepositoryReader::screen(const Candidate& c, const std::string& bytes,
                                                   std::uint64_t size) const {
    Outcome out;
    if (auto skip = screenFile(c.path, bytes, size, options_.maxFileBytes)) {
        if (skip->reason == SkipReason::Binary && languageForPath(c.path) == "pdf")
            skip->detail += "; add the PDF as a source of its own to read it";
        out.skip = std::move(*skip);
        return out;
    }
    DecodedText decoded = decodeText(bytes);
    Document doc;
    doc.source = result_.name;
    doc.path = c.path;
    doc.title = c.path;
    doc.kind = isProsePath(c.path) ? DocumentKind::Prose : DocumentKind::Code;
    doc.language = languageForPath(c.path);
    doc.text = std::move(decoded.text);
    doc.notes = std::move(decoded.notes);
    doc.byteSize = size;
    doc.changeRank = c.uncommitted ? -1 : 0; // resolved in order()
    out.doc = std::move(doc);
    return out;
}

RepositoryReader::Outcome RepositoryReader::read(const Candidate& c, git_repository* repo,
                                                 std::string& bytes) const {
    Outcome out;
    std::uint64_t size = 0;
    if (committed_) {
        git_blob* raw = nullptr;
        if (git_blob_lookup(&raw, repo, &c.blob) != 0) {
            out.skip =
                SkippedFile{c.path, SkipReason::Unreadable, lastGitError("reading the blob")};
            return out;
        }
        Owned<git_blob> blob(raw);
        size = static_cast<std::uint64_t>(git_blob_rawsize(blob.get()));
        const std::size_t keep = static_cast<std::size_t>(
            size > options_.maxFileBytes ? std::min<std::uint64_t>(size, 8192) : size);
        bytes.assign(static_cast<const char*>(git_blob_rawcontent(blob.get())), keep);
        return screen(c, bytes, size);
    }
    const std::string absolute = workdir_ + c.path;
    struct stat st {};
    if (::lstat(absolute.c_str(), &st) != 0) {
        // Gone, or behind a folder this user may not enter: not the same thing.
        if (errno == ENOENT || errno == ENOTDIR) out.skip = SkippedFile{c.path, SkipReason::Deleted, "deleted in the working tree"};
        else out.skip = SkippedFile{c.path, SkipReason::Unreadable, std::string("cannot read it: ") + std::strerror(errno)};
        return out;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        const ssize_t len = ::readlink(absolute.c_str(), target, sizeof target - 1);
        out.skip = symlinkSkip(c.path, len > 0 ? std::string(target, static_cast<std::size_t>(len))
                                               : std::string("?"));
        return out;
    }
    if (S_ISDIR(st.st_mode)) return out; // an untracked nested repository shows as a folder
    if (!S_ISREG(st.st_mode)) {
        out.skip = SkippedFile{c.path, SkipReason::Unreadable,
                               S_ISFIFO(st.st_mode)   ? "a named pipe, not a file"
                               : S_ISSOCK(st.st_mode) ? "a socket, not a file"
                                                      : "a device, not a file"};
        return out;
    }
    std::string error;
    if (!readFile(absolute, bytes, size, options_.maxFileBytes, error)) {
        out.skip = SkippedFile{c.path, SkipReason::Unreadable, error};
        return out;
    }
    return screen(c, bytes, size);
}

void RepositoryReader::order() {
    // Read, screen and decode every candidate on `threads` threads; results land in per-candidate
    // slots and are merged in candidate order, so the outcome does not depend on scheduling.
    std::vector<Outcome> outcomes(candidates_.size());
    unsigned threads = options_.threads > 0 ? static_cast<unsigned>(options_.threads)
                                            : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(
        std::min<std::size_t>(threads, std::max<std::size_t>(1, candidates_.size() / 4)));
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progressMutex;
    std::size_t reported = 0; // under progressMutex
    const std::string gitdir = git_repository_path(repo_);
    auto work = [&](bool own) {
        // libgit2 objects are not shared across threads: a worker reading blobs opens its own
        // handle.
        Owned<git_repository> mine;
        git_repository* repo = repo_;
        if (own && committed_) {
            git_repository* raw = nullptr;
            if (git_repository_open(&raw, gitdir.c_str()) == 0) mine.reset(raw);
            repo = mine ? mine.get() : nullptr;
        }
        std::string bytes;
        constexpr std::size_t kBlock = 32;
        for (std::size_t from;
             (from = next.fetch_add(kBlock, std::memory_order_relaxed)) < candidates_.size();) {
            const std::size_t to = std::min(from + kBlock, candidates_.size());
            for (std::size_t i = from; i < to; ++i) {
                if (!repo)
                    outcomes[i].skip = SkippedFile{candidates_[i].path, SkipReason::Unreadable,
                                                   "cannot open the repository"};
                else
                    outcomes[i] = read(candidates_[i], repo, bytes);
            }
            const std::size_t readSoFar = done.fetch_add(to - from) + (to - from);
            if (options_.progress && readSoFar / 1024 != (readSoFar - (to - from)) / 1024) {
                const std::lock_guard<std::mutex> lock(progressMutex);
                if (readSoFar > reported) { // never backwards, when two threads cross at once
                    reported = readSoFar;
                    options_.progress(readSoFar, candidates_.size());
                }
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, true);
    work(false);
    for (auto& t : pool) t.join();
    if (options_.progress) options_.progress(candidates_.size(), candidates_.size());
    for (Outcome& o : outcomes) {
        if (o.doc) result_.documents.push_back(std::move(*o.doc));
        if (o.skip) result_.skipped.push_back(std::move(*o.skip));
    }

    // Rank by the last commit that touched each file.
    std::vector<std::string> paths;
    paths.reserve(result_.documents.size());
    for (const Document& d : result_.documents)
        if (d.changeRank == 0) paths.push_back(d.path);
    std::int64_t newest = 0;
    const auto changes =
        detail::lastChanges(repo_, commit_.get(), paths, options_.maxHistoryCommits, &newest);
    for (Document& d : result_.documents) {
        if (d.changeRank == -1) {
            d.changeRank = newest + 1; // uncommitted: newer than every commit
            d.notes.push_back("uncommitted changes");
            continue;
        }
        if (d.changeRank != 0) continue; // followed submodule documents keep their own rank
        if (const auto it = changes.find(d.path); it != changes.end()) {
            d.changeRank = it->second.rank;
            d.lastCommitTime = it->second.time;
            d.lastCommit = it->second.commit;
        }
    }
    std::stable_sort(result_.documents.begin(), result_.documents.end(),
                     [](const Document& a, const Document& b) {
                         return a.changeRank != b.changeRank ? a.changeRank < b.changeRank
                                                             : a.path < b.path;
                     });
    // Git stores names as bytes. A name that is not UTF-8 (a Latin-1 "café.c" from an old
    // system) is shown decoded as Latin-1, so the context, the JSON and the GUI stay valid text;
    // the file itself was read by its bytes above.
    for (Document& d : result_.documents)
        if (!isValidUtf8(d.path)) {
            d.path = validUtf8(d.path);
            d.title = d.path;
            d.notes.push_back("the file name is not UTF-8; shown decoded as Latin-1");
        }
    for (SkippedFile& f : result_.skipped) f.path = validUtf8(f.path);
    std::sort(result_.skipped.begin(), result_.skipped.end(),
              [](const SkippedFile& a, const SkippedFile& b) { return a.path < b.path; });
}

} // namespace

SourceResult readGitRepository(const QString& path, const GitSourceOptions& options) {
    LibGit2 lib;
    SourceResult result;
    result.kindName = "git repository";
    const QByteArray local = QFile::encodeName(QFileInfo(path).absoluteFilePath());
    result.location = local.toStdString();
    git_repository* raw = nullptr;
    if (const int rc = git_repository_open_ext(&raw, local.constData(), 0, nullptr); rc != 0) {
        // libgit2's own text for this one (1.5 says "config value 'safe.directory' was not found")
        // does not say what is wrong.
        const git_error* e = git_error_last();
        const bool notOwned = rc == GIT_EOWNER || (e && e->message && std::strstr(e->message, "safe.directory"));
        result.error = notOwned
                           ? "opening " + result.location +
                                 " as a git repository: it is owned by another user, and git refuses such "
                                 "repositories unless they are trusted (git config --global --add "
                                 "safe.directory " + result.location + ")"
                           : lastGitError(("opening " + result.location + " as a git repository").c_str());
        result.name = QFileInfo(path).fileName().toStdString();
        return result;
    }
    Owned<git_repository> repo(raw);
    const char* wd = git_repository_workdir(repo.get());
    result.name =
        QDir(QString::fromUtf8(wd ? wd : git_repository_path(repo.get()))).dirName().toStdString();
    RepositoryReader reader(repo.get(), options, result);
    reader.run();
    return result;
}

} // namespace folio::ingest
