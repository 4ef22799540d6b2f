// A saved session's conversation as Markdown, for `folio-cli session export` and the window's
// Export: its sources, then the questions and answers; citations that do not resolve against the
// session's sources are listed after each answer with the reason.
#pragma once

#include "folio/ingest/session_store.h"

#include <string>

namespace folio::app {

std::string exportMarkdown(const ingest::SessionStore& store, const ingest::SessionInfo& session);

} // namespace folio::app
