// Where Folio keeps its files: sessions (SQLite) in the user's data directory, prefilled-state
// snapshots in the user's cache directory. FOLIO_DATA_DIR / FOLIO_CACHE_DIR override both (tests,
// portable installs).
#pragma once

#include <QString>

namespace folio::app {

QString dataDirectory();
QString cacheDirectory();

} // namespace folio::app
