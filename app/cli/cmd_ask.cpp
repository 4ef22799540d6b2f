// folio-cli ask: the whole job in one process: ingest the sources, pack them against the context
// size with the model's tokenizer, prefill with a live progress line on stderr, and stream the
// answer to stdout. The prefilled context is kept in the prefix cache, so a later question about the
// same sources prefills only the question. --session keeps sources and conversation (session_runtime.h).
#include "args.h"
#include "cli.h"

#include "folio/ingest/session_store.h"
#include "runtime/session_files.h"
#include "runtime/session_runtime.h"

#include <QString>

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    using namespace folio::ingest;
    Args args({"demo", "thinking"}, {"model", "session", "device", "context", "max-tokens", "temperature", "top-p", "seed",
                                     "threads", "chunk", "checkpoint-every", "endpoint", "remote-model", "api",
                                     "reasoning-effort"});
    if (!args.parse(argv)) return fail("ask", args.error(), ExitUsage);
    if (!args.sawDashDash() || args.afterDashDash().empty())
        return fail("ask", "the question goes after --: folio-cli ask [SOURCE...] -- QUESTION", ExitUsage);
    if (!args.has("endpoint") && args.has("demo") == args.has("model"))
        return fail("ask", "give either --model DIR, --demo or --endpoint URL", ExitUsage);
    if (args.has("endpoint") && args.has("demo"))
        return fail("ask", "--endpoint answers with the server's model; --demo does not apply", ExitUsage);
    std::string question;
    for (const std::string& w : args.afterDashDash()) question += (question.empty() ? "" : " ") + w;
    long long context = 0, maxTokens = 0, seed = 0, threads = 0, chunk = 0, every = 0;
    if (!args.intValue("context", 262144, &context) || !args.intValue("max-tokens", args.has("demo") ? 48 : 1024, &maxTokens) ||
        !args.intValue("seed", 0, &seed) || !args.intValue("threads", 0, &threads) ||
        !args.intValue("chunk", app::kDefaultChunk, &chunk) || !args.intValue("checkpoint-every", app::RuntimeOptions{}.checkpointEvery, &every))
        return fail("ask", args.error(), ExitUsage);
    const float temperature = std::stof(args.valueOr("temperature", "1.0"));
    const float topP = std::stof(args.valueOr("top-p", "1.0"));

    app::RuntimeOptions ro;
    ro.demo = args.has("demo");
    ro.modelDir = args.valueOr("model", "");
    ro.threads = int(threads);
    ro.device = args.valueOr("device", "auto");
    ro.contextSize = context;
    ro.chunk = chunk;
    ro.checkpointEvery = every;
    ro.answerReserve = maxTokens;
    ro.mode = args.has("thinking") ? ChatMode::Thinking : ChatMode::Chat;
    ro.endpoint = QString::fromStdString(args.valueOr("endpoint", ""));
    ro.remoteModel = args.valueOr("remote-model", "");
    if (!app::parseRemoteDialect(args.valueOr("api", "auto"), &ro.dialect))
        return fail("ask", "--api must be auto, openai, deepseek or llamacpp", ExitUsage);
    ro.reasoningEffort = args.valueOr("reasoning-effort", "");
    if (!ro.reasoningEffort.empty() && ro.reasoningEffort != "high" && ro.reasoningEffort != "max")
        return fail("ask", "--reasoning-effort must be high or max", ExitUsage);
    if (!ro.reasoningEffort.empty() && !args.has("thinking"))
        return fail("ask", "--reasoning-effort applies to --thinking", ExitUsage);
    if (ro.demo)
        std::fprintf(stderr, "Demo model: generated weights and a tokenizer trained by Folio. Its answers carry no "
                             "meaning; they show the pipeline running.\n");
    app::SessionRuntime rt(ro);
    auto warnings = [&] {
        for (const std::string& w : rt.takeWarnings()) std::fprintf(stderr, "folio-cli ask: %s\n", w.c_str());
    };
    if (auto st = rt.loadModel(); !st.ok()) return fail("ask", st.error());

    // --session NAME: a saved session keeps its sources and its conversation in the session
    // database; asking again reuses both (and, through the prefix cache, the prefilled context).
    bool anyFailed = false;
    const std::string name = args.valueOr("session", "");
    bool reopened = false;
    if (!name.empty()) {
        ingest::SessionStore probe;
        if (!probe.open(app::sessionDatabasePath())) return fail("ask", probe.lastError());
        reopened = probe.findSession(name).has_value();
    }
    if (reopened) {
        if (!args.positional().empty())
            return fail("ask", "session '" + name + "' already has its sources; ask without SOURCE arguments", ExitUsage);
        if (auto st = rt.openSession(name); !st.ok()) return fail("ask", st.error());
        const app::SessionSummary s = rt.summary();
        std::fprintf(stderr, "Session %s: %zu sources, %zu earlier messages\n", name.c_str(), s.sources, s.history);
    } else {
        auto warn = [&](const std::string& w) {
            std::fprintf(stderr, "folio-cli ask: %s\n", w.c_str());
            anyFailed = true;
        };
        if (auto st = rt.createSession(name, args.positional(), IngestOptions{}, warn); !st.ok())
            return fail("ask", st.error());
    }
    if (auto st = rt.pack(question); !st.ok()) return fail("ask", st.error());
    const PackedContext& packed = *rt.packed();
    std::fprintf(stderr, "Context: %zu documents, %zu tokens of %lld%s\n", packed.documents.size(), packed.totalTokens,
                 std::min<long long>(context, rt.modelFacts() ? rt.modelFacts()->maxPositions : context),
                 packed.retrieval ? " (too large: the passages that best match the question)" : "");

    const bool tty = isatty(fileno(stderr)); // a terminal: one line rewritten; a log: a line per 10%
    int lastDecile = -1;
    bool announced = false;
    auto progress = [&](const app::PrefillReport& r) {
        if (!announced) {
            announced = true;
            if (r.reused)
                std::fprintf(stderr, "Reused %lld of %lld context tokens from the prefix cache\n", (long long)r.reused,
                             (long long)rt.counters().contextTokens);
        }
        const int decile = int(10 * r.done / std::max<std::int64_t>(1, r.total));
        if (!tty && decile == lastDecile) return;
        lastDecile = decile;
        std::fprintf(stderr, "%sprefill %lld/%lld tokens (%.0f%%), %lld reused, %.0f tok/s, ETA %.0f s, %s%s", tty ? "\r" : "",
                     (long long)r.done, (long long)r.total, 100.0 * double(r.done) / double(std::max<std::int64_t>(1, r.total)),
                     (long long)r.reused, r.recentRate, r.etaSeconds, r.source.c_str(), tty ? "\033[K" : "\n");
    };
    const Status prefilled = rt.prefillContext(progress, nullptr);
    if (tty) std::fprintf(stderr, "\n");
    warnings();
    if (!prefilled.ok()) return fail("ask", prefilled.error());

    app::Answer answer;
    auto onToken = [](const std::string& text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
    };
    const Status asked = rt.ask(question, {temperature, topP, std::uint64_t(seed)}, maxTokens, onToken, nullptr, &answer);
    std::fputc('\n', stdout);
    warnings();
    if (!asked.ok()) return fail("ask", asked.error());
    for (const Citation& c : answer.citations)
        if (!c.resolved) std::fprintf(stderr, "folio-cli ask: [%s] does not resolve: %s\n", c.text.c_str(), c.error.c_str());
    return anyFailed ? ExitFailed : ExitOk;
}

} // namespace

