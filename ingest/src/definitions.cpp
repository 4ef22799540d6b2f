#include "folio/ingest/definitions.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace folio::ingest {

namespace {

enum class Family { None, C, Python, Rust, Go, Script, Managed, Shell, Kconfig, Markdown, Rst };

Family familyOf(const Document& doc) {
    const std::string& l = doc.language;
    if (l == "c" || l == "cpp" || l == "cuda" || l == "objc" || l == "objcpp") return Family::C;
    if (l == "python") return Family::Python;
    if (l == "rust") return Family::Rust;
    if (l == "go") return Family::Go;
    if (l == "javascript" || l == "typescript") return Family::Script;
    if (l == "java" || l == "csharp" || l == "kotlin" || l == "swift" || l == "php")
        return Family::Managed;
    if (l == "shell") return Family::Shell;
    if (l == "kconfig") return Family::Kconfig;
    if (l == "markdown") return Family::Markdown;
    if (l == "rst") return Family::Rst;
    if (doc.kind == DocumentKind::Prose) return Family::Markdown;
    return Family::None;
}

struct LineRef {
    std::size_t begin, end; // end excludes the '\n'
};

bool isIdentStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}
bool isIdent(char c) { return isIdentStart(c) || (c >= '0' && c <= '9'); }

std::string_view trimLeft(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}
std::string_view trim(std::string_view s) {
    s = trimLeft(s);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}
bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Consumes `word` and the spaces after it when s starts with it as a whole word.
bool eatWord(std::string_view& s, std::string_view word) {
    if (!startsWith(s, word) || (s.size() > word.size() && isIdent(s[word.size()]))) return false;
    s = trimLeft(s.substr(word.size()));
    return true;
}

std::string_view identAt(std::string_view s) {
    std::size_t n = 0;
    if (n < s.size() && isIdentStart(s[n]))
        while (n < s.size() && isIdent(s[n])) ++n;
    return s.substr(0, n);
}

bool isKeyword(std::string_view w) {
    static constexpr std::array<std::string_view, 16> kw{"if",     "for",    "while",  "switch",
                                                         "return", "sizeof", "do",     "else",
                                                         "case",   "catch",  "typeof", "alignof",
                                                         "new",    "delete", "throw",  "defined"};
    return std::find(kw.begin(), kw.end(), w) != kw.end();
}

class Scanner {
public:
    Scanner(const Document& doc) : text_(doc.text) {
        std::size_t pos = 0;
        while (pos < text_.size()) {
            const auto* nl =
                static_cast<const char*>(std::memchr(text_.data() + pos, '\n', text_.size() - pos));
            const std::size_t end = nl ? static_cast<std::size_t>(nl - text_.data()) : text_.size();
            lines_.push_back({pos, end});
            pos = end + 1;
        }
    }
    std::size_t size() const { return lines_.size(); }
    std::string_view line(std::size_t i) const {
        return std::string_view(text_).substr(lines_[i].begin, lines_[i].end - lines_[i].begin);
    }
    bool blank(std::size_t i) const { return trim(line(i)).empty(); }
    std::size_t nextNonBlank(std::size_t i) const {
        while (i < lines_.size() && blank(i)) ++i;
        return i;
    }

    // Adds a definition named on line i, its start moved back over the comments and attributes
    // right above it (and a C return type on the line before, when `typeAbove`).
    void add(std::vector<Definition>& out, std::string_view name, DefinitionKind kind,
             std::size_t i, bool typeAbove = false, char commentChar = 0) const {
        if (name.empty()) return;
        std::size_t start = i;
        if (typeAbove && start > 0) --start;
        bool inBlock = false; // walking up inside a /* ... */ comment
        while (start > 0) {
            const std::string_view up = trim(line(start - 1));
            if (up.empty() || startsWith(up, "#!")) break;
            const bool closesBlock = up.size() >= 2 && up.substr(up.size() - 2) == "*/";
            const bool comment = inBlock || closesBlock || startsWith(up, "/*") ||
                                 startsWith(up, "//") || startsWith(up, "* ") || up == "*" ||
                                 (commentChar && up.front() == commentChar) ||
                                 startsWith(up, "#[") || startsWith(up, "@");
            if (!comment) break;
            if (closesBlock && !startsWith(up, "/*")) inBlock = true;
            if (startsWith(up, "/*")) inBlock = false;
            --start;
        }
        if (!out.empty() && out.back().line == static_cast<int>(i) + 1) return; // one per line
        Definition d;
        d.name = std::string(name);
        d.kind = kind;
        d.line = static_cast<int>(i) + 1;
        // Never before the previous definition's own line.
        if (!out.empty() && static_cast<int>(start) + 1 <= out.back().line)
            start = static_cast<std::size_t>(out.back().line);
        d.startLine = static_cast<int>(start) + 1;
        d.begin = lines_[start].begin;
        out.push_back(std::move(d));
    }

private:
    const std::string& text_;
    std::vector<LineRef> lines_;
};

