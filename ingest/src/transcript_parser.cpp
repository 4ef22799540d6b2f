#include "folio/ingest/transcript_parser.h"

#include "transcript_text.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdio>
#include <vector>

namespace folio::ingest {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> splitLines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

struct RawCue {
    std::int64_t start = 0, end = -1;
    std::string speaker, text;
    int line = 0, lastLine = 0;
};

// "[SPEAKER_00]: text", "[Name] text" -> speaker, rest.
void splitBracketSpeaker(std::string& text, std::string& speaker) {
    if (text.size() < 3 || text[0] != '[') return;
    const auto close = text.find(']');
    if (close == std::string::npos || close > 48) return;
    const std::string label = text.substr(1, close - 1);
    if (parseTimestamp(label)) return; // a stamp, not a speaker
    speaker = label;
    std::size_t rest = close + 1;
    if (rest < text.size() && text[rest] == ':') ++rest;
    while (rest < text.size() && text[rest] == ' ') ++rest;
    text.erase(0, rest);
}

// Strips WebVTT tags; a <v Name> voice tag gives the speaker.
std::string stripVttTags(std::string_view s, std::string& speaker) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '<') {
            out.push_back(s[i]);
            continue;
        }
        const auto close = s.find('>', i);
        if (close == std::string_view::npos) {
            out.append(s.substr(i));
            break;
        }
        const std::string_view tag = s.substr(i + 1, close - i - 1);
        if (tag.size() > 2 && (tag[0] == 'v') && (tag[1] == ' ' || tag[1] == '.')) {
            const auto space = tag.find(' ');
            if (space != std::string_view::npos && speaker.empty())
                speaker = std::string(trim(tag.substr(space + 1)));
        }
        i = close;
    }
    return out;
}

std::string render(const std::vector<RawCue>& cues, Document& doc) {
    std::string text;
    for (const RawCue& c : cues) {
        Cue cue;
        cue.startMs = c.start;
        cue.endMs = c.end;
        cue.speaker = c.speaker;
        cue.sourceLine = c.line;
        cue.sourceLastLine = c.lastLine;
        cue.begin = text.size();
        text += "[" + formatTimestamp(c.start) + "] ";
        if (!c.speaker.empty()) text += c.speaker + ": ";
        text += c.text;
        text += '\n';
        cue.end = text.size();
        doc.cues.push_back(std::move(cue));
    }
    return text;
}

// SRT and WebVTT share the block structure: blocks split by blank lines, a timing line with "-->".
std::string parseCueBlocks(std::string_view text, bool vtt, std::vector<RawCue>& out) {
    const auto lines = splitLines(text);
    std::size_t i = 0;
    if (vtt) {
        if (lines.empty() || trim(lines[0]).substr(0, 6) != "WEBVTT")
            return "line 1: a WebVTT file starts with \"WEBVTT\"";
        while (i < lines.size() && !trim(lines[i]).empty()) ++i; // header block
    }
    while (i < lines.size()) {
        while (i < lines.size() && trim(lines[i]).empty()) ++i;
        if (i >= lines.size()) break;
        const std::size_t blockStart = i;
        std::size_t blockEnd = i;
        while (blockEnd < lines.size() && !trim(lines[blockEnd]).empty()) ++blockEnd;
        const std::string_view first = trim(lines[blockStart]);
        if (vtt && (first.substr(0, 4) == "NOTE" || first.substr(0, 5) == "STYLE" ||
                    first.substr(0, 6) == "REGION")) {
            i = blockEnd;
            continue;
        }
        std::size_t timing = blockStart;
        while (timing < blockEnd && lines[timing].find("-->") == std::string_view::npos) ++timing;
        if (timing == blockEnd || timing > blockStart + 1)
            return "line " + std::to_string(blockStart + 1) +
                   ": no timing line (\"start --> end\") in this cue";
        const std::string_view timingLine = lines[timing];
        const auto arrow = timingLine.find("-->");
        std::string_view endPart = trim(timingLine.substr(arrow + 3));
        if (const auto sp = endPart.find_first_of(" \t"); sp != std::string_view::npos)
            endPart = endPart.substr(0, sp);
        const auto start = parseTimestamp(trim(timingLine.substr(0, arrow)));
        const auto end = parseTimestamp(endPart);
        if (!start || !end)
            return "line " + std::to_string(timing + 1) + ": bad timing line \"" +
                   std::string(trim(timingLine)) + "\"";
        RawCue cue;
        cue.start = *start;
        cue.end = *end;
        cue.line = static_cast<int>(blockStart + 1);
        cue.lastLine = static_cast<int>(blockEnd);
        for (std::size_t k = timing + 1; k < blockEnd; ++k) {
            std::string piece =
                vtt ? stripVttTags(trim(lines[k]), cue.speaker) : std::string(trim(lines[k]));
            if (!cue.text.empty() && !piece.empty()) cue.text += ' ';
            cue.text += piece;
        }
        if (cue.speaker.empty()) splitBracketSpeaker(cue.text, cue.speaker);
        out.push_back(std::move(cue));
        i = blockEnd;
    }
    return {};
}

