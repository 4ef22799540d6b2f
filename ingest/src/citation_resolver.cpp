#include "folio/ingest/citation_resolver.h"

#include "folio/ingest/transcript_parser.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace folio::ingest {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view s) {
    auto junk = [](char c) {
        return c == ' ' || c == '\t' || c == '`' || c == '"' || c == '\'' || c == '*' || c == ',';
    };
    while (!s.empty() && junk(s.front())) s.remove_prefix(1);
    while (!s.empty() && (junk(s.back()) || s.back() == '.')) s.remove_suffix(1);
    return s;
}

bool endsWithWord(std::string_view s, std::string_view word, std::size_t* at) {
    const std::string low = lower(s);
    const auto pos = low.rfind(word);
    if (pos == std::string::npos) return false;
    *at = pos;
    return true;
}

std::optional<int> parseInt(std::string_view s) {
    if (s.empty() || s.size() > 9) return std::nullopt;
    int v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

// "120", "120-134", "L120-L134", "120–134" (en dash), "120:5" (a column, ignored).
std::optional<std::pair<int, int>> parseLineRange(std::string_view s) {
    s = trim(s);
    std::string t(s);
    for (std::size_t p; (p = t.find("\xE2\x80\x93")) != std::string::npos;)
        t.replace(p, 3, "-"); // en dash
    for (std::size_t p; (p = t.find("\xE2\x80\x94")) != std::string::npos;)
        t.replace(p, 3, "-"); // em dash
    std::string_view v(t);
    auto one = [](std::string_view x) -> std::optional<int> {
        x = trim(x);
        if (!x.empty() && (x[0] == 'L' || x[0] == 'l')) x.remove_prefix(1);
        if (const auto colon = x.find(':'); colon != std::string_view::npos) x = x.substr(0, colon);
        return parseInt(x);
    };
    const auto dash = v.find('-');
    if (dash == std::string_view::npos) {
        const auto a = one(v);
        if (!a) return std::nullopt;
        return std::make_pair(*a, *a);
    }
    const auto a = one(v.substr(0, dash)), b = one(v.substr(dash + 1));
    if (!a || !b) return std::nullopt;
    return std::make_pair(*a, *b);
}

// A trailing timestamp or time range: "00:41:07", "41:07", "0:41:07.5", "00:01:00-00:02:00".
bool splitTime(std::string_view s, std::string_view* name, std::int64_t* from, std::int64_t* to) {
    std::size_t i = s.size();
    while (i > 0) {
        const char c = s[i - 1];
        if ((c >= '0' && c <= '9') || c == ':' || c == '.' || c == ',' || c == '-')
            --i;
        else
            break;
    }
    std::string_view stamp = s.substr(i);
    if (stamp.find(':') == std::string_view::npos) return false;
    while (!stamp.empty() && (stamp.front() == '-' || stamp.front() == ',')) stamp.remove_prefix(1);
    const auto dash = stamp.find('-');
    const auto a = parseTimestamp(dash == std::string_view::npos ? stamp : stamp.substr(0, dash));
    if (!a) return false;
    std::optional<std::int64_t> b = a;
    if (dash != std::string_view::npos) b = parseTimestamp(stamp.substr(dash + 1));
    if (!b) return false;
    std::string_view rest = trim(s.substr(0, i));
    for (std::string_view sep : {"@", " at"}) {
        if (rest.size() >= sep.size() && lower(rest.substr(rest.size() - sep.size())) == sep)
            rest = trim(rest.substr(0, rest.size() - sep.size()));
    }
    *name = rest;
    *from = *a;
    *to = *b;
    return !rest.empty();
}

} // namespace

CitationResolver::CitationResolver(const std::vector<Document>& documents) {
    entries_.reserve(documents.size());
    for (const Document& d : documents) {
        Entry e;
        e.path = d.path;
        e.title = d.title;
        e.source = d.source;
        e.lowerPath = lower(d.path);
        e.lowerTitle = lower(d.title);
        e.kind = d.kind;
        e.textSize = d.text.size();
        e.lineStarts.push_back(0);
        for (const char *p = d.text.data(), *end = p + d.text.size(); p < end;) {
            const auto* nl =
                static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            if (!nl) break;
            if (nl + 1 < end)
                e.lineStarts.push_back(static_cast<std::size_t>(nl + 1 - d.text.data()));
            p = nl + 1;
        }
        if (d.text.empty()) e.lineStarts.clear();
        e.pages = d.pages;
        e.cues = d.cues;
        entries_.push_back(std::move(e));
    }
}

