#include "folio/ingest/context_format.h"

#include "folio/ingest/transcript_parser.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace folio::ingest {

namespace {

std::string pageLabelAt(const Document& doc, std::size_t offset) {
    for (const Page& p : doc.pages)
        if (offset >= p.begin && offset < p.end) return p.label;
    return doc.pages.empty() ? std::string("?") : doc.pages.back().label;
}

bool renderedTranscript(const Document& doc) {
    return doc.kind == DocumentKind::Transcript && doc.language != "timestamped-text";
}

std::string duration(const Document& doc) {
    std::int64_t last = 0;
    for (const Cue& c : doc.cues) last = std::max(last, std::max(c.startMs, c.endMs));
    return formatTimestamp(last);
}

} // namespace

void appendAnchoredLines(std::string& out, const std::string& text, std::size_t begin,
                         std::size_t end, int firstLine, int every) {
    if (begin >= end) return;
    if (every <= 0) {
        out.append(text, begin, end - begin);
        if (out.back() != '\n') out.push_back('\n');
        return;
    }
    out.reserve(out.size() + (end - begin) + (end - begin) / 64 + 16);
    int line = firstLine;
    std::size_t pos = begin;
    char num[16];
    while (pos < end) {
        // Anchor this line, then copy it and the lines up to the next anchor in one append.
        char* numEnd = std::to_chars(num, num + sizeof num - 1, line).ptr;
        *numEnd++ = '|';
        out.append(num, static_cast<std::size_t>(numEnd - num));
        const int untilNext = line == firstLine ? every - ((line - 1) % every) : every;
        std::size_t stop = pos;
        for (int k = 0; k < untilNext && stop < end; ++k) {
            const auto* nlp =
                static_cast<const char*>(std::memchr(text.data() + stop, '\n', end - stop));
            stop = nlp ? static_cast<std::size_t>(nlp - text.data()) + 1 : end;
            ++line;
        }
        out.append(text, pos, stop - pos);
        pos = stop;
    }
    if (out.back() != '\n') out.push_back('\n');
}

std::string framePreamble(const std::vector<SourceResult>& sources, bool manifestFirst) {
    std::string s = "<<<FOLIO CONTEXT v" + std::to_string(kContextFormatVersion) + ">>>\nSources:";
    for (std::size_t i = 0; i < sources.size(); ++i) {
        s += i ? "; " : " ";
        s += sources[i].name + " (" + sources[i].kindName + ")";
    }
    s +=
        "\nEach file starts with a <<<...>>> line. In code and text a line that starts with \"N|\" "
        "is line N; count on from it. Cite as [path:N] or [path:N-M], PDFs as [title p. N], "
        "transcripts as [name hh:mm:ss]. The manifest ";
    s += manifestFirst ? "below" : "at the end";
    s += " summarises, folder by folder, what is included and what was left out.\n\n";
    return s;
}

std::string frameDocument(const Document& doc, int anchorEvery) {
    return frameDocument(doc, anchorEvery, doc.lineCount());
}

std::string frameDocument(const Document& doc, int anchorEvery, int lineCount) {
    std::string out;
    switch (doc.kind) {
    case DocumentKind::Pdf: {
        out = "<<<PDF " + doc.path;
        if (doc.title != doc.path) out += ": \"" + doc.title + "\"";
        out += " (" + std::to_string(doc.pages.size()) + " pages)>>>\n";
        for (const Page& p : doc.pages) {
            out += "<<<p. " + p.label + (p.hasText ? ">>>\n" : ": no text layer>>>\n");
            out.append(doc.text, p.begin, p.end - p.begin);
        }
        break;
    }
    case DocumentKind::Transcript:
        out = "<<<TRANSCRIPT " + doc.path + " (" + duration(doc) + ", " +
              std::to_string(doc.cues.size()) + " cues)>>>\n";
        appendAnchoredLines(out, doc.text, 0, doc.text.size(), 1,
                            renderedTranscript(doc) ? 0 : anchorEvery);
        break;
    case DocumentKind::Code:
    case DocumentKind::Prose:
        out = "<<<FILE " + doc.path + " (" + std::to_string(lineCount) + " lines)>>>\n";
        appendAnchoredLines(out, doc.text, 0, doc.text.size(), 1, anchorEvery);
        break;
    }
    out.push_back('\n');
    return out;
}

std::string frameExcerpt(const Document& doc, const Chunk& chunk, int anchorEvery) {
    std::string out;
    switch (doc.kind) {
    case DocumentKind::Pdf:
        out = "<<<PDF " + doc.path + " p. " + pageLabelAt(doc, chunk.begin) + ", excerpt>>>\n";
        out.append(doc.text, chunk.begin, chunk.end - chunk.begin);
        break;
    case DocumentKind::Transcript: {
        std::int64_t from = 0, to = 0;
        for (const Cue& c : doc.cues) {
            if (c.begin == chunk.begin) from = c.startMs;
            if (c.begin >= chunk.begin && c.begin < chunk.end) to = std::max(c.startMs, c.endMs);
        }
        out = "<<<TRANSCRIPT " + doc.path + " " + formatTimestamp(from) + "-" +
              formatTimestamp(to) + ", excerpt>>>\n";
        appendAnchoredLines(out, doc.text, chunk.begin, chunk.end, chunk.firstLine,
                            renderedTranscript(doc) ? 0 : anchorEvery);
        break;
    }
    case DocumentKind::Code:
    case DocumentKind::Prose:
        out = "<<<FILE " + doc.path + " lines " + std::to_string(chunk.firstLine) + "-" +
              std::to_string(chunk.lastLine) + " of " + std::to_string(doc.lineCount()) + ">>>\n";
        appendAnchoredLines(out, doc.text, chunk.begin, chunk.end, chunk.firstLine, anchorEvery);
        break;
    }
    if (out.back() != '\n') out.push_back('\n');
    out.push_back('\n');
    return out;
}

} // namespace folio::ingest
