// folio-cli bench tokenizer: encode throughput on a book and on a source tree, single-threaded and
// on all cores. Each encode starts with a cold word cache, as a real call does.
//   --model DIR|FILE    tokenizer (default: ../shared/fixtures/tokenizer/deepseek-v3)
//   --book FILE         (default: ../shared/fixtures/books/war_and_peace.txt when present)
//   --source DIR        source files under DIR in path order (default: /usr/include when present)
//   --source-limit MB   how much of the source tree to read (default 16)
//   --threads N         the "all cores" run (default: every hardware thread)
#include "args.h"
#include "bench.h"
#include "cli.h"
#include "folio/tokenizer.h"
#include "json_line.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace folio::cli {

namespace {

namespace fs = std::filesystem;

std::string fixturesDir() {
    if (const char* env = std::getenv("FOLIO_SHARED_FIXTURES"))
        return fs::is_directory(env) ? env : std::string();
    for (const char* c : {"../shared/fixtures", "../../shared/fixtures", "/work/shared/fixtures"})
        if (fs::is_directory(c)) return c;
    return {};
}

bool readFile(const fs::path& p, std::string& out) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

// Source files under `dir` (.c .cc .cpp .h .hpp .py .rs .go .js .ts), in path order, up to `limit`
// bytes, concatenated.
std::string readSourceTree(const fs::path& dir, std::size_t limit) {
    static const char* exts[] = {".c",  ".cc", ".cpp", ".h",  ".hpp",
                                 ".py", ".rs", ".go",  ".js", ".ts"};
    std::vector<fs::path> files;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(
             dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (!it->is_regular_file(ec)) continue;
        const std::string ext = it->path().extension().string();
        if (std::find(std::begin(exts), std::end(exts), ext) != std::end(exts))
            files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    std::string all, one;
    for (const auto& f : files) {
        if (all.size() >= limit) break;
        if (readFile(f, one)) all += one;
    }
    return all;
}

struct Timing {
    double wall = 1e30; // best wall-clock seconds of one run
    double cpu = 1e30;  // process CPU seconds (all threads) of that run
};

// Best of `reps` runs (at least one, and until `minSeconds` have passed). CPU time is reported too:
// on a machine shared with other work, bytes per CPU-second is the steadier per-core figure.
template <typename F> Timing best(F&& f, int reps, double minSeconds) {
    Timing b;
    double total = 0;
    for (int i = 0; i < reps || total < minSeconds; ++i) {
        const std::clock_t c0 = std::clock();
        const auto t0 = std::chrono::steady_clock::now();
        f();
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double c = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
        if (s < b.wall) b = Timing{s, c};
        total += s;
        if (i > 50) break;
    }
    return b;
}

int run(const std::vector<std::string>& argv) {
    Args args({"json"},
              {"model", "context", "threads", "device", "chunk", "book", "source", "source-limit"});
    if (!args.parse(argv)) return fail("bench", args.error(), ExitUsage);
    long long threadsOpt = 0, limitMb = 16;
    if (!args.intValue("threads", 0, &threadsOpt) || !args.intValue("source-limit", 16, &limitMb))
        return fail("bench", args.error(), ExitUsage);
    const int threads = threadsOpt > 0
                            ? static_cast<int>(threadsOpt)
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::string fixtures = fixturesDir();
    const std::string model =
        args.valueOr("model", fixtures.empty() ? "" : fixtures + "/tokenizer/deepseek-v3");
    if (model.empty())
        return fail("bench", "--model DIR is required (no ../shared/fixtures found)", ExitUsage);
    auto tok = Tokenizer::load(model);
    if (!tok) return fail("bench", tok.error());

    struct Text {
        std::string name, data;
    };
    std::vector<Text> texts;
    // The defaults are used when present; a text named on the command line must be readable.
    std::string book = args.valueOr("book", "");
    if (!args.value("book") && !fixtures.empty() &&
        fs::exists(fixtures + "/books/war_and_peace.txt"))
        book = fixtures + "/books/war_and_peace.txt";
    if (!book.empty()) {
        Text t{fs::path(book).filename().string(), {}};
        if (!readFile(book, t.data)) return fail("bench", book + ": cannot read");
        texts.push_back(std::move(t));
    }
    const std::string source = args.valueOr("source", "/usr/include");
    if (args.value("source") && !fs::is_directory(source))
        return fail("bench", source + ": not a directory", ExitUsage);
    if (!source.empty() && fs::is_directory(source)) {
        Text t{source, readSourceTree(source, static_cast<std::size_t>(limitMb) << 20)};
        if (!t.data.empty()) texts.push_back(std::move(t));
    }
    if (texts.empty())
        return fail("bench", "no text to measure: give --book FILE and/or --source DIR", ExitUsage);

    for (const Text& t : texts) {
        std::size_t tokens = 0;
        for (int th : {1, threads}) {
            const Timing tm = best(
                [&] {
                    tokens = (th == 1 ? (*tok)->encode(t.data) : (*tok)->encodeParallel(t.data, th))
                                 .size();
                },
                3, 1.0);
            const double mb = static_cast<double>(t.data.size()) / 1e6;
            const double mbps = mb / tm.wall;
            if (args.has("json")) {
                JsonLine()
                    .add("bench", "tokenizer")
                    .add("metric", "encode_throughput")
                    .add("value", mbps)
                    .add("unit", "MB/s")
                    .add("text", t.name)
                    .add("bytes", static_cast<std::uint64_t>(t.data.size()))
                    .add("tokens", static_cast<std::uint64_t>(tokens))
                    .add("threads", th)
                    .add("per_thread_mb_s", mbps / th)
                    .add("mb_per_cpu_s", mb / std::max(tm.cpu, 1e-9))
                    .add("model", (*tok)->sourceName())
                    .add("device", "cpu")
                    .print();
            } else {
                std::cout << "tokenizer " << t.name << ": " << t.data.size() << " bytes, " << tokens
                          << " tokens, " << th << " thread" << (th == 1 ? "" : "s") << ": " << mbps
                          << " MB/s, " << mb / std::max(tm.cpu, 1e-9) << " MB per CPU-second\n";
            }
            if (threads == 1) break;
        }
        const double s = best([&] { tokens = (*tok)->count(t.data); }, 3, 0.5).wall;
        if (args.has("json"))
            JsonLine()
                .add("bench", "tokenizer")
                .add("metric", "count_throughput")
                .add("value", static_cast<double>(t.data.size()) / 1e6 / s)
                .add("unit", "MB/s")
                .add("text", t.name)
                .add("threads", 1)
                .add("model", (*tok)->sourceName())
                .add("device", "cpu")
                .print();
        else
            std::cout << "tokenizer " << t.name
                      << ": count(), 1 thread: " << static_cast<double>(t.data.size()) / 1e6 / s
                      << " MB/s\n";
    }
    return ExitOk;
}

} // namespace

int benchTokenizer(const std::vector<std::string>& args) {
    return run(args);
}

} // namespace folio::cli