// C, C++, CUDA, Objective-C: column-0 definitions.
void scanC(const Scanner& s, std::vector<Definition>& out, bool cpp) {
    // Bodies are indented; a line at column 0 is a declaration, a label or a preprocessor line.
    // (Brace depth is not tracked: braces in strings and comments would throw it off for the
    // rest of the file.)
    for (std::size_t i = 0; i < s.size(); ++i) {
        const std::string_view raw = s.line(i);
        if (raw.empty()) continue;
        const char c0 = raw.front();
        if (c0 == '#') {
            std::string_view r = trimLeft(raw.substr(1));
            if (eatWord(r, "define")) s.add(out, identAt(r), DefinitionKind::Macro, i);
            continue;
        }
        if (c0 == ' ' || c0 == '\t' || !isIdentStart(c0)) continue;
        std::string_view r = trim(raw);
        // Types: [typedef] struct|union|enum|class NAME ... {
        {
            std::string_view t = r;
            eatWord(t, "typedef");
            eatWord(t, "export");
            if (r.find('(') == std::string_view::npos &&
                (eatWord(t, "struct") || eatWord(t, "union") || eatWord(t, "enum") ||
                 eatWord(t, "class"))) {
                eatWord(t, "class"); // enum class
                std::string_view name = identAt(t);
                // class EXPORT_MACRO Name: skip an all-caps word followed by another name.
                std::string_view after = trimLeft(t.substr(name.size()));
                if (!name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
                        return (ch >= 'A' && ch <= 'Z') || ch == '_' || (ch >= '0' && ch <= '9');
                    }) && isIdentStart(after.empty() ? ' ' : after.front()))
                    name = identAt(after);
                const std::size_t next = s.nextNonBlank(i + 1);
                const bool opens = r.find('{') != std::string_view::npos ||
                                   (next < s.size() && trim(s.line(next)).substr(0, 1) == "{");
                if (!name.empty() && opens) s.add(out, name, DefinitionKind::Type, i);
                continue;
            }
        }
        if (r.back() == ';') continue; // a declaration or a statement
        // Functions: the identifier before the first '(' at column 0, the parameter list closed
        // within a few lines, then '{' (or ':' for a C++ constructor) before any ';'.
        const std::size_t paren = r.find('(');
        if (paren == std::string_view::npos || paren == 0) continue;
        std::size_t nameEnd = paren;
        while (nameEnd > 0 && (r[nameEnd - 1] == ' ' || r[nameEnd - 1] == '\t')) --nameEnd;
        std::size_t nameBegin = nameEnd;
        while (nameBegin > 0 && (isIdent(r[nameBegin - 1]) || r[nameBegin - 1] == ':' ||
                                 r[nameBegin - 1] == '~'))
            --nameBegin;
        std::string_view name = r.substr(nameBegin, nameEnd - nameBegin);
        while (!name.empty() && name.front() == ':') name.remove_prefix(1);
        if (name.empty() || !isIdentStart(name.front() == '~' ? 'a' : name.front()) ||
            isKeyword(name))
            continue;
        if (r.find('=') != std::string_view::npos && r.find('=') < paren) continue; // x = f(...)
        int balance = 0;
        std::size_t j = i;
        std::string_view rest;
        bool closed = false;
        for (; j < s.size() && j < i + 12 && !closed; ++j) {
            const std::string_view l = j == i ? r.substr(paren) : s.line(j);
            for (std::size_t k = 0; k < l.size(); ++k) {
                if (l[k] == '(') ++balance;
                if (l[k] == ')' && --balance == 0) {
                    rest = trim(l.substr(k + 1));
                    closed = true;
                    break;
                }
            }
            if (closed) break;
        }
        if (!closed) continue;
        bool definition = false;
        if (!rest.empty() && rest.front() == '{') definition = true; // body on the same line
        else if (rest.find(';') != std::string_view::npos) continue;
        else if (rest.find('{') != std::string_view::npos) definition = true;
        else if (cpp && !rest.empty() && rest.front() == ':') definition = true; // constructor
        else if (const std::size_t below = s.nextNonBlank(j + 1);
                 cpp && rest.empty() && below < s.size() && trim(s.line(below)).substr(0, 1) == ":")
            definition = true; // constructor, the initializers on the next line
        else if (rest.empty() || rest.find('=') == std::string_view::npos) {
            // `{` on a following line, perhaps after attribute lines such as
            // "\t__releases(vmf->ptl)".
            std::size_t next = s.nextNonBlank(j + 1);
            for (int k = 0; k < 3 && next < s.size(); ++k) {
                const std::string_view t = trim(s.line(next));
                if (t.substr(0, 1) == "{") {
                    definition = true;
                    break;
                }
                const bool attribute = !identAt(t).empty() && t.back() == ')' &&
                                       t.find(';') == std::string_view::npos;
                if (!attribute) break;
                next = s.nextNonBlank(next + 1);
            }
        }
        if (!definition) continue;
        // SYSCALL_DEFINE3(read, ...): the definition is named by the first argument.
        if (name.find("DEFINE") != std::string_view::npos && nameBegin == 0) {
            std::string_view arg = trimLeft(r.substr(paren + 1));
            if (!identAt(arg).empty()) name = identAt(arg);
        }
        // A return type alone on the line above ("static void\nfoo(int x)").
        bool typeAbove = false;
        if (nameBegin == 0 && i > 0) {
            const std::string_view up = s.line(i - 1);
            const std::string_view ut = trim(up);
            typeAbove = !up.empty() && isIdentStart(up.front()) && !ut.empty() &&
                        ut.back() != ';' && ut.back() != '}' && ut.back() != ')' &&
                        ut.back() != '{' && ut.back() != ',';
        }
        s.add(out, name, DefinitionKind::Function, i, typeAbove);
    }
}

