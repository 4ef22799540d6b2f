// Vector helpers for the row-wise CPU ops (dot products and axpy), run by the active CPU variant
// (cpu_dispatch.h). Each reduces in a fixed order for a given variant, so results do not depend on
// how tokens are batched into chunks; they differ between variants in the last bits.
#pragma once

#include <cstdint>

namespace folio::kernels {

// sum_i a[i] * b[i]
float dot(const float* a, const float* b, std::int64_t n);

// y[i] += alpha * x[i]
void axpy(float alpha, const float* x, float* y, std::int64_t n);

} // namespace folio::kernels
