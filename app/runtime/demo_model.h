// The demo model lives in the user's cache directory and is generated on first use.
#pragma once

#include <QString>

namespace folio::app {

// Path of the demo model, generating it first when absent (written to a temporary folder and renamed
// into place, so an interrupted generation never leaves a half-written model). Empty on failure with
// the reason in *error.
QString ensureDemoModel(QString* error);

} // namespace folio::app
