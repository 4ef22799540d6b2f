// Where Folio keeps its files: sessions (SQLite) in the user's data directory, prefilled-state
// snapshots in the user's cache directory. FOLIO_DATA_DIR / FOLIO_CACHE_DIR override both (tests,
// portable installs).
#pragma once

#include "folio/ingest/count_cache.h"
#include "folio/tokenizer.h"

#include <QString>

#include <memory>
#include <string>

namespace folio::app {

QString dataDirectory();
QString cacheDirectory();

// The token count cache (count_cache.h) of `tokenizer`, in the cache directory; null with `error`
// when it cannot be opened (the caller then counts without it).
std::unique_ptr<ingest::TokenCountCache> openTokenCountCache(const Tokenizer& tokenizer, std::string* error);

} // namespace folio::app
