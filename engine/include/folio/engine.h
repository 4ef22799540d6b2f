// Folio's inference engine: the DeepSeek-V4 architecture on the CPU (and CUDA where built).
// The whole public API: opaque handles, RAII, no exceptions across it. Errors come back as
// Status / Result with a message naming the tensor, file or value at fault.
//
//   auto model = folio::Model::open("/models/tiny");           // config.json + safetensors
//   auto seq = (*model)->newSequence();
//   std::vector<float> logits;
//   (*model)->prefill(*seq, tokens, {.chunk = 512, .progress = cb}, &logits);
//   folio::Sampler sampler({.temperature = 0});                 // greedy
//   int next = sampler.sample(logits);
//   (*model)->decode(*seq, next, &logits);
#pragma once

#include "folio/status.h"

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace folio {

struct ModelOptions {
    int threads = 0;            // 0: one per hardware thread
    std::string device = "auto"; // "cpu", "cuda" or "auto"
    // No quantize-dequantize round trips at all (activations before the fp8/fp4 linears, the KV
    // and indexer round trips): the model's math in float32, for comparisons against a reference
    // at tight tolerances. Not the model's own numerics.
    bool exact = false;
};

// A few facts about an open model.
struct ModelFacts {
    std::string directory;
    int vocabSize = 0;
    int layers = 0;
    int hiddenSize = 0;
    std::int64_t maxPositions = 0;
    int bosId = 0;
    int eosId = 1;
    std::uint64_t fingerprint = 0; // identifies config + weights layout; used to key cached states
    std::string device;            // what the model runs on, in words
    // Cost model, from the bound weights: bytes of every mapped tensor; weight bytes one decode
    // step reads (active experts only, the head once); flops of the linear layers per token
    // (2 x active linear parameters, head excluded: prefill computes it for the last token only).
    std::uint64_t weightBytes = 0;
    std::uint64_t decodeBytesPerToken = 0;
    double linearFlopsPerToken = 0;
    double headFlops = 0;
};

// Progress of a prefill, after every chunk.
struct PrefillProgress {
    std::int64_t done = 0;  // tokens of this call processed so far
    std::int64_t total = 0; // tokens of this call
};

struct PrefillOptions {
    std::int64_t chunk = 512; // tokens per forward call
    // Called after each chunk; return false to cancel (the sequence keeps every finished chunk).
    std::function<bool(const PrefillProgress&)> progress;
    bool allLogits = false; // fill logits for every position ([n, vocab]) instead of the last one
};

class Model;

// Whether restore() checks the state stream's own checksum. Skip it only when the caller has
// already verified the same bytes (the prefix cache checks its files' checksum as it reads them);
// a damaged stream is then still caught by the structural checks, not by the checksum.
enum class StateCheck { Verify, Trusted };

// The state of one sequence: everything a continuation needs (window rings, compressed and
// indexer entries, compressor rows). Saved and restored as a checksummed byte stream.
class Sequence {
public:
    ~Sequence();
    std::int64_t position() const;
    // Writes the full state; restore() accepts only a stream written for the same model.
    Status save(std::ostream& out) const;
    // Writes a delta: what changed since `basePosition`, an earlier position of this sequence (the
    // compressed entries made since, and the fixed-size window rings and carried rows). restore()
    // applies a delta to a sequence that is at its base position, e.g. one restored from the
    // snapshot taken there; a full stream replaces whatever the sequence holds.
    Status save(std::ostream& out, std::int64_t basePosition) const;
    Status restore(std::istream& in, StateCheck check = StateCheck::Verify);
    // The same from bytes in memory (no copy of the stream).
    Status restore(std::span<const char> bytes, StateCheck check = StateCheck::Verify);
    // Takes the sequence back to where `mark` was saved from it with save(out, position()): the
    // compressed entries made since are dropped, the window rings and carried rows replaced. Cheap
    // to keep: a mark holds only the fixed-size parts. Only for marks of this same sequence, whose
    // tokens up to the mark are still its own; a mark ahead of the sequence is refused.
    Status rewind(std::span<const char> mark);
    std::unique_ptr<Sequence> clone() const;

private:
    friend class Model;
    struct Impl;
    Status restoreState(std::istream& in, bool verify, bool rewinding);
    explicit Sequence(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

class Model {
public:
    static Result<std::unique_ptr<Model>> open(const std::string& directory, const ModelOptions& options = {});
    ~Model();

    const ModelFacts& facts() const;
    std::unique_ptr<Sequence> newSequence() const;

    // Appends tokens to the sequence in chunks. logits (optional) receives the last position's
    // logits [vocab], or every position's [n, vocab] with allLogits. A cancel returns an error
    // "cancelled" and leaves the sequence at the last finished chunk.
    Status prefill(Sequence& seq, std::span<const std::int32_t> tokens, const PrefillOptions& options,
                   std::vector<float>* logits) const;
    // One token: the same path as a one-token prefill.
    Status decode(Sequence& seq, std::int32_t token, std::vector<float>* logits) const;

    // Tokens that went through the layers since open (for tests and benchmarks).
    std::int64_t tokensProcessed() const;

private:
    struct Impl;
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

struct SamplingParams {
    float temperature = 1.0f; // 0: greedy
    float topP = 1.0f;
    std::uint64_t seed = 0;
};

// Greedy, temperature and top-p sampling, reproducible for a given seed.
class Sampler {
public:
    explicit Sampler(const SamplingParams& params);
    std::int32_t sample(std::span<const float> logits);

private:
    SamplingParams params_;
    std::uint64_t state_;
};

} // namespace folio

namespace folio {

// What a model needs in memory before it is opened, from its config.json alone: weights as stored
// (memory-mapped; resident as they are touched), the sequence state at `contextTokens` (f32 entries,
// as this engine stores them), and the working memory of one prefill chunk.
struct MemoryEstimate {
    std::uint64_t weightBytes = 0;
    std::uint64_t stateBytes = 0;
    std::uint64_t scratchBytes = 0;
    std::uint64_t totalBytes = 0;
};
Result<MemoryEstimate> estimateMemory(const std::string& directory, std::int64_t contextTokens, std::int64_t chunk = 512);

// Writes the demo model into `directory`: a small DeepSeek-V4 checkpoint of every layer type with
// generated weights and a tokenizer trained by the project (deterministic: always the same bytes).
// Its outputs carry no meaning; it exists so that every part of the pipeline runs without downloads.
Status writeDemoModel(const std::string& directory);

} // namespace folio
