// folio-cli ask: the whole job in one process: ingest the sources, pack them against the context
// size with the model's tokenizer, prefill with a live progress line on stderr, and stream the
// answer to stdout. The prefilled context is kept in the prefix cache, so a later question about the
// same sources prefills only the question. Saved sessions (--session) arrive with the session runtime.
#include "args.h"
#include "cli.h"
#include "source_loading.h"

#include "folio/engine.h"
#include "folio/tokenizer.h"
#include "runtime/app_paths.h"
#include "runtime/demo_model.h"
#include "runtime/prefix_cache.h"
#include "runtime/session_files.h"
#include "folio/ingest/session_store.h"

#include <QDir>

#include <chrono>
#include <cstdio>
#include <sstream>
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
    // --session NAME: a saved session keeps its sources and its conversation in the session
    // database; asking again reuses both (and, through the prefix cache, the prefilled context).
    SessionStore store;
    std::optional<SessionInfo> session;
    std::vector<Message> history;
    if (args.has("session")) {
        if (!store.open(app::sessionDatabasePath())) return fail("ask", store.lastError());
        session = store.findSession(*args.value("session"));
        if (session && !args.positional().empty())
            return fail("ask", "session '" + session->name + "' already has its sources; ask without SOURCE arguments",
                        ExitUsage);
    }
    std::vector<SourceResult> sources;
    if (session) {
        for (const StoredSource& s : store.sources(session->id)) {
            SourceResult r;
            r.name = s.name;
            r.location = s.location;
            r.kindName = s.kindName;
            r.description = s.description;
            r.documents = store.documents(s.id);
            r.skipped = store.skipped(s.id);
            sources.push_back(std::move(r));
        }
        history = store.messages(session->id);
        std::fprintf(stderr, "Session %s: %zu sources, %zu earlier messages\n", session->name.c_str(), sources.size(),
                     history.size());
    } else {
        sources = loadSources("ask", args.positional(), IngestOptions{}, &anyFailed);
        if (sources.empty() && !args.positional().empty()) return fail("ask", "no source could be read");
        if (args.has("session")) {
            SessionInfo info;
            info.name = *args.value("session");
            info.modelFingerprint = std::to_string(model.facts().fingerprint);
            info.contextSize = context;
            const bool saved = store.transaction([&] {
                const auto id = store.createSession(info);
                if (!id) return false;
                for (const SourceResult& r : sources)
                    if (!store.saveSource(*id, r)) return false;
                info.id = *id;
                return true;
            });
            if (!saved) return fail("ask", "cannot save the session: " + store.lastError());
            session = info;
        }
    }
    const long long reserve = (long long)tok.count(question) + (long long)tok.count(kSystemPrompt) + maxTokens + 64;
    if (reserve >= context) return fail("ask", "the context of " + std::to_string(context) + " tokens cannot hold the question and answer");
    PackOptions po;
    po.budget = std::size_t(context - reserve);
    po.question = question;
    const PackedContext packed = packSources(std::move(sources), exactCounting(tok, dir + "/tokenizer.json"), po);
    std::fprintf(stderr, "Context: %zu documents, %zu tokens of %lld%s\n", packed.documents.size(), packed.totalTokens,
                 context, packed.retrieval ? " (too large: the passages that best match the question)" : "");

    std::vector<ChatTurn> turns;
    for (const Message& m : history)
        turns.push_back({m.role == "assistant" ? ChatRole::Assistant : ChatRole::User, m.content, {}});
    turns.push_back({ChatRole::User, question, {}});
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

    // The context part of the prompt (BOS, system, sources) is the same for every question about the
    // same sources: restore its longest cached prefix, prefill the rest, and snapshot it (every
    // kCheckpointEvery tokens on the way, so an interrupted prefill resumes, and at its last
    // 128-token boundary) before the question.
    const std::int32_t userId = tok.tokenId("<\xef\xbd\x9cUser\xef\xbd\x9c>");
    std::size_t contextLen = ids.size();
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == userId) {
            contextLen = i;
            break;
        }
    const std::size_t aligned = contextLen / std::size_t(app::kSnapshotAlign) * std::size_t(app::kSnapshotAlign);
    app::PrefixCache cache({QDir(app::cacheDirectory()).filePath(QStringLiteral("snapshots")), qint64(1) << 30,
                            qint64(20) << 30});
    const std::uint64_t fingerprint = model.facts().fingerprint;
    auto seq = model.newSequence();
    std::size_t reused = 0;
    if (const auto hit = cache.longest(fingerprint, std::span(ids.data(), aligned))) {
        if (seq->restore(std::span(hit->state.constData(), std::size_t(hit->state.size()))).ok())
            reused = std::size_t(hit->tokens);
        else seq = model.newSequence();
    }
    for (const QString& p : cache.takeProblems()) std::fprintf(stderr, "folio-cli ask: %s\n", qPrintable(p));
    if (reused) std::fprintf(stderr, "Reused %zu of %zu context tokens from the prefix cache\n", reused, contextLen);

    const double t0 = now();
    const bool tty = isatty(fileno(stderr)); // a terminal: one line rewritten; a log: a line per 10%
    int lastDecile = -1;
    std::size_t base = reused;
    PrefillOptions opt;
    opt.chunk = chunk;
    opt.progress = [&](const PrefillProgress& p) {
        const std::size_t done = base + std::size_t(p.done), total = ids.size();
        const double rate = double(done - reused) / std::max(now() - t0, 1e-9);
        const int decile = int(10 * done / std::max<std::size_t>(1, total));
        if (!tty && decile == lastDecile) return true;
        lastDecile = decile;
        std::fprintf(stderr, "%sprefill %zu/%zu tokens (%.0f%%), %zu reused, %.0f tok/s, ETA %.0f s, %s%s", tty ? "\r" : "",
                     done, total, 100.0 * double(done) / double(total), reused, rate,
                     double(total - done) / std::max(rate, 1e-9), sourceAt(done).c_str(), tty ? "\033[K" : "\n");
        return true;
    };
    auto snapshot = [&](std::size_t upto) {
        std::ostringstream out;
        if (!seq->save(out).ok()) return;
        const std::string bytes = out.str();
        QString error;
        if (!cache.put(fingerprint, std::span(ids.data(), upto), QByteArray(bytes.data(), qsizetype(bytes.size())), &error))
            std::fprintf(stderr, "\nfolio-cli ask: %s\n", qPrintable(error));
    };
    constexpr std::size_t kCheckpointEvery = 16384;
    while (base < aligned) {
        const std::size_t to = std::min(aligned, (base / kCheckpointEvery + 1) * kCheckpointEvery);
        if (auto st = model.prefill(*seq, std::span(ids.data() + base, to - base), opt, nullptr); !st.ok())
            return fail("ask", st.error());
        base = to;
        snapshot(base);
    }
    std::vector<float> logits;
    if (auto st = model.prefill(*seq, std::span(ids.data() + base, ids.size() - base), opt, &logits); !st.ok())
        return fail("ask", st.error());
    if (tty) std::fprintf(stderr, "\n");

    Sampler sampler({temperature, topP, std::uint64_t(seed)});
    StreamDecoder stream(tok);
    std::string answer;
    for (long long i = 0; i < maxTokens; ++i) {
        const std::int32_t next = sampler.sample(logits);
        if (next == tok.eosId()) break;
        const std::string text = stream.push(next);
        answer += text;
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        if (auto st = model.decode(*seq, next, &logits); !st.ok()) return fail("ask", st.error());
    }
    const std::string rest = stream.finish();
    answer += rest;
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    if (session) {
        const bool saved = store.transaction([&] {
            return store.addMessage(session->id, "user", question, std::int64_t(tok.count(question))) &&
                   store.addMessage(session->id, "assistant", answer, std::int64_t(tok.count(answer)));
        });
        if (!saved) return fail("ask", "the answer could not be saved in the session: " + store.lastError());
    }
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
    "carry no meaning. The prefilled context is cached (the user's cache directory), so a second\n"
    "question about the same sources reuses it. --session NAME saves the sources and the\n"
    "conversation (created on first use, with SOURCEs); later questions continue it without SOURCEs.\n",
    run};

} // namespace folio::cli
