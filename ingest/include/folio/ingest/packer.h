// Packs ingested sources into one deterministic, citable context under an optional token budget.
//
// Order for prefix reuse: sources that never change (PDFs, transcripts, text files) first, then
// folders, then repositories, each group in the order given; within a source, documents by
// changeRank (for a repository: the last commit that touched the file, oldest first; uncommitted
// edits last), ties by path. A new commit therefore changes the context only from the first file it
// touched onwards. The preamble names only the sources; the manifest (manifest.h: counts, commit
// ids, a folder summary of what is in and out) is the last segment by default, so that it never
// invalidates the prefix (PackOptions::manifestFirst puts it right after the preamble).
//
// Tokens: every segment (preamble, each framed document or excerpt, manifest) is counted on its
// own, and tokenIds() encodes segment by segment, so the ids of a segment never depend on its
// neighbours: the same sources give the same ids, and counts add up exactly.
//
// Budget: 0 means no limit. The whole context (preamble, content, manifest) never exceeds a budget,
// and the manifest never takes more than 2% of it (without a budget: 2% of the content, or 512). If
// everything fits, everything goes in whole. If not, every document is chunked (chunker.h), the
// chunks are ranked by BM25F against the question (retrieval_index.h), and the best chunks fill
// the budget (when all that match fit, chunks that did not match fill the rest, in context
// order); what is chosen is laid out in context order, adjacent chunks merged into one excerpt,
// and a document all of whose chunks were chosen goes in whole. After the content comes the repository map (repo_map.h) of the
// files in excerpts, held to another 2% of the budget.
#pragma once

#include "folio/ingest/chunker.h"
#include "folio/ingest/document.h"
#include "folio/ingest/manifest.h"
#include "folio/ingest/token_counter.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace folio::ingest {

struct RetrievalStatistics;
class TokenCountCache;

struct PackOptions {
    int lineAnchorEvery = 10; // "N|" anchors; 1 = every line, 0 = none
    std::size_t budget = 0;   // tokens; 0 = unlimited
    std::string question;     // ranks chunks when the corpus does not fit
    ChunkOptions chunking;
    // The manifest right after the preamble instead of at the end: easier to read for a one-off
    // pack, but any change to the sources (a commit id, a count) then invalidates the whole prefix.
    bool manifestFirst = false;
    int threads = 0; // threads framing and counting documents (the counter must be
                     // thread-safe, as TokenCounting promises); 0 = all cores
    // Retrieval statistics to rank with (retrieval_index.h), kept from an earlier pack of the
    // same session so that a change to one file leaves the rest of the selection alone; null:
    // this pack's own. Filled by the first pack that ranks, then reused.
    std::shared_ptr<RetrievalStatistics> statistics;
    // Counts kept from earlier runs (count_cache.h), consulted before counting a framed document
    // or excerpt and given what is counted; null: count everything. Must be for `counting`'s
    // tokenizer and outlive the PreparedCorpus. The caller saves it.
    TokenCountCache* countCache = nullptr;
};

// Stored nowhere yet, but explicit values for when they are.
enum class SegmentKind : int { Preamble = 1, Document = 2, Excerpt = 3, Manifest = 4, Map = 5 };

struct PackedSegment {
    static constexpr std::size_t kNoDocument = std::numeric_limits<std::size_t>::max();
    SegmentKind kind = SegmentKind::Document;
    std::string text;
    std::size_t tokens = 0;
    std::size_t document = kNoDocument; // index into PackedContext::documents
    int firstLine = 0, lastLine = 0;    // excerpts: the lines of the document they hold
};

struct PackedContext {
    std::vector<SourceResult> sources; // as read, with their documents moved out into `documents`
    std::vector<Document> documents;   // in context order
    std::vector<std::size_t> documentSource; // index into sources, per document
    std::vector<std::size_t> documentTokens; // exact tokens of the whole framed document
    std::vector<std::size_t> includedTokens; // tokens of it that are in the context (0: left out)
    std::vector<int> inclusion;              // kLeftOut, kExcerpts, kWhole (manifest.h)
    std::vector<PackedSegment> segments;
    std::size_t totalTokens = 0;
    std::size_t budget = 0;
    bool retrieval = false; // true when the corpus did not fit and chunks were selected
    std::string tokenizer;  // TokenCounting::name
    bool exactCounts = false;
    std::string warning;    // non-empty when the budget left no room for content (said why)

    std::string text() const;
    std::vector<std::int32_t> tokenIds(const TokenEncoder& encode) const;
    // Whole-document tokens summed per source ("repo") and per folder ("repo/src/engine/");
    // std::map, so iteration order is deterministic.
    std::map<std::string, std::size_t> sourceTokens() const;
    std::map<std::string, std::size_t> folderTokens() const;
    // Index of the segment holding document `doc` whole or its first excerpt, or npos.
    std::size_t segmentOf(std::size_t doc) const;
};

// Sources prepared for packing, once: ordered, framed and counted, and on the first pack that
// needs retrieval also chunked, costed and indexed. Each pack() then costs only the selection, so
// another question or budget over the same sources is cheap. `counting` is kept (and what it
// refers to must outlive this object). Not thread-safe: one thread packs at a time.
class PreparedCorpus {
public:
    PreparedCorpus(std::vector<SourceResult> sources, const TokenCounting& counting,
                   const PackOptions& options = {}); // options.budget and .question are unused
    ~PreparedCorpus();
    PreparedCorpus(const PreparedCorpus&) = delete;
    PreparedCorpus& operator=(const PreparedCorpus&) = delete;

    // The context for a question under a budget (0: unlimited); the sources and documents in the
    // result are copies.
    PackedContext pack(const std::string& question, std::size_t budget);
    // The same, moving the sources and documents into the result; the corpus is spent.
    PackedContext take(const std::string& question, std::size_t budget);
    // The same without the sources and documents (left empty): segments, inclusion and counts
    // only, their document indices into documents() below. For measuring many selections.
    PackedContext select(const std::string& question, std::size_t budget);

    const std::vector<Document>& documents() const; // in context order
    const std::vector<std::size_t>& documentTokens() const;
    const std::vector<std::size_t>& documentSource() const;
    const std::vector<SourceResult>& sources() const; // without their documents

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

// PreparedCorpus(sources, counting, options).take(options.question, options.budget).
PackedContext packSources(std::vector<SourceResult> sources, const TokenCounting& counting,
                          const PackOptions& options = {});

} // namespace folio::ingest