void scanPython(const Scanner& s, std::vector<Definition>& out) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        std::string_view r = trimLeft(s.line(i));
        eatWord(r, "async");
        if (eatWord(r, "def")) s.add(out, identAt(r), DefinitionKind::Function, i, false, '#');
        else if (eatWord(r, "class")) s.add(out, identAt(r), DefinitionKind::Type, i, false, '#');
    }
}

void scanRust(const Scanner& s, std::vector<Definition>& out) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        std::string_view r = trimLeft(s.line(i));
        if (eatWord(r, "pub")) {
            if (!r.empty() && r.front() == '(') {
                const auto close = r.find(')');
                r = close == std::string_view::npos ? std::string_view{} : trimLeft(r.substr(close + 1));
            }
        }
        for (bool more = true; more;)
            more = eatWord(r, "async") || eatWord(r, "const") || eatWord(r, "unsafe") ||
                   eatWord(r, "default");
        if (eatWord(r, "extern")) {
            if (!r.empty() && r.front() == '"') {
                const auto q = r.find('"', 1);
                r = q == std::string_view::npos ? std::string_view{} : trimLeft(r.substr(q + 1));
            }
        }
        if (eatWord(r, "fn")) s.add(out, identAt(r), DefinitionKind::Function, i);
        else if (eatWord(r, "struct") || eatWord(r, "enum") || eatWord(r, "trait") ||
                 eatWord(r, "union"))
            s.add(out, identAt(r), DefinitionKind::Type, i);
        else if (eatWord(r, "impl")) {
            // impl<T> Trait for Type {: named by the type after "for", else the first type.
            if (!r.empty() && r.front() == '<') {
                int b = 0;
                std::size_t k = 0;
                for (; k < r.size(); ++k) {
                    b += r[k] == '<' ? 1 : r[k] == '>' ? -1 : 0;
                    if (b == 0) break;
                }
                r = trimLeft(r.substr(std::min(k + 1, r.size())));
            }
            const auto f = r.find(" for ");
            s.add(out, identAt(f == std::string_view::npos ? r : trimLeft(r.substr(f + 5))),
                  DefinitionKind::Type, i);
        } else if (eatWord(r, "mod") || eatWord(r, "type"))
            s.add(out, identAt(r), DefinitionKind::Other, i);
        else if (startsWith(r, "macro_rules!"))
            s.add(out, identAt(trimLeft(r.substr(12))), DefinitionKind::Macro, i);
    }
}

