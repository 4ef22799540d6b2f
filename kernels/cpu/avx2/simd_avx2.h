// What the AVX2 variant's translation units share: its namespace and width, the explicit FMA, the
// in-register 8 x 8 transposes and the e2m1 lookup table. Internal linkage: included only by this
// variant's translation units, which are compiled with -march=x86-64-v3.
#pragma once

#define FOLIO_VARIANT_NS avx2
#define FOLIO_KERNEL_LANES 8

#include <immintrin.h>

#include "../generic/vector.h"

#include <cstdint>

namespace folio::kernels::avx2 {
namespace {

// c + a * b, rounded once. Written out (the variants build with -ffp-contract=off) so that every
// path that must agree bit for bit fuses exactly the same operations.
inline vecf vfma(vecf a, vecf b, vecf c) { return vecf(_mm256_fmadd_ps(__m256(a), __m256(b), __m256(c))); }

// out[k] lane j = r[j] lane k for an 8 x 8 block: unpacks, 64-bit shuffles, 128-bit permutes
// (24 shuffles).
inline void transpose8(const __m256 (&r)[8], __m256 (&out)[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);     // r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]); // r0[2] r1[2] r0[3] r1[3] | ...
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);     // k = 0 (and 4) of rows i..i+3
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee); // k = 1 (5)
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44); // k = 2 (6)
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee); // k = 3 (7)
    }
    for (int m = 0; m < 4; ++m) {
        out[m] = _mm256_permute2f128_ps(u[m], u[m + 4], 0x20);
        out[m + 4] = _mm256_permute2f128_ps(u[m], u[m + 4], 0x31);
    }
}

// out[k][j] = src[j * stride + k] for an 8 x 8 block.
inline void transpose8(const float* src, std::int64_t stride, __m256 (&out)[8]) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * stride);
    transpose8(r, out);
}

// The f16 bit pattern's high byte of each e2m1 code (the low byte is zero for all sixteen):
// 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives. vpshufb looks codes up in it.
inline __m128i e2m1F16HighBytes() {
    return _mm_setr_epi8(0x00, 0x38, 0x3c, 0x3e, 0x40, 0x42, 0x44, 0x46, char(0x80), char(0xb8), char(0xbc),
                         char(0xbe), char(0xc0), char(0xc2), char(0xc4), char(0xc6));
}

} // namespace
} // namespace folio::kernels::avx2