const Command kAskCommand{
    "ask", "Ingest, prefill and answer a question",
    "Usage: folio-cli ask [--model DIR | --demo | --endpoint URL] [--session NAME] [SOURCE...] -- QUESTION\n"
    "       [--context N] [--max-tokens N] [--temperature T] [--top-p P] [--seed S] [--thinking]\n"
    "       [--threads N] [--chunk N] [--checkpoint-every N] [--device cpu|cuda|auto]\n"
    "       [--api auto|openai|deepseek|llamacpp] [--reasoning-effort high|max]\n\n"
    "Does the whole job: ingest the sources, pack them into the context (default 262144 tokens) with\n"
    "the model's tokenizer, prefill with live progress on stderr, and stream the answer to stdout.\n"
    "--demo uses a small generated model (made on first use in the cache directory) whose answers\n"
    "carry no meaning. The prefilled context is cached (the user's cache directory), so a second\n"
    "question about the same sources reuses it. --session NAME saves the sources and the\n"
    "conversation (created on first use, with SOURCEs); later questions continue it without SOURCEs.\n"
    "--endpoint URL sends the context and the question to an OpenAI-compatible server (vLLM, SGLang,\n"
    "folio-cli serve; URL like http://host:8000/v1, a bearer key from FOLIO_API_KEY) instead of the\n"
    "embedded engine; --remote-model picks the model there, --model DIR its tokenizer for exact budgets.\n"
    "--api names the server's dialect (auto: a deepseek.com host is the DeepSeek API, a server that\n"
    "answers /props is llama.cpp's): the DeepSeek API's thinking switch, reasoning and cache figures,\n"
    "llama.cpp's prompt progress (the prefill line follows the server reading the context). The\n"
    "DeepSeek API's key may also come from DEEPSEEK_API_KEY.\n",
    run};

} // namespace folio::cli