long CitationResolver::find(std::string_view rawName, std::string* error) const {
    const std::string_view name = trim(rawName);
    if (name.empty()) {
        *error = "no document named";
        return -1;
    }
    const std::string low = lower(name);
    // Passes from strict to forgiving; the first pass with exactly one match wins.
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<long> hits;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const Entry& e = entries_[i];
            bool hit = false;
            switch (pass) {
            case 0:
                hit = e.path == name || e.title == name || e.source + "/" + e.path == name;
                break;
            case 1:
                hit = e.lowerPath == low || e.lowerTitle == low ||
                      lower(e.source + "/" + e.path) == low;
                break;
            case 2: // a path suffix on a '/' boundary ("x.cpp" for "src/x.cpp", "src/x.cpp" for
                    // "repo/src/x.cpp")
                hit = (e.lowerPath.size() > low.size() &&
                       e.lowerPath.compare(e.lowerPath.size() - low.size(), low.size(), low) == 0 &&
                       e.lowerPath[e.lowerPath.size() - low.size() - 1] == '/') ||
                      (low.size() > e.lowerPath.size() &&
                       low.compare(low.size() - e.lowerPath.size(), e.lowerPath.size(),
                                   e.lowerPath) == 0 &&
                       low[low.size() - e.lowerPath.size() - 1] == '/');
                break;
            case 3: { // the name without its extension ("moby-dick" for "moby-dick.pdf"), or a
                      // title prefix
                const auto dot = e.lowerPath.rfind('.');
                const auto slash = e.lowerPath.rfind('/');
                const std::string stem = e.lowerPath.substr(
                    slash == std::string::npos ? 0 : slash + 1,
                    dot == std::string::npos ? std::string::npos
                                             : dot - (slash == std::string::npos ? 0 : slash + 1));
                hit = stem == low || (low.size() >= 6 && e.lowerTitle.rfind(low, 0) == 0);
                break;
            }
            }
            if (hit) hits.push_back(static_cast<long>(i));
        }
        if (hits.size() == 1) return hits.front();
        if (hits.size() > 1) {
            *error = "ambiguous: \"" + std::string(name) + "\" matches " +
                     entries_[static_cast<std::size_t>(hits[0])].path + " and " +
                     std::to_string(hits.size() - 1) + " other(s)";
            return -1;
        }
    }
    *error = "no document \"" + std::string(name) + "\" in this context";
    return -1;
}

void CitationResolver::spanLines(Citation& c, const Entry& e, int first, int last) const {
    const int lines = static_cast<int>(e.lineStarts.size());
    if (first > last) std::swap(first, last);
    if (first < 1 || last > lines) {
        c.error = "line " + std::to_string(first < 1 ? first : last) + " is outside " + e.path +
                  " (" + std::to_string(lines) + " lines)";
        return;
    }
    c.firstLine = first;
    c.lastLine = last;
    c.beginByte = e.lineStarts[static_cast<std::size_t>(first - 1)];
    c.endByte = last < lines ? e.lineStarts[static_cast<std::size_t>(last)] : e.textSize;
    c.resolved = true;
}

