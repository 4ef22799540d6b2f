#include "app_paths.h"

#include <QDir>
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

std::unique_ptr<ingest::TokenCountCache> openTokenCountCache(const Tokenizer& tokenizer, std::string* error) {
    const QString dir = cacheDirectory();
    if (!QDir().mkpath(dir)) {
        *error = "cannot create the cache directory " + dir.toStdString();
        return nullptr;
    }
    return ingest::TokenCountCache::open(QDir(dir).filePath(QStringLiteral("token-counts.sqlite")).toStdString(),
                                         tokenizer.fingerprint(), error);
}

} // namespace folio::app
