// The memory plan of a DeepSeek-V4 config, from the config alone: weight bytes by kind (summed over
// the expected tensor list, so it matches the checkpoint byte for byte), parameters, KV state per
// token for the layer mix (deepseek-v4.md section 5) and scratch for a prefill chunk.
#pragma once

#include "config.h"

#include <cstdint>

namespace folio::model {

struct WeightBytes {
    std::uint64_t embedHead = 0;     // embed + head (bf16)
    std::uint64_t attention = 0;     // wq_a/b, wkv, wo_a/b (+ scales), q/kv norms, sinks
    std::uint64_t compressor = 0;    // compressors and indexers
    std::uint64_t hcNorm = 0;        // mHC parameters and norms
    std::uint64_t router = 0;        // gate weight, bias, tid2eid
    std::uint64_t sharedExperts = 0;
    std::uint64_t routedExperts = 0;
    std::uint64_t mtp = 0;           // everything under mtp.k. (also excluded from the kinds above)
    std::uint64_t total = 0;         // all of the above
};

// KV state of one sequence, window excluded, amortized per token: compressed 512-d entries (one per
// `ratio` tokens in CSA and HCA layers) and the indexer's 128-d entries (CSA layers).
struct KvBytes {
    double perTokenBf16 = 0;     // bf16 entries: 2 * head_dim (+ 2 * index_head_dim) per entry
    double perTokenFp8 = 0;      // (hd - rope) e4m3 + rope bf16 + block-64 scales, padded to 8 B
                                 // (584 B); indexer index_head_dim e4m3 + one f32 scale (132 B)
    std::uint64_t windowBf16 = 0; // the window rings of every layer (MTP included), bf16 entries
    std::uint64_t windowFp8 = 0;
    std::uint64_t carriedRows = 0; // compressor rows of the partial block(s), f32, per sequence
};

struct MemoryPlan {
    WeightBytes weights;
    std::uint64_t totalParams = 0;  // main model + MTP, fp4 counted per value; scales excluded
    std::uint64_t mtpParams = 0;
    std::uint64_t activeParams = 0; // per token, main model: all but the unselected routed experts
    KvBytes kv;
    int csaLayers = 0, hcaLayers = 0, swaLayers = 0; // main model
};

MemoryPlan planMemory(const ModelConfig& cfg);

// Exact compressed-state bytes for a sequence of `tokens` (whole blocks only), window excluded.
std::uint64_t kvStateBytes(const ModelConfig& cfg, std::int64_t tokens, bool fp8Entries);

// Working memory of one forward pass over `chunkTokens` tokens on one sequence, an estimate of the
// largest live activations: residual streams [T, hc, D] f32 twice, q [T, H, head_dim] and o, the
// low-rank and indexer projections, attention scores per head over window + top-k (or + visible HCA
// entries up to `contextTokens`), the routed and shared expert activations, and one row of logits.
std::uint64_t scratchBytes(const ModelConfig& cfg, std::int64_t chunkTokens, std::int64_t contextTokens);

} // namespace folio::model
