// The portable variant: SSE2, which every x86-64 CPU has. Four lanes, 6 x 8 micro tiles; no
// one-token path of its own (a decode step runs the batch GEMM with one token).
#define FOLIO_VARIANT_NS baseline
#define FOLIO_VARIANT_NAME "baseline"
#define FOLIO_KERNEL_LANES 4
#define FOLIO_KERNEL_MR 6

#include "../generic/vector.h"

#include "folio/kernels/formats.h"

#include <emmintrin.h>

namespace folio::kernels::baseline {
namespace {

// SSE2 has no fused multiply-add: c + a * b in two roundings, everywhere alike.
inline vecf vfma(vecf a, vecf b, vecf c) { return a * b + c; }

constexpr int kPanelRows = 2 * FOLIO_KERNEL_LANES;

// One table load per byte gives both of its values.
struct Fp4Pairs {
    float v[256][2];
    Fp4Pairs() {
        for (int b = 0; b < 256; ++b) {
            v[b][0] = kE2m1Values[std::size_t(b & 15)];
            v[b][1] = kE2m1Values[std::size_t(b >> 4)];
        }
    }
};

inline void decodeFp4Block(const std::uint8_t* q, float scale, float* out) {
    static const Fp4Pairs pairs;
    for (int i = 0; i < 16; ++i) {
        out[2 * i] = pairs.v[q[i]][0] * scale;
        out[2 * i + 1] = pairs.v[q[i]][1] * scale;
    }
}

inline void decodeMxfp4Block(const std::uint8_t* q, float scale, float* out) {
    static const Fp4Pairs pairs;
    for (int j = 0; j < 16; ++j) {
        out[j] = pairs.v[q[j]][0] * scale;
        out[16 + j] = pairs.v[q[j]][1] * scale;
    }
}

// SSE2 cannot vectorize the arithmetic decode well: a table of the 256 codes' values, then the scale.
struct E4m3Values {
    float v[256];
    E4m3Values() {
        for (int b = 0; b < 256; ++b) v[b] = decodeE4m3(std::uint32_t(b));
    }
};

inline void decodeFp8Span(const std::uint8_t* q, std::int64_t n, float scale, float* out) {
    static const E4m3Values table;
    for (std::int64_t i = 0; i < n; ++i) out[i] = table.v[q[i]] * scale;
}

// 4 x 4 blocks transposed in registers (SSE2 unpacks).
inline veci widenBytes(const std::uint8_t* p) {
    std::int32_t four;
    std::memcpy(&four, p, 4);
    const __m128i zero = _mm_setzero_si128();
    return veci(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(four), zero), zero));
}

inline std::int64_t packFullPanel(const float* rows, std::int64_t kc, float* bp) {
    std::int64_t k0 = 0;
    for (; k0 + 4 <= kc; k0 += 4)
        for (int j0 = 0; j0 < kPanelRows; j0 += 4) {
            vecf r[4];
            for (int i = 0; i < 4; ++i) r[i] = vload(rows + (j0 + i) * kKTile + k0);
            const vecf t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5), t1 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5);
            const vecf t2 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7), t3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);
            vstore(bp + (k0 + 0) * kPanelRows + j0, __builtin_shufflevector(t0, t1, 0, 1, 4, 5));
            vstore(bp + (k0 + 1) * kPanelRows + j0, __builtin_shufflevector(t0, t1, 2, 3, 6, 7));
            vstore(bp + (k0 + 2) * kPanelRows + j0, __builtin_shufflevector(t2, t3, 0, 1, 4, 5));
            vstore(bp + (k0 + 3) * kPanelRows + j0, __builtin_shufflevector(t2, t3, 2, 3, 6, 7));
        }
    return k0;
}

} // namespace

bool gemvOneToken(const float*, const WeightMatrix&, std::int64_t, std::int64_t, float*, ThreadPool*, bool) {
    return false;
}

} // namespace folio::kernels::baseline

#include "../generic/kernels_body.h"
