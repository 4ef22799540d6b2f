#include "folio/ingest/context_format.h"

#include "folio/ingest/transcript_parser.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

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
    std::string s = "<<<FOLIO CONTEXT v1>>>\nSources:";
    for (std::size_t i = 0; i < sources.size(); ++i) {
        s += i ? "; " : " ";
        s += sources[i].name + " (" + sources[i].kindName + ")";
    }
    s +=
        "\nEach file starts with a <<<...>>> line. In code and text a line that starts with \"N|\" "
        "is line N; count on from it. Cite as [path:N] or [path:N-M], PDFs as [title p. N], "
        "transcripts as [name hh:mm:ss]. The manifest ";
    s += manifestFirst ? "below" : "at the end";
    s += " lists what is included and what was left out.\n\n";
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

std::string frameManifest(const ManifestInput& in) {
    std::string s = "<<<MANIFEST>>>\n";
    const auto& sources = *in.sources;
    const auto& docs = *in.documents;
    for (std::size_t si = 0; si < sources.size(); ++si) {
        const SourceResult& src = sources[si];
        std::vector<std::string> whole, excerpts, dropped;
        for (std::size_t d = 0; d < docs.size(); ++d) {
            if ((*in.documentSource)[d] != si) continue;
            const int inc = (*in.inclusion)[d];
            (inc == 2 ? whole : inc == 1 ? excerpts : dropped).push_back(docs[d].path);
        }
        for (auto* v : {&whole, &excerpts, &dropped}) std::sort(v->begin(), v->end());
        s += "Source " + src.name + ": " + src.kindName;
        if (!src.description.empty()) s += ", " + src.description;
        s += ". " + std::to_string(whole.size()) + " whole";
        if (!excerpts.empty()) s += ", " + std::to_string(excerpts.size()) + " in excerpts";
        if (!dropped.empty()) s += ", " + std::to_string(dropped.size()) + " over the token budget";
        s += ", " + std::to_string(src.skipped.size()) + " left out.\n";
        if (!src.error.empty()) s += "Error: " + src.error + "\n";
        auto list = [&](const char* title, const std::vector<std::string>& paths) {
            if (paths.empty()) return;
            s += title;
            for (std::size_t i = 0; i < paths.size() && i < in.maxListed; ++i)
                s += (i ? ", " : " ") + paths[i];
            if (paths.size() > in.maxListed)
                s += ", and " + std::to_string(paths.size() - in.maxListed) + " more";
            s += "\n";
        };
        list("Included:", whole);
        list("Excerpts only:", excerpts);
        list("Over the token budget:", dropped);
        if (!src.skipped.empty()) {
            // Counts by reason (std::map: a stable order), then the files.
            std::map<std::string, std::size_t> byReason;
            for (const SkippedFile& f : src.skipped) ++byReason[skipReasonName(f.reason)];
            s += "Left out:";
            bool first = true;
            for (const auto& [reason, n] : byReason) {
                s += (first ? " " : ", ") + std::to_string(n) + " " + reason;
                first = false;
            }
            s += "\n";
            for (std::size_t i = 0; i < src.skipped.size() && i < in.maxListed; ++i) {
                const SkippedFile& f = src.skipped[i];
                s += "- " + f.path + ": " + skipReasonName(f.reason) +
                     (f.detail.empty() ? "" : " (" + f.detail + ")") + "\n";
            }
            if (src.skipped.size() > in.maxListed)
                s += "- and " + std::to_string(src.skipped.size() - in.maxListed) + " more\n";
        }
        for (const Document& d : docs)
            if (&d - docs.data() >= 0 &&
                (*in.documentSource)[static_cast<std::size_t>(&d - docs.data())] == si)
                for (const std::string& note : d.notes)
                    if (note.find("Latin-1") != std::string::npos ||
                        note.find("text layer") != std::string::npos)
                        s += "Note: " + d.path + ": " + note + "\n";
    }
    s += "<<<END OF CONTEXT>>>\n";
    return s;
}

} // namespace folio::ingest
