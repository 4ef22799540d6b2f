#include "ggml_quants.h"

#include "folio/kernels/formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace folio::model {

std::uint16_t f32ToHalf(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const float a = std::fabs(f);
    if (std::isnan(f)) return std::uint16_t(sign | 0x7e00u);
    if (a >= 65520.0f) return std::uint16_t(sign | 0x7c00u);
    if (a < 0x1p-14f) { // subnormal half: multiples of 2^-24
        const auto m = std::uint32_t(std::nearbyint(a * 0x1p24f));
        return std::uint16_t(sign | m);
    }
    int e = 0;
    const float m = std::frexp(a, &e); // a = m 2^e, m in [0.5, 1)
    auto man = std::uint32_t(std::nearbyint((m * 2.0f - 1.0f) * 1024.0f));
    int exp = e - 1 + 15;
    if (man == 1024) {
        man = 0;
        ++exp;
    }
    return std::uint16_t(sign | std::uint32_t(exp) << 10 | man);
}

namespace {

constexpr int kSuper = 256;

// Stores f as a half at p (little-endian) and returns the value it reads back as.
float putHalf(std::uint8_t* p, float f) {
    const std::uint16_t h = f32ToHalf(f);
    p[0] = std::uint8_t(h & 0xff);
    p[1] = std::uint8_t(h >> 8);
    return kernels::halfToFloat(h);
}

int clampRound(float v, int lo, int hi) { return std::clamp(int(std::nearbyint(v)), lo, hi); }

// The value of largest magnitude (its sign kept).
float signedMax(const float* x, int n) {
    float best = 0;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > std::fabs(best)) best = x[i];
    return best;
}

void quantizeQ8_0(const float* x, std::int64_t cols, std::uint8_t* out) {
    for (std::int64_t b = 0; b < cols / 32; ++b) {
        float amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[b * 32 + i]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        std::uint8_t* blk = out + b * 34;
        putHalf(blk, d);
        for (int i = 0; i < 32; ++i) {
            const auto q = std::int8_t(std::nearbyint(x[b * 32 + i] * id));
            std::memcpy(&blk[2 + i], &q, 1);
        }
    }
}

// Scale and min of one sub-block for `levels` unsigned codes: x ~ scale q - min, min >= 0.
void rangeOf(const float* x, int n, int levels, float* scale, float* min) {
    float lo = 0, hi = 0;
    for (int i = 0; i < n; ++i) {
        lo = std::fmin(lo, x[i]);
        hi = std::fmax(hi, x[i]);
    }
    *scale = (hi - lo) / float(levels);
    *min = -lo;
}

