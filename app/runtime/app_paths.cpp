#include "app_paths.h"

#include <QStandardPaths>

namespace folio::app {

namespace {

QString fromEnvOr(const char* name, QStandardPaths::StandardLocation location) {
    const QString overridden = qEnvironmentVariable(name);
    if (!overridden.isEmpty()) return overridden;
    return QStandardPaths::writableLocation(location);
}

} // namespace

QString dataDirectory() { return fromEnvOr("FOLIO_DATA_DIR", QStandardPaths::AppLocalDataLocation); }

QString cacheDirectory() { return fromEnvOr("FOLIO_CACHE_DIR", QStandardPaths::CacheLocation); }

} // namespace folio::app
