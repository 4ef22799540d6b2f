// One transformer block of the fast path: mHC around attention and around the MoE.
#pragma once

#include "rope.h"
#include "state.h"
#include "weights.h"

#include <cstdint>

namespace folio::kernels {
class ThreadPool;
}

namespace folio::model {

struct LayerRunner {
    const ModelConfig& cfg;
    kernels::ThreadPool* pool;
    const Rope& ropePlain;
    const Rope& ropeCompressed;
    // false: skip every quantize-dequantize round trip (activations, KV fp8, indexer fp4). The
    // reference numerics keep them; tests turn them off to compare smooth functions.
    bool quantize = true;

    // h: [n, hc, D] residual copies of tokens at positions pos0 .. pos0+n-1, updated in place.
    void run(const LayerWeights& w, LayerState& s, std::int64_t pos0, const std::int32_t* tokens,
             std::int64_t n, float* h) const;

    // x: [n, D] normalised attention input -> y: [n, D]. Updates the layer's state.
    void attention(const AttentionWeights& w, LayerState& s, std::int64_t pos0, const float* x,
                   std::int64_t n, float* y) const;

    // x: [n, D] normalised MoE input -> y: [n, D].
    void moe(const MoeWeights& w, const std::int32_t* tokens, const float* x, std::int64_t n, float* y) const;

    // One compressor over the chunk's rows: appends every entry whose block completes.
    // a, g: [n, coff*d] projections (g already includes ape). The caller post-processes new entries.
    void compress(CompressorState& c, std::int64_t pos0, const float* a, const float* g, std::int64_t n) const;
};

} // namespace folio::model
