// The number formats of DeepSeek-V4 checkpoints and activations (deepseek-v4.md section 3):
// bf16, fp8 e4m3fn, fp4 e2m1 (packed two per byte, LOW nibble = even element) and UE8M0 scales.
// Header-only so that every op can inline them; decoding of bulk data uses the tables.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

// Always inlined: the ISA-variant kernels call these, and an out-of-line copy compiled with AVX-512
// flags must never be the one the rest of the program links to.
#define FOLIO_FORMAT_INLINE [[gnu::always_inline]] inline

namespace folio::kernels {

FOLIO_FORMAT_INLINE float bf16ToF32(std::uint16_t v) {
    const std::uint32_t bits = std::uint32_t(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even; NaN stays NaN.
FOLIO_FORMAT_INLINE std::uint16_t f32ToBf16(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return std::uint16_t(bits >> 16);
}

// IEEE half to float, exactly (subnormals, infinities and NaNs included).
FOLIO_FORMAT_INLINE float halfToFloat(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        const float v = float(man) * 0x1p-24f; // exact: man < 2^10
        return sign ? -v : v;
    }
    return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (man << 13));
}

// UE8M0: value 2^(byte - 127); 0xFF is NaN.
FOLIO_FORMAT_INLINE float e8m0ToF32(std::uint8_t b) {
    if (b == 0xff) return std::nanf("");
    return std::ldexp(1.0f, int(b) - 127);
}

// Exponent byte of a power of two (the caller guarantees `pow2` is one, within [2^-127, 2^127]).
FOLIO_FORMAT_INLINE std::uint8_t f32ToE8m0(float pow2) {
    int e = 0;
    (void)std::frexp(pow2, &e); // pow2 = 0.5 * 2^e
    return std::uint8_t(e - 1 + 127);
}

// fp8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, 0x7F/0xFF are NaN;
// largest finite 448.
FOLIO_FORMAT_INLINE float e4m3ToF32(std::uint8_t b) {
    const int sign = b >> 7;
    const int exp = (b >> 3) & 0xf;
    const int man = b & 7;
    float v;
    if (exp == 0xf && man == 7) return std::nanf("");
    if (exp == 0) v = std::ldexp(float(man), -9); // subnormal: man * 2^-6 / 8
    else v = std::ldexp(1.0f + float(man) / 8.0f, exp - 7);
    return sign ? -v : v;
}

// Round-to-nearest-even with saturation to +-448 (the behaviour of a clamp followed by a cast).
FOLIO_FORMAT_INLINE std::uint8_t f32ToE4m3(float f) {
    if (std::isnan(f)) return 0x7f;
    const std::uint8_t sign = std::signbit(f) ? 0x80 : 0;
    float a = std::fabs(f);
    if (a >= 448.0f) return sign | 0x7e;
    if (a < std::ldexp(1.0f, -6)) {
        const int q = int(std::nearbyint(a * 512.0f)); // subnormal steps of 2^-9; 8 = min normal
        return std::uint8_t(sign | q);
    }
    int e = 0;
    const float m = std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1)
    int exp = e - 1;                   // a = (2m) * 2^exp, 2m in [1, 2)
    int q = int(std::nearbyint((2.0f * m - 1.0f) * 8.0f));
    if (q == 8) {
        q = 0;
        ++exp;
    }
    return std::uint8_t(sign | ((exp + 7) << 3) | q);
}

// The e4m3 value nearest to f (ties to even), saturating at +-448: the value-level equivalent of
// e4m3ToF32(f32ToE4m3(f)), without frexp, for the hot activation round trips. Normal range: round
// the float's mantissa to 3 bits on its bit pattern; subnormal range (|f| < 2^-6): round to a
// multiple of 2^-9 by adding and removing 2^14, whose float ulp is 2^-9.
FOLIO_FORMAT_INLINE float roundToE4m3(float f) {
    if (std::isnan(f)) return f;
    const float a = std::fabs(f);
    float r;
    if (a >= 448.0f) {
        r = 448.0f;
    } else if (a < 0.015625f) {
        r = (a + 16384.0f) - 16384.0f; // exact IEEE arithmetic: never reassociated without -ffast-math
    } else {
        std::uint32_t b = std::bit_cast<std::uint32_t>(a);
        b += 0x7ffffu + ((b >> 20) & 1u);
        r = std::bit_cast<float>(b & 0xfff00000u);
    }
    return std::copysign(r, f);
}

// fp4 e2m1 code table (deepseek-v4.md section 3).
inline constexpr std::array<float, 16> kE2m1Values = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,
                                                      4.0f,  6.0f,  -0.0f, -0.5f, -1.0f, -1.5f,
                                                      -2.0f, -3.0f, -4.0f, -6.0f};

FOLIO_FORMAT_INLINE float e2m1ToF32(std::uint8_t nibble) { return kE2m1Values[nibble & 0xf]; }

// Nearest e2m1 code, ties to the even mantissa (saturating at +-6).
FOLIO_FORMAT_INLINE std::uint8_t f32ToE2m1(float f) {
    const std::uint8_t sign = std::signbit(f) ? 8 : 0;
    const float a = std::fabs(f);
    // Midpoints between 0, .5, 1, 1.5, 2, 3, 4, 6; at a tie the code with an even mantissa wins
    // (0, 1, 2, 4 have mantissa 0; .5, 1.5, 3, 6 have mantissa 1).
    std::uint8_t code;
    if (a <= 0.25f) code = 0;
    else if (a < 0.75f) code = 1;
    else if (a <= 1.25f) code = 2;
    else if (a < 1.75f) code = 3;
    else if (a <= 2.5f) code = 4;
    else if (a < 3.5f) code = 5;
    else if (a <= 5.0f) code = 6;
    else code = 7;
    return std::uint8_t(sign | code);
}

// The power-of-two scale of a block with absolute maximum `amax` for a format whose largest value
// is `fmtMax` (448 for e4m3, 6 for e2m1): 2^ceil(log2(max(amax, 1e-4) / fmtMax)).
FOLIO_FORMAT_INLINE float ue8m0Scale(float amax, float fmtMax) {
    const float s = std::fmax(amax, 1e-4f) / fmtMax;
    return std::exp2(std::ceil(std::log2(s)));
}

// Quantize-dequantize round trips used by the model (activation quantization, the KV fp8 round trip
// on dims [0:448] in blocks of 64, the indexer's fp4 round trip in blocks of 32). In place.
FOLIO_FORMAT_INLINE void roundTripE4m3(float* x, int n, int block) {
    for (int b = 0; b < n; b += block) {
        const int len = (n - b < block) ? n - b : block;
        float amax = 0.0f;
        for (int i = 0; i < len; ++i) amax = std::fmax(amax, std::fabs(x[b + i]));
        const float s = ue8m0Scale(amax, 448.0f);
        const float inv = 1.0f / s; // exact: s is a power of two
        for (int i = 0; i < len; ++i) x[b + i] = roundToE4m3(x[b + i] * inv) * s;
    }
}

FOLIO_FORMAT_INLINE void roundTripE2m1(float* x, int n, int block) {
    for (int b = 0; b < n; b += block) {
        const int len = (n - b < block) ? n - b : block;
        float amax = 0.0f;
        for (int i = 0; i < len; ++i) amax = std::fmax(amax, std::fabs(x[b + i]));
        const float s = ue8m0Scale(amax, 6.0f);
        const float inv = 1.0f / s;
        for (int i = 0; i < len; ++i) x[b + i] = e2m1ToF32(f32ToE2m1(x[b + i] * inv)) * s;
    }
}

} // namespace folio::kernels
