#include "folio/ingest/text_source.h"

#include "folio/ingest/file_filters.h"
#include "folio/ingest/ignore_rules.h"
#include "folio/ingest/pdf_source.h"
#include "folio/ingest/text_decoder.h"
#include "folio/ingest/transcript_parser.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <algorithm>

#include <cerrno>
#include <cstring>
#include <dirent.h>

namespace folio::ingest {

namespace {

bool readAll(const QString& path, std::string& out, std::uint64_t limit, std::string& error) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        error = f.errorString().toStdString();
        return false;
    }
    const qint64 want =
        static_cast<qint64>(std::min<std::uint64_t>(static_cast<std::uint64_t>(f.size()), limit));
    out.resize(static_cast<std::size_t>(want));
    const qint64 got = f.read(out.data(), want);
    if (got < 0) {
        error = f.errorString().toStdString();
        return false;
    }
    out.resize(static_cast<std::size_t>(got));
    return true;
}

} // namespace

Document documentFromBytes(std::string_view path, std::string_view bytes, std::string_view source) {
    DecodedText decoded = decodeText(bytes);
    Document doc;
    doc.source = std::string(source);
    doc.path = std::string(path);
    doc.title = doc.path;
    doc.language = languageForPath(path);
    doc.kind = isProsePath(path) ? DocumentKind::Prose : DocumentKind::Code;
    doc.notes = std::move(decoded.notes);
    doc.byteSize = bytes.size();
    if (const auto format = detectTranscript(path, decoded.text)) {
        Document parsed = doc;
        const std::string error = parseTranscript(*format, decoded.text, parsed);
        if (error.empty()) return parsed;
        doc.notes.push_back("not read as a transcript (" + error + "); kept as plain text");
    }
    doc.text = std::move(decoded.text);
    return doc;
}

SourceResult readTextFile(const QString& path, std::uint64_t maxBytes) {
    SourceResult result;
    const QFileInfo info(path);
    result.name = info.fileName().toStdString();
    result.location = info.absoluteFilePath().toStdString();
    result.kindName = "text";
    if (!info.exists()) {
        result.error = "no such file";
        return result;
    }
    const auto size = static_cast<std::uint64_t>(info.size());
    if (size > maxBytes) {
        result.skipped.push_back({result.name, SkipReason::TooLarge,
                                  formatBytes(size) + " > " + formatBytes(maxBytes) + " cap"});
        return result;
    }
    std::string bytes, error;
    if (!readAll(path, bytes, maxBytes, error)) {
        result.skipped.push_back({result.name, SkipReason::Unreadable, error});
        return result;
    }
    if (bytes.empty()) {
        result.skipped.push_back({result.name, SkipReason::Empty, "empty file"});
        return result;
    }
    if (looksBinary(bytes)) {
        result.skipped.push_back({result.name, SkipReason::Binary,
                                  "binary content (NUL or control bytes in the first 8 KB)"});
        return result;
    }
    Document doc = documentFromBytes(result.name, bytes, result.name);
    if (doc.kind == DocumentKind::Transcript) result.kindName = "transcript";
    result.documents.push_back(std::move(doc));
    return result;
}

SourceResult readFolder(const QString& path, std::uint64_t maxFileBytes) {
    SourceResult result;
    const QDir root(path);
    result.name = root.dirName().toStdString();
    result.location = root.absolutePath().toStdString();
    result.kindName = "folder";
    if (!root.exists()) {
        result.error = "no such folder";
        return result;
    }
    IgnoreRules folioIgnore, gitIgnore;
    std::string bytes, error;
    if (readAll(root.filePath(QStringLiteral(".folioignore")), bytes, 1 << 20, error))
        folioIgnore = IgnoreRules::parse(bytes);
    if (readAll(root.filePath(QStringLiteral(".gitignore")), bytes, 1 << 20, error))
        gitIgnore = IgnoreRules::parse(bytes);

    std::vector<QString> files;
    // A manual stack instead of Subdirectories so ignored folders are not descended into.
    std::vector<QString> stack{root.absolutePath()};
    while (!stack.empty()) {
        const QString dir = stack.back();
        stack.pop_back();
        // A folder that cannot be listed is said, not silently empty.
        if (DIR* handle = ::opendir(QFile::encodeName(dir).constData())) {
            ::closedir(handle);
        } else {
            const std::string rel = root.relativeFilePath(dir).toStdString();
            result.skipped.push_back({rel == "." ? std::string(".") : rel + "/", SkipReason::Unreadable,
                                      std::string("cannot list the folder: ") + std::strerror(errno)});
            continue;
        }
        const QFileInfoList entries = QDir(dir).entryInfoList(
            QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System,
            QDir::Name);
        for (const QFileInfo& e : entries) {
            const std::string rel = root.relativeFilePath(e.absoluteFilePath()).toStdString();
            if (e.fileName() == QLatin1String(".git")) continue;
            if (e.isSymLink()) {
                result.skipped.push_back(
                    {rel, SkipReason::Symlink,
                     "symbolic link to " + e.symLinkTarget().toStdString() + "; not followed"});
                continue;
            }
            const bool isDir = e.isDir();
            if (folioIgnore.isIgnored(rel, isDir)) {
                result.skipped.push_back({rel + (isDir ? "/" : ""), SkipReason::FolioIgnored,
                                          "matched by .folioignore"});
                continue;
            }
            if (gitIgnore.isIgnored(rel, isDir)) {
                result.skipped.push_back(
                    {rel + (isDir ? "/" : ""), SkipReason::GitIgnored, "matched by .gitignore"});
                continue;
            }
            if (isDir)
                stack.push_back(e.absoluteFilePath());
            else
                files.push_back(e.absoluteFilePath());
        }
    }
    std::sort(files.begin(), files.end());
    for (const QString& file : files) {
        const std::string rel = root.relativeFilePath(file).toStdString();
        if (languageForPath(rel) == "pdf") {
            SourceResult pdf = readPdf(file);
            for (Document& d : pdf.documents) {
                d.path = rel;
                d.source = result.name;
                result.documents.push_back(std::move(d));
            }
            for (SkippedFile& s : pdf.skipped) result.skipped.push_back({rel, s.reason, s.detail});
            continue;
        }
        const auto size = static_cast<std::uint64_t>(QFileInfo(file).size());
        if (!readAll(file, bytes, size > maxFileBytes ? 8192 : size, error)) {
            result.skipped.push_back({rel, SkipReason::Unreadable, error});
            continue;
        }
        if (auto skip = screenFile(rel, bytes, size, maxFileBytes)) {
            result.skipped.push_back(std::move(*skip));
            continue;
        }
        result.documents.push_back(documentFromBytes(rel, bytes, result.name));
    }
    std::sort(result.skipped.begin(), result.skipped.end(),
              [](const SkippedFile& a, const SkippedFile& b) { return a.path < b.path; });
    return result;
}

} // namespace folio::ingest
