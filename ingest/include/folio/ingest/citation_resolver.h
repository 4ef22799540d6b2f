// Maps citations in model output back to exact source spans, so the app can jump there and mark
// the ones that do not resolve.
//
// Recognised forms (inside [...], several separated by ';' or ','):
//   code/text    src/x.cpp:120   src/x.cpp:120-134   src/x.cpp:L120-L134   src/x.cpp#L120
//                src/x.cpp lines 120–134   src/x.cpp, line 120   src/x.cpp (whole file)
//   PDF          moby-dick.pdf p. 212   Moby Dick, p.212   moby-dick.pdf pp. 12-14   book.pdf page
//   xii transcript   keynote.vtt 00:41:07   keynote.vtt @ 41:07   keynote.vtt, 0:41:07.5   a.srt
//   00:01:00-00:02:00
// The name may be the full path, a path suffix, the file name, the PDF title, or prefixed with the
// source name; case is ignored when nothing matches exactly. An ambiguous name, a line past the
// end, an unknown page label or a time outside the transcript does not resolve, with the reason.
#pragma once

#include "folio/ingest/document.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace folio::ingest {

enum class CitationKind : int { Document = 0, Lines = 1, Page = 2, Time = 3 };

struct Citation {
    std::size_t offset = 0, length = 0; // where it is in the scanned text (the bracketed part)
    std::string text;                   // the citation as written, without brackets
    CitationKind kind = CitationKind::Document;
    bool resolved = false;
    std::string error; // why it did not resolve
    // The span, when resolved:
    std::size_t document = 0;        // index in the resolver's document list
    std::string path;                // the document's path
    int firstLine = 0, lastLine = 0; // 1-based lines of Document::text (= lines of the file on disk
                                     // for code and text; for SRT/VTT the cue's lines in the file)
    std::size_t beginByte = 0, endByte = 0; // in Document::text
    std::string pageLabel;                  // PDFs
    int pageIndex = -1, lastPageIndex = -1;
    std::int64_t startMs = -1, endMs = -1; // transcripts: the cue(s) the time falls in
};

class CitationResolver {
public:
    CitationResolver() = default;
    explicit CitationResolver(const std::vector<Document>& documents);

    // Every bracketed citation in `output`, in order. Brackets that do not look like a citation at
    // all (footnote numbers, Markdown links, code such as a[i]) are not reported.
    std::vector<Citation> scan(std::string_view output) const;

    // One citation, without the brackets.
    Citation resolve(std::string_view citation) const;

private:
    struct Entry {
        std::string path, title, source, lowerPath, lowerTitle;
        DocumentKind kind;
        std::vector<std::size_t> lineStarts;
        std::size_t textSize = 0;
        std::vector<Page> pages;
        std::vector<Cue> cues;
    };
    // Index of the document named `name`, or -1 with *error set.
    long find(std::string_view name, std::string* error) const;
    void spanLines(Citation& c, const Entry& e, int first, int last) const;
    std::vector<Entry> entries_;
};

} // namespace folio::ingest
