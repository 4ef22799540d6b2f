// folio-cli bench: benchmarks. Every JSON line carries bench, metric, value and unit, plus what it
// was measured on. Each benchmark lives in its own bench_*.cpp.
#include "args.h"
#include "bench.h"
#include "cli.h"

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    if (argv.empty() || argv.front().rfind("--", 0) == 0)
        return fail("bench", "which benchmark? tokenizer|ingest|prefill|decode|cache", ExitUsage);
    const std::string which = argv.front();
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (which == "tokenizer") return benchTokenizer(rest);
    if (which == "ingest") return benchIngest(rest);
    if (which == "prefill") return benchPrefill(rest, false);
    if (which == "decode") return benchPrefill(rest, true);
    if (which == "cache") return benchCache(rest);
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
