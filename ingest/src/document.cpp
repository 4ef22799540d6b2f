#include "folio/ingest/document.h"

#include <cstring>

namespace folio::ingest {

int Document::lineCount() const {
    if (text.empty()) return 0;
    // memchr is vectorised in libc; std::count is not at -O2.
    std::ptrdiff_t newlines = 0;
    const char* p = text.data();
    const char* end = p + text.size();
    while (const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
        ++newlines;
        p = static_cast<const char*>(hit) + 1;
    }
    return static_cast<int>(newlines + (text.back() == '\n' ? 0 : 1));
}

const char* documentKindName(DocumentKind kind) {
    switch (kind) {
    case DocumentKind::Code:
        return "code";
    case DocumentKind::Prose:
        return "prose";
    case DocumentKind::Pdf:
        return "pdf";
    case DocumentKind::Transcript:
        return "transcript";
    }
    return "unknown";
}

const char* skipReasonName(SkipReason reason) {
    switch (reason) {
    case SkipReason::GitIgnored:
        return "gitignored";
    case SkipReason::FolioIgnored:
        return "folioignored";
    case SkipReason::Binary:
        return "binary";
    case SkipReason::TooLarge:
        return "too large";
    case SkipReason::Generated:
        return "generated";
    case SkipReason::Vendored:
        return "vendored";
    case SkipReason::LockFile:
        return "lock file";
    case SkipReason::LfsPointer:
        return "LFS pointer";
    case SkipReason::Submodule:
        return "submodule";
    case SkipReason::Symlink:
        return "symlink";
    case SkipReason::Unreadable:
        return "unreadable";
    case SkipReason::Encrypted:
        return "encrypted";
    case SkipReason::Damaged:
        return "damaged";
    case SkipReason::Empty:
        return "empty";
    case SkipReason::Unsupported:
        return "unsupported";
    case SkipReason::OverBudget:
        return "over budget";
    case SkipReason::Deleted:
        return "deleted";
    }
    return "unknown";
}

} // namespace folio::ingest
