// Crash points for the reliability tests: with FOLIO_FAULT=<name> in the environment, the process
// kills itself (SIGKILL, no clean-up of any kind) when it reaches the point of that name, e.g. in
// the middle of a snapshot file or between two statements of a database transaction. Without the
// variable it costs one cached getenv.
#pragma once

namespace folio::app {

void faultPoint(const char* name);

} // namespace folio::app
