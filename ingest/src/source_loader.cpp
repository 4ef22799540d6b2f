#include "folio/ingest/source_loader.h"

#include "folio/ingest/pdf_source.h"
#include "folio/ingest/source_kind.h"
#include "folio/ingest/text_source.h"

#include <QFileInfo>

namespace folio::ingest {

SourceResult loadSource(const QString& path, const IngestOptions& options) {
    switch (classifySource(path)) {
    case SourceKind::GitRepository:
        return readGitRepository(path, options.git);
    case SourceKind::Directory:
        return readFolder(path, options.git.maxFileBytes);
    case SourceKind::Pdf:
        return readPdf(path);
    case SourceKind::Transcript:
    case SourceKind::Text:
        return readTextFile(path, options.maxStandaloneBytes);
    case SourceKind::Unknown:
        break;
    }
    SourceResult result;
    result.name = QFileInfo(path).fileName().toStdString();
    result.location = QFileInfo(path).absoluteFilePath().toStdString();
    result.error = "no such file or folder";
    return result;
}

} // namespace folio::ingest