std::string parseWhisper(std::string_view text, std::vector<RawCue>& out) {
    QJsonParseError err{};
    const QJsonDocument json =
        QJsonDocument::fromJson(QByteArray(text.data(), static_cast<qsizetype>(text.size())), &err);
    if (json.isNull())
        return "JSON error at offset " + std::to_string(err.offset) + ": " +
               err.errorString().toStdString();
    const QJsonArray segments =
        json.isArray() ? json.array() : json.object().value(QStringLiteral("segments")).toArray();
    if (segments.isEmpty()) return "no \"segments\" array with start, end and text";
    for (qsizetype i = 0; i < segments.size(); ++i) {
        const QJsonObject s = segments.at(i).toObject();
        if (!s.contains(QStringLiteral("start")) || !s.contains(QStringLiteral("text")))
            return "segment " + std::to_string(i) + ": needs \"start\" and \"text\"";
        RawCue cue;
        cue.start =
            static_cast<std::int64_t>(s.value(QStringLiteral("start")).toDouble() * 1000.0 + 0.5);
        cue.end = s.contains(QStringLiteral("end"))
                      ? static_cast<std::int64_t>(
                            s.value(QStringLiteral("end")).toDouble() * 1000.0 + 0.5)
                      : -1;
        cue.text = s.value(QStringLiteral("text")).toString().trimmed().toStdString();
        cue.speaker = s.value(QStringLiteral("speaker")).toString().toStdString();
        if (cue.speaker.empty())
            splitBracketSpeaker(cue.text, cue.speaker);
        else if (cue.text.rfind("[" + cue.speaker + "]", 0) == 0) {
            std::string ignored;
            splitBracketSpeaker(cue.text, ignored);
        }
        out.push_back(std::move(cue));
    }
    return {};
}

} // namespace

std::string formatTimestamp(std::int64_t ms) {
    if (ms < 0) ms = 0;
    const std::int64_t s = ms / 1000;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>((s / 60) % 60), static_cast<long long>(s % 60));
    return buf;
}

std::optional<std::int64_t> parseTimestamp(std::string_view s) {
    s = trim(s);
    std::int64_t parts[3] = {0, 0, 0};
    int n = 0;
    std::size_t i = 0;
    while (true) {
        if (n == 3) return std::nullopt;
        std::size_t digits = 0;
        std::int64_t v = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
            v = v * 10 + (s[i] - '0');
            ++i;
            ++digits;
        }
        if (digits == 0) return std::nullopt;
        parts[n++] = v;
        if (i < s.size() && s[i] == ':') {
            ++i;
            continue;
        }
        break;
    }
    if (n < 2) return std::nullopt;
    std::int64_t frac = 0;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        std::int64_t scale = 100;
        std::size_t digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (scale > 0) frac += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
            ++digits;
        }
        if (digits == 0) return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    const std::int64_t h = n == 3 ? parts[0] : 0, m = n == 3 ? parts[1] : parts[0],
                       sec = n == 3 ? parts[2] : parts[1];
    if (m >= 60 || sec >= 60) return std::nullopt;
    return ((h * 60 + m) * 60 + sec) * 1000 + frac;
}

std::optional<TranscriptFormat> detectTranscript(std::string_view path, std::string_view text) {
    auto endsWith = [&](std::string_view suffix) {
        if (path.size() < suffix.size()) return false;
        for (std::size_t i = 0; i < suffix.size(); ++i) {
            char c = path[path.size() - suffix.size() + i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != suffix[i]) return false;
        }
        return true;
    };
    if (endsWith(".srt")) return TranscriptFormat::Srt;
    if (endsWith(".vtt")) return TranscriptFormat::WebVtt;
    if (endsWith(".json")) {
        if (text.find("\"segments\"") != std::string_view::npos ||
            (text.find("\"start\"") != std::string_view::npos && trim(text).substr(0, 1) == "["))
            return TranscriptFormat::WhisperJson;
        return std::nullopt;
    }
    if (detail::looksTimestamped(text)) return TranscriptFormat::TimestampedText;
    return std::nullopt;
}

std::string parseTranscript(TranscriptFormat format, std::string_view text, Document& doc) {
    doc.kind = DocumentKind::Transcript;
    doc.cues.clear();
    std::vector<RawCue> cues;
    std::string error;
    switch (format) {
    case TranscriptFormat::Srt:
        doc.language = "srt";
        error = parseCueBlocks(text, false, cues);
        break;
    case TranscriptFormat::WebVtt:
        doc.language = "webvtt";
        error = parseCueBlocks(text, true, cues);
        break;
    case TranscriptFormat::WhisperJson:
        doc.language = "whisper-json";
        error = parseWhisper(text, cues);
        break;
    case TranscriptFormat::TimestampedText:
        doc.text.assign(text);
        detail::cueTimestampedText(doc);
        return doc.cues.empty() ? "no timestamps found" : std::string();
    }
    if (!error.empty()) return error;
    if (cues.empty()) return "no cues";
    doc.text = render(cues, doc);
    return {};
}

} // namespace folio::ingest
