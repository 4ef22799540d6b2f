#include "transcript_text.h"

#include "folio/ingest/transcript_parser.h"

#include <string>

namespace folio::ingest::detail {

std::optional<Stamp> stampAt(std::string_view text, std::size_t pos) {
    std::size_t i = pos;
    const bool escaped = i < text.size() && text[i] == '\\';
    if (escaped) ++i;
    if (i >= text.size() || (text[i] != '[' && text[i] != '(')) return std::nullopt;
    const char close = text[i] == '[' ? ']' : ')';
    ++i;
    std::size_t j = i;
    while (
        j < text.size() && j - i < 14 &&
        ((text[j] >= '0' && text[j] <= '9') || text[j] == ':' || text[j] == '.' || text[j] == ','))
        ++j;
    const std::string_view inner = text.substr(i, j - i);
    if (escaped && j < text.size() && text[j] == '\\') ++j;
    if (j >= text.size() || text[j] != close) return std::nullopt;
    const auto ms = parseTimestamp(inner);
    if (!ms || inner.find(':') == std::string_view::npos) return std::nullopt;
    return Stamp{*ms, j + 1 - pos};
}

bool looksTimestamped(std::string_view text) {
    int count = 0;
    std::int64_t last = -1;
    for (std::size_t p = text.find_first_of("[(\\"); p != std::string_view::npos;
         p = text.find_first_of("[(\\", p + 1)) {
        const auto stamp = stampAt(text, p);
        if (!stamp) continue;
        if (stamp->ms < last) return false;
        last = stamp->ms;
        if (++count >= 3) return true;
        p += stamp->length - 1;
    }
    return false;
}

namespace {

bool isUpper(char c) {
    return c >= 'A' && c <= 'Z';
}

// "**Name:**", "Name:" (1-4 words, capitalised), "[SPEAKER_00]:" at the start of `line`.
std::string speakerLabel(std::string_view line) {
    if (line.rfind("**", 0) == 0) {
        const auto end = line.find(":**", 2);
        if (end != std::string_view::npos && end < 50) return std::string(line.substr(2, end - 2));
        return {};
    }
    if (line.rfind("[", 0) == 0) {
        const auto end = line.find("]:");
        if (end != std::string_view::npos && end < 40) return std::string(line.substr(1, end - 1));
        return {};
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 40 || !isUpper(line[0])) return {};
    if (colon + 1 < line.size() && line[colon + 1] != ' ') return {}; // "http:", "12:30"
    int words = 1;
    for (std::size_t i = 0; i < colon; ++i) {
        const char c = line[i];
        if (c == ' ')
            ++words;
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' || c == '-' ||
                   c == '\'' || c == '_' || (c >= '0' && c <= '9')))
            return {};
    }
    return words <= 4 ? std::string(line.substr(0, colon)) : std::string();
}

} // namespace

void cueTimestampedText(Document& doc) {
    const std::string& text = doc.text;
    doc.cues.clear();
    std::int64_t current = 0;
    bool open = false;
    Cue cue;
    bool cueHasStamp = false;
    int lineNo = 0;
    auto closeCue = [&]() {
        if (!open) return;
        if (!cueHasStamp) cue.startMs = current;
        doc.cues.push_back(cue);
        open = false;
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        ++lineNo;
        std::string_view line(text.data() + pos, nl - pos);
        std::size_t lead = 0;
        while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t' || line[lead] == '>'))
            ++lead;
        line.remove_prefix(lead);
        if (line.empty()) {
            closeCue();
            pos = nl + 1;
            continue;
        }
        // A leading stamp, then an optional speaker label; or a label, then an optional stamp.
        std::optional<Stamp> leading = stampAt(line, 0);
        std::string_view rest = leading ? line.substr(leading->length) : line;
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        const std::string speaker = speakerLabel(rest);
        const bool startsCue = !open || leading || !speaker.empty();
        if (startsCue) {
            closeCue();
            cue = Cue{};
            cue.begin = pos;
            cue.sourceLine = lineNo;
            cue.speaker = speaker;
            cueHasStamp = false;
            open = true;
        }
        cue.end = std::min(nl + 1, text.size());
        cue.sourceLastLine = lineNo;
        // The first stamp anywhere in the cue gives its start.
        if (!cueHasStamp) {
            for (std::size_t p = line.find_first_of("[(\\"); p != std::string_view::npos;
                 p = line.find_first_of("[(\\", p + 1)) {
                if (const auto s = stampAt(line, p)) {
                    cue.startMs = s->ms;
                    current = s->ms;
                    cueHasStamp = true;
                    break;
                }
            }
        }
        pos = nl + 1;
    }
    closeCue();
    doc.kind = DocumentKind::Transcript;
    if (doc.language.empty() || doc.language == "text") doc.language = "timestamped-text";
}

} // namespace folio::ingest::detail
