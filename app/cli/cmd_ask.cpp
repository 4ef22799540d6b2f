// folio-cli ask: the whole job in one process: ingest the sources, pack them against the context
// size with the model's tokenizer, prefill with a live progress line on stderr, and stream the
// answer to stdout. Saved sessions and the prefix cache (--session) arrive with the session runtime.
#include "args.h"
#include "cli.h"
#include "source_loading.h"

#include "folio/engine.h"
#include "folio/tokenizer.h"
#include "runtime/demo_model.h"

#include <chrono>
#include <cstdio>
#include <unistd.h>

namespace folio::cli {

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr const char* kSystemPrompt =
    "You answer questions about the sources below. Quote and cite them: [path:line] or "
    "[path:first-last] for files, [title p. N] for PDFs, [name hh:mm:ss] for transcripts.\n\n";

int run(const std::vector<std::string>& argv) {
    using namespace folio::ingest;
    Args args({"demo", "thinking"},
              {"model", "session", "device", "context", "max-tokens", "temperature", "top-p", "seed", "threads", "chunk"});
    if (!args.parse(argv)) return fail("ask", args.error(), ExitUsage);
    if (!args.sawDashDash() || args.afterDashDash().empty())
        return fail("ask", "the question goes after --: folio-cli ask [SOURCE...] -- QUESTION", ExitUsage);
    if (args.has("session"))
        return unavailable("ask", "--session: saved sessions and the prefix cache arrive with the session runtime");
    if (args.has("demo") == args.has("model")) return fail("ask", "give either --model DIR or --demo", ExitUsage);
    std::string question;
    for (const std::string& w : args.afterDashDash()) question += (question.empty() ? "" : " ") + w;
    long long context = 0, maxTokens = 0, seed = 0, threads = 0, chunk = 0;
    if (!args.intValue("context", 262144, &context) || !args.intValue("max-tokens", args.has("demo") ? 48 : 1024, &maxTokens) ||
        !args.intValue("seed", 0, &seed) || !args.intValue("threads", 0, &threads) || !args.intValue("chunk", 512, &chunk))
        return fail("ask", args.error(), ExitUsage);
    const float temperature = std::stof(args.valueOr("temperature", "1.0"));
    const float topP = std::stof(args.valueOr("top-p", "1.0"));

    std::string dir;
    if (args.has("demo")) {
        std::fprintf(stderr, "Demo model: generated weights and a tokenizer trained by Folio. Its answers carry no "
                             "meaning; they show the pipeline running.\n");
        QString error;
        const QString path = app::ensureDemoModel(&error);
        if (path.isEmpty()) return fail("ask", "cannot prepare the demo model: " + error.toStdString());
        dir = path.toStdString();
    } else {
        dir = *args.value("model");
    }
    auto tokenizer = Tokenizer::load(dir);
    if (!tokenizer.ok()) return fail("ask", tokenizer.error());
    const Tokenizer& tok = *tokenizer.value();
    auto opened = Model::open(dir, ModelOptions{int(threads), args.valueOr("device", "auto")});
    if (!opened.ok()) return fail("ask", opened.error());
    const Model& model = *opened.value();
    context = std::min<long long>(context, model.facts().maxPositions);

    // Sources, packed to fit the context with room for the question and the answer.
    bool anyFailed = false;
    std::vector<SourceResult> sources = loadSources("ask", args.positional(), IngestOptions{}, &anyFailed);
    if (sources.empty() && !args.positional().empty()) return fail("ask", "no source could be read");
    const long long reserve = (long long)tok.count(question) + (long long)tok.count(kSystemPrompt) + maxTokens + 64;
    if (reserve >= context) return fail("ask", "the context of " + std::to_string(context) + " tokens cannot hold the question and answer");
    PackOptions po;
    po.budget = std::size_t(context - reserve);
    po.question = question;
    const PackedContext packed = packSources(std::move(sources), exactCounting(tok, dir + "/tokenizer.json"), po);
    std::fprintf(stderr, "Context: %zu documents, %zu tokens of %lld%s\n", packed.documents.size(), packed.totalTokens,
                 context, packed.retrieval ? " (too large: the passages that best match the question)" : "");

    std::vector<ChatTurn> turns = {{ChatRole::User, question, {}}};
    auto prompt = encodeChat(tok, std::string(kSystemPrompt) + packed.text(), turns,
                             args.has("thinking") ? ChatMode::Thinking : ChatMode::Chat, true);
    if (!prompt.ok()) return fail("ask", prompt.error());
    const std::vector<std::int32_t>& ids = prompt.value();

    // Where each packed segment starts, in prompt tokens, to name the source being read.
    std::vector<std::pair<std::size_t, std::string>> marks;
    std::size_t offset = 1 + tok.count(kSystemPrompt);
    for (const PackedSegment& seg : packed.segments) {
        marks.push_back({offset, seg.document == PackedSegment::kNoDocument ? std::string("(manifest)")
                                                                            : packed.documents[seg.document].path});
        offset += seg.tokens;
    }
    auto sourceAt = [&](std::size_t pos) {
        std::string name;
        for (const auto& m : marks)
            if (m.first <= pos) name = m.second;
        return name;
    };

    auto seq = model.newSequence();
    PrefillOptions opt;
    opt.chunk = chunk;
    const double t0 = now();
    // On a terminal the progress line rewrites itself after every chunk; in a log, a line per 10%.
    const bool tty = isatty(fileno(stderr));
    int lastDecile = -1;
    opt.progress = [&](const PrefillProgress& p) {
        const double dt = now() - t0, rate = double(p.done) / std::max(dt, 1e-9);
        const int decile = int(10 * p.done / std::max<std::int64_t>(1, p.total));
        if (!tty && decile == lastDecile) return true;
        lastDecile = decile;
        std::fprintf(stderr, "%sprefill %lld/%lld tokens (%.0f%%), %.0f tok/s, ETA %.0f s, %s%s", tty ? "\r" : "",
                     (long long)p.done, (long long)p.total, 100.0 * double(p.done) / double(p.total), rate,
                     double(p.total - p.done) / std::max(rate, 1e-9), sourceAt(std::size_t(p.done)).c_str(),
                     tty ? "\033[K" : "\n");
        return true;
    };
    std::vector<float> logits;
    if (auto st = model.prefill(*seq, ids, opt, &logits); !st.ok()) return fail("ask", st.error());
    if (tty) std::fprintf(stderr, "\n");

    Sampler sampler({temperature, topP, std::uint64_t(seed)});
    StreamDecoder stream(tok);
    for (long long i = 0; i < maxTokens; ++i) {
        const std::int32_t next = sampler.sample(logits);
        if (next == tok.eosId()) break;
        const std::string text = stream.push(next);
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        if (auto st = model.decode(*seq, next, &logits); !st.ok()) return fail("ask", st.error());
    }
    const std::string rest = stream.finish();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    return anyFailed ? ExitFailed : ExitOk;
}

} // namespace

const Command kAskCommand{
    "ask", "Ingest, prefill and answer a question",
    "Usage: folio-cli ask [--model DIR | --demo] [--session NAME] [SOURCE...] -- QUESTION\n"
    "       [--context N] [--max-tokens N] [--temperature T] [--top-p P] [--seed S] [--thinking]\n"
    "       [--threads N] [--chunk N] [--device cpu|cuda|auto]\n\n"
    "Does the whole job: ingest the sources, pack them into the context (default 262144 tokens) with\n"
    "the model's tokenizer, prefill with live progress on stderr, and stream the answer to stdout.\n"
    "--demo uses a small generated model (made on first use in the cache directory) whose answers\n"
    "carry no meaning. --session (saved sessions, prefix cache) is not in this build yet.\n",
    run};

} // namespace folio::cli
