// Decoders of ggml's super-block formats (256 inputs a block): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and
// IQ4_XS, value for value as ggml's dequantize_row_* and gguf-py's numpy dequantization compute
// them (every product rounded to f32 on its own: the kernels build with -ffp-contract=off, and the
// goldens in tests/model_io/golden check the bits). Included by generic/kernels_body.h inside a
// variant's anonymous namespace.
//
// Layouts (bytes, in order; d and dmin are IEEE halves):
//   Q2_K   84: scales[16] (low nibble scale, high nibble min, per 16 inputs), qs[64] (2 bits), d, dmin
//   Q3_K  110: hmask[32] (bit 2 of each code), qs[64] (bits 0-1), scales[12] (16 x 6 bits), d
//   Q4_K  144: d, dmin, scales[12] (8 x 6-bit scale and min, per 32 inputs), qs[128] (4 bits)
//   Q5_K  176: d, dmin, scales[12], qh[32] (bit 4 of each code), qs[128]
//   Q6_K  210: ql[128] (bits 0-3), qh[64] (bits 4-5), scales[16] (int8, per 16 inputs), d
//   IQ4_XS 136: d, scales_h (u16: bits 4-5 of 8 scales), scales_l[4] (bits 0-3), qs[128] (4-bit
//               indices into a 16-value non-linear table)
#pragma once

#include "folio/kernels/gemm.h"

#include <cstdint>

