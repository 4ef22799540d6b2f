// gitignore-syntax patterns, used for .folioignore (and for .gitignore in plain folders, which git
// does not handle for us): '#' comments, '!' negation, a leading or inner '/' anchors to the root,
// a trailing '/' matches folders only, '*', '?', '[...]' within one path segment and '**' across
// segments. The last matching pattern wins, as in git.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace folio::ingest {

class IgnoreRules {
public:
    IgnoreRules() = default;
    // Parses the content of an ignore file (UTF-8, LF or CRLF).
    static IgnoreRules parse(std::string_view content);

    bool empty() const { return patterns_.empty(); }
    // `path` is relative to the root, '/' separated, without a trailing slash.
    bool isIgnored(std::string_view path, bool isDirectory) const;

private:
    struct Pattern {
        std::string glob;
        bool negated = false;
        bool directoryOnly = false;
        bool anchored = false; // match against the whole path, not only the last segment
    };
    std::vector<Pattern> patterns_;
};

// Glob matching with gitignore semantics: '*' and '?' stop at '/', '**' crosses it. Exposed for
// tests.
bool globMatch(std::string_view glob, std::string_view text);

} // namespace folio::ingest
