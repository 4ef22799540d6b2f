// Small CPU ops of the forward pass (row-wise; the GEMMs are in kernels/gemm.h).
#pragma once

#include <cstdint>
#include <vector>

namespace folio::model {

// y = x * rsqrt(mean(x^2) + eps) * w (w may be null: no weight). In place allowed.
void rmsNorm(const float* x, const float* w, int n, float eps, float* y);

// In-place fast Walsh-Hadamard transform of x[n] (n a power of two) times n^-0.5.
void hadamard(float* x, int n);

float sigmoid(float x);

// Indices of the k largest of scores[0:count], best first; ties go to the lower index.
std::vector<std::int32_t> topKIndices(const float* scores, std::int64_t count, std::int64_t k);
float softplus(float x);

} // namespace folio::model
