// What kind of source a path on disk is, decided from the file system and the file's name.
#pragma once

#include <QString>

namespace folio::ingest {

enum class SourceKind : int {
    Unknown = 0,
    GitRepository = 1,
    Pdf = 2,
    Transcript = 3, // SRT, WebVTT, Whisper JSON
    Text = 4,       // plain text and Markdown (timestamped text is detected from content later)
    Directory = 5,  // a folder that is not a git repository
};

// Classifies `path`. A directory with a .git entry is a repository; files by extension, and .json
// only counts as a transcript when its name says so or ingestion later finds Whisper segments.
SourceKind classifySource(const QString& path);

QString sourceKindName(SourceKind kind);

} // namespace folio::ingest
