// folio-cli bench prefill/decode
#include "args.h"
#include "bench.h"
#include "cli.h"

namespace folio::cli {

int benchPrefill(const std::vector<std::string>& args, bool decode) {
    (void)decode;
    return pendingCommand("bench", args, {"json"}, {"model", "context", "threads", "device", "chunk"},
                          "the prefill/decode benchmark arrives with its component");
}

} // namespace folio::cli
