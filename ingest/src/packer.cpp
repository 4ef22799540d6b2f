#include "folio/ingest/packer.h"

#include "folio/ingest/chunk_index.h"
#include "folio/ingest/context_format.h"
#include "folio/ingest/manifest.h"

#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>

namespace folio::ingest {

namespace {

// Sources that never change first, repositories last (see packer.h).
int sourceGroup(const SourceResult& s) {
    if (s.kindName == "git repository") return 2;
    if (s.kindName == "folder") return 1;
    return 0;
}

// Runs fn(i) for i in [0, n) on `threads` threads (0: all cores). Documents are independent, so
// framing and counting spread over the cores; tokenization is the bottleneck of packing.
template <typename Fn> void parallelFor(std::size_t n, int threads, Fn fn) {
    unsigned t = threads > 0 ? static_cast<unsigned>(threads)
                             : std::max(1u, std::thread::hardware_concurrency());
    t = static_cast<unsigned>(std::min<std::size_t>(t, std::max<std::size_t>(n, 1)));
    std::atomic<std::size_t> next{0};
    auto work = [&]() {
        for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
    };
    std::vector<std::thread> pool;
    for (unsigned k = 1; k < t; ++k) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
}

struct Selection {
    std::vector<PackedSegment> body; // documents and excerpts, in context order
    std::vector<int> inclusion;
    std::vector<std::size_t> included;
};

// Lays out the chosen chunks in context order: adjacent chunks merge into one excerpt, a document
// with every chunk chosen goes in whole (reusing its counted whole segment).
Selection layout(const PackedContext& ctx, const std::vector<Chunk>& chunks,
                 const std::vector<std::size_t>& firstChunk, const std::vector<bool>& chosen,
                 const std::vector<PackedSegment>& wholeSegments, const TokenCounting& counting,
                 int anchorEvery) {
    Selection sel;
    sel.inclusion.assign(ctx.documents.size(), 0);
    sel.included.assign(ctx.documents.size(), 0);
    for (std::size_t d = 0; d < ctx.documents.size(); ++d) {
        const std::size_t from = firstChunk[d], to = firstChunk[d + 1];
        bool all = from < to;
        bool any = false;
        for (std::size_t c = from; c < to; ++c) {
            all = all && chosen[c];
            any = any || chosen[c];
        }
        if (!any) continue;
        if (all) {
            sel.body.push_back(wholeSegments[d]);
            sel.inclusion[d] = 2;
            sel.included[d] = wholeSegments[d].tokens;
            continue;
        }
        sel.inclusion[d] = 1;
        for (std::size_t c = from; c < to;) {
            if (!chosen[c]) {
                ++c;
                continue;
            }
            Chunk merged = chunks[c];
            std::size_t e = c + 1;
            while (e < to && chosen[e]) {
                merged.end = chunks[e].end;
                merged.lastLine = chunks[e].lastLine;
                ++e;
            }
            PackedSegment seg;
            seg.kind = SegmentKind::Excerpt;
            seg.document = d;
            seg.text = frameExcerpt(ctx.documents[d], merged, anchorEvery);
            seg.tokens = counting.count(seg.text);
            seg.firstLine = merged.firstLine;
            seg.lastLine = merged.lastLine;
            sel.included[d] += seg.tokens;
            sel.body.push_back(std::move(seg));
            c = e;
        }
    }
    return sel;
}

} // namespace

std::string PackedContext::text() const {
    std::size_t total = 0;
    for (const auto& s : segments) total += s.text.size();
    std::string out;
    out.reserve(total);
    for (const auto& s : segments) out += s.text;
    return out;
}

std::vector<std::int32_t> PackedContext::tokenIds(const TokenEncoder& encode) const {
    std::vector<std::int32_t> ids;
    ids.reserve(totalTokens);
    for (const auto& s : segments) {
        const auto part = encode(s.text);
        ids.insert(ids.end(), part.begin(), part.end());
    }
    return ids;
}

std::map<std::string, std::size_t> PackedContext::sourceTokens() const {
    std::map<std::string, std::size_t> out;
    for (std::size_t d = 0; d < documents.size(); ++d)
        out[sources[documentSource[d]].name] += documentTokens[d];
    return out;
}

std::map<std::string, std::size_t> PackedContext::folderTokens() const {
    std::map<std::string, std::size_t> out;
    for (std::size_t d = 0; d < documents.size(); ++d) {
        const std::string root = sources[documentSource[d]].name + "/";
        const std::string& path = documents[d].path;
        out[root] += documentTokens[d];
        for (auto slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1))
            out[root + path.substr(0, slash + 1)] += documentTokens[d];
    }
    return out;
}

std::size_t PackedContext::segmentOf(std::size_t doc) const {
    for (std::size_t i = 0; i < segments.size(); ++i)
        if (segments[i].document == doc) return i;
    return static_cast<std::size_t>(-1);
}

