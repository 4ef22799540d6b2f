// The AVX-512 variant (F, CD, BW, DQ, VL, VBMI: x86-64-v4 plus VBMI): sixteen lanes, 8 x 32 micro
// tiles in 16 of the 32 zmm registers, fp4 decoded with vpermps, panels packed with 16 x 16
// register transposes. Its one-token path is gemv_avx512.cpp.
#define FOLIO_VARIANT_NAME "avx512"
#define FOLIO_KERNEL_MR 8

#include "simd_avx512.h"

#include "folio/kernels/formats.h"

namespace folio::kernels::avx512 {
namespace {

inline void decodeFp4Block(const std::uint8_t* q, float scale, float* out) {
    const __m512 lut = _mm512_loadu_ps(kE2m1Values.data());
    const __m512i b32 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 lo = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(b32, _mm512_set1_epi32(15)), lut), s);
    const __m512 hi = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(b32, 4), lut), s);
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_ps(out, _mm512_permutex2var_ps(lo, first, hi));
    _mm512_storeu_ps(out + 16, _mm512_permutex2var_ps(lo, second, hi));
}

// MXFP4: the low nibbles are the block's first 16 values, the high nibbles the rest: two vpermps
// lookups, no interleave.
inline void decodeMxfp4Block(const std::uint8_t* q, float scale, float* out) {
    const __m512 lut = _mm512_loadu_ps(kE2m1Values.data());
    const __m512i b32 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    const __m512 s = _mm512_set1_ps(scale);
    _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(b32, _mm512_set1_epi32(15)), lut), s));
    _mm512_storeu_ps(out + 16, _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(b32, 4), lut), s));
}

// e4m3 code b as f16 bits is (sext(b) << 7) & 0xbf80, its value times 2^-8 exactly; vcvtph2ps
// widens 16 at a time and the 2^8 rides on the scale (exact unless the scale is 2^120 or more:
// scalar then).
inline void decodeFp8Span(const std::uint8_t* q, std::int64_t n, float scale, float* out) {
    std::int64_t i = 0;
    if (scale < 0x1p119f) {
        const __m512 s = _mm512_set1_ps(scale * 256.0f);
        const __m512i mask = _mm512_set1_epi16(short(0xbf80));
        for (; i + 32 <= n; i += 32) {
            const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
            const __m512i h = _mm512_and_si512(_mm512_slli_epi16(_mm512_cvtepi8_epi16(b), 7), mask);
            _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(h)), s));
            _mm512_storeu_ps(out + i + 16, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1)), s));
        }
    }
    decodeE4m3Scaled(q + i, n - i, scale, out + i);
}

inline veci widenBytes(const std::uint8_t* p) {
    return veci(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

// 16 x 16 blocks: dst[k * 32 + j] = src[j * kKTile + k].
inline std::int64_t packFullPanel(const float* rows, std::int64_t kc, float* bp) {
    std::int64_t k0 = 0;
    for (; k0 + 16 <= kc; k0 += 16)
        for (int j0 = 0; j0 < 32; j0 += 16) {
            __m512 out[16];
            transpose16(rows + j0 * kKTile + k0, kKTile, out);
            for (int k = 0; k < 16; ++k) _mm512_storeu_ps(bp + (k0 + k) * 32 + j0, out[k]);
        }
    return k0;
}

} // namespace
} // namespace folio::kernels::avx512

#include "../generic/kernels_body.h"
