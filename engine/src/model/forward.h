// The fast DeepSeek-V4 forward pass on the CPU: any chunk of tokens from any position, the same
// code for prefill chunks and for one-token decode steps (a decode path that disagrees with prefill
// is a classic engine bug; here there is only one path).
#pragma once

#include "rope.h"
#include "state.h"
#include "weights.h"

#include <cstdint>
#include <vector>

namespace folio::kernels {
class ThreadPool;
}

namespace folio::model {

class Forward {
public:
    // quantize = false skips the quantize-dequantize round trips (see LayerRunner::quantize).
    Forward(const ModelConfig& cfg, const ModelWeights& w, kernels::ThreadPool* pool, bool quantize = true);

    // Consumes tokens[0:n] at positions state.pos .. state.pos + n - 1 and advances state.pos.
    // logits (optional): [n, vocab] when allPositions, else [1, vocab] for the last token.
    // hidden (optional): the residual copies after the last layer, [n, hc, D], for the MTP block.
    void run(SequenceState& state, const std::int32_t* tokens, std::int64_t n, bool allPositions,
             std::vector<float>* logits, std::vector<float>* hidden = nullptr) const;

    // The MTP block over the same n positions (pos0 = state.pos - n after run()): from the main
    // model's hidden [n, hc, D] and the tokens that follow each position, logits [n, vocab]
    // predicting the token two ahead. Uses and advances the MTP window state.
    void runMtp(SequenceState& state, std::int64_t pos0, const float* hidden, const std::int32_t* nextTokens,
                std::int64_t n, std::vector<float>* logits) const;

    // Counters for tests and benchmarks: tokens through the layers since construction.
    std::int64_t tokensProcessed() const { return processed_; }

private:
    void embed(const std::int32_t* tokens, std::int64_t n, float* h) const;
    void head(const HyperConnection& hc, const std::vector<float>& norm, const float* h, std::int64_t n,
              float* logits) const;

    const ModelConfig& cfg_;
    const ModelWeights& w_;
    kernels::ThreadPool* pool_;
    Rope ropePlain_, ropeCompressed_;
    bool quantize_ = true;
    mutable std::int64_t processed_ = 0;
};

// mHC (deepseek-v4.md section 4): from the residual copies h [hc, D] of one token, the mixes give
// the sub-layer input x [D], post [hc] and the Sinkhorn-normalised comb [hc, hc].
struct HcMix {
    std::vector<float> pre, post, comb;
};
void hcSplit(const float* mixes, const HyperConnection& hc, int hcMult, int iters, float eps, HcMix* out);

} // namespace folio::model
