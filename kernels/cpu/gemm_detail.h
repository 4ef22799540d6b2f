// Shared by the batch GEMM (gemm.cpp) and the one-token path (gemv.cpp): the K tile that defines
// the summation order both must keep, the UE8M0 scale table, and the in-register 16 x 16 transpose.
#pragma once

#include "folio/kernels/formats.h"
#include "folio/kernels/gemm.h"

#include <array>
#include <cstdint>
// The one-token path transposes bytes (AVX-512 BW) and decodes e2m1 with vpermb (VBMI).
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
#define FOLIO_GEMV_AVX512 1
#endif
#if defined(__AVX512F__)
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized inside _mm512_set1_* (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace folio::kernels::detail {

// Inputs per K tile. Every output is one FMA chain per tile, from zero, and the tiles' sums are
// added to the output in order, for any number of tokens: that is what makes a decode step and a
// prefill chunk agree bit for bit.
inline constexpr std::int64_t kKTile = 256;

// e8m0ToF32 for every byte.
inline const float* e8m0Table() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (int i = 0; i < 256; ++i) t[std::size_t(i)] = e8m0ToF32(std::uint8_t(i));
        return t;
    }();
    return table.data();
}

#if defined(__AVX512F__)
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
#endif

// y[0, rowCount) = x . W[rowBegin : rowBegin + rowCount]^T for one token, in the batch GEMM's
// summation order (gemv.cpp). Builds with FOLIO_GEMV_AVX512 only.
void gemvOneToken(const float* x, const WeightMatrix& w, std::int64_t rowBegin, std::int64_t rowCount, float* y,
                  ThreadPool* pool, bool threaded);

} // namespace folio::kernels::detail
