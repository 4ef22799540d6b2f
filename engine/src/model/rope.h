// Rotary embeddings of DeepSeek-V4 (deepseek-v4.md section 4, RoPE): interleaved pairs over the
// last `ropeDim` dims of a vector; ratio-0 layers use rope_theta without YaRN, compressed layers
// compress_rope_theta with YaRN. Angles are formed in double: at position 1,048,575 a float angle
// would be off by up to ~0.06 rad.
#pragma once

#include "model_io/config.h"

#include <cstdint>
#include <vector>

namespace folio::model {

class Rope {
public:
    Rope() = default;
    Rope(const ModelConfig& cfg, bool compressed);

    // freq_i for i < ropeDim/2.
    const std::vector<double>& frequencies() const { return freq_; }
    int dim() const { return dim_; }

    // Rotates the pairs of x[0 : ropeDim] (the caller passes a pointer to the rope part) by pos.
    // inverse = true de-rotates (multiplies by e^{-i theta}).
    void apply(float* x, std::int64_t pos, bool inverse = false) const;

private:
    int dim_ = 0;
    std::vector<double> freq_;
};

// YaRN frequencies for `dim` rope dims (exposed for tests).
std::vector<double> ropeFrequencies(int dim, double base, const RopeScaling* yarn);

} // namespace folio::model
