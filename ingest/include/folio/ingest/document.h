// The unit of ingestion: one document (a source file, a PDF, a transcript) as normalised UTF-8 text
// with the anchors a citation can point at, and the files that were left out with their reasons.
//
// Text is always UTF-8 with LF line endings and no BOM. Line numbers are 1-based and equal the line
// numbers of the file on disk (CRLF -> LF and BOM removal do not move lines). Byte offsets are into
// Document::text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace folio::ingest {

// Stored on disk (documents.kind): explicit values, never renumber.
enum class DocumentKind : int {
    Code = 1,       // source code and other line-oriented text in a repository or folder
    Prose = 2,      // plain text and Markdown read as a document
    Pdf = 3,        // text per page, from Poppler
    Transcript = 4, // cues with timestamps and speakers
};

const char* documentKindName(DocumentKind kind);

// One PDF page: its label as the document names it ("xii", "212"), or the 1-based index when the
// PDF has no labels.
struct Page {
    int index = 0; // 0-based page index in the file
    std::string label;
    std::size_t begin = 0; // byte range in Document::text
    std::size_t end = 0;
    bool hasText = true; // false: no text layer (a scan, or an image-only page)
};

// One transcript cue (an SRT/VTT cue, a Whisper segment, a timestamped paragraph).
struct Cue {
    std::int64_t startMs = 0;
    std::int64_t endMs = -1; // -1 when the format gives no end (timestamped text)
    std::string speaker;     // empty when unknown
    std::size_t begin = 0;   // byte range in Document::text
    std::size_t end = 0;
    int sourceLine = 0; // first line of the cue in the original file (1-based)
    int sourceLastLine = 0;
};

struct Document {
    std::string source; // the name of the source it came from (repository or file name)
    std::string path;   // the citation key: repository-relative path, or the file name
    std::string title;  // PDFs: the Title metadata when present; else equals path
    DocumentKind kind = DocumentKind::Code;
    std::string language;           // "cpp", "markdown", "srt"... (from the file name)
    std::string text;               // normalised UTF-8, LF
    std::vector<std::string> notes; // decoding notes ("decoded as Latin-1 ..."), scanned pages...
    std::vector<Page> pages;        // PDFs only
    std::vector<Cue> cues;          // transcripts only
    std::uint64_t byteSize = 0;     // size of the file as stored (before decoding)
    // Ordering key for prefix reuse: larger means changed more recently. For repositories it is the
    // position of the last commit that touched the file in the first-parent history (oldest = 1);
    // uncommitted changes rank above every commit. Standalone files rank 0.
    std::int64_t changeRank = 0;
    std::int64_t lastCommitTime = 0; // seconds since epoch; 0 when unknown
    std::string lastCommit;          // hex id of that commit; empty when unknown or uncommitted

    int lineCount() const;
};

// Why a file was left out. Stored on disk (skipped.reason): explicit values, never renumber.
enum class SkipReason : int {
    GitIgnored = 1,
    FolioIgnored = 2,
    Binary = 3,
    TooLarge = 4,
    Generated = 5,
    Vendored = 6,
    LockFile = 7,
    LfsPointer = 8,
    Submodule = 9,
    Symlink = 10,
    Unreadable = 11,
    Encrypted = 12,
    Damaged = 13,
    Empty = 14,
    Unsupported = 15,
    OverBudget = 16,
    Deleted = 17,
};

const char* skipReasonName(SkipReason reason);

struct SkippedFile {
    std::string path;
    SkipReason reason = SkipReason::Unsupported;
    std::string detail; // human-readable specifics ("3.2 MiB > 1 MiB cap", "-> /etc/passwd")
};

struct Submodule {
    std::string path;
    std::string url;
    std::string commit; // the gitlink's commit id
    bool followed = false;
};

// Everything one source contributed.
struct SourceResult {
    std::string name;        // display name (repository folder name, file name)
    std::string location;    // absolute path on disk
    std::string kindName;    // "git repository", "PDF", ...
    std::string description; // e.g. "working tree of main at 1a2b3c4d5e6f"
    std::vector<Document> documents;
    std::vector<SkippedFile> skipped;
    std::vector<Submodule> submodules;
    std::string error; // non-empty when the whole source failed (missing path, not a repository)
    std::vector<std::string> warnings; // read, but not all of it as asked ("... status ...")
};

} // namespace folio::ingest
