#include "folio/ingest/packer.h"

#include "folio/ingest/count_cache.h"

#include "folio/ingest/context_format.h"
#include "folio/ingest/manifest.h"
#include "folio/ingest/repo_map.h"
#include "folio/ingest/retrieval_index.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <numeric>
#include <optional>
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
// with every chunk chosen goes in whole (framed again, with the count made when it was prepared).
Selection layout(const PackedContext& ctx, const std::vector<Chunk>& chunks,
                 const std::vector<std::size_t>& firstChunk, const std::vector<bool>& chosen,
                 const std::function<PackedSegment(std::size_t)>& wholeSegment,
                 const TokenCounting& counting,
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
            sel.body.push_back(wholeSegment(d));
            sel.inclusion[d] = 2;
            sel.included[d] = sel.body.back().tokens;
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

// Chooses chunks for `avail` tokens so that a change to one file leaves the choice in the rest of
// the context alone: the packer promises a context byte-identical up to the first chunk of a
// changed file (the prefix cache depends on it). `matched` is best first; `cost(c)` the framed
// tokens of chunk c (counted on first use: a selection needs a few hundred of them); chunk
// indices are in context order.
//
// A greedy fill by rank does not keep that promise: when the changed file's chunks grow by a few
// tokens, or rank higher, the last chunk that fit no longer does, and it can sit anywhere in the
// context. So the ranking is cut at a score: the best chunks are taken while they fit, and the
// cut is where the first one does not. With the retrieval statistics and that cut kept from an
// earlier pack (PackOptions::statistics), the chunks that did not change score the same bit for
// bit, and the cut takes every chunk above the cut score (and as many at it as before): the same
// candidates but for the changed file, which has moved to the tail of the context (packer.h).
// What no longer fits is trimmed from the tail, the changed file's chunks first, so everything
// before the changed file's old place comes out the same. The exceptions: when every match fits
// with room to spare, the room is filled with unmatched chunks in context order, and the promise
// holds only up to where that fill stops; and budgets too small for the best chunk are filled
// greedily.
std::vector<bool> selectChunks(const std::vector<ScoredChunk>& matched,
                               const std::function<std::size_t(std::size_t)>& cost,
                               std::size_t chunkCount, std::size_t avail, RetrievalCut* cut,
                               bool frozen) {
    std::vector<bool> chosen(chunkCount, false);
    std::size_t used = 0;
    // A chunk that alone takes over a quarter of the room (one long line: minified code, a data
    // file) is never a candidate: judged by its own cost, it cannot block the ranking below it.
    auto oversized = [&](std::size_t c) { return cost(c) > avail / 4; };
    auto greedy = [&]() { // by rank; a smaller chunk further down may still fit
        // Looks at most 4,096 chunks past the last one taken: each look counts a chunk.
        std::size_t sinceTaken = 0;
        for (const ScoredChunk& m : matched) {
            const std::size_t c = m.chunk;
            if (avail - used < 32 || ++sinceTaken > 4096) break;
            if (!chosen[c] && used + cost(c) <= avail) {
                chosen[c] = true;
                used += cost(c);
                sinceTaken = 0;
            }
        }
    };
    std::size_t r = 0; // matched[0, r) have been looked at
    if (frozen && cut->greedy) {
        greedy();
        r = matched.size();
    } else if (frozen) {
        std::size_t ties = 0;
        for (; r < matched.size(); ++r) {
            const ScoredChunk& m = matched[r];
            if (m.score < cut->score || (m.score == cut->score && ties == cut->ties)) break;
            if (oversized(m.chunk)) continue;
            if (m.score == cut->score) ++ties;
            chosen[m.chunk] = true;
            used += cost(m.chunk);
        }
    } else {
        std::size_t taken = 0;
        for (; r < matched.size(); ++r) {
            const std::size_t c = matched[r].chunk;
            if (oversized(c)) continue;
            if (used + cost(c) > avail) break;
            chosen[c] = true;
            used += cost(c);
            ++taken;
            cut->score = matched[r].score;
        }
        cut->greedy = taken == 0 && !matched.empty(); // budgets near a chunk's size
        cut->ties = 0;
        if (cut->greedy) {
            greedy();
            r = matched.size();
        } else {
            for (std::size_t k = r; k-- > 0;)
                if (chosen[matched[k].chunk] && matched[k].score == cut->score) ++cut->ties;
                else if (matched[k].score != cut->score) break;
        }
    }
    // The overshoot (only with a kept cut), trimmed from the tail.
    for (std::size_t c = chunkCount; c-- > 0 && used > avail;)
        if (chosen[c]) {
            chosen[c] = false;
            used -= cost(c);
        }
    // Every match looked at and room left: unmatched chunks in context order, up to the first
    // that does not fit.
    if (r == matched.size())
        for (std::size_t c = 0; c < chunkCount; ++c) {
            if (chosen[c]) continue;
            if (used + cost(c) > avail) break;
            chosen[c] = true;
            used += cost(c);
        }
    return chosen;
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

struct PreparedCorpus::Impl {
    TokenCounting counting;
    PackOptions options;
    PackedContext base; // sources (without documents), documents, documentSource, documentTokens
    PackedSegment preamble;
    // Each document framed whole is counted once and framed again when it goes in: holding the
    // framed copies would double the memory of a large repository.
    std::vector<int> lineCount; // per document
    std::size_t wholeSum = 0;
    // Retrieval, made on first need.
    bool chunked = false;
    std::vector<std::vector<Definition>> definitions; // per document
    std::vector<Chunk> chunks;
    std::vector<std::size_t> firstChunk; // per document, and one past the last
    std::vector<std::size_t> cost;       // framed tokens per chunk, kUncounted until needed
    static constexpr std::size_t kUncounted = static_cast<std::size_t>(-1);
    std::size_t costOf(std::size_t c) {
        if (cost[c] == kUncounted)
            cost[c] = countFramed(frameExcerpt(base.documents[chunks[c].document], chunks[c], options.lineAnchorEvery));
        return cost[c];
    }
    // The count of a framed text, through the count cache when there is one.
    std::size_t countFramed(const std::string& framed) const {
        if (!options.countCache) return counting.count(framed);
        return options.countCache->count(framed, [this](std::string_view t) { return counting.count(t); });
    }
    std::unique_ptr<RetrievalIndex> index;

    void prepareRetrieval();
    PackedSegment wholeSegment(std::size_t d) const {
        PackedSegment w;
        w.kind = SegmentKind::Document;
        w.document = d;
        w.text = frameDocument(base.documents[d], options.lineAnchorEvery, lineCount[d]);
        w.tokens = base.documentTokens[d];
        w.firstLine = 1;
        w.lastLine = lineCount[d];
        return w;
    }
    enum class Give { Copy, Move, None }; // what happens to the sources and documents
    PackedContext pack(const std::string& question, std::size_t budget, Give give);
};

PreparedCorpus::PreparedCorpus(std::vector<SourceResult> sources, const TokenCounting& counting,
                               const PackOptions& options)
    : d_(std::make_unique<Impl>()) {
    Impl& m = *d_;
    m.counting = counting;
    m.options = options;
    PackedContext& ctx = m.base;
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
    m.preamble = {SegmentKind::Preamble,
                  framePreamble(ctx.sources, options.manifestFirst),
                  0,
                  PackedSegment::kNoDocument,
                  0,
                  0};
    m.preamble.tokens = counting.count(m.preamble.text);
    m.lineCount.resize(n);
    ctx.documentTokens.resize(n);
    parallelFor(n, options.threads, [&](std::size_t d) {
        const int lines = ctx.documents[d].lineCount();
        m.lineCount[d] = lines;
        ctx.documentTokens[d] = m.countFramed(frameDocument(ctx.documents[d], options.lineAnchorEvery, lines));
    });
    m.wholeSum =
        std::accumulate(ctx.documentTokens.begin(), ctx.documentTokens.end(), std::size_t{0});
}

PreparedCorpus::~PreparedCorpus() = default;

void PreparedCorpus::Impl::prepareRetrieval() {
    if (chunked) return;
    chunked = true;
    const std::size_t n = base.documents.size();
    definitions.resize(n);
    parallelFor(n, options.threads,
                [&](std::size_t d) { definitions[d] = findDefinitions(base.documents[d]); });
    chunks = chunkDocuments(base.documents, options.chunking, &definitions);
    firstChunk.assign(n + 1, chunks.size());
    for (std::size_t c = chunks.size(); c-- > 0;) firstChunk[chunks[c].document] = c;
    for (std::size_t d = n; d-- > 0;) firstChunk[d] = std::min(firstChunk[d], firstChunk[d + 1]);
    cost.assign(chunks.size(), kUncounted);
    index = std::make_unique<RetrievalIndex>(chunks, base.documents, &definitions, options.threads);
}

PackedContext PreparedCorpus::Impl::pack(const std::string& question, std::size_t budget,
                                         Give give) {
    const std::size_t n = base.documents.size();
    PackedContext ctx;
    ctx.budget = budget;
    ctx.tokenizer = base.tokenizer;
    ctx.exactCounts = base.exactCounts;
    ctx.documentSource = base.documentSource;
    ctx.documentTokens = base.documentTokens;
    // The manifest's cap (manifest.h): 2% of the budget; without a budget, 2% of the content.
    const std::size_t cap =
        budget ? budget / 50 : std::max<std::size_t>(512, (preamble.tokens + wholeSum) / 50);
    auto manifestSegment = [&](const std::vector<int>& inclusion) {
        const ManifestInput in{&base.sources, &base.documents, &base.documentSource,
                               &base.documentTokens, &inclusion};
        PackedSegment seg{SegmentKind::Manifest, frameManifest(in, counting, cap), 0,
                          PackedSegment::kNoDocument, 0, 0};
        seg.tokens = counting.count(seg.text);
        return seg;
    };
    // The repository map of the files in excerpts, under a cap of its own.
    const std::size_t mapCap = budget / 50;
    auto mapSegment = [&](const std::vector<PackedSegment>& body) {
        std::vector<MapExcerpt> excerpts;
        for (const PackedSegment& seg : body)
            if (seg.kind == SegmentKind::Excerpt)
                excerpts.push_back({seg.document, seg.firstLine, seg.lastLine});
        PackedSegment seg{SegmentKind::Map, {}, 0, PackedSegment::kNoDocument, 0, 0};
        if (!excerpts.empty())
            seg.text = frameRepoMap(base.documents, definitions, excerpts, counting, mapCap);
        seg.tokens = seg.text.empty() ? 0 : counting.count(seg.text);
        return seg;
    };
    // Lays the segments out (`manifest`: made already for this inclusion, or made here).
    auto finish = [&](std::vector<PackedSegment> body, std::vector<int> inclusion,
                      std::vector<std::size_t> included,
                      std::optional<PackedSegment> made = std::nullopt) {
        PackedSegment manifest = made ? std::move(*made) : manifestSegment(inclusion);
        PackedSegment map;
        if (ctx.retrieval) map = mapSegment(body);
        ctx.segments.clear();
        ctx.segments.push_back(preamble);
        if (options.manifestFirst) ctx.segments.push_back(std::move(manifest));
        for (auto& s : body) ctx.segments.push_back(std::move(s));
        if (!map.text.empty()) ctx.segments.push_back(std::move(map));
        if (!options.manifestFirst) ctx.segments.push_back(std::move(manifest));
        ctx.inclusion = std::move(inclusion);
        ctx.includedTokens = std::move(included);
        ctx.totalTokens = 0;
        for (const auto& s : ctx.segments) ctx.totalTokens += s.tokens;
    };
    auto done = [&]() {
        if (give == Give::Move) {
            ctx.sources = std::move(base.sources);
            ctx.documents = std::move(base.documents);
        } else if (give == Give::Copy) {
            ctx.sources = base.sources;
            ctx.documents = base.documents;
        }
        return std::move(ctx);
    };

    // Everything whole, when it fits (the manifest is only made when the documents alone do).
    if (budget == 0 || preamble.tokens + wholeSum <= budget) {
        std::vector<int> all(n, kWhole);
        PackedSegment manifest = manifestSegment(all);
        if (budget == 0 || preamble.tokens + wholeSum + manifest.tokens <= budget) {
            std::vector<PackedSegment> body(n);
            parallelFor(n, options.threads, [&](std::size_t d) { body[d] = wholeSegment(d); });
            finish(std::move(body), std::move(all), base.documentTokens, std::move(manifest));
            return done();
        }
    }

    // Retrieval: chunk, rank, fill.
    ctx.retrieval = true;
    prepareRetrieval();
    std::vector<ScoredChunk> matched;
    if (!question.empty()) matched = index->rank(question, options.statistics.get());
    // The manifest and the map never take more than their caps, whatever is chosen.
    const std::size_t fixed = preamble.tokens + cap + mapCap;
    const std::size_t avail = budget > fixed ? budget - fixed : 0;
    RetrievalCut ownCut;
    RetrievalCut* cut = &ownCut;
    bool frozen = false;
    if (options.statistics) {
        const std::string key = std::to_string(avail) + "|" + question;
        auto [it, fresh] = options.statistics->cuts.try_emplace(key);
        cut = &it->second;
        frozen = !fresh;
    }
    std::vector<bool> chosen = selectChunks(
        matched, [this](std::size_t c) { return costOf(c); }, chunks.size(), avail, cut, frozen);
    // Merging changes counts slightly (fewer frames, BPE at the seams): check, and drop chunks
    // from the tail of the context, as the selection does, until the exact total fits.
    while (true) {
        Selection sel = layout(base, chunks, firstChunk, chosen,
                               [this](std::size_t d) { return wholeSegment(d); }, counting,
                               options.lineAnchorEvery);
        finish(std::move(sel.body), std::move(sel.inclusion), std::move(sel.included));
        if (ctx.totalTokens <= budget) break;
        std::size_t last = chunks.size();
        while (last > 0 && !chosen[last - 1]) --last;
        if (last == 0) break;
        chosen[last - 1] = false;
    }
    if (ctx.totalTokens > budget) {
        // No content is left and the preamble and manifest are still over: a budget smaller than
        // the preamble plus 2%. Keep the preamble alone if it fits, else nothing, and say so.
        ctx.warning = "a budget of " + std::to_string(budget) +
                      " tokens has no room for content after the context's preamble (" +
                      std::to_string(preamble.tokens) + " tokens)";
        ctx.segments.clear();
        if (preamble.tokens <= budget) ctx.segments.push_back(preamble);
        ctx.totalTokens = ctx.segments.empty() ? 0 : preamble.tokens;
    }
    return done();
}

PackedContext PreparedCorpus::pack(const std::string& question, std::size_t budget) {
    return d_->pack(question, budget, Impl::Give::Copy);
}

PackedContext PreparedCorpus::take(const std::string& question, std::size_t budget) {
    return d_->pack(question, budget, Impl::Give::Move);
}

PackedContext PreparedCorpus::select(const std::string& question, std::size_t budget) {
    return d_->pack(question, budget, Impl::Give::None);
}

const std::vector<Document>& PreparedCorpus::documents() const { return d_->base.documents; }
const std::vector<std::size_t>& PreparedCorpus::documentTokens() const {
    return d_->base.documentTokens;
}
const std::vector<std::size_t>& PreparedCorpus::documentSource() const {
    return d_->base.documentSource;
}
const std::vector<SourceResult>& PreparedCorpus::sources() const { return d_->base.sources; }

PackedContext packSources(std::vector<SourceResult> sources, const TokenCounting& counting,
                          const PackOptions& options) {
    return PreparedCorpus(std::move(sources), counting, options)
        .take(options.question, options.budget);
}

} // namespace folio::ingest
