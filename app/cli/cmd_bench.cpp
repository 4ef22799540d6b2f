// folio-cli bench: benchmarks. Every JSON line carries bench, metric, value and unit, plus what it
// was measured on.
#include "args.h"
#include "cli.h"

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    Args args({"json"}, {"model", "context", "threads", "device", "chunk", "text"});
    if (!args.parse(argv)) return fail("bench", args.error(), ExitUsage);
    if (args.positional().empty())
        return fail("bench", "which benchmark? tokenizer|ingest|prefill|decode|cache", ExitUsage);
    const std::string& which = args.positional().front();
    if (which == "tokenizer" || which == "ingest" || which == "prefill" || which == "decode" ||
        which == "cache")
        return unavailable("bench", "the '" + which + "' benchmark arrives with its component");
    return fail("bench", "unknown benchmark '" + which + "'", ExitUsage);
}

} // namespace

const Command kBenchCommand{
    "bench", "Run a benchmark (tokenizer, ingest, prefill, decode, cache)",
    "Usage: folio-cli bench tokenizer|ingest|prefill|decode|cache [--model DIR] [--context N]\n"
    "                       [--threads N] [--device cpu|cuda|auto] [--json]\n\n"
    "With --json each line is {\"bench\":..,\"metric\":..,\"value\":..,\"unit\":..} plus what was\n"
    "measured on (model, context, threads, device).\n",
    run};

} // namespace folio::cli
