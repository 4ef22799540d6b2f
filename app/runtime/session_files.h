// Where saved sessions live: one SQLite database in the user's data directory.
#pragma once

#include <QString>

namespace folio::app {

QString sessionDatabasePath();

} // namespace folio::app