void scanGo(const Scanner& s, std::vector<Definition>& out) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        std::string_view r = s.line(i);
        if (eatWord(r, "func")) {
            if (!r.empty() && r.front() == '(') { // a method: func (r *T) Name(
                const auto close = r.find(')');
                r = close == std::string_view::npos ? std::string_view{} : trimLeft(r.substr(close + 1));
            }
            s.add(out, identAt(r), DefinitionKind::Function, i);
        } else if (eatWord(r, "type"))
            s.add(out, identAt(r), DefinitionKind::Type, i);
    }
}

// JavaScript and TypeScript.
void scanScript(const Scanner& s, std::vector<Definition>& out) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const std::string_view raw = s.line(i);
        std::string_view r = trimLeft(raw);
        const std::size_t indent = raw.size() - r.size();
        for (bool more = true; more;)
            more = eatWord(r, "export") || eatWord(r, "default") || eatWord(r, "declare") ||
                   eatWord(r, "abstract");
        eatWord(r, "async");
        if (eatWord(r, "function")) {
            if (!r.empty() && r.front() == '*') r = trimLeft(r.substr(1));
            s.add(out, identAt(r), DefinitionKind::Function, i);
        } else if (eatWord(r, "class") || eatWord(r, "interface") || eatWord(r, "enum"))
            s.add(out, identAt(r), DefinitionKind::Type, i);
        else if (eatWord(r, "type"))
            s.add(out, identAt(r), DefinitionKind::Other, i);
        else if (indent == 0 && (eatWord(r, "const") || eatWord(r, "let") || eatWord(r, "var"))) {
            const std::string_view name = identAt(r);
            const std::string_view v = trimLeft(r.substr(name.size()));
            if (startsWith(v, "=") && (v.find("=>") != std::string_view::npos ||
                                       v.find("function") != std::string_view::npos))
                s.add(out, name, DefinitionKind::Function, i);
        } else if (indent > 0 && indent <= 4) { // a class method: name(args) {
            eatWord(r, "static");
            eatWord(r, "async");
            const std::string_view name = identAt(r);
            const std::string_view v = r.substr(name.size());
            const std::string_view t = trim(raw);
            if (!name.empty() && !isKeyword(name) && startsWith(v, "(") && !t.empty() &&
                t.back() == '{')
                s.add(out, name, DefinitionKind::Function, i);
        }
    }
}

// Java, C#, Kotlin, Swift, PHP.
void scanManaged(const Scanner& s, std::vector<Definition>& out) {
    static constexpr std::array<std::string_view, 22> kModifiers{
        "public", "private",  "protected", "internal", "static",   "final",   "abstract", "sealed",
        "open",   "override", "virtual",   "async",    "partial",  "data",    "inline",   "native",
        "synchronized", "readonly", "unsafe", "extern", "operator", "suspend"};
    for (std::size_t i = 0; i < s.size(); ++i) {
        const std::string_view raw = s.line(i);
        std::string_view r = trimLeft(raw);
        if (raw.size() - r.size() > 8) continue;
        bool modified = false;
        for (bool more = true; more;) {
            more = false;
            for (const std::string_view m : kModifiers)
                if (eatWord(r, m)) more = modified = true;
        }
        if (eatWord(r, "class") || eatWord(r, "interface") || eatWord(r, "enum") ||
            eatWord(r, "record") || eatWord(r, "struct") || eatWord(r, "trait") ||
            eatWord(r, "object") || eatWord(r, "protocol"))
            s.add(out, identAt(r), DefinitionKind::Type, i);
        else if (eatWord(r, "fun") || eatWord(r, "func") || eatWord(r, "function"))
            s.add(out, identAt(r), DefinitionKind::Function, i);
        else if (modified) { // Java/C# method: modifiers, a type, then name(
            const std::size_t paren = r.find('(');
            const std::string_view t = trim(raw);
            if (paren == std::string_view::npos || t.empty() || t.back() == ';') continue;
            std::size_t e = paren;
            while (e > 0 && r[e - 1] == ' ') --e;
            std::size_t b = e;
            while (b > 0 && isIdent(r[b - 1])) --b;
            if (b > 0 && b < e && !isKeyword(r.substr(b, e - b)))
                s.add(out, r.substr(b, e - b), DefinitionKind::Function, i);
        }
    }
}

void scanShell(const Scanner& s, std::vector<Definition>& out) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        std::string_view r = s.line(i);
        const bool keyword = eatWord(r, "function");
        std::size_t n = 0;
        while (n < r.size() && (isIdent(r[n]) || r[n] == '-')) ++n;
        const std::string_view name = r.substr(0, n);
        const std::string_view v = trimLeft(r.substr(n));
        if (!name.empty() && (keyword || startsWith(v, "()")))
            s.add(out, name, DefinitionKind::Function, i, false, '#');
    }
}

