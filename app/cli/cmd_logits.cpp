// folio-cli logits
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kLogitsCommand{
    "logits", "Print the logits of the last position",
    "Usage: folio-cli logits --model DIR --tokens IDS [--chunk N] [--json]\n\n"
    "Runs the forward pass over comma-separated token ids and prints the last position's logits.\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("logits", a, {"json"}, {"model", "tokens", "chunk"},
                       "the forward pass arrives with the engine");
    }};

} // namespace folio::cli
