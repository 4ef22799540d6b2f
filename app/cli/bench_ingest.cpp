// folio-cli bench ingest: scanning and packing throughput on a large real repository, with and
// without tokenization. Set-up for the reference figures (docs/perf.md): the Linux 6.1 source from
// Debian's linux-source-6.1 package, unpacked and committed into a fresh repository.
#include "args.h"
#include "bench.h"
#include "cli.h"
#include "folio/ingest/git_source.h"
#include "folio/ingest/packer.h"
#include "folio/tokenizer.h"
#include "json_line.h"

#include <QString>
#include <chrono>
#include <cstdio>
#include <memory>

namespace folio::cli {

namespace {

using namespace folio::ingest;
using Clock = BenchClock;

struct Report {
    bool json = false;
    std::string repo;
    int threads = 1;
    void line(const char* metric, double value, const char* unit, std::uint64_t files,
              std::uint64_t bytes, double seconds, std::uint64_t tokens = 0) const {
        if (json) {
            JsonLine l;
            l.add("bench", "ingest")
                .add("metric", metric)
                .add("value", value)
                .add("unit", unit)
                .add("repo", repo)
                .add("files", files)
                .add("bytes", bytes)
                .add("seconds", seconds)
                .add("threads", threads)
                .add("device", "cpu");
            if (tokens) l.add("tokens", tokens);
            l.print();
        } else {
            std::printf("%-28s %12.1f %-8s (%llu files, %.1f MB, %.2f s, %d thread%s)\n", metric,
                        value, unit, static_cast<unsigned long long>(files),
                        static_cast<double>(bytes) / 1e6, seconds, threads,
                        threads == 1 ? "" : "s");
            std::fflush(stdout);
        }
    }
};

int run(const std::vector<std::string>& argv) {
    Args args({"json", "committed", "no-warmup"}, {"repo", "model", "tokenizer", "threads",
                                                   "max-file-kib", "context", "device", "chunk"});
    if (!args.parse(argv)) return fail("bench", args.error(), ExitUsage);
    const auto repo = args.value("repo");
    if (!repo)
        return fail(
            "bench",
            "ingest needs --repo PATH (a git repository; docs/perf.md sets up the Linux source)",
            ExitUsage);
    long long threads = 2, maxKib = 1024;
    if (!args.intValue("threads", 2, &threads) || !args.intValue("max-file-kib", 1024, &maxKib) ||
        threads < 1 || maxKib < 1)
        return fail("bench", "--threads and --max-file-kib take positive numbers", ExitUsage);

    GitSourceOptions git;
    git.maxFileBytes = static_cast<std::uint64_t>(maxKib) * 1024;
    if (args.has("committed")) git.mode = GitTreeMode::Committed;
    git.threads = static_cast<int>(threads);
    Report report{args.has("json"), *repo, static_cast<int>(threads)};

    // Scan: list, screen, read and decode every file (the page cache is warmed by a first pass).
    if (!args.has("no-warmup")) (void)readGitRepository(QString::fromStdString(*repo), git);
    auto t0 = Clock::now();
    SourceResult source = readGitRepository(QString::fromStdString(*repo), git);
    const double scanSeconds = secondsSince(t0);
    if (!source.error.empty()) return fail("bench", source.error);
    std::uint64_t bytes = 0;
    for (const auto& d : source.documents) bytes += d.byteSize;
    const std::uint64_t files = source.documents.size() + source.skipped.size();
    report.line("scan_mb_per_s", static_cast<double>(bytes) / 1e6 / scanSeconds, "MB/s", files,
                bytes, scanSeconds);
    report.line("scan_files_per_s", static_cast<double>(files) / scanSeconds, "files/s", files,
                bytes, scanSeconds);

    // Pack without tokenization: ordering, framing with line anchors, the manifest.
    const TokenCounting none{[](std::string_view) { return std::size_t{0}; }, "none", false};
    t0 = Clock::now();
    std::vector<SourceResult> input;
    input.push_back(std::move(source));
    PackOptions options;
    options.threads = static_cast<int>(threads);
    const PackedContext packed = packSources(std::move(input), none, options);
    const double packSeconds = secondsSince(t0);
    std::uint64_t packedBytes = 0;
    for (const auto& s : packed.segments) packedBytes += s.text.size();
    report.line("pack_mb_per_s", static_cast<double>(bytes) / 1e6 / packSeconds, "MB/s",
                packed.documents.size(), bytes, packSeconds);
    report.line("scan_and_pack_mb_per_s",
                static_cast<double>(bytes) / 1e6 / (scanSeconds + packSeconds), "MB/s", files,
                bytes, scanSeconds + packSeconds);

    // With tokenization: exact counts with the model's tokenizer on `threads` threads.
    const auto tokPath = args.has("tokenizer") ? args.value("tokenizer") : args.value("model");
    if (!tokPath) {
        if (!report.json) std::printf("(no --tokenizer/--model: tokenization not measured)\n");
        return ExitOk;
    }
    auto tok = Tokenizer::load(*tokPath);
    if (!tok) return fail("bench", tok.error());
    const Tokenizer* t = tok->get();
    source = readGitRepository(QString::fromStdString(*repo), git); // the first pack consumed it
    input.clear();
    input.push_back(std::move(source));
    t0 = Clock::now();
    const PackedContext counted =
        packSources(std::move(input),
                    {[t](std::string_view s) { return t->count(s); }, "deepseek", true}, options);
    const double tokSeconds = secondsSince(t0);
    const auto tokens = static_cast<std::uint64_t>(counted.totalTokens);
    report.line("pack_tokenized_mb_per_s", static_cast<double>(bytes) / 1e6 / tokSeconds, "MB/s",
                counted.documents.size(), bytes, tokSeconds, tokens);
    report.line("scan_pack_tokenized_mb_per_s",
                static_cast<double>(bytes) / 1e6 / (scanSeconds + tokSeconds), "MB/s", files, bytes,
                scanSeconds + tokSeconds, tokens);
    report.line("tokens_per_s", static_cast<double>(tokens) / tokSeconds, "tokens/s",
                counted.documents.size(), packedBytes, tokSeconds, tokens);
    return ExitOk;
}

} // namespace

int benchIngest(const std::vector<std::string>& args) {
    return run(args);
}

} // namespace folio::cli