namespace folio::kernels::FOLIO_VARIANT_NS {
namespace {

inline float halfAt(const std::uint8_t* p) { return halfToFloat(std::uint16_t(p[0] | (p[1] << 8))); }

// kLanes bytes widened to 32-bit lanes (the variant's widenBytes hook: GCC lowers a generic
// u8 -> i32 __builtin_convertvector to element inserts), for shifts and masks.
inline veci loadBytes(const std::uint8_t* p) { return widenBytes(p); }

inline vecf toFloat(veci v) { return __builtin_convertvector(v, vecf); }

// s in every lane, -0 kept (vecf{} + s would turn -0 into +0).
inline vecf splat(float s) { return (vecf{} + 1.0f) * s; }

// The loops below run over kLanes inputs at a time (4, 8 or 16: every group of 16 and sub-block
// of 32 is a whole number of vectors), each value computed as the scalar formula computes it.
inline void decodeQ2K(const std::uint8_t* b, float* out) {
    const float d = halfAt(b + 80), dmin = halfAt(b + 82);
    const std::uint8_t* qs = b + 16;
    for (int g = 0; g < 16; ++g) { // 16 inputs: i = h*128 + t*32 + u
        const vecf dl = splat(d * float(b[g] & 15)), ml = splat(dmin * float(b[g] >> 4));
        const int h = g / 8, t = (g / 2) % 4, u0 = (g % 2) * 16;
        for (int u = u0; u < u0 + 16; u += kLanes)
            vstore(out + g * 16 + u - u0, dl * toFloat((loadBytes(qs + h * 32 + u) >> (2 * t)) & 3) - ml);
    }
}

inline void decodeQ3K(const std::uint8_t* b, float* out) {
    const std::uint8_t *hmask = b, *qs = b + 32, *sc = b + 96;
    const float d = halfAt(b + 108);
    for (int g = 0; g < 16; ++g) {
        const int lo = (sc[g % 8] >> (4 * (g / 8))) & 15, hi = (sc[8 + g % 4] >> (2 * (g / 4))) & 3;
        const vecf dl = splat(d * float(int(std::int8_t(lo | (hi << 4))) - 32));
        const int h = g / 8, t = (g / 2) % 4, u0 = (g % 2) * 16, bit = g / 2; // bit = i / 32
        for (int u = u0; u < u0 + 16; u += kLanes) {
            // q - 4 where the mask bit is clear: ((bit ^ 1) << 2) subtracted.
            const veci q = ((loadBytes(qs + h * 32 + u) >> (2 * t)) & 3) - ((((loadBytes(hmask + u) >> bit) & 1) ^ 1) << 2);
            vstore(out + g * 16 + u - u0, dl * toFloat(q));
        }
    }
}

inline void decodeQ4K(const std::uint8_t* b, float* out) {
    const float d = halfAt(b), dmin = halfAt(b + 2);
    const std::uint8_t* qs = b + 16;
    for (int sb = 0; sb < 8; ++sb) { // inputs sb*32 ..: nibble (sb % 2) of qs[(sb / 2) * 32 + j]
        int sc, m;
        kScaleMin(sb, b + 4, &sc, &m);
        const vecf d1 = splat(d * float(sc)), m1 = splat(dmin * float(m));
        const std::uint8_t* q = qs + (sb / 2) * 32;
        const int shift = 4 * (sb % 2);
        for (int j = 0; j < 32; j += kLanes) vstore(out + sb * 32 + j, d1 * toFloat((loadBytes(q + j) >> shift) & 15) - m1);
    }
}

inline void decodeQ5K(const std::uint8_t* b, float* out) {
    const float d = halfAt(b), dmin = halfAt(b + 2);
    const std::uint8_t *qh = b + 16, *qs = b + 48;
    for (int sb = 0; sb < 8; ++sb) {
        int sc, m;
        kScaleMin(sb, b + 4, &sc, &m);
        const vecf d1 = splat(d * float(sc)), m1 = splat(dmin * float(m));
        const std::uint8_t* q = qs + (sb / 2) * 32;
        const int shift = 4 * (sb % 2);
        for (int j = 0; j < 32; j += kLanes) {
            const veci v = ((loadBytes(q + j) >> shift) & 15) | (((loadBytes(qh + j) >> sb) & 1) << 4);
            vstore(out + sb * 32 + j, d1 * toFloat(v) - m1);
        }
    }
}

inline void decodeQ6K(const std::uint8_t* b, float* out) {
    const std::uint8_t *ql = b, *qh = b + 128;
    const auto* sc = reinterpret_cast<const std::int8_t*>(b + 192);
    const float d = halfAt(b + 208);
    for (int g = 0; g < 16; ++g) { // i = h*128 + k: low bits from ql[h*64 + k%64] >> 4(k/64), high from qh[h*32 + k%32] >> 2(k/32)
        const vecf dl = splat(d * float(sc[g]));
        const int h = g / 8;
        for (int k = (g % 8) * 16; k < (g % 8) * 16 + 16; k += kLanes) {
            const veci lo = (loadBytes(ql + h * 64 + k % 64) >> (4 * (k / 64))) & 15;
            const veci hi = (loadBytes(qh + h * 32 + k % 32) >> (2 * (k / 32))) & 3;
            vstore(out + h * 128 + k, dl * toFloat((lo | (hi << 4)) - 32));
        }
    }
}

// ggml's kvalues_iq4nl.
inline constexpr std::int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

inline void decodeIq4Xs(const std::uint8_t* b, float* out) {
    const float d = halfAt(b);
    const int scalesH = b[2] | (b[3] << 8);
    const std::uint8_t *scalesL = b + 4, *qs = b + 8;
    for (int ib = 0; ib < 8; ++ib) {
        const int ls = ((scalesL[ib / 2] >> (4 * (ib % 2))) & 15) | (((scalesH >> (2 * ib)) & 3) << 4);
        const float dl = d * float(ls - 32);
        for (int j = 0; j < 16; ++j) {
            out[ib * 32 + j] = dl * float(kIq4Values[qs[ib * 16 + j] & 15]);
            out[ib * 32 + 16 + j] = dl * float(kIq4Values[qs[ib * 16 + j] >> 4]);
        }
    }
}

// One super-block of 256 inputs of format f (a K-quant or IQ4_XS).
inline void decodeSuperBlock(WeightFormat f, const std::uint8_t* b, float* out) {
    switch (f) {
    case WeightFormat::Q2_K: decodeQ2K(b, out); return;
    case WeightFormat::Q3_K: decodeQ3K(b, out); return;
    case WeightFormat::Q4_K: decodeQ4K(b, out); return;
    case WeightFormat::Q5_K: decodeQ5K(b, out); return;
    case WeightFormat::Q6_K: decodeQ6K(b, out); return;
    case WeightFormat::IQ4_XS: decodeIq4Xs(b, out); return;
    default: return;
    }
}

} // namespace
} // namespace folio::kernels::FOLIO_VARIANT_NS