void scanKconfig(const Scanner& s, std::vector<Definition>& out) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        std::string_view r = trimLeft(s.line(i));
        if (eatWord(r, "config") || eatWord(r, "menuconfig"))
            s.add(out, identAt(r), DefinitionKind::Other, i, false, '#');
    }
}

void scanMarkdown(const Scanner& s, std::vector<Definition>& out) {
    bool fence = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const std::string_view r = s.line(i);
        if (startsWith(r, "```") || startsWith(r, "~~~")) fence = !fence;
        if (fence || !startsWith(r, "#")) continue;
        std::size_t n = 0;
        while (n < r.size() && r[n] == '#') ++n;
        if (n > 6 || n >= r.size() || r[n] != ' ') continue;
        s.add(out, trim(r.substr(n)), DefinitionKind::Heading, i);
    }
}

// reStructuredText (and the kernel's Documentation/): a title underlined with = - ~ ^ " ' `.
void scanRst(const Scanner& s, std::vector<Definition>& out) {
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        const std::string_view title = trim(s.line(i));
        const std::string_view under = trim(s.line(i + 1));
        if (title.empty() || under.size() < 3 || under.size() < title.size()) continue;
        const char c = under.front();
        if (std::strchr("=-~^\"'`*+#", c) == nullptr) continue;
        if (!std::all_of(under.begin(), under.end(), [c](char x) { return x == c; })) continue;
        if (std::all_of(title.begin(), title.end(), [c](char x) { return x == c; })) continue;
        s.add(out, title, DefinitionKind::Heading, i);
        ++i;
    }
}

} // namespace

const char* definitionKindName(DefinitionKind kind) {
    switch (kind) {
    case DefinitionKind::Function:
        return "function";
    case DefinitionKind::Type:
        return "type";
    case DefinitionKind::Macro:
        return "macro";
    case DefinitionKind::Heading:
        return "heading";
    case DefinitionKind::Other:
        return "other";
    }
    return "other";
}

std::vector<Definition> findDefinitions(const Document& doc) {
    std::vector<Definition> out;
    if (doc.kind == DocumentKind::Pdf || doc.kind == DocumentKind::Transcript) return out;
    const Family family = familyOf(doc);
    if (family == Family::None) return out;
    const Scanner s(doc);
    switch (family) {
    case Family::C:
        scanC(s, out, doc.language != "c");
        break;
    case Family::Python:
        scanPython(s, out);
        break;
    case Family::Rust:
        scanRust(s, out);
        break;
    case Family::Go:
        scanGo(s, out);
        break;
    case Family::Script:
        scanScript(s, out);
        break;
    case Family::Managed:
        scanManaged(s, out);
        break;
    case Family::Shell:
        scanShell(s, out);
        break;
    case Family::Kconfig:
        scanKconfig(s, out);
        break;
    case Family::Markdown:
        scanMarkdown(s, out);
        break;
    case Family::Rst:
        scanRst(s, out);
        break;
    case Family::None:
        break;
    }
    return out;
}

bool hasCamelCase(std::string_view w) {
    for (std::size_t i = 1; i < w.size(); ++i)
        if (w[i] >= 'A' && w[i] <= 'Z' &&
            ((w[i - 1] >= 'a' && w[i - 1] <= 'z') || (w[i - 1] >= '0' && w[i - 1] <= '9')))
            return true;
    return false;
}

std::vector<std::string> identifierWords(std::string_view id) {
    std::vector<std::string> words;
    std::string cur;
    auto flush = [&]() {
        if (cur.size() >= 2) words.push_back(cur);
        cur.clear();
    };
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        if (!isIdent(c)) {
            flush();
            continue;
        }
        if (c == '_') {
            flush();
            continue;
        }
        // A word starts at an upper-case letter after a lower-case one or a digit
        // ("parseHttp"), and at the last capital of a run followed by lower case ("HTTPHeader").
        if (upper(c) && !cur.empty()) {
            const char prev = id[i - 1];
            const bool nextLower = i + 1 < id.size() && id[i + 1] >= 'a' && id[i + 1] <= 'z';
            if (!upper(prev) || nextLower) flush();
        }
        cur.push_back(lower(c));
    }
    flush();
    return words;
}

} // namespace folio::ingest
