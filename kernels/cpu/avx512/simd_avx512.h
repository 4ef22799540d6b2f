// What the AVX-512 variant's translation units share: its namespace and width, the explicit FMA and
// the in-register 16 x 16 transposes. Internal linkage: included only by this variant's
// translation units, which are compiled with -march=x86-64-v4 -mavx512vbmi.
#pragma once

#define FOLIO_VARIANT_NS avx512
#define FOLIO_KERNEL_LANES 16

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized inside _mm512_set1_* (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "../generic/vector.h"

#include <cstdint>

namespace folio::kernels::avx512 {
namespace {

// c + a * b, rounded once. Written out (the variants build with -ffp-contract=off) so that every
// path that must agree bit for bit fuses exactly the same operations.
inline vecf vfma(vecf a, vecf b, vecf c) { return vecf(_mm512_fmadd_ps(__m512(a), __m512(b), __m512(c))); }

// out[k] lane j = r[j] lane k for a 16 x 16 block, in registers: four rounds of unpack/shuffle.
// Clobbers r.
inline void transpose16(__m512 (&r)[16], __m512 (&out)[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    // r[4q + m] now holds, in each 128-bit lane L, the k = 4L + m column of rows 4q..4q+3.
    for (int i = 0; i < 8; ++i) {
        const int a = (i / 4) * 8 + (i % 4), b = a + 4;
        t[i] = _mm512_shuffle_f32x4(r[a], r[b], 0x88);     // lanes 0, 2 of a and b
        t[i + 8] = _mm512_shuffle_f32x4(r[a], r[b], 0xdd); // lanes 1, 3
    }
    for (int i = 0; i < 4; ++i) {
        // Combine the two halves (rows 0..7 and 8..15) for k = m + 4L.
        out[i] = _mm512_shuffle_f32x4(t[i], t[i + 4], 0x88);
        out[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 4], 0xdd);
        out[i + 4] = _mm512_shuffle_f32x4(t[i + 8], t[i + 12], 0x88);
        out[i + 12] = _mm512_shuffle_f32x4(t[i + 8], t[i + 12], 0xdd);
    }
}

// out[k][j] = src[j * stride + k] for a 16 x 16 block.
inline void transpose16(const float* src, std::int64_t stride, __m512 (&out)[16]) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * stride);
    transpose16(r, out);
}

} // namespace
} // namespace folio::kernels::avx512
