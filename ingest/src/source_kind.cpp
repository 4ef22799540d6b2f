#include "folio/ingest/source_kind.h"

#include <QDir>
#include <QFileInfo>

namespace folio::ingest {

SourceKind classifySource(const QString& path) {
    const QFileInfo info(path);
    if (!info.exists()) return SourceKind::Unknown;
    if (info.isDir()) {
        return QFileInfo::exists(QDir(path).filePath(QStringLiteral(".git"))) ? SourceKind::GitRepository
                                                                              : SourceKind::Directory;
    }
    const QString suffix = info.suffix().toLower();
    if (suffix == QLatin1String("pdf")) return SourceKind::Pdf;
    if (suffix == QLatin1String("srt") || suffix == QLatin1String("vtt")) return SourceKind::Transcript;
    if (suffix == QLatin1String("json")) return SourceKind::Transcript;
    return SourceKind::Text;
}

QString sourceKindName(SourceKind kind) {
    switch (kind) {
    case SourceKind::GitRepository: return QStringLiteral("git repository");
    case SourceKind::Pdf: return QStringLiteral("PDF");
    case SourceKind::Transcript: return QStringLiteral("transcript");
    case SourceKind::Text: return QStringLiteral("text");
    case SourceKind::Directory: return QStringLiteral("directory");
    case SourceKind::Unknown: break;
    }
    return QStringLiteral("unknown");
}

} // namespace folio::ingest
