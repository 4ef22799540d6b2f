#include "folio/ingest/ignore_rules.h"

namespace folio::ingest {

namespace {

// Matches one bracket expression at glob[gi] ('[' already seen) against c. Sets gi past ']'.
bool matchBracket(std::string_view glob, std::size_t& gi, char c) {
    std::size_t i = gi + 1;
    bool negate = false;
    if (i < glob.size() && (glob[i] == '!' || glob[i] == '^')) {
        negate = true;
        ++i;
    }
    bool matched = false;
    bool first = true;
    while (i < glob.size() && (first || glob[i] != ']')) {
        first = false;
        char lo = glob[i];
        if (lo == '\\' && i + 1 < glob.size()) lo = glob[++i];
        char hi = lo;
        if (i + 2 < glob.size() && glob[i + 1] == '-' && glob[i + 2] != ']') {
            hi = glob[i + 2];
            i += 2;
        }
        if (c >= lo && c <= hi) matched = true;
        ++i;
    }
    gi = i < glob.size() ? i + 1 : i;
    return matched != negate;
}

bool matchFrom(std::string_view g, std::size_t gi, std::string_view t, std::size_t ti) {
    while (gi < g.size()) {
        const char c = g[gi];
        if (c == '*') {
            const bool doubleStar = gi + 1 < g.size() && g[gi + 1] == '*';
            if (doubleStar) {
                std::size_t next = gi + 2;
                // "**/" matches zero or more whole segments.
                if (next < g.size() && g[next] == '/') {
                    for (std::size_t k = ti; k <= t.size(); ++k) {
                        if ((k == ti || t[k - 1] == '/') && matchFrom(g, next + 1, t, k))
                            return true;
                    }
                    return false;
                }
                for (std::size_t k = ti; k <= t.size(); ++k)
                    if (matchFrom(g, next, t, k)) return true;
                return false;
            }
            for (std::size_t k = ti; k <= t.size(); ++k) {
                if (matchFrom(g, gi + 1, t, k)) return true;
                if (k < t.size() && t[k] == '/') break;
            }
            return false;
        }
        if (ti >= t.size()) return false;
        if (c == '?') {
            if (t[ti] == '/') return false;
            ++gi;
            ++ti;
            continue;
        }
        if (c == '[') {
            if (t[ti] == '/' || !matchBracket(g, gi, t[ti])) return false;
            ++ti;
            continue;
        }
        char lit = c;
        if (c == '\\' && gi + 1 < g.size()) lit = g[++gi];
        if (lit != t[ti]) return false;
        ++gi;
        ++ti;
    }
    return ti == t.size();
}

} // namespace

bool globMatch(std::string_view glob, std::string_view text) {
    return matchFrom(glob, 0, text, 0);
}

IgnoreRules IgnoreRules::parse(std::string_view content) {
    IgnoreRules rules;
    std::size_t pos = 0;
    while (pos <= content.size()) {
        auto nl = content.find('\n', pos);
        if (nl == std::string_view::npos) nl = content.size();
        std::string line(content.substr(pos, nl - pos));
        pos = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // Trailing spaces are ignored unless escaped.
        while (!line.empty() && line.back() == ' ' &&
               !(line.size() >= 2 && line[line.size() - 2] == '\\'))
            line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        Pattern p;
        if (line[0] == '!') {
            p.negated = true;
            line.erase(0, 1);
        } else if (line[0] == '\\' && line.size() > 1 && (line[1] == '#' || line[1] == '!')) {
            line.erase(0, 1);
        }
        if (!line.empty() && line.back() == '/') {
            p.directoryOnly = true;
            line.pop_back();
        }
        if (line.empty()) continue;
        if (line.find('/') != std::string::npos) p.anchored = true;
        if (line[0] == '/') line.erase(0, 1);
        if (line.rfind("**/", 0) == 0 && line.find('/', 3) == std::string::npos) {
            // "**/name" is the same as an unanchored "name".
            line.erase(0, 3);
            p.anchored = false;
        }
        p.glob = std::move(line);
        rules.patterns_.push_back(std::move(p));
        if (nl == content.size()) break;
    }
    return rules;
}

bool IgnoreRules::isIgnored(std::string_view path, bool isDirectory) const {
    // A file inside an ignored folder is ignored: test every leading folder, then the path itself.
    // (Like git, a negation cannot re-include a file whose folder is excluded.)
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        const bool last = slash == std::string_view::npos;
        const std::string_view prefix = last ? path : path.substr(0, slash);
        const bool prefixIsDir = last ? isDirectory : true;
        const std::string_view base =
            prefix.substr(prefix.rfind('/') == std::string_view::npos ? 0 : prefix.rfind('/') + 1);
        bool ignored = false;
        for (const Pattern& p : patterns_) {
            if (p.directoryOnly && !prefixIsDir) continue;
            const bool hit = p.anchored ? globMatch(p.glob, prefix) : globMatch(p.glob, base);
            if (hit) ignored = !p.negated;
        }
        if (ignored) return true;
        if (last) return false;
        start = slash + 1;
    }
}

} // namespace folio::ingest
