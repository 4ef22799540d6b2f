// folio-cli ask
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kAskCommand{
    "ask", "Ingest, prefill and answer a question",
    "Usage: folio-cli ask [--model DIR | --demo] [--session NAME] [SOURCE...] -- QUESTION\n\n"
    "Does the whole job: ingest, budget, prefill with live progress on stderr, answer on stdout.\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("ask", a, {"demo", "json"}, {"model", "session", "device", "context"},
                       "the session runtime arrives after the engine and ingestion");
    }};

} // namespace folio::cli