Citation CitationResolver::resolve(std::string_view raw) const {
    Citation c;
    c.text = std::string(raw);
    std::string_view s = trim(raw);
    auto bind = [&](long index) {
        c.document = static_cast<std::size_t>(index);
        c.path = entries_[c.document].path;
        return &entries_[c.document];
    };

    // PDF pages: "NAME p. 12", "NAME, pp. 12-14", "NAME page xii".
    std::size_t at = 0;
    for (std::string_view marker : {" pp.", " p.", ",pp.", ",p.", " pages ", " page "}) {
        if (!endsWithWord(s, marker, &at)) continue;
        std::string_view label = trim(s.substr(at + marker.size()));
        const std::string_view name = s.substr(0, at);
        if (label.empty() || label.find(' ') != std::string_view::npos) continue;
        c.kind = CitationKind::Page;
        const long index = find(name, &c.error);
        if (index < 0) return c;
        const Entry* e = bind(index);
        if (e->pages.empty()) {
            c.error = e->path + " has no pages";
            return c;
        }
        std::string first(label), last(label);
        std::string l(label);
        for (std::size_t p; (p = l.find("\xE2\x80\x93")) != std::string::npos;)
            l.replace(p, 3, "-");
        if (const auto dash = l.find('-'); dash != std::string::npos) {
            first = l.substr(0, dash);
            last = l.substr(dash + 1);
        }
        auto pageOf = [&](const std::string& lab) {
            for (const Page& p : e->pages)
                if (p.label == lab || lower(p.label) == lower(lab)) return p.index;
            return -1;
        };
        const int a = pageOf(first), b = pageOf(last);
        if (a < 0 || b < 0) {
            c.error = "no page labelled \"" + (a < 0 ? first : last) + "\" in " + e->path + " (" +
                      std::to_string(e->pages.size()) + " pages, " + e->pages.front().label +
                      " to " + e->pages.back().label + ")";
            return c;
        }
        const auto& pa = e->pages[static_cast<std::size_t>(std::min(a, b))];
        const auto& pb = e->pages[static_cast<std::size_t>(std::max(a, b))];
        c.pageLabel = pa.label;
        c.pageIndex = pa.index;
        c.lastPageIndex = pb.index;
        c.beginByte = pa.begin;
        c.endByte = pb.end;
        c.resolved = true;
        return c;
    }

    // Transcript times.
    std::string_view name;
    std::int64_t from = 0, to = 0;
    if (splitTime(s, &name, &from, &to)) {
        std::string err;
        const long index = find(name, &err);
        if (index >= 0 && !entries_[static_cast<std::size_t>(index)].cues.empty()) {
            c.kind = CitationKind::Time;
            const Entry* e = bind(index);
            // The cue(s) with the latest start at or before the time: untimed paragraphs of a
            // timestamped text share their stamp, so the span runs to the next stamp.
            auto span = [&](std::int64_t t, std::size_t* first, std::size_t* last) {
                std::size_t best = e->cues.size();
                for (std::size_t k = 0; k < e->cues.size(); ++k)
                    if (e->cues[k].startMs <= t) best = k;
                if (best == e->cues.size()) return false;
                std::size_t f = best;
                while (f > 0 && e->cues[f - 1].startMs == e->cues[best].startMs) --f;
                *first = f;
                *last = best;
                return true;
            };
            std::size_t f1 = 0, l1 = 0, f2 = 0, l2 = 0;
            const Cue& lastCue = e->cues.back();
            const std::int64_t endOfAll =
                lastCue.endMs >= 0 ? lastCue.endMs : lastCue.startMs + 10 * 60 * 1000;
            if (!span(from, &f1, &l1) || from > endOfAll + 1000 || !span(to, &f2, &l2)) {
                c.error = formatTimestamp(from) + " is outside " + e->path + " (" +
                          formatTimestamp(e->cues.front().startMs) + " to " +
                          formatTimestamp(endOfAll) + ")";
                return c;
            }
            const Cue& a = e->cues[f1];
            const Cue& b = e->cues[std::max(l1, l2)];
            c.startMs = a.startMs;
            c.endMs = b.endMs >= 0 ? b.endMs
                                   : (std::max(l1, l2) + 1 < e->cues.size()
                                          ? e->cues[std::max(l1, l2) + 1].startMs
                                          : b.startMs);
            c.beginByte = a.begin;
            c.endByte = b.end;
            c.firstLine = a.sourceLine;
            c.lastLine = b.sourceLastLine;
            c.resolved = true;
            return c;
        }
        // "name 00:41:07" (a space before the stamp) names a time even when the name is unknown.
        if (index < 0 && s.size() > name.size() &&
            s.find(' ', name.size()) != std::string_view::npos &&
            name.find(':') == std::string_view::npos) {
            c.kind = CitationKind::Time;
            c.error = err;
            return c;
        }
    }

    // Lines: "NAME:120-134", "NAME#L120", "NAME lines 120-134", "NAME, line 120".
    for (std::string_view marker : {" lines ", " line ", ",lines ", ",line ", "#"}) {
        if (!endsWithWord(s, marker, &at)) continue;
        const auto range = parseLineRange(s.substr(at + marker.size()));
        if (!range) continue;
        c.kind = CitationKind::Lines;
        const long index = find(s.substr(0, at), &c.error);
        if (index < 0) return c;
        spanLines(c, *bind(index), range->first, range->second);
        return c;
    }
    // The first ':' followed by a line range; paths may contain ':' themselves, so try each.
    for (std::size_t colon = s.find(':'); colon != std::string_view::npos;
         colon = s.find(':', colon + 1)) {
        const auto range = parseLineRange(s.substr(colon + 1));
        if (!range) continue;
        c.kind = CitationKind::Lines;
        std::string err;
        const long index = find(s.substr(0, colon), &err);
        if (index < 0) {
            c.error = err;
            continue;
        }
        c.error.clear();
        spanLines(c, *bind(index), range->first, range->second);
        return c;
    }
    if (c.kind == CitationKind::Lines) return c;

    // A whole document.
    c.kind = CitationKind::Document;
    const long index = find(s, &c.error);
    if (index < 0) return c;
    const Entry* e = bind(index);
    c.error.clear();
    c.beginByte = 0;
    c.endByte = e->textSize;
    c.firstLine = e->lineStarts.empty() ? 0 : 1;
    c.lastLine = static_cast<int>(e->lineStarts.size());
    c.resolved = true;
    return c;
}

