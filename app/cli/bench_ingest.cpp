// folio-cli bench ingest
#include "args.h"
#include "bench.h"
#include "cli.h"

namespace folio::cli {

int benchIngest(const std::vector<std::string>& args) {

    return pendingCommand("bench", args, {"json"}, {"model", "context", "threads", "device", "chunk"},
                          "the ingest benchmark arrives with its component");
}

} // namespace folio::cli
