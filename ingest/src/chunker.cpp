#include "folio/ingest/chunker.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace folio::ingest {

namespace {

struct Line {
    std::size_t begin, end; // end includes the '\n'
    bool blank;
    bool topLevel; // starts at column 0 with a non-space, non-closing character
};

std::vector<Line> linesOf(const std::string& text, std::size_t from, std::size_t to) {
    std::vector<Line> lines;
    std::size_t pos = from;
    while (pos < to) {
        const auto* nlp = static_cast<const char*>(std::memchr(text.data() + pos, '\n', to - pos));
        const std::size_t end = nlp ? static_cast<std::size_t>(nlp - text.data()) + 1 : to;
        bool blank = true;
        for (std::size_t i = pos; i < end; ++i) {
            const char c = text[i];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                blank = false;
                break;
            }
        }
        const char first = pos < end ? text[pos] : '\n';
        const bool top =
            !blank && first != ' ' && first != '\t' && first != '}' && first != ')' && first != '#';
        lines.push_back({pos, end, blank, top});
        pos = end;
    }
    return lines;
}

int lineNumberAt(const std::string& text, std::size_t offset, std::size_t hintOffset,
                 int hintLine) {
    return hintLine +
           static_cast<int>(std::count(text.begin() + static_cast<std::ptrdiff_t>(hintOffset),
                                       text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// Cuts [from, to) of a line-oriented text. `code` prefers top-level boundaries.
void chunkLines(const Document& doc, std::size_t docIndex, std::size_t from, std::size_t to,
                int firstLine, bool code, const ChunkOptions& o, std::vector<Chunk>& out) {
    const std::vector<Line> lines = linesOf(doc.text, from, to);
    std::size_t start = 0; // index of the first line of the current chunk
    int startLine = firstLine;
    auto emit = [&](std::size_t endLine) { // exclusive
        if (endLine <= start) return;
        Chunk c;
        c.document = docIndex;
        c.begin = lines[start].begin;
        c.end = lines[endLine - 1].end;
        c.firstLine = startLine;
        c.lastLine = startLine + static_cast<int>(endLine - start) - 1;
        out.push_back(c);
        startLine = c.lastLine + 1;
        start = endLine;
    };
    std::size_t best = 0; // best cut (exclusive end line) seen in the current chunk
    int bestScore = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t size = lines[i].end - lines[start].begin;
        // A cut after line i: blank line i followed by a top-level line scores highest for code.
        int score = 0;
        if (lines[i].blank) score = 2;
        if (lines[i].blank && code && i + 1 < lines.size() && lines[i + 1].topLevel) score = 3;
        if (!code && lines[i].blank) score = 3;
        if (size >= o.targetBytes / 2 && score >= bestScore && score > 0) {
            best = i + 1;
            bestScore = score;
        }
        if (size >= o.targetBytes && score == 3) {
            emit(i + 1);
            best = 0;
            bestScore = 0;
        } else if (size >= o.maxBytes) {
            emit(best > start ? best : i + 1);
            best = 0;
            bestScore = 0;
        }
    }
    emit(lines.size());
}

// Cuts at definition starts: each definition and what follows it up to the next is a unit (the
// text before the first is one too); units are grouped while the chunk stays within targetBytes,
// and a unit over maxBytes is cut by chunkLines.
void chunkDefinitions(const Document& doc, std::size_t docIndex, const std::vector<Definition>& defs,
                      const ChunkOptions& o, std::vector<Chunk>& out) {
    const std::string& text = doc.text;
    // Unit starts (byte offset, line), strictly increasing, ending with the end of the text.
    std::vector<std::pair<std::size_t, int>> starts{{0, 1}};
    for (const Definition& d : defs)
        if (d.begin > starts.back().first && d.begin < text.size())
            starts.emplace_back(d.begin, d.startLine);
    auto linesIn = [&](std::size_t b, std::size_t e) {
        return static_cast<int>(std::count(text.begin() + static_cast<std::ptrdiff_t>(b),
                                           text.begin() + static_cast<std::ptrdiff_t>(e), '\n'));
    };
    std::size_t curBegin = 0;
    int curLine = 1;
    auto emit = [&](std::size_t end, int nextLine) {
        if (end <= curBegin) return;
        Chunk c;
        c.document = docIndex;
        c.begin = curBegin;
        c.end = end;
        c.firstLine = curLine;
        c.lastLine = nextLine - 1;
        if (c.lastLine < c.firstLine) c.lastLine = c.firstLine;
        out.push_back(c);
        curBegin = end;
        curLine = nextLine;
    };
    for (std::size_t u = 0; u < starts.size(); ++u) {
        const std::size_t ub = starts[u].first;
        const std::size_t ue = u + 1 < starts.size() ? starts[u + 1].first : text.size();
        const int nextLine = u + 1 < starts.size() ? starts[u + 1].second
                                                   : starts[u].second + linesIn(ub, ue) +
                                                         (ue > ub && text[ue - 1] != '\n' ? 1 : 0);
        // Close the chunk before this unit when the unit would take it past the target.
        if (ub > curBegin && ue - curBegin > o.targetBytes) emit(ub, starts[u].second);
        if (ue - curBegin > o.maxBytes) {
            chunkLines(doc, docIndex, curBegin, ue, curLine, doc.kind == DocumentKind::Code, o, out);
            curBegin = ue;
            curLine = nextLine;
        } else if (u + 1 == starts.size()) {
            emit(ue, nextLine);
        }
    }
}

} // namespace

std::vector<Chunk> chunkDocument(const Document& doc, std::size_t documentIndex,
                                 const ChunkOptions& options,
                                 const std::vector<Definition>* definitions) {
    std::vector<Chunk> out;
    if (doc.kind == DocumentKind::Pdf) {
        int line = 1;
        std::size_t lineAt = 0;
        for (const Page& p : doc.pages) {
            if (p.end <= p.begin) continue;
            const int first = lineNumberAt(doc.text, p.begin, lineAt, line);
            line = first;
            lineAt = p.begin;
            chunkLines(doc, documentIndex, p.begin, p.end, first, false, options, out);
        }
    } else if (doc.kind == DocumentKind::Transcript && !doc.cues.empty()) {
        std::size_t i = 0;
        int line = 1;
        std::size_t lineAt = 0;
        while (i < doc.cues.size()) {
            Chunk c;
            c.document = documentIndex;
            c.begin = doc.cues[i].begin;
            std::size_t j = i;
            while (j < doc.cues.size() &&
                   (j == i || doc.cues[j].end - c.begin <= options.targetBytes))
                ++j;
            c.end = doc.cues[j - 1].end;
            c.firstLine = lineNumberAt(doc.text, c.begin, lineAt, line);
            c.lastLine = lineNumberAt(doc.text, c.end > 0 ? c.end - 1 : 0, c.begin, c.firstLine);
            line = c.firstLine;
            lineAt = c.begin;
            out.push_back(c);
            i = j;
        }
    } else {
        std::vector<Definition> found;
        if (!definitions) {
            found = findDefinitions(doc);
            definitions = &found;
        }
        if (!definitions->empty())
            chunkDefinitions(doc, documentIndex, *definitions, options, out);
        else
            chunkLines(doc, documentIndex, 0, doc.text.size(), 1, doc.kind == DocumentKind::Code,
                       options, out);
    }
    for (std::size_t k = 0; k < out.size(); ++k) out[k].ordinal = static_cast<int>(k);
    return out;
}

std::vector<Chunk> chunkDocuments(const std::vector<Document>& docs, const ChunkOptions& options,
                                  const std::vector<std::vector<Definition>>* definitions) {
    std::vector<Chunk> all;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        auto chunks = chunkDocument(docs[i], i, options, definitions ? &(*definitions)[i] : nullptr);
        all.insert(all.end(), chunks.begin(), chunks.end());
    }
    return all;
}

} // namespace folio::ingest