std::vector<Citation> CitationResolver::scan(std::string_view output) const {
    std::vector<Citation> out;
    for (std::size_t open = output.find('['); open != std::string_view::npos;
         open = output.find('[', open + 1)) {
        const std::size_t close = output.find(']', open + 1);
        if (close == std::string_view::npos) break;
        const std::string_view inner = output.substr(open + 1, close - open - 1);
        if (inner.empty() || inner.size() > 400 || inner.find('\n') != std::string_view::npos ||
            inner.find('[') != std::string_view::npos)
            continue;
        if (close + 1 < output.size() && output[close + 1] == '(') continue; // a Markdown link
        if (open > 0) { // indexing in code ("a[i]", "x[0:3]", "f()[1]"), not a citation
            const char before = output[open - 1];
            if ((before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') ||
                (before >= '0' && before <= '9') || before == '_' || before == ']' || before == ')')
                continue;
        }
        // Split on ';' always; on ',' only when every piece resolves or names a locator.
        std::vector<std::pair<std::size_t, std::string_view>> parts;
        std::size_t start = 0;
        while (start <= inner.size()) {
            auto semi = inner.find(';', start);
            if (semi == std::string_view::npos) semi = inner.size();
            parts.emplace_back(start, inner.substr(start, semi - start));
            start = semi + 1;
        }
        for (const auto& [partOffset, part] : parts) {
            Citation whole = resolve(part);
            std::vector<Citation> found;
            if (!whole.resolved && part.find(',') != std::string_view::npos) {
                std::size_t s = 0;
                bool allResolved = true;
                while (s <= part.size()) {
                    auto comma = part.find(',', s);
                    if (comma == std::string_view::npos) comma = part.size();
                    Citation piece = resolve(part.substr(s, comma - s));
                    piece.offset = open + 1 + partOffset + s;
                    piece.length = comma - s;
                    allResolved = allResolved && piece.resolved;
                    found.push_back(std::move(piece));
                    s = comma + 1;
                }
                if (!allResolved) found.clear();
            }
            if (found.empty()) {
                // Report an unresolved bracket only when it looks like a citation: a known
                // document name, or a locator (":N", "p. N", a time).
                const bool locator = whole.kind != CitationKind::Document || whole.resolved;
                if (!locator) continue;
                whole.offset = open + 1 + partOffset;
                whole.length = part.size();
                found.push_back(std::move(whole));
            }
            for (auto& cit : found) out.push_back(std::move(cit));
        }
        open = close;
    }
    return out;
}

} // namespace folio::ingest
