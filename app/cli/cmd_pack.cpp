// folio-cli pack: sources -> one packed, citable context and its manifest.
#include "args.h"
#include "cli.h"
#include "folio/ingest/count_cache.h"
#include "folio/ingest/manifest.h"
#include "folio/ingest/packer.h"
#include "folio/ingest/session_store.h"
#include "folio/ingest/source_loader.h"
#include "folio/tokenizer.h"
#include "json_line.h"
#include "runtime/app_paths.h"
#include "source_loading.h"

#include <QSaveFile>
#include <QString>
#include <cstdio>
#include <iostream>
#include <memory>

namespace folio::cli {

namespace {

using namespace folio::ingest;

const char* inclusionName(int inclusion) {
    return inclusion == 2 ? "whole" : inclusion == 1 ? "excerpts" : "left out";
}

std::string jsonArray(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i ? "," : "") + JsonLine::quote(items[i]);
    return out + "]";
}

// Saves the sources and their token counts as one session, in one transaction.
bool saveSession(const std::string& dbPath, const std::string& name, const PackedContext& ctx,
                 std::string* error) {
    SessionStore store;
    if (!store.open(QString::fromStdString(dbPath))) {
        *error = store.lastError();
        return false;
    }
    const bool ok = store.transaction([&] {
        SessionInfo info;
        info.name = name;
        info.modelFingerprint = ctx.tokenizer;
        info.budget = static_cast<std::int64_t>(ctx.budget);
        const auto sid = store.createSession(info);
        if (!sid) return false;
        for (std::size_t si = 0; si < ctx.sources.size(); ++si) {
            SourceResult src = ctx.sources[si];
            std::vector<std::int64_t> tokens;
            for (std::size_t d = 0; d < ctx.documents.size(); ++d) {
                if (ctx.documentSource[d] != si) continue;
                src.documents.push_back(ctx.documents[d]);
                tokens.push_back(static_cast<std::int64_t>(ctx.documentTokens[d]));
            }
            if (!store.saveSource(*sid, src, &tokens, ctx.tokenizer)) return false;
        }
        return true;
    });
    if (!ok) *error = store.lastError();
    return ok;
}

int run(const std::vector<std::string>& argv) {
    Args args({"json", "committed", "follow-submodules", "manifest-first", "no-count-cache"},
              {"model", "tokenizer", "budget", "question", "ref", "max-file-kib", "anchor-every",
               "store", "session", "output", "threads"});
    if (!args.parse(argv)) return fail("pack", args.error(), ExitUsage);
    if (args.positional().empty())
        return fail("pack", "which sources? folio-cli pack SOURCE... (see --help)", ExitUsage);
    long long budget = 0, maxKib = 1024, anchorEvery = 10, threads = 0;
    if (!args.intValue("budget", 0, &budget) || !args.intValue("max-file-kib", 1024, &maxKib) ||
        !args.intValue("anchor-every", 10, &anchorEvery) || !args.intValue("threads", 0, &threads))
        return fail("pack", args.error(), ExitUsage);
    if (budget < 0 || maxKib <= 0 || anchorEvery < 0 || threads < 0)
        return fail(
            "pack",
            "--budget, --max-file-kib, --anchor-every and --threads take non-negative numbers",
            ExitUsage);
    if (args.has("store") != args.has("session"))
        return fail("pack", "--store DB and --session NAME go together", ExitUsage);

    // Token counting: the model's tokenizer when given, else a clearly labelled approximation.
    TokenCounting counting = approximateTokenCounting();
    std::unique_ptr<Tokenizer> tokenizer;
    const auto tokenizerPath =
        args.has("tokenizer") ? args.value("tokenizer") : args.value("model");
    if (tokenizerPath) {
        auto loaded = Tokenizer::load(*tokenizerPath);
        if (!loaded) return fail("pack", loaded.error());
        tokenizer = std::move(*loaded);
        counting = exactCounting(*tokenizer, "tokenizer.json of " + *tokenizerPath);
    } else {
        std::fprintf(stderr, "folio-cli pack: token counts are APPROXIMATE (no tokenizer); pass "
                             "--model DIR for exact counts\n");
    }

    IngestOptions ingestOptions;
    ingestOptions.git.maxFileBytes = static_cast<std::uint64_t>(maxKib) * 1024;
    ingestOptions.git.followSubmodules = args.has("follow-submodules");
    if (args.has("committed") || args.has("ref")) {
        ingestOptions.git.mode = GitTreeMode::Committed;
        ingestOptions.git.ref = args.valueOr("ref", "HEAD");
    }
    bool sourceFailed = false;
    std::vector<SourceResult> sources = loadSources("pack", args.positional(), ingestOptions, &sourceFailed);
    if (sources.empty()) return fail("pack", "no source could be read");

    PackOptions packOptions;
    packOptions.budget = static_cast<std::size_t>(budget);
    packOptions.question = args.valueOr("question", "");
    packOptions.lineAnchorEvery = static_cast<int>(anchorEvery);
    packOptions.threads = static_cast<int>(threads);
    packOptions.manifestFirst = args.has("manifest-first");
    // Exact counts from earlier runs (the cache directory's token-counts.sqlite): a second pack of
    // the same tree tokenizes only what changed.
    std::unique_ptr<TokenCountCache> countCache;
    if (tokenizer && !args.has("no-count-cache")) {
        std::string error;
        countCache = app::openTokenCountCache(*tokenizer, &error);
        if (!countCache) std::fprintf(stderr, "folio-cli pack: counting without the token count cache: %s\n", error.c_str());
        packOptions.countCache = countCache.get();
    }
    const PackedContext ctx = packSources(std::move(sources), counting, packOptions);
    if (countCache) {
        std::string error;
        if (!countCache->save(&error)) std::fprintf(stderr, "folio-cli pack: %s\n", error.c_str());
    }

    if (args.has("store")) {
        std::string error;
        if (!saveSession(*args.value("store"), *args.value("session"), ctx, &error))
            return fail("pack", "saving the session: " + error);
    }
    const std::string text = ctx.text();
    if (const auto output = args.value("output")) {
        // Written atomically: a reader never sees half a context.
        QSaveFile out(QString::fromStdString(*output));
        out.setDirectWriteFallback(
            true); // /dev/null, or a folder where no temporary file can be made
        if (!out.open(QIODevice::WriteOnly) ||
            out.write(text.data(), static_cast<qint64>(text.size())) !=
                static_cast<qint64>(text.size()) ||
            !out.commit())
            return fail("pack", "cannot write " + *output + ": " + out.errorString().toStdString());
    }

    if (!ctx.warning.empty()) std::fprintf(stderr, "folio-cli pack: %s\n", ctx.warning.c_str());
    std::size_t skippedCount = 0;
    for (const auto& s : ctx.sources) skippedCount += s.skipped.size();
    if (args.has("json")) {
        const auto perSource = ctx.sourceTokens();
        for (std::size_t si = 0; si < ctx.sources.size(); ++si) {
            const SourceResult& s = ctx.sources[si];
            std::size_t docs = 0;
            for (const std::size_t ds : ctx.documentSource) docs += ds == si ? 1 : 0;
            const auto it = perSource.find(s.name);
            JsonLine()
                .add("type", "source")
                .add("name", s.name)
                .add("kind", s.kindName)
                .add("location", s.location)
                .add("description", s.description)
                .add("documents", static_cast<std::uint64_t>(docs))
                .add("skipped", static_cast<std::uint64_t>(s.skipped.size()))
                .add("tokens", static_cast<std::uint64_t>(it == perSource.end() ? 0 : it->second))
                .print();
        }
        for (std::size_t d = 0; d < ctx.documents.size(); ++d) {
            const Document& doc = ctx.documents[d];
            JsonLine()
                .add("type", "document")
                .add("source", ctx.sources[ctx.documentSource[d]].name)
                .add("path", doc.path)
                .add("kind", documentKindName(doc.kind))
                .add("language", doc.language)
                .add("lines", doc.lineCount())
                .add("bytes", static_cast<std::uint64_t>(doc.byteSize))
                .add("tokens", static_cast<std::uint64_t>(ctx.documentTokens[d]))
                .add("included_tokens", static_cast<std::uint64_t>(ctx.includedTokens[d]))
                .add("inclusion", inclusionName(ctx.inclusion[d]))
                .addRaw("notes", jsonArray(doc.notes))
                .print();
        }
        for (const auto& s : ctx.sources)
            for (const auto& f : s.skipped)
                JsonLine()
                    .add("type", "skipped")
                    .add("source", s.name)
                    .add("path", f.path)
                    .add("reason", skipReasonName(f.reason))
                    .add("detail", f.detail)
                    .print();
        // The folder summary the manifest is drawn from, every folder (the manifest shows those
        // that fit its cap).
        const ManifestInput in{&ctx.sources, &ctx.documents, &ctx.documentSource,
                               &ctx.documentTokens, &ctx.inclusion};
        for (const FolderStats& f : folderSummary(in))
            JsonLine()
                .add("type", "folder")
                .add("source", ctx.sources[f.source].name)
                .add("path", ctx.sources[f.source].name + "/" + f.path)
                .add("files", static_cast<std::uint64_t>(f.files))
                .add("tokens", static_cast<std::uint64_t>(f.tokens))
                .add("whole", static_cast<std::uint64_t>(f.whole))
                .add("excerpts", static_cast<std::uint64_t>(f.excerpts))
                .add("over_budget", static_cast<std::uint64_t>(f.overBudget))
                .add("left_out", static_cast<std::uint64_t>(f.skipped))
                .print();
        std::size_t manifestTokens = 0;
        for (const auto& seg : ctx.segments)
            if (seg.kind == SegmentKind::Manifest) manifestTokens += seg.tokens;
        JsonLine summary;
        summary.add("type", "summary")
            .add("total_tokens", static_cast<std::uint64_t>(ctx.totalTokens))
            .add("budget", static_cast<std::uint64_t>(ctx.budget))
            .add("retrieval", ctx.retrieval)
            .add("tokenizer", ctx.tokenizer)
            .add("exact", ctx.exactCounts)
            .add("documents", static_cast<std::uint64_t>(ctx.documents.size()))
            .add("skipped", static_cast<std::uint64_t>(skippedCount))
            .add("segments", static_cast<std::uint64_t>(ctx.segments.size()))
            .add("manifest_tokens", static_cast<std::uint64_t>(manifestTokens))
            .add("bytes", static_cast<std::uint64_t>(text.size()));
        if (countCache) // texts whose counts came from earlier runs / were tokenized now
            summary.add("counts_cached", static_cast<std::uint64_t>(countCache->hits()))
                .add("counts_tokenized", static_cast<std::uint64_t>(countCache->misses()));
        summary.print();
        if (!args.has("output")) JsonLine().add("type", "context").add("text", text).print();
    } else {
        if (!args.has("output")) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
        }
        std::fprintf(stderr, "folio-cli pack: %zu documents, %zu left out, %zu tokens%s%s\n",
                     ctx.documents.size(), skippedCount, ctx.totalTokens,
                     ctx.exactCounts ? "" : " (approximate)",
                     ctx.retrieval ? "; over the budget: excerpts selected" : "");
    }
    return sourceFailed ? ExitFailed : ExitOk;
}

} // namespace

