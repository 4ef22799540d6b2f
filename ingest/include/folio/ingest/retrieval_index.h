// The packer's retrieval index: BM25F over four fields of every chunk, in memory, built on all
// threads. A chunk's fields are its document's path ("kernel/sched/fair.c": kernel, sched, fair),
// the names of the definitions it holds (definitions.h) split into words, its text, and the
// words of the camelCase identifiers in its text (snake_case splits at '_' anyway). Terms are
// lower-cased runs of letters and digits, Porter-stemmed.
//
// Scoring (Robertson and Zaragoza's BM25F): per term, the field frequencies are normalised by the
// field's length against its average, weighted, summed, and saturated once:
//   tf~ = sum_f w_f * tf_f / (1 - b_f + b_f * len_f / avglen_f)
//   score = sum_t idf(t) * tf~ / (k1 + tf~),   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
// with k1 = 1.2 and (w, b) = path (2, 0.3), names (4, 0.5), text (1, 0.75), camelCase words
// (0.5, 0.75).
//
// The statistics (N, df, the average lengths) are quantised to a grid of 1/16 in log2 (a step of
// 4.4%), and can be frozen: ranked with a RetrievalStatistics kept from an earlier pack, the
// scores of the chunks that did not change are the same bit for bit, so the selection in the rest
// of the context comes out the same (packer.h promises a prefix that does not change before a
// changed file). Without one, a change to one file moves the statistics of a large repository by
// far less than a grid step in all but a few terms.
#pragma once

#include "folio/ingest/chunker.h"
#include "folio/ingest/definitions.h"
#include "folio/ingest/document.h"

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace folio::ingest {

struct ScoredChunk {
    std::size_t chunk = 0;
    double score = 0; // > 0; larger is better
};

// Common English function words that a question carries and retrieval ignores ("how", "the").
bool isQuestionStopWord(std::string_view word);

// The terms of a question: its words, lower-cased and stemmed, without common English function
// words ("how", "the", "does"), a camelCase word with its parts too; each term once.
std::vector<std::string> questionTerms(std::string_view question);

// Where the packer cut a ranking: every chunk scoring above `score`, and the first `ties` of
// those scoring exactly that (in context order).
struct RetrievalCut {
    double score = 0;
    std::size_t ties = 0;
    bool greedy = false; // the budget was too small for a cut: filled greedily by rank
};

// The corpus statistics a ranking used: filled on first use, then reused as they are; a term
// not seen before is added with its document frequency at the time. The packer keeps here too the
// score where it cut the ranking for each question and budget, for the same reason.
struct RetrievalStatistics {
    double chunks = 0; // 0: not filled yet
    std::array<double, 4> averageLength{};
    std::map<std::string, double, std::less<>> documentFrequency; // per term
    std::map<std::string, RetrievalCut, std::less<>> cuts;        // per "budget|question"
};

class RetrievalIndex {
public:
    // Indexes `chunks` of `docs` on `threads` threads (0: all cores); `definitions` per document,
    // or null. Row i is chunks[i]; chunk indices must be grouped by document.
    RetrievalIndex(const std::vector<Chunk>& chunks, const std::vector<Document>& docs,
                   const std::vector<std::vector<Definition>>* definitions, int threads = 0);
    ~RetrievalIndex();
    RetrievalIndex(const RetrievalIndex&) = delete;
    RetrievalIndex& operator=(const RetrievalIndex&) = delete;

    // Chunks that match any term of the question, best first; ties by chunk index. With
    // `statistics`, those are used (and completed) instead of this index's own.
    std::vector<ScoredChunk> rank(std::string_view question,
                                  RetrievalStatistics* statistics = nullptr) const;

    std::size_t terms() const;
    std::size_t postingBytes() const; // the memory the postings take

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

} // namespace folio::ingest
