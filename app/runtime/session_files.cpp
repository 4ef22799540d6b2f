#include "session_files.h"

#include "app_paths.h"

#include <QDir>

namespace folio::app {

QString sessionDatabasePath() {
    QDir().mkpath(dataDirectory());
    return QDir(dataDirectory()).filePath(QStringLiteral("sessions.sqlite"));
}

} // namespace folio::app
