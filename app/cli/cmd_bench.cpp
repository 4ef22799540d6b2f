// folio-cli bench: benchmarks. Every JSON line carries bench, metric, value and unit, plus what it
// was measured on. Each benchmark lives in its own bench_*.cpp.
#include "args.h"
#include "bench.h"
#include "cli.h"

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    if (argv.empty() || argv.front().rfind("--", 0) == 0)
        return fail("bench", "which benchmark? tokenizer|ingest|prefill|decode|cache|retrieval", ExitUsage);
    const std::string which = argv.front();
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (which == "tokenizer") return benchTokenizer(rest);
    if (which == "ingest") return benchIngest(rest);
    if (which == "prefill") return benchPrefill(rest, false);
    if (which == "decode") return benchPrefill(rest, true);
    if (which == "cache") return benchCache(rest);
    if (which == "retrieval") return benchRetrieval(rest);
    return fail("bench", "unknown benchmark '" + which + "'", ExitUsage);
}

} // namespace

const Command kBenchCommand{
    "bench", "Run a benchmark (tokenizer, ingest, prefill, decode, cache, retrieval)",
    "Usage: folio-cli bench BENCHMARK [OPTIONS] [--json]\n\n"
    "  tokenizer [--model DIR|FILE] [--book FILE] [--source DIR] [--source-limit MB] [--threads N]\n"
    "      encode MB/s on a book and a source tree, one thread and all threads\n"
    "  ingest --repo PATH [--tokenizer FILE | --model DIR] [--threads N] [--committed]\n"
    "      scan and pack MB/s and files/s of a repository, with and without token counts\n"
    "  prefill --model DIR [--context N] [--chunk N] [--threads N] [--no-blas]\n"
    "      tokens/s, linear-layer GFLOP/s against the measured FMA peak and OpenBLAS sgemm\n"
    "  decode --model DIR [--context N] [--tokens N] [--threads N]\n"
    "      tokens/s and weight GB/s read per token against measured copy bandwidth\n"
    "  cache --model DIR [--contexts N,N...] [--chunk N] [--question N] [--rounds N] [--threads N]\n"
    "      follow-up latency on a cached context against a cold prefill; snapshot restore\n"
    "      throughput against a plain read of the file (best of --rounds, default 3)\n"
    "  retrieval --repo PATH --questions FILE [--budget N,N...] [--tokenizer FILE | --model DIR]\n"
    "      [--threads N] [--verbose]\n"
    "      recall: the share of questions (JSON lines: question, file, symbol) whose answering\n"
    "      definition is in the packed context at each budget (default 32768,262144)\n\n"
    "With --json each line is {\"bench\":..,\"metric\":..,\"value\":..,\"unit\":..} plus what was\n"
    "measured on (model, context, threads, device).\n",
    run};

} // namespace folio::cli
