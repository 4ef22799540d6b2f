// folio-cli session
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kSessionCommand{
    "session", "List, show, export or remove saved sessions",
    "Usage: folio-cli session list|show NAME|export NAME [--out FILE]|rm NAME [--json]\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("session", a, {"json"}, {"out"}, "saved sessions arrive with the session runtime");
    }};

} // namespace folio::cli
