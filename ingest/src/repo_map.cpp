#include "folio/ingest/repo_map.h"

#include "folio/ingest/manifest.h"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace folio::ingest {

namespace {

struct FileEntry {
    std::size_t document;
    std::vector<std::pair<int, int>> ranges; // excerpt lines
    std::vector<const Definition*> inside;   // in line order
    std::vector<const Definition*> outside;  // nearest to an excerpt first
};

int distance(const std::vector<std::pair<int, int>>& ranges, int line) {
    int best = 1 << 30;
    for (const auto& [a, b] : ranges)
        best = std::min(best, line < a ? a - line : line > b ? line - b : 0);
    return best;
}

std::string fileLine(const Document& doc, const FileEntry& f, std::size_t maxInside,
                     std::size_t maxOutside) {
    std::vector<std::pair<const Definition*, bool>> shown; // definition, inside
    for (std::size_t i = 0; i < f.inside.size() && i < maxInside; ++i)
        shown.emplace_back(f.inside[i], true);
    for (std::size_t i = 0; i < f.outside.size() && i < maxOutside; ++i)
        shown.emplace_back(f.outside[i], false);
    std::sort(shown.begin(), shown.end(),
              [](const auto& a, const auto& b) { return a.first->line < b.first->line; });
    std::string s = doc.path + " (" + groupedCount(static_cast<std::size_t>(doc.lineCount())) +
                    " lines):";
    for (std::size_t i = 0; i < shown.size(); ++i) {
        s += i ? ", " : " ";
        if (shown[i].second) s += '*';
        s += shown[i].first->name + " " + std::to_string(shown[i].first->line);
    }
    const std::size_t more = f.outside.size() - std::min(f.outside.size(), maxOutside) +
                             f.inside.size() - std::min(f.inside.size(), maxInside);
    if (more) s += " (+" + groupedCount(more) + " more)";
    s += "\n";
    return s;
}

} // namespace

std::string frameRepoMap(const std::vector<Document>& docs,
                         const std::vector<std::vector<Definition>>& definitions,
                         const std::vector<MapExcerpt>& excerpts, const TokenCounting& counting,
                         std::size_t cap) {
    std::vector<FileEntry> files;
    for (const MapExcerpt& e : excerpts) {
        if (files.empty() || files.back().document != e.document)
            files.push_back({e.document, {}, {}, {}});
        files.back().ranges.emplace_back(e.firstLine, e.lastLine);
    }
    std::vector<FileEntry> kept;
    for (FileEntry& f : files) {
        for (const Definition& d : definitions[f.document]) {
            if (d.name.size() > 80) continue; // a heading that is a paragraph
            if (distance(f.ranges, d.line) == 0) f.inside.push_back(&d);
            else if (d.kind != DefinitionKind::Macro) f.outside.push_back(&d);
        }
        std::stable_sort(f.outside.begin(), f.outside.end(), [&](const Definition* a, const Definition* b) {
            return distance(f.ranges, a->line) < distance(f.ranges, b->line);
        });
        // Inside: functions and types before macros when not all fit.
        std::stable_sort(f.inside.begin(), f.inside.end(), [](const Definition* a, const Definition* b) {
            return (a->kind == DefinitionKind::Macro) < (b->kind == DefinitionKind::Macro);
        });
        if (!f.inside.empty() || !f.outside.empty()) kept.push_back(std::move(f));
    }
    if (kept.empty()) return {};
    static constexpr const char* kHead =
        "<<<MAP>>>\nDefinitions in the files shown in excerpts (name and line; * marks those in an "
        "excerpt):\n";
    static constexpr const char* kTail = "<<<END OF MAP>>>\n\n";
    auto render = [&](std::size_t count, std::size_t maxInside, std::size_t maxOutside) {
        std::string s = kHead;
        for (std::size_t i = 0; i < count; ++i)
            s += fileLine(docs[kept[i].document], kept[i], maxInside, maxOutside);
        return s + kTail;
    };
    // The same limits for every file, as generous as the cap allows.
    static constexpr std::array<std::pair<std::size_t, std::size_t>, 9> kLimits{
        {{64, 64}, {32, 32}, {24, 16}, {16, 8}, {12, 4}, {8, 2}, {4, 1}, {2, 0}, {1, 0}}};
    for (const auto& [maxInside, maxOutside] : kLimits) {
        std::string s = render(kept.size(), maxInside, maxOutside);
        if (counting.count(s) <= cap) return s;
    }
    // Not even one definition a file fits: drop files from the end, as few as
    // will do (fewer files never take more tokens, so the largest count that fits is found by
    // bisection).
    std::size_t lo = 0, hi = kept.size(); // render(lo) fits (lo = 0: nothing), render(hi) does not
    while (hi - lo > 1) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (counting.count(render(mid, 1, 0)) <= cap) lo = mid;
        else hi = mid;
    }
    return lo ? render(lo, 1, 0) : std::string();
}

} // namespace folio::ingest
