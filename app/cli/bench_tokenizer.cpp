// folio-cli bench tokenizer
#include "args.h"
#include "bench.h"
#include "cli.h"

namespace folio::cli {

int benchTokenizer(const std::vector<std::string>& args) {

    return pendingCommand("bench", args, {"json"}, {"model", "context", "threads", "device", "chunk"},
                          "the tokenizer benchmark arrives with its component");
}

} // namespace folio::cli