PackedContext packSources(std::vector<SourceResult> sources, const TokenCounting& counting,
                          const PackOptions& options) {
    PackedContext ctx;
    ctx.budget = options.budget;
    ctx.tokenizer = counting.name;
    ctx.exactCounts = counting.exact;

    std::vector<std::size_t> order(sources.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return sourceGroup(sources[a]) < sourceGroup(sources[b]);
    });
    for (const std::size_t si : order) {
        SourceResult& src = sources[si];
        std::stable_sort(
            src.documents.begin(), src.documents.end(), [](const Document& a, const Document& b) {
                return a.changeRank != b.changeRank ? a.changeRank < b.changeRank : a.path < b.path;
            });
        const std::size_t index = ctx.sources.size();
        for (Document& d : src.documents) {
            ctx.documents.push_back(std::move(d));
            ctx.documentSource.push_back(index);
        }
        src.documents.clear();
        ctx.sources.push_back(std::move(src));
    }

    const std::size_t n = ctx.documents.size();
    PackedSegment preamble{SegmentKind::Preamble,
                           framePreamble(ctx.sources, options.manifestFirst),
                           0,
                           PackedSegment::kNoDocument,
                           0,
                           0};
    preamble.tokens = counting.count(preamble.text);
    std::vector<PackedSegment> whole(n);
    ctx.documentTokens.resize(n);
    parallelFor(n, options.threads, [&](std::size_t d) {
        whole[d].kind = SegmentKind::Document;
        whole[d].document = d;
        const int lines = ctx.documents[d].lineCount();
        whole[d].text = frameDocument(ctx.documents[d], options.lineAnchorEvery, lines);
        whole[d].tokens = counting.count(whole[d].text);
        whole[d].firstLine = 1;
        whole[d].lastLine = lines;
        ctx.documentTokens[d] = whole[d].tokens;
    });
    // The manifest's cap (manifest.h): 2% of the budget; without a budget, 2% of the content.
    const std::size_t wholeSum =
        std::accumulate(ctx.documentTokens.begin(), ctx.documentTokens.end(), std::size_t{0});
    const std::size_t cap = options.budget ? options.budget / 50
                                           : std::max<std::size_t>(512, (preamble.tokens + wholeSum) / 50);
    auto manifestSegment = [&](const std::vector<int>& inclusion) {
        const ManifestInput in{&ctx.sources, &ctx.documents, &ctx.documentSource,
                               &ctx.documentTokens, &inclusion};
        PackedSegment m{
            SegmentKind::Manifest, frameManifest(in, counting, cap), 0, PackedSegment::kNoDocument,
            0, 0};
        m.tokens = counting.count(m.text);
        return m;
    };
    auto finish = [&](std::vector<PackedSegment> body, std::vector<int> inclusion,
                      std::vector<std::size_t> included) {
        PackedSegment manifest = manifestSegment(inclusion);
        ctx.segments.clear();
        ctx.segments.push_back(preamble);
        if (options.manifestFirst) ctx.segments.push_back(std::move(manifest));
        for (auto& s : body) ctx.segments.push_back(std::move(s));
        if (!options.manifestFirst) ctx.segments.push_back(std::move(manifest));
        ctx.inclusion = std::move(inclusion);
        ctx.includedTokens = std::move(included);
        ctx.totalTokens = 0;
        for (const auto& s : ctx.segments) ctx.totalTokens += s.tokens;
    };

    {
        std::vector<int> all(n, kWhole);
        const PackedSegment manifest = manifestSegment(all);
        if (options.budget == 0 || preamble.tokens + wholeSum + manifest.tokens <= options.budget) {
            finish(std::move(whole), std::move(all), ctx.documentTokens);
            return ctx;
        }
    }

    // Retrieval: chunk, rank, fill.
    ctx.retrieval = true;
    const std::vector<Chunk> chunks = chunkDocuments(ctx.documents, options.chunking);
    std::vector<std::size_t> firstChunk(n + 1, chunks.size());
    for (std::size_t c = chunks.size(); c-- > 0;) firstChunk[chunks[c].document] = c;
    for (std::size_t d = n; d-- > 0;) firstChunk[d] = std::min(firstChunk[d], firstChunk[d + 1]);
    std::vector<std::size_t> cost(chunks.size());
    parallelFor(chunks.size(), options.threads, [&](std::size_t c) {
        cost[c] = counting.count(
            frameExcerpt(ctx.documents[chunks[c].document], chunks[c], options.lineAnchorEvery));
    });

    std::vector<std::size_t> ranked;
    if (!options.question.empty()) {
        ChunkIndex index;
        if (index.add(chunks, ctx.documents)) ranked = index.rank(options.question);
    }
    {
        std::vector<bool> seen(chunks.size(), false);
        for (const std::size_t c : ranked) seen[c] = true;
        for (std::size_t c = 0; c < chunks.size(); ++c)
            if (!seen[c]) ranked.push_back(c);
    }
    // The manifest never takes more than its cap, whatever is chosen.
    const std::size_t fixed = preamble.tokens + cap;
    std::vector<bool> chosen(chunks.size(), false);
    std::vector<std::size_t> picked;
    std::size_t used = fixed;
    for (const std::size_t c : ranked) {
        if (used + cost[c] > options.budget) continue; // a smaller chunk further down may still fit
        chosen[c] = true;
        picked.push_back(c);
        used += cost[c];
    }
    // Merging changes counts slightly (fewer frames, BPE at the seams): check, and drop the
    // lowest-ranked chunks until the exact total fits.
    while (true) {
        Selection sel =
            layout(ctx, chunks, firstChunk, chosen, whole, counting, options.lineAnchorEvery);
        finish(std::move(sel.body), std::move(sel.inclusion), std::move(sel.included));
        if (ctx.totalTokens <= options.budget || picked.empty()) break;
        chosen[picked.back()] = false;
        picked.pop_back();
    }
    if (ctx.totalTokens > options.budget) {
        // No content is left and the preamble and manifest are still over: a budget smaller than
        // the preamble plus 2%. Keep the preamble alone if it fits, else nothing, and say so.
        ctx.warning = "a budget of " + std::to_string(options.budget) +
                      " tokens has no room for content after the context's preamble (" +
                      std::to_string(preamble.tokens) + " tokens)";
        ctx.segments.clear();
        if (preamble.tokens <= options.budget) ctx.segments.push_back(preamble);
        ctx.totalTokens = ctx.segments.empty() ? 0 : preamble.tokens;
    }
    return ctx;
}

} // namespace folio::ingest
