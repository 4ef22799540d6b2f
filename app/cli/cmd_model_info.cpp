// folio-cli model-info
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kModelInfoCommand{
    "model-info", "Show a model's configuration and memory plan",
    "Usage: folio-cli model-info DIR [--json]\n\n"
    "Prints the configuration and the memory plan: weight bytes by kind, KV state bytes per token\n"
    "and at 256K and 1M tokens, scratch.\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("model-info", a, {"json"}, {}, "the memory plan arrives with the engine");
    }};

} // namespace folio::cli
