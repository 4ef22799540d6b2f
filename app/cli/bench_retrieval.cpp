// folio-cli bench retrieval: does the packed context hold the code that answers a question?
// Questions are JSON lines {"question": "...", "file": "kernel/sched/fair.c", "symbol":
// "pick_next_task_fair"}; a question counts as found at a budget when the line that names its
// symbol's definition (definitions.h) is in the context, in the whole file or in an excerpt.
// The sources are read, counted and indexed once; every question and budget is then a selection.
#include "args.h"
#include "bench.h"
#include "cli.h"
#include "folio/ingest/definitions.h"
#include "folio/ingest/git_source.h"
#include "folio/ingest/packer.h"
#include "folio/tokenizer.h"
#include "json_line.h"
#include "source_loading.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <sys/resource.h>
#include <unordered_map>

namespace folio::cli {

namespace {

using namespace folio::ingest;
using Clock = BenchClock;

double peakRssMb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

struct Question {
    std::string text, file, symbol, topic;
    std::size_t document = static_cast<std::size_t>(-1);
    int line = 0; // the line naming the definition; 0: not found in the file
};

bool readQuestions(const std::string& path, std::vector<Question>* out, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        *error = "cannot read " + path;
        return false;
    }
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("question") || !j.contains("file") ||
            !j.contains("symbol") || !j["question"].is_string() || !j["file"].is_string() ||
            !j["symbol"].is_string()) {
            *error = path + ":" + std::to_string(n) +
                     ": expected {\"question\": \"...\", \"file\": \"...\", \"symbol\": \"...\"}";
            return false;
        }
        Question q;
        q.text = j["question"].get<std::string>();
        q.file = j["file"].get<std::string>();
        q.symbol = j["symbol"].get<std::string>();
        if (j.contains("topic") && j["topic"].is_string()) q.topic = j["topic"].get<std::string>();
        out->push_back(std::move(q));
    }
    if (out->empty()) {
        *error = path + " holds no questions";
        return false;
    }
    return true;
}

bool inContext(const PackedContext& ctx, const Question& q) {
    if (q.line == 0) return false;
    if (ctx.inclusion[q.document] == kWhole) return true;
    for (const PackedSegment& s : ctx.segments)
        if (s.kind == SegmentKind::Excerpt && s.document == q.document && s.firstLine <= q.line &&
            q.line <= s.lastLine)
            return true;
    return false;
}

