// Definitions in a document: functions, types, macros and headings, found by a line scanner per
// language family. Debian 12 packages the tree-sitter library but none of its grammars, so this is
// the language-aware fallback the chunker, the retrieval index and the repository map use: it
// reads the shapes that real code bases use (K&R and Allman C, the kernel's `static int __init
// foo(void)\n{`, C++ `Class::method(`, Python `def`, Rust `fn`, Go `func (r T) Name(`, JS/TS,
// Java/C#/Kotlin, Markdown and reStructuredText headings), and misses what a parser would not: a
// definition produced by a macro is reported under the macro's first argument when the macro's
// name ends in DEFINE<n> or DECLARE (SYSCALL_DEFINE3(read, ...) defines "read").
#pragma once

#include "folio/ingest/document.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace folio::ingest {

// Stored nowhere; explicit values all the same.
enum class DefinitionKind : int {
    Function = 1,
    Type = 2, // struct, union, enum, class, trait, interface, typedef'd struct
    Macro = 3,
    Heading = 4,
    Other = 5, // a Kconfig symbol, a Go/Rust type alias, a module
};

const char* definitionKindName(DefinitionKind kind);

struct Definition {
    std::string name; // as written: "pick_next_task_fair", "Tokenizer::encode", "Installation"
    DefinitionKind kind = DefinitionKind::Function;
    int line = 0;          // 1-based line that names it
    int startLine = 0;     // 1-based first line of it with its leading comment and attributes
    std::size_t begin = 0; // byte offset in Document::text of startLine
};

// The definitions of a code or prose document in line order (empty for PDFs and transcripts, and
// for languages the scanner does not know).
std::vector<Definition> findDefinitions(const Document& doc);

// An identifier's words, lower-cased: "pick_next_task_fair" -> pick next task fair,
// "parseHTTPHeader" -> parse http header, "Tokenizer::encode" -> tokenizer encode. Words shorter
// than 2 characters are dropped.
std::vector<std::string> identifierWords(std::string_view identifier);

// Whether an identifier changes case inside a word ("parseHeader", "utf8Decode"; not "HTTP").
bool hasCamelCase(std::string_view identifier);

} // namespace folio::ingest
