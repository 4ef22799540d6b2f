// Vector helpers for the row-wise CPU ops (dot products and axpy). GCC vector extensions: AVX-512
// where the build targets it, else AVX2-width. Each call reduces in a fixed order, so results do not
// depend on how tokens are batched into chunks.
#pragma once

#include <cstdint>
#include <cstring>

namespace folio::kernels {

#if defined(__AVX512F__)
inline constexpr int kVecLanes = 16;
#else
inline constexpr int kVecLanes = 8;
#endif
typedef float vecf __attribute__((vector_size(kVecLanes * 4)));

inline vecf vload(const float* p) {
    vecf v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void vstore(float* p, vecf v) { std::memcpy(p, &v, sizeof v); }

// sum_i a[i] * b[i]
inline float dot(const float* a, const float* b, std::int64_t n) {
    vecf s0{}, s1{};
    std::int64_t i = 0;
    for (; i + 2 * kVecLanes <= n; i += 2 * kVecLanes) {
        s0 += vload(a + i) * vload(b + i);
        s1 += vload(a + i + kVecLanes) * vload(b + i + kVecLanes);
    }
    for (; i + kVecLanes <= n; i += kVecLanes) s0 += vload(a + i) * vload(b + i);
    s0 += s1;
    float s = 0.0f;
    for (int l = 0; l < kVecLanes; ++l) s += s0[l];
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

// y[i] += alpha * x[i]
inline void axpy(float alpha, const float* x, float* y, std::int64_t n) {
    const vecf a = vecf{} + alpha;
    std::int64_t i = 0;
    for (; i + kVecLanes <= n; i += kVecLanes) vstore(y + i, vload(y + i) + a * vload(x + i));
    for (; i < n; ++i) y[i] += alpha * x[i];
}

} // namespace folio::kernels
