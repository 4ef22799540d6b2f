// folio-cli serve
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kServeCommand{
    "serve", "Serve an OpenAI-compatible HTTP API",
    "Usage: folio-cli serve [--host 127.0.0.1] [--port N] [--model DIR | --demo]\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("serve", a, {"demo"}, {"host", "port", "model"},
                       "the HTTP server arrives with the session runtime");
    }};

} // namespace folio::cli
