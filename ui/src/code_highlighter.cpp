#include "code_highlighter.h"

#include <QGuiApplication>
#include <QPalette>
#include <QStringList>
#include <QTextBlock>
#include <QTextBlockFormat>

namespace folio::ui {

namespace {

// One list for C/C++, Python, JavaScript/TypeScript, Rust and Go: a word that is a keyword in one
// of them is rarely an ordinary identifier in another, and one list keeps fences without a
// language readable.
const char* const kKeywords[] = {
    // C and C++
    "alignas",
    "alignof",
    "asm",
    "auto",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char8_t",
    "char16_t",
    "char32_t",
    "class",
    "co_await",
    "co_return",
    "co_yield",
    "concept",
    "const",
    "consteval",
    "constexpr",
    "constinit",
    "const_cast",
    "continue",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "final",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "nullptr",
    "operator",
    "override",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    // Python
    "and",
    "as",
    "assert",
    "async",
    "await",
    "def",
    "del",
    "elif",
    "except",
    "False",
    "finally",
    "from",
    "global",
    "import",
    "in",
    "is",
    "lambda",
    "None",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "True",
    "with",
    "yield",
    "self",
    "print",
    // JavaScript / TypeScript
    "let",
    "var",
    "function",
    "typeof",
    "instanceof",
    "undefined",
    "null",
    "of",
    "extends",
    "super",
    "implements",
    "interface",
    "readonly",
    "declare",
    // Rust
    "fn",
    "mut",
    "impl",
    "trait",
    "pub",
    "crate",
    "mod",
    "use",
    "match",
    "loop",
    "where",
    "dyn",
    "move",
    "ref",
    "Self",
    "unsafe",
    "type",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "f32",
    "f64",
    "usize",
    "isize",
    "str",
    "Some",
    "Ok",
    "Err",
    // Go
    "func",
    "package",
    "go",
    "defer",
    "chan",
    "map",
    "select",
    "range",
    "fallthrough",
    "nil",
};

const char* const kDirectives[] = {"include", "define", "undef",   "if",      "ifdef", "ifndef",
                                   "elif",    "else",   "endif",   "pragma",  "error", "warning",
                                   "line",    "import", "elifdef", "elifndef"};

bool isIdentStart(QChar c) {
    return c.isLetter() || c == u'_';
}
bool isIdentChar(QChar c) {
    return c.isLetterOrNumber() || c == u'_';
}

// Index just past the string literal that opens at `start` (the quote), or -1 when the line ends
// before the closing quote.
int stringEnd(const QString& text, int start) {
    const QChar quote = text[start];
    const int n = static_cast<int>(text.size());
    for (int i = start + 1; i < n; ++i) {
        if (text[i] == u'\\') {
            ++i;
            continue;
        }
        if (text[i] == quote) return i + 1;
    }
    return -1;
}

} // namespace

CodeHighlighter::CodeHighlighter(QTextDocument* document, Mode mode)
    : QSyntaxHighlighter(document), mode_(mode) {
    for (const char* k : kKeywords) keywords_.insert(QString::fromLatin1(k));
    setPalette(QGuiApplication::palette());
}

void CodeHighlighter::setMode(Mode mode) {
    if (mode == mode_) return;
    mode_ = mode;
    rehighlight();
}

void CodeHighlighter::setLanguage(const QString& language) {
    if (language == language_) return;
    language_ = language;
    rehighlight();
}

void CodeHighlighter::setPalette(const QPalette& palette) {
    // Two hand-picked sets, chosen by how light the text background is: colours that read on
    // white are too dark on a dark theme and the other way round.
    const bool dark = palette.color(QPalette::Base).lightness() < 128;
    keyword_ = {};
    string_ = {};
    number_ = {};
    comment_ = {};
    directive_ = {};
    keyword_.setForeground(dark ? QColor(0xc6, 0x78, 0xdd) : QColor(0x00, 0x33, 0xb3));
    string_.setForeground(dark ? QColor(0x98, 0xc3, 0x79) : QColor(0x06, 0x7d, 0x17));
    number_.setForeground(dark ? QColor(0xd1, 0x9a, 0x66) : QColor(0x17, 0x50, 0xeb));
    comment_.setForeground(dark ? QColor(0x8b, 0x92, 0x9e) : QColor(0x8c, 0x8c, 0x8c));
    comment_.setFontItalic(true);
    directive_.setForeground(dark ? QColor(0xe5, 0xc0, 0x7b) : QColor(0x9e, 0x88, 0x0d));
    if (document()) rehighlight();
}

bool CodeHighlighter::isCodeBlock(const QTextBlock& block) {
    const QTextBlockFormat f = block.blockFormat();
    return f.hasProperty(QTextFormat::BlockCodeFence) ||
           f.hasProperty(QTextFormat::BlockCodeLanguage) || f.nonBreakableLines();
}

CodeHighlighter::CommentStyle CodeHighlighter::commentStyleFor(const QString& language) {
    static const QStringList hashOnly = {
        "python", "py",       "sh", "bash",   "shell", "zsh",        "ruby",
        "rb",     "perl",     "pl", "yaml",   "yml",   "toml",       "cmake",
        "make",   "makefile", "r",  "conf",   "ini",   "dockerfile", "powershell",
        "ps1",    "julia",    "jl", "elixir", "ex",    "nim",        "tcl"};
    static const QStringList slashOnly = {
        "c",          "cpp",    "c++",  "cc",         "cxx",  "h",           "hpp",   "hh",
        "hxx",        "cu",     "cuh",  "cuda",       "objc", "objective-c", "java",  "js",
        "javascript", "jsx",    "ts",   "typescript", "tsx",  "rust",        "rs",    "go",
        "golang",     "kotlin", "kt",   "swift",      "cs",   "csharp",      "scala", "dart",
        "php",        "glsl",   "hlsl", "proto",      "zig",  "json",        "jsonc"};
    const QString lang = language.trimmed().toLower();
    CommentStyle style;
    if (hashOnly.contains(lang))
        style.slash = false;
    else if (slashOnly.contains(lang))
        style.hash = false;
    return style;
}

void CodeHighlighter::highlightBlock(const QString& text) {
    setCurrentBlockState(Normal);
    QString lang = language_;
    if (mode_ == Mode::FencedBlocksOnly) {
        const QTextBlock block = currentBlock();
        if (!isCodeBlock(block)) return;
        const QString fenceLang =
            block.blockFormat().stringProperty(QTextFormat::BlockCodeLanguage);
        if (!fenceLang.isEmpty()) lang = fenceLang;
    }
    const CommentStyle style = commentStyleFor(lang);
    const bool rust = lang.compare(QLatin1String("rust"), Qt::CaseInsensitive) == 0 ||
                      lang.compare(QLatin1String("rs"), Qt::CaseInsensitive) == 0;
    const int n = static_cast<int>(text.size());
    int i = 0;

    // A /* comment */ that began on an earlier line.
    if (style.slash && previousBlockState() == InBlockComment) {
        const int close = static_cast<int>(text.indexOf(QLatin1String("*/")));
        if (close < 0) {
            setFormat(0, n, comment_);
            setCurrentBlockState(InBlockComment);
            return;
        }
        setFormat(0, close + 2, comment_);
        i = close + 2;
    }

    // C preprocessor: '#' as the first non-blank of the line followed by a directive word.
    if (style.slash && i == 0) {
        int p = 0;
        while (p < n && text[p].isSpace()) ++p;
        if (p < n && text[p] == u'#') {
            int w = p + 1;
            while (w < n && text[w].isSpace()) ++w;
            int e = w;
            while (e < n && isIdentChar(text[e])) ++e;
            const QString word = text.mid(w, e - w);
            bool directive = false;
            for (const char* d : kDirectives) directive = directive || word == QLatin1String(d);
            if (directive) {
                setFormat(p, e - p, directive_);
                i = e;
                // #include <header> reads as a string.
                int a = e;
                while (a < n && text[a].isSpace()) ++a;
                if (word == QLatin1String("include") && a < n && text[a] == u'<') {
                    const int close = static_cast<int>(text.indexOf(u'>', a));
                    if (close > a) {
                        setFormat(a, close + 1 - a, string_);
                        i = close + 1;
                    }
                }
            }
        }
    }

    while (i < n) {
        const QChar c = text[i];
        const QChar next = i + 1 < n ? text[i + 1] : QChar();
        if (style.slash && c == u'/' && next == u'/') {
            setFormat(i, n - i, comment_);
            return;
        }
        if (style.slash && c == u'/' && next == u'*') {
            const int close = static_cast<int>(text.indexOf(QLatin1String("*/"), i + 2));
            if (close < 0) {
                setFormat(i, n - i, comment_);
                setCurrentBlockState(InBlockComment);
                return;
            }
            setFormat(i, close + 2 - i, comment_);
            i = close + 2;
            continue;
        }
        if (style.hash && c == u'#') {
            setFormat(i, n - i, comment_);
            return;
        }
        if (c == u'"' || c == u'\'' || c == u'`') {
            // Rust lifetimes ('a) are not character literals.
            if (rust && c == u'\'' && isIdentStart(next) && (i + 2 >= n || text[i + 2] != u'\'')) {
                ++i;
                continue;
            }
            const int end = stringEnd(text, i);
            if (end < 0) {
                // An unterminated double-quoted string runs to the end of the line; a lone quote
                // (an apostrophe in a comment-less line, a C++14 digit separator) is left alone.
                if (c == u'\'') {
                    ++i;
                    continue;
                }
                setFormat(i, n - i, string_);
                return;
            }
            setFormat(i, end - i, string_);
            i = end;
            continue;
        }
        if (c.isDigit() || (c == u'.' && next.isDigit())) {
            int e = i + 1;
            while (e < n) {
                const QChar d = text[e];
                if (isIdentChar(d) || d == u'.' || d == u'\'') {
                    ++e;
                } else if ((d == u'+' || d == u'-') &&
                           (text[e - 1] == u'e' || text[e - 1] == u'E') &&
                           !text.mid(i, 2).startsWith(QLatin1String("0x"), Qt::CaseInsensitive)) {
                    ++e; // exponent sign: 1e-5
                } else {
                    break;
                }
            }
            setFormat(i, e - i, number_);
            i = e;
            continue;
        }
        if (isIdentStart(c)) {
            int e = i + 1;
            while (e < n && isIdentChar(text[e])) ++e;
            if (keywords_.contains(text.mid(i, e - i))) setFormat(i, e - i, keyword_);
            i = e;
            continue;
        }
        ++i;
    }
}

} // namespace folio::ui
