#include "folio/ingest/manifest.h"

#include "folio/ingest/text_decoder.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace folio::ingest {

namespace {

// The folder of a path: "a/b/c.cpp" -> "a/b/", "c.cpp" -> "", "build/" -> "".
std::string_view parentOf(std::string_view path) {
    if (!path.empty() && path.back() == '/') path.remove_suffix(1);
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash + 1);
}

std::string reasonsText(const std::array<std::uint32_t, 32>& byReason) {
    // By count, largest first; ties by the reason's name (a stable order).
    std::vector<std::pair<std::uint32_t, std::string>> rs;
    for (std::size_t r = 0; r < byReason.size(); ++r)
        if (byReason[r]) rs.emplace_back(byReason[r], skipReasonName(static_cast<SkipReason>(r)));
    std::sort(rs.begin(), rs.end(),
              [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    std::string s;
    for (const auto& [n, name] : rs) s += (s.empty() ? "" : ", ") + groupedCount(n) + " " + name;
    return s;
}

// "1 whole, 10 in excerpts, 34 over the budget", "all whole", "none in the context".
std::string inclusionText(const FolderStats& f) {
    if (f.files == 0) return "no files read";
    if (f.whole == f.files) return "all whole";
    if (f.includedFiles() == 0) return "none in the context";
    std::string s;
    auto part = [&](std::size_t n, const char* what) {
        if (n) s += (s.empty() ? "" : ", ") + groupedCount(n) + what;
    };
    part(f.whole, " whole");
    part(f.excerpts, " in excerpts");
    part(f.overBudget, " over the budget");
    return s;
}

std::string skippedText(const FolderStats& f) {
    return f.skipped ? "; " + groupedCount(f.skipped) + " left out (" + reasonsText(f.byReason) + ")"
                     : std::string();
}

std::string sourceLine(const SourceResult& src, const FolderStats& root) {
    std::string s = "Source " + src.name + ": " + src.kindName;
    if (!src.description.empty()) s += ", " + src.description;
    s += ". ";
    // Messages can quote raw path bytes: the context stays valid UTF-8.
    if (!src.error.empty()) s += "Error: " + validUtf8(src.error) + ". ";
    for (const std::string& w : src.warnings) s += "Warning: " + validUtf8(w) + ". ";
    if (root.files == 1 && root.skipped == 0) {
        s += compactCount(root.tokens) + " tokens, " +
             (root.whole ? "whole" : root.excerpts ? "in excerpts" : "over the budget") + ".\n";
        return s;
    }
    s += groupedCount(root.files) + (root.files == 1 ? " file, " : " files, ") +
         compactCount(root.tokens) + " tokens: " + inclusionText(root) + skippedText(root) + ".\n";
    return s;
}

std::string folderLine(const FolderStats& f) {
    return f.path + ": " + groupedCount(f.files) + (f.files == 1 ? " file, " : " files, ") +
           compactCount(f.tokens) + " tokens; " + inclusionText(f) + skippedText(f) + "\n";
}

} // namespace

std::string groupedCount(std::size_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string compactCount(std::size_t n) {
    if (n < 10000) return groupedCount(n);
    const char* unit = n < 1000000 ? "K" : n < 1000000000 ? "M" : "G";
    const double v = static_cast<double>(n) / (n < 1000000 ? 1e3 : n < 1000000000 ? 1e6 : 1e9);
    // Three significant digits: 12.3K, 123K, 4.12M.
    char buf[32];
    std::snprintf(buf, sizeof buf, v < 100 ? "%.1f%s" : "%.0f%s", v, unit);
    return buf;
}

std::vector<FolderStats> folderSummary(const ManifestInput& in) {
    const auto& sources = *in.sources;
    const auto& docs = *in.documents;
    std::vector<FolderStats> out;
    // (source, path) -> index in out; every ancestor of a folder is created with it.
    std::vector<std::unordered_map<std::string, std::size_t>> index(sources.size());
    auto folder = [&](std::size_t si, std::string_view path) -> std::size_t {
        auto& m = index[si];
        if (auto it = m.find(std::string(path)); it != m.end()) return it->second;
        const std::size_t at = out.size();
        FolderStats f;
        f.source = si;
        f.path = std::string(path);
        f.depth = static_cast<int>(std::count(path.begin(), path.end(), '/'));
        out.push_back(std::move(f));
        m.emplace(std::string(path), at);
        return at;
    };
    // Adds to the folder of `path` and every ancestor up to the root.
    auto each = [&](std::size_t si, std::string_view path, auto&& add) {
        std::string_view dir = parentOf(path);
        while (true) {
            add(out[folder(si, dir)]);
            if (dir.empty()) break;
            dir = parentOf(dir);
        }
    };
    for (std::size_t si = 0; si < sources.size(); ++si) folder(si, "");
    for (std::size_t d = 0; d < docs.size(); ++d) {
        const std::size_t si = (*in.documentSource)[d];
        const int inc = (*in.inclusion)[d];
        const std::size_t tokens = (*in.documentTokens)[d];
        each(si, docs[d].path, [&](FolderStats& f) {
            ++f.files;
            f.tokens += tokens;
            (inc == kWhole ? f.whole : inc == kExcerpts ? f.excerpts : f.overBudget) += 1;
        });
    }
    for (std::size_t si = 0; si < sources.size(); ++si)
        for (const SkippedFile& s : sources[si].skipped) {
            const auto r = static_cast<std::size_t>(s.reason);
            each(si, s.path, [&](FolderStats& f) {
                ++f.skipped;
                if (r < f.byReason.size()) ++f.byReason[r];
            });
        }
    std::sort(out.begin(), out.end(), [](const FolderStats& a, const FolderStats& b) {
        return a.source != b.source ? a.source < b.source : a.path < b.path;
    });
    return out;
}

std::string frameManifest(const ManifestInput& in, const TokenCounting& counting, std::size_t cap) {
    static constexpr std::string_view kHead = "<<<MANIFEST>>>\n", kTail = "<<<END OF CONTEXT>>>\n";
    const std::size_t frame = counting.count(std::string(kHead) + std::string(kTail));
    if (frame > cap) return {};
    const auto& sources = *in.sources;
    const std::vector<FolderStats> folders = folderSummary(in);
    std::vector<std::size_t> rootOf(sources.size());
    for (std::size_t i = 0; i < folders.size(); ++i)
        if (folders[i].depth == 0) rootOf[folders[i].source] = i;
    // Children lists: folders are sorted by path, so a folder's parent is found by its path.
    std::vector<std::vector<std::size_t>> children(folders.size());
    {
        std::vector<std::unordered_map<std::string_view, std::size_t>> byPath(sources.size());
        for (std::size_t i = 0; i < folders.size(); ++i)
            byPath[folders[i].source].emplace(folders[i].path, i);
        for (std::size_t i = 0; i < folders.size(); ++i)
            if (folders[i].depth > 0)
                children[byPath[folders[i].source].at(parentOf(folders[i].path))].push_back(i);
    }

    // Lines chosen so far, with their estimated tokens (each line counted on its own; the final
    // text is counted exactly below).
    std::vector<std::string> sourceLines(sources.size());
    std::vector<bool> shown(folders.size(), false);
    std::vector<std::size_t> order; // folders in the order they were chosen
    std::size_t used = frame;
    // Reserve the closing "(N more folders not listed)" line at its longest.
    const std::size_t moreLine =
        counting.count("(" + groupedCount(folders.size()) + " more folders not listed)\n");
    const std::size_t allFolders = folders.size() - sources.size();
    std::size_t sourcesShown = 0;
    for (std::size_t si = 0; si < sources.size(); ++si) {
        std::string line = sourceLine(sources[si], folders[rootOf[si]]);
        const std::size_t t = counting.count(line);
        // The closing line is needed unless this is the last line there is to show.
        const bool last = si + 1 == sources.size() && allFolders == 0;
        if (used + t + (last ? 0 : moreLine) > cap) break;
        used += t;
        sourceLines[si] = std::move(line);
        ++sourcesShown;
    }

    // Folder lines by priority (manifest.h): the top-level folders first (those with content in
    // the context before the others), then the deeper folders with content, breadth first, then
    // the deeper folders without, shallowest first; within each, the most included files, then
    // the most tokens. Ties by (source, path), so the choice is deterministic.
    auto key = [&](std::size_t i) {
        const FolderStats& f = folders[i];
        const bool content = f.includedFiles() > 0;
        return std::make_tuple(f.depth == 1 ? 0 : content ? 1 : 2, f.depth, content ? 0 : 1,
                               -static_cast<std::int64_t>(f.includedFiles()),
                               -static_cast<std::int64_t>(f.tokens), i);
    };
    auto worse = [&](std::size_t a, std::size_t b) { return key(a) > key(b); };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(worse)> frontier(worse);
    for (std::size_t si = 0; si < sourcesShown; ++si)
        for (const std::size_t c : children[rootOf[si]]) frontier.push(c);
    std::size_t sourceFolders = 0; // folders that could be listed: those below a shown source
    for (const FolderStats& f : folders)
        if (f.depth > 0 && f.source < sourcesShown) ++sourceFolders;
    // A folder that holds nothing but one subfolder says nothing its subfolder's line does not
    // ("a/" over "a/b/" with the same counts): it is passed through, listed by that line.
    auto passThrough = [&](std::size_t i) {
        if (children[i].size() != 1) return false;
        const FolderStats &f = folders[i], &c = folders[children[i][0]];
        return f.files == c.files && f.tokens == c.tokens && f.whole == c.whole &&
               f.excerpts == c.excerpts && f.skipped == c.skipped;
    };
    // Passed-through folders are counted as listed once the line of the subfolder that stands for
    // them is: chain[i] is how many stand behind folder i.
    std::vector<std::size_t> chain(folders.size(), 0);
    std::size_t implied = 0;
    while (!frontier.empty()) {
        const std::size_t i = frontier.top();
        frontier.pop();
        if (passThrough(i)) {
            chain[children[i][0]] = chain[i] + 1;
            frontier.push(children[i][0]);
            continue;
        }
        const std::size_t t = counting.count(folderLine(folders[i]));
        const bool last =
            sourcesShown == sources.size() && order.size() + implied + 1 == sourceFolders;
        if (used + t + (last ? 0 : moreLine) > cap) break;
        used += t;
        shown[i] = true;
        order.push_back(i);
        implied += chain[i];
        for (const std::size_t c : children[i]) frontier.push(c);
    }

    auto plural = [](std::size_t n, const char* one, const char* many) {
        return groupedCount(n) + (n == 1 ? one : many);
    };
    auto render = [&]() {
        std::string s(kHead);
        for (std::size_t si = 0; si < sourcesShown; ++si) {
            s += sourceLines[si];
            for (std::size_t k = rootOf[si] + 1; k < folders.size() && folders[k].source == si; ++k)
                if (shown[k]) s += folderLine(folders[k]);
        }
        if (sourcesShown < sources.size())
            s += "(" + plural(sources.size() - sourcesShown, " more source", " more sources") +
                 " not listed)\n";
        else if (order.size() + implied < sourceFolders)
            s += "(" + plural(sourceFolders - order.size() - implied, " more folder",
                              " more folders") +
                 " not listed)\n";
        s += kTail;
        return s;
    };
    std::string text = render();
    // Per-line counts can differ from the whole text's by a token at a seam: drop the last chosen
    // lines until the exact count fits (the frame alone always does).
    while (counting.count(text) > cap) {
        if (!order.empty()) {
            shown[order.back()] = false;
            implied -= chain[order.back()];
            order.pop_back();
        } else if (sourcesShown > 0) {
            sourceLines[--sourcesShown].clear();
        } else {
            return std::string(kHead) + std::string(kTail); // `frame`, which fits (checked above)
        }
        text = render();
    }
    return text;
}

} // namespace folio::ingest
