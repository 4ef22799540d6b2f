// Internal: the session database schema as an ordered list of migrations. Migration N brings
// user_version N-1 to N; never edit a released migration, append a new one.
#pragma once

#include <vector>

namespace folio::ingest::detail {

struct Migration {
    int version;
    const char* sql;
};

const std::vector<Migration>& storeMigrations();

} // namespace folio::ingest::detail
