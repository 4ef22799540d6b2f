// The AVX2 variant (x86-64-v3: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE), designed for 16 ymm
// registers: 6 x 16 micro tiles (12 accumulators, two B vectors, one broadcast), panels packed with
// 8 x 8 register transposes, fp4 decoded with a vpshufb table of f16 bytes and F16C. Its
// one-token path is gemv_avx2.cpp.
#define FOLIO_VARIANT_NAME "avx2"
#define FOLIO_KERNEL_MR 6

#include "simd_avx2.h"

namespace folio::kernels::avx2 {
namespace {

// 32 fp4 values: codes interleaved low nibble first, looked up as f16 high bytes (exact), widened
// by F16C and scaled in f32, as the scalar table times the scale.
inline void decodeFp4Block(const std::uint8_t* q, float scale, float* out) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    const __m128i nib = _mm_set1_epi8(0x0f);
    const __m128i lo = _mm_and_si128(bytes, nib), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), nib);
    const __m128i table = e2m1F16HighBytes(), zero = _mm_setzero_si128();
    const __m256 s = _mm256_set1_ps(scale);
    const __m128i codes[2] = {_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi)};
    for (int h = 0; h < 2; ++h) {
        const __m128i hb = _mm_shuffle_epi8(table, codes[h]);
        _mm256_storeu_ps(out + 16 * h, _mm256_mul_ps(_mm256_cvtph_ps(_mm_unpacklo_epi8(zero, hb)), s));
        _mm256_storeu_ps(out + 16 * h + 8, _mm256_mul_ps(_mm256_cvtph_ps(_mm_unpackhi_epi8(zero, hb)), s));
    }
}

// MXFP4: the low nibbles are the block's first 16 values, the high nibbles the rest; looked up as
// f16 high bytes (exact), widened by F16C, scaled in f32.
inline void decodeMxfp4Block(const std::uint8_t* q, float scale, float* out) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    const __m128i nib = _mm_set1_epi8(0x0f);
    const __m128i table = e2m1F16HighBytes(), zero = _mm_setzero_si128();
    const __m256 s = _mm256_set1_ps(scale);
    const __m128i halves[2] = {_mm_and_si128(bytes, nib), _mm_and_si128(_mm_srli_epi16(bytes, 4), nib)};
    for (int h = 0; h < 2; ++h) {
        const __m128i hb = _mm_shuffle_epi8(table, halves[h]);
        _mm256_storeu_ps(out + 16 * h, _mm256_mul_ps(_mm256_cvtph_ps(_mm_unpacklo_epi8(zero, hb)), s));
        _mm256_storeu_ps(out + 16 * h + 8, _mm256_mul_ps(_mm256_cvtph_ps(_mm_unpackhi_epi8(zero, hb)), s));
    }
}

// e4m3 code b as f16 bits is (sext(b) << 7) & 0xbf80, its value times 2^-8 exactly; F16C widens 8
// at a time and the 2^8 rides on the scale (exact unless the scale is 2^120 or more: scalar then).
inline void decodeFp8Span(const std::uint8_t* q, std::int64_t n, float scale, float* out) {
    std::int64_t i = 0;
    if (scale < 0x1p119f) {
        const __m256 s = _mm256_set1_ps(scale * 256.0f);
        const __m256i mask = _mm256_set1_epi16(short(0xbf80));
        for (; i + 16 <= n; i += 16) {
            const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i));
            const __m256i h = _mm256_and_si256(_mm256_slli_epi16(_mm256_cvtepi8_epi16(b), 7), mask);
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), s));
            _mm256_storeu_ps(out + i + 8, _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)), s));
        }
    }
    decodeE4m3Scaled(q + i, n - i, scale, out + i);
}

// 8 x 8 blocks: dst[k * 16 + j] = src[j * kKTile + k].
inline veci widenBytes(const std::uint8_t* p) {
    return veci(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

inline std::int64_t packFullPanel(const float* rows, std::int64_t kc, float* bp) {
    std::int64_t k0 = 0;
    for (; k0 + 8 <= kc; k0 += 8)
        for (int j0 = 0; j0 < 16; j0 += 8) {
            __m256 out[8];
            transpose8(rows + j0 * kKTile + k0, kKTile, out);
            for (int k = 0; k < 8; ++k) _mm256_storeu_ps(bp + (k0 + k) * 16 + j0, out[k]);
        }
    return k0;
}

} // namespace
} // namespace folio::kernels::avx2

#include "../generic/kernels_body.h"
