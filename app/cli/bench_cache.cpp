// folio-cli bench cache
#include "args.h"
#include "bench.h"
#include "cli.h"

namespace folio::cli {

int benchCache(const std::vector<std::string>& args) {

    return pendingCommand("bench", args, {"json"}, {"model", "context", "threads", "device", "chunk"},
                          "the cache benchmark arrives with its component");
}

} // namespace folio::cli
