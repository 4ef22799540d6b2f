// folio-cli make-model
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kMakeModelCommand{
    "make-model", "Write a synthetic checkpoint in the real DeepSeek-V4 layout",
    "Usage: folio-cli make-model --preset tiny|flash-shape|pro-shape [--layers N] [--experts N]\n"
    "                            --seed S --out DIR\n\n"
    "Writes config.json, safetensors shards with model.safetensors.index.json and a tokenizer.\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("make-model", a, {}, {"preset", "layers", "experts", "seed", "out"},
                       "synthetic checkpoints arrive with the engine");
    }};

} // namespace folio::cli