const Command kPackCommand{
    "pack", "Pack sources into one citable context",
    "Usage: folio-cli pack SOURCE... [--model DIR | --tokenizer FILE] [--budget N] [--question Q] "
    "[--json]\n"
    "                      [--ref REF | --committed] [--follow-submodules] [--max-file-kib N]\n"
    "                      [--anchor-every K] [--manifest-first] [--threads N] [--output FILE]\n"
    "                      [--store DB --session NAME] [--no-count-cache]\n\n"
    "Ingests git repositories (the working tree by default; --ref or --committed reads a commit's "
    "tree),\n"
    "folders, PDFs, transcripts (SRT, WebVTT, Whisper JSON, timestamped text) and text files, and "
    "prints\n"
    "the packed context. Token counts use the model's tokenizer (--model DIR holding "
    "tokenizer.json, or\n"
    "--tokenizer FILE); without one they are approximate, and the command says so.\n\n"
    "  --budget N        token budget; when the sources do not fit, chunks are selected (BM25 "
    "against\n"
    "                    --question, else in context order) and the rest is listed as left out\n"
    "  --anchor-every K  a line-number anchor \"N|\" every K lines (default 10; 1 = every line; 0 "
    "= none)\n"
    "  --max-file-kib N  files in repositories and folders larger than this are skipped (default "
    "1024)\n"
    "  --manifest-first  the manifest after the preamble instead of at the end (the end keeps the\n"
    "                    prefix stable when sources change)\n"
    "  --json            one JSON object per line: source, document, skipped, folder, summary, "
    "context\n"
    "  --output FILE     write the context to FILE instead of stdout\n"
    "  --store DB        also save the sources, documents and counts as session NAME in database "
    "DB\n"
    "  --no-count-cache  count every text again (by default exact counts are kept between runs in\n"
    "                    the cache directory's token-counts.sqlite, keyed by tokenizer and text)\n",
    run};

} // namespace folio::cli