// Q4_K (bits 4) and Q5_K (bits 5): 8 sub-blocks of 32 with 6-bit scales and mins.
void quantizeQ45K(const float* x, std::uint8_t* b, int bits) {
    const int levels = (1 << bits) - 1;
    float scale[8], min[8], maxScale = 0, maxMin = 0;
    for (int s = 0; s < 8; ++s) {
        rangeOf(x + s * 32, 32, levels, &scale[s], &min[s]);
        maxScale = std::fmax(maxScale, scale[s]);
        maxMin = std::fmax(maxMin, min[s]);
    }
    const float d = putHalf(b, maxScale / 63.0f), dmin = putHalf(b + 2, maxMin / 63.0f);
    int sc[8], m[8];
    for (int s = 0; s < 8; ++s) {
        sc[s] = d > 0 ? clampRound(scale[s] / d, 0, 63) : 0;
        m[s] = dmin > 0 ? clampRound(min[s] / dmin, 0, 63) : 0;
    }
    std::uint8_t* scales = b + 4;
    for (int j = 0; j < 4; ++j) {
        scales[j] = std::uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
        scales[j + 4] = std::uint8_t(m[j] | ((m[j + 4] >> 4) << 6));
        scales[j + 8] = std::uint8_t((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
    std::uint8_t* qh = bits == 5 ? b + 16 : nullptr;
    std::uint8_t* qs = bits == 5 ? b + 48 : b + 16;
    if (qh) std::memset(qh, 0, 32);
    std::memset(qs, 0, 128);
    for (int s = 0; s < 8; ++s) {
        const float d1 = d * float(sc[s]), m1 = dmin * float(m[s]);
        for (int j = 0; j < 32; ++j) {
            const int q = d1 > 0 ? clampRound((x[s * 32 + j] + m1) / d1, 0, levels) : 0;
            qs[(s / 2) * 32 + j] |= std::uint8_t((q & 15) << (4 * (s % 2)));
            if (qh) qh[j] |= std::uint8_t(((q >> 4) & 1) << s);
        }
    }
}

// Q6_K: 16 sub-blocks of 16, int8 scales, codes -32..31.
void quantizeQ6K(const float* x, std::uint8_t* b) {
    float scale[16], maxAbs = 0;
    for (int g = 0; g < 16; ++g) {
        scale[g] = signedMax(x + g * 16, 16) / -32.0f; // the extreme value becomes code -32
        maxAbs = std::fmax(maxAbs, std::fabs(scale[g]));
    }
    const float d = putHalf(b + 208, maxAbs / 127.0f);
    auto* sc = reinterpret_cast<std::int8_t*>(b + 192);
    std::uint8_t *ql = b, *qh = b + 128;
    std::memset(b, 0, 192);
    for (int g = 0; g < 16; ++g) {
        sc[g] = std::int8_t(d > 0 ? clampRound(scale[g] / d, -127, 127) : 0);
        const float dl = d * float(sc[g]);
        for (int u = 0; u < 16; ++u) {
            const int i = g * 16 + u, h = i / 128, k = i % 128;
            const int q = (dl != 0 ? clampRound(x[i] / dl, -32, 31) : 0) + 32;
            ql[h * 64 + k % 64] |= std::uint8_t((q & 15) << (4 * (k / 64)));
            qh[h * 32 + k % 32] |= std::uint8_t((q >> 4) << (2 * (k / 32)));
        }
    }
}

// Q3_K: 16 sub-blocks of 16, 6-bit signed scales, codes -4..3 (bit 2 in hmask).
void quantizeQ3K(const float* x, std::uint8_t* b) {
    float scale[16], maxAbs = 0;
    for (int g = 0; g < 16; ++g) {
        scale[g] = signedMax(x + g * 16, 16) / -4.0f;
        maxAbs = std::fmax(maxAbs, std::fabs(scale[g]));
    }
    std::uint8_t *hmask = b, *qs = b + 32, *scales = b + 96;
    std::memset(b, 0, 108);
    const float d = putHalf(b + 108, maxAbs / 31.0f);
    for (int g = 0; g < 16; ++g) {
        const int s = d > 0 ? clampRound(scale[g] / d, -32, 31) : 0;
        const int s6 = s + 32;
        scales[g % 8] |= std::uint8_t((s6 & 15) << (4 * (g / 8)));
        scales[8 + g % 4] |= std::uint8_t((s6 >> 4) << (2 * (g / 4)));
        const float dl = d * float(s);
        for (int u = 0; u < 16; ++u) {
            const int i = g * 16 + u;
            const int q = (dl != 0 ? clampRound(x[i] / dl, -4, 3) : 0) + 4;
            qs[(i / 128) * 32 + i % 32] |= std::uint8_t((q & 3) << (2 * ((i % 128) / 32)));
            hmask[i % 32] |= std::uint8_t((q >> 2) << (i / 32));
        }
    }
}

// Q2_K: 16 sub-blocks of 16, 4-bit scales and mins, codes 0..3.
void quantizeQ2K(const float* x, std::uint8_t* b) {
    float scale[16], min[16], maxScale = 0, maxMin = 0;
    for (int g = 0; g < 16; ++g) {
        rangeOf(x + g * 16, 16, 3, &scale[g], &min[g]);
        maxScale = std::fmax(maxScale, scale[g]);
        maxMin = std::fmax(maxMin, min[g]);
    }
    std::memset(b, 0, 80);
    const float d = putHalf(b + 80, maxScale / 15.0f), dmin = putHalf(b + 82, maxMin / 15.0f);
    std::uint8_t* qs = b + 16;
    for (int g = 0; g < 16; ++g) {
        const int sc = d > 0 ? clampRound(scale[g] / d, 0, 15) : 0, m = dmin > 0 ? clampRound(min[g] / dmin, 0, 15) : 0;
        b[g] = std::uint8_t(sc | (m << 4));
        const float dl = d * float(sc), ml = dmin * float(m);
        for (int u = 0; u < 16; ++u) {
            const int i = g * 16 + u;
            const int q = dl > 0 ? clampRound((x[i] + ml) / dl, 0, 3) : 0;
            qs[(i / 128) * 32 + i % 32] |= std::uint8_t(q << (2 * ((i % 128) / 32)));
        }
    }
}

constexpr std::int8_t kIq4[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

int nearestIq4(float v) {
    int best = 0;
    for (int k = 1; k < 16; ++k)
        if (std::fabs(v - float(kIq4[k])) < std::fabs(v - float(kIq4[best]))) best = k;
    return best;
}

// IQ4_XS: 8 sub-blocks of 32, 6-bit signed scales, codes index the non-linear table.
void quantizeIq4Xs(const float* x, std::uint8_t* b) {
    float scale[8], maxAbs = 0;
    for (int s = 0; s < 8; ++s) {
        scale[s] = signedMax(x + s * 32, 32) / -127.0f; // the extreme value becomes table entry -127
        maxAbs = std::fmax(maxAbs, std::fabs(scale[s]));
    }
    const float d = putHalf(b, maxAbs / 31.0f);
    std::memset(b + 2, 0, 134);
    int scalesH = 0;
    for (int s = 0; s < 8; ++s) {
        const int ls = d > 0 ? clampRound(scale[s] / d, -32, 31) : 0, l6 = ls + 32;
        b[4 + s / 2] |= std::uint8_t((l6 & 15) << (4 * (s % 2)));
        scalesH |= (l6 >> 4) << (2 * s);
        const float dl = d * float(ls);
        for (int j = 0; j < 16; ++j) {
            const int lo = dl != 0 ? nearestIq4(x[s * 32 + j] / dl) : 8, hi = dl != 0 ? nearestIq4(x[s * 32 + 16 + j] / dl) : 8;
            b[8 + s * 16 + j] = std::uint8_t(lo | (hi << 4));
        }
    }
    b[2] = std::uint8_t(scalesH & 0xff);
    b[3] = std::uint8_t(scalesH >> 8);
}

} // namespace

bool ggmlWritable(GgmlType type, std::int64_t cols) {
    switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16: return cols > 0;
    case GgmlType::Q8_0: return cols > 0 && cols % 32 == 0;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::IQ4_XS: return cols > 0 && cols % kSuper == 0;
    default: return false;
    }
}

std::size_t ggmlRowBytes(GgmlType type, std::int64_t cols) {
    const GgmlTypeTraits* t = ggmlTypeTraits(std::uint32_t(type));
    return t ? std::size_t(cols / t->blockElems) * std::size_t(t->blockBytes) : 0;
}

void quantizeRowGgml(GgmlType type, const float* x, std::int64_t cols, std::uint8_t* out) {
    const std::size_t each = ggmlRowBytes(type, kSuper);
    switch (type) {
    case GgmlType::F32: std::memcpy(out, x, std::size_t(cols) * 4); return;
    case GgmlType::F16:
        for (std::int64_t i = 0; i < cols; ++i) {
            const std::uint16_t h = f32ToHalf(x[i]);
            out[2 * i] = std::uint8_t(h & 0xff);
            out[2 * i + 1] = std::uint8_t(h >> 8);
        }
        return;
    case GgmlType::BF16:
        for (std::int64_t i = 0; i < cols; ++i) {
            const std::uint16_t h = kernels::f32ToBf16(x[i]);
            out[2 * i] = std::uint8_t(h & 0xff);
            out[2 * i + 1] = std::uint8_t(h >> 8);
        }
        return;
    case GgmlType::Q8_0: quantizeQ8_0(x, cols, out); return;
    default: break;
    }
    for (std::int64_t s = 0; s < cols / kSuper; ++s) {
        const float* xs = x + s * kSuper;
        std::uint8_t* b = out + std::size_t(s) * each;
        switch (type) {
        case GgmlType::Q2_K: quantizeQ2K(xs, b); break;
        case GgmlType::Q3_K: quantizeQ3K(xs, b); break;
        case GgmlType::Q4_K: quantizeQ45K(xs, b, 4); break;
        case GgmlType::Q5_K: quantizeQ45K(xs, b, 5); break;
        case GgmlType::Q6_K: quantizeQ6K(xs, b); break;
        case GgmlType::IQ4_XS: quantizeIq4Xs(xs, b); break;
        default: return;
        }
    }
}

} // namespace folio::model