int run(const std::vector<std::string>& argv) {
    Args args({"json", "committed", "verbose"},
              {"repo", "questions", "budget", "model", "tokenizer", "threads", "max-file-kib"});
    if (!args.parse(argv)) return fail("bench", args.error(), ExitUsage);
    const auto repo = args.value("repo");
    const auto questionsPath = args.value("questions");
    if (!repo || !questionsPath)
        return fail("bench",
                    "retrieval needs --repo PATH and --questions FILE (JSON lines with question, "
                    "file and symbol)",
                    ExitUsage);
    std::vector<std::size_t> budgets;
    {
        std::stringstream list(args.valueOr("budget", "32768,262144"));
        for (std::string item; std::getline(list, item, ',');) {
            char* end = nullptr;
            const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
            if (item.empty() || *end != '\0' || v == 0)
                return fail("bench", "--budget takes positive token counts: N or N,N,...",
                            ExitUsage);
            budgets.push_back(static_cast<std::size_t>(v));
        }
    }
    long long threads = 2, maxKib = 1024;
    if (!args.intValue("threads", 2, &threads) || !args.intValue("max-file-kib", 1024, &maxKib) ||
        threads < 1 || maxKib < 1)
        return fail("bench", "--threads and --max-file-kib take positive numbers", ExitUsage);

    std::vector<Question> questions;
    std::string error;
    if (!readQuestions(*questionsPath, &questions, &error)) return fail("bench", error);

    TokenCounting counting = approximateTokenCounting();
    std::unique_ptr<Tokenizer> tokenizer;
    if (const auto tokPath = args.has("tokenizer") ? args.value("tokenizer") : args.value("model")) {
        auto loaded = Tokenizer::load(*tokPath);
        if (!loaded) return fail("bench", loaded.error());
        tokenizer = std::move(*loaded);
        counting = exactCounting(*tokenizer, "tokenizer.json of " + *tokPath);
    }

    GitSourceOptions git;
    git.maxFileBytes = static_cast<std::uint64_t>(maxKib) * 1024;
    git.threads = static_cast<int>(threads);
    if (args.has("committed")) git.mode = GitTreeMode::Committed;
    const auto t0 = Clock::now();
    SourceResult source = readGitRepository(QString::fromStdString(*repo), git);
    if (!source.error.empty()) return fail("bench", source.error);
    const double scanSeconds = secondsSince(t0);
    std::vector<SourceResult> input;
    input.push_back(std::move(source));
    PackOptions options;
    options.threads = static_cast<int>(threads);
    const auto t1 = Clock::now();
    PreparedCorpus corpus(std::move(input), counting, options);
    const double countSeconds = secondsSince(t1);
    const double countedRssMb = peakRssMb(); // sources read and counted, before chunks and index

    std::unordered_map<std::string, std::size_t> byPath;
    for (std::size_t d = 0; d < corpus.documents().size(); ++d)
        byPath.emplace(corpus.documents()[d].path, d);
    std::size_t located = 0;
    for (Question& q : questions) {
        const auto it = byPath.find(q.file);
        if (it == byPath.end()) {
            std::fprintf(stderr, "folio-cli bench: %s is not among the files read (question: %s)\n",
                         q.file.c_str(), q.text.c_str());
            continue;
        }
        q.document = it->second;
        for (const Definition& def : findDefinitions(corpus.documents()[q.document]))
            if (def.name == q.symbol) {
                q.line = def.line;
                break;
            }
        if (q.line == 0)
            std::fprintf(stderr, "folio-cli bench: no definition of %s found in %s\n",
                         q.symbol.c_str(), q.file.c_str());
        else
            ++located;
    }

    const bool json = args.has("json");
    if (!json)
        std::printf("%s: %zu files read in %.1f s, counted in %.1f s (peak RSS %.0f MB); %zu of "
                    "%zu questions' definitions located\n",
                    repo->c_str(), corpus.documents().size(), scanSeconds, countSeconds,
                    countedRssMb, located, questions.size());
    for (const std::size_t budget : budgets) {
        std::size_t found = 0, manifestTokens = 0, totalTokens = 0;
        double firstSeconds = 0, restSeconds = 0;
        std::map<std::string, std::pair<int, int>> byTopic; // found, asked
        for (std::size_t i = 0; i < questions.size(); ++i) {
            const Question& q = questions[i];
            const auto ts = Clock::now();
            const PackedContext ctx = corpus.select(q.text, budget);
            (i == 0 ? firstSeconds : restSeconds) += secondsSince(ts);
            const bool hit = q.document != static_cast<std::size_t>(-1) && inContext(ctx, q);
            found += hit ? 1 : 0;
            auto& t = byTopic[q.topic];
            t.first += hit ? 1 : 0;
            ++t.second;
            for (const PackedSegment& s : ctx.segments)
                if (s.kind == SegmentKind::Manifest) manifestTokens = std::max(manifestTokens, s.tokens);
            totalTokens = std::max(totalTokens, ctx.totalTokens);
            if (!hit && args.has("verbose"))
                std::fprintf(stderr, "miss at %zu: %s (%s %s)\n", budget, q.text.c_str(),
                             q.file.c_str(), q.symbol.c_str());
        }
        const double recall = static_cast<double>(found) / static_cast<double>(questions.size());
        const double perQuestion =
            questions.size() > 1 ? restSeconds / static_cast<double>(questions.size() - 1) : 0;
        if (json) {
            JsonLine()
                .add("bench", "retrieval")
                .add("metric", "recall")
                .add("value", recall)
                .add("unit", "share")
                .add("repo", *repo)
                .add("budget", static_cast<std::uint64_t>(budget))
                .add("questions", static_cast<std::uint64_t>(questions.size()))
                .add("found", static_cast<std::uint64_t>(found))
                .add("located", static_cast<std::uint64_t>(located))
                .add("files", static_cast<std::uint64_t>(corpus.documents().size()))
                .add("scan_seconds", scanSeconds)
                .add("count_seconds", countSeconds)
                .add("first_select_seconds", firstSeconds)
                .add("select_seconds", perQuestion)
                .add("max_manifest_tokens", static_cast<std::uint64_t>(manifestTokens))
                .add("max_total_tokens", static_cast<std::uint64_t>(totalTokens))
                .add("peak_rss_mb", peakRssMb())
                .add("counted_peak_rss_mb", countedRssMb)
                .add("tokenizer", counting.name)
                .add("threads", static_cast<int>(threads))
                .add("device", "cpu")
                .print();
        } else {
            std::printf("budget %zu: recall %.3f (%zu of %zu); manifest at most %zu tokens, "
                        "context at most %zu; first selection %.2f s (chunks and index), then "
                        "%.3f s a question; peak RSS %.0f MB\n",
                        budget, recall, found, questions.size(), manifestTokens, totalTokens,
                        firstSeconds, perQuestion, peakRssMb());
            for (const auto& [topic, t] : byTopic)
                if (!topic.empty()) std::printf("  %-14s %d of %d\n", topic.c_str(), t.first, t.second);
        }
        std::fflush(stdout);
    }
    return ExitOk;
}

} // namespace

int benchRetrieval(const std::vector<std::string>& args) { return run(args); }

} // namespace folio::cli
