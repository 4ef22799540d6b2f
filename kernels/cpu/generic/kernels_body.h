// The batch GEMM, dequantization, activation quantization, vector ops and probe loops, written once
// with GCC vector extensions and compiled by each variant's kernels_<variant>.cpp with its flags.
// Before including this file the variant defines FOLIO_VARIANT_NS, FOLIO_VARIANT_NAME,
// FOLIO_KERNEL_LANES and FOLIO_KERNEL_MR (the micro tile's tokens), includes generic/vector.h and
// defines, in its anonymous namespace:
//   void decodeFp4Block(const std::uint8_t* q, float scale, float* out);
//       32 fp4 values (16 bytes, low nibble first) times one scale, as dequantizeRow gives them;
//   void decodeMxfp4Block(const std::uint8_t* q, float scale, float* out);
//       one MXFP4 block's 16 code bytes: out[j] = low nibble of q[j], out[16 + j] = high, times scale;
//   void decodeFp8Span(const std::uint8_t* q, std::int64_t n, float scale, float* out);
//       n e4m3 codes times one UE8M0 scale (decodeE4m3Scaled's values);
//   veci widenBytes(const std::uint8_t* p);
//       kLanes bytes zero-extended to the 32-bit lanes of a veci;
//   std::int64_t packFullPanel(const float* rows, std::int64_t kc, float* bp);
//       for a panel of kNr rows (row stride kKTile): bp[k * kNr + j] = rows[j * kKTile + k] for k in
//       [0, returned); the rest is packed here.
#pragma once

#include "folio/kernels/formats.h"
#include "kquants.h"

#include <cmath>

#if !defined(FOLIO_VARIANT_NAME) || !defined(FOLIO_KERNEL_MR)
#error "define FOLIO_VARIANT_NAME and FOLIO_KERNEL_MR before including generic/kernels_body.h"
#endif

namespace folio::kernels::FOLIO_VARIANT_NS {
namespace {

// Register blocking (BLIS-style): a micro tile of kMr tokens x kNr output rows is accumulated in
// registers from packed panels: A (tokens) as [k][kMr], B (dequantized weights) as [k][kNr], two
// vectors wide. AVX-512: 8 x 32 (16 of 32 zmm); AVX2: 6 x 16 (12 of 16 ymm); SSE2: 6 x 8 (12 of 16).
constexpr int kMr = FOLIO_KERNEL_MR;
constexpr int kNr = 2 * kLanes;
constexpr std::int64_t kRowTile = 4 * kNr; // output rows per task

// c[i][j] = sum_k a[k][i] * b[k][j] for the first MT tokens of the block. Every output is one FMA
// chain over k whatever MT is, so a token's results do not depend on how many share its block.
template <int MT> inline void microKernel(const float* a, const float* b, std::int64_t kc, float* c) {
    vecf acc[MT][2] = {};
    for (std::int64_t k = 0; k < kc; ++k) {
        const vecf b0 = vload(b + k * kNr), b1 = vload(b + k * kNr + kLanes);
        const float* ak = a + k * kMr;
        for (int i = 0; i < MT; ++i) {
            const vecf ai = vecf{} + ak[i];
            acc[i][0] = vfma(ai, b0, acc[i][0]);
            acc[i][1] = vfma(ai, b1, acc[i][1]);
        }
    }
    for (int i = 0; i < MT; ++i) {
        vstore(c + i * kNr, acc[i][0]);
        vstore(c + i * kNr + kLanes, acc[i][1]);
    }
}

template <int MT> inline void microKernelUpTo(int mt, const float* a, const float* b, std::int64_t kc, float* c) {
    if constexpr (MT == 1) {
        microKernel<1>(a, b, kc, c);
    } else {
        if (mt >= MT) microKernel<MT>(a, b, kc, c);
        else microKernelUpTo<MT - 1>(mt, a, b, kc, c);
    }
}

// Packs `nr` (<= kNr) dequantized rows of `kc` inputs (row stride kKTile) k-major into a panel of
// kNr rows; missing rows are zero.
inline void packPanel(const float* rows, std::int64_t nr, std::int64_t kc, float* bp) {
    const std::int64_t k0 = nr == kNr ? packFullPanel(rows, kc, bp) : 0;
    for (int j = 0; j < kNr; ++j) {
        if (j < nr) {
            const float* src = rows + j * kKTile;
            for (std::int64_t k = k0; k < kc; ++k) bp[k * kNr + j] = src[k];
        } else {
            for (std::int64_t k = 0; k < kc; ++k) bp[k * kNr + j] = 0.0f;
        }
    }
}

void gemmImpl(const float* x, std::int64_t n, std::int64_t ldx, const WeightMatrix& w, std::int64_t rowBegin,
              std::int64_t rowCount, float* y, std::int64_t ldy, ThreadPool* pool) {
    if (n <= 0 || rowCount <= 0) return;
    const std::int64_t cols = w.cols;
    const std::int64_t tiles = (rowCount + kRowTile - 1) / kRowTile;
    // Below about a megaflop the wake-up of the pool costs more than the work.
    const bool threaded = pool && tiles > 1 && 2 * n * rowCount * cols >= (std::int64_t(1) << 20);
    if (n == 1 && gemvOneToken(x, w, rowBegin, rowCount, y, pool, threaded)) return; // same order, same bits
    const std::int64_t tokenBlocks = (n + kMr - 1) / kMr;
    const std::int64_t kTiles = (cols + kKTile - 1) / kKTile;
    // The tokens, packed once per call, k-major per block of kMr (zero tokens pad the last block),
    // one slice per K tile: every row tile reads the same packed A (packing it again per row tile
    // held flash-shape prefill at 0.60 of the FMA peak; once per call it reaches 0.66-0.70, perf.md).
    thread_local Scratch apackBuffer;
    const std::size_t sliceFloats = std::size_t(tokenBlocks * kMr * kKTile);
    float* const apack = apackBuffer.get(sliceFloats * std::size_t(kTiles)); // the caller's buffer
    auto packTokens = [&](std::int64_t kt, int) {
        const std::int64_t k0 = kt * kKTile, kc = imin(kKTile, cols - k0);
        for (std::int64_t tb = 0; tb < tokenBlocks; ++tb) {
            float* ap = apack + std::size_t(kt) * sliceFloats + std::size_t(tb * kMr * kKTile);
            for (int i = 0; i < kMr; ++i) {
                const std::int64_t t = tb * kMr + i;
                if (t < n) {
                    const float* src = x + t * ldx + k0;
                    for (std::int64_t k = 0; k < kc; ++k) ap[k * kMr + i] = src[k];
                } else {
                    for (std::int64_t k = 0; k < kc; ++k) ap[k * kMr + i] = 0.0f;
                }
            }
        }
    };
    auto task = [&](std::int64_t tile, int) {
        thread_local Scratch rowsBuffer, bpackBuffer;
        float* const rows = rowsBuffer.get(std::size_t(kRowTile * kKTile));
        float* const bpack = bpackBuffer.get(std::size_t(kRowTile * kKTile));
        const std::int64_t r0 = tile * kRowTile;
        const std::int64_t nr = imin(kRowTile, rowCount - r0);
        const std::int64_t panels = (nr + kNr - 1) / kNr;
        alignas(64) float c[kMr * kNr];
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t r = 0; r < nr; ++r) y[t * ldy + r0 + r] = 0.0f;
        for (std::int64_t k0 = 0; k0 < cols; k0 += kKTile) {
            const std::int64_t kc = imin(kKTile, cols - k0);
            const float* aslice = apack + std::size_t(k0 / kKTile) * sliceFloats;
            // Dequantize this tile's rows, then pack them k-major per panel of kNr rows (zero rows pad
            // the last panel).
            for (std::int64_t r = 0; r < nr; ++r) dequantizeRowImpl(w, rowBegin + r0 + r, k0, kc, rows + r * kKTile);
            for (std::int64_t p = 0; p < panels; ++p)
                packPanel(rows + p * kNr * kKTile, imin<std::int64_t>(kNr, nr - p * kNr), kc, bpack + p * kNr * kKTile);
            for (std::int64_t tb = 0; tb < tokenBlocks; ++tb) {
                const int mt = int(imin<std::int64_t>(kMr, n - tb * kMr));
                for (std::int64_t p = 0; p < panels; ++p) {
                    microKernelUpTo<kMr>(mt, aslice + tb * kMr * kKTile, bpack + p * kNr * kKTile, kc, c);
                    const int nj = int(imin<std::int64_t>(kNr, nr - p * kNr));
                    for (int i = 0; i < mt; ++i) {
                        float* dst = y + (tb * kMr + i) * ldy + r0 + p * kNr;
                        for (int j = 0; j < nj; ++j) dst[j] += c[i * kNr + j];
                    }
                }
            }
        }
    };
    forTasks(pool, threaded && n * cols >= (std::int64_t(1) << 16), kTiles, packTokens);
    forTasks(pool, threaded, tiles, task);
}

void quantizeRowsImpl(float* x, std::int64_t r0, std::int64_t r1, std::int64_t cols) {
    for (std::int64_t t = r0; t < r1; ++t) roundTripE4m3(x + t * cols, int(cols), 128);
}

// sum_i a[i] * b[i], reduced in a fixed order for a given variant.
float dotImpl(const float* a, const float* b, std::int64_t n) {
    vecf s0{}, s1{};
    std::int64_t i = 0;
    for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
        s0 = vfma(vload(a + i), vload(b + i), s0);
        s1 = vfma(vload(a + i + kLanes), vload(b + i + kLanes), s1);
    }
    for (; i + kLanes <= n; i += kLanes) s0 = vfma(vload(a + i), vload(b + i), s0);
    s0 += s1;
    float s = 0.0f;
    for (int l = 0; l < kLanes; ++l) s += s0[l];
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

// y[i] += alpha * x[i]
void axpyImpl(float alpha, const float* x, float* y, std::int64_t n) {
    const vecf av = vecf{} + alpha;
    std::int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) vstore(y + i, vfma(av, vload(x + i), vload(y + i)));
    for (; i < n; ++i) y[i] += alpha * x[i];
}

// 12 independent FMA chains hide the FMA latency (4 cycles x 2 ports needs >= 8).
double fmaLoopImpl(long iters) {
    vecf acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = vecf{} + float(i) * 1e-3f;
    const vecf a = vecf{} + 0.999999f, b = vecf{} + 1e-7f;
    for (long it = 0; it < iters; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = vfma(acc[i], a, b);
    float s = 0;
    for (int i = 0; i < 12; ++i) s += acc[i][0];
    return double(s);
}

float sumFloatsImpl(const float* p, std::size_t n) {
    vecf a0{}, a1{}, a2{}, a3{};
    for (std::size_t k = 0; k + 4 * kLanes <= n; k += 4 * kLanes) {
        a0 += vload(p + k);
        a1 += vload(p + k + kLanes);
        a2 += vload(p + k + 2 * kLanes);
        a3 += vload(p + k + 3 * kLanes);
    }
    const vecf t = (a0 + a1) + (a2 + a3);
    return t[0];
}

} // namespace

void dequantizeRowImpl(const WeightMatrix& w, std::int64_t row, std::int64_t c0, std::int64_t len, float* out) {
    const float* e8m0 = e8m0Table();
    switch (w.format) {
    case WeightFormat::F32:
        std::memcpy(out, static_cast<const float*>(w.data) + row * w.cols + c0, std::size_t(len) * 4);
        return;
    case WeightFormat::BF16: {
        const auto* p = static_cast<const std::uint16_t*>(w.data) + row * w.cols + c0;
        for (std::int64_t i = 0; i < len; ++i) out[i] = std::bit_cast<float>(std::uint32_t(p[i]) << 16);
        return;
    }
    case WeightFormat::FP8Block128: {
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row * w.cols;
        const std::int64_t scaleCols = (w.cols + 127) / 128;
        const std::uint8_t* srow = w.scales + (row / 128) * scaleCols;
        for (std::int64_t b0 = c0; b0 < c0 + len;) {
            const std::int64_t b1 = imin(c0 + len, (b0 / 128 + 1) * 128);
            const float s = e8m0[srow[b0 / 128]];
            float* o = out + (b0 - c0);
            const std::uint8_t* q = p + b0;
            decodeFp8Span(q, b1 - b0, s, o);
            b0 = b1;
        }
        return;
    }
    case WeightFormat::FP4Row32: {
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row * (w.cols / 2);
        const std::uint8_t* srow = w.scales + row * (w.cols / 32);
        std::int64_t c = c0;
        // Whole scale blocks of 32 values (16 bytes) take the vector path.
        if (c % 32 == 0)
            for (; c + 32 <= c0 + len; c += 32) decodeFp4Block(p + c / 2, e8m0[srow[c / 32]], out + (c - c0));
        for (; c < c0 + len; ++c) {
            const std::uint8_t byte = p[c / 2];
            out[c - c0] = decodeE2m1((c & 1) ? std::uint32_t(byte >> 4) : std::uint32_t(byte & 15u)) * e8m0[srow[c / 32]];
        }
        return;
    }
    case WeightFormat::Q8_0: { // d x q, exact in f32 (11 + 8 significant bits), as ggml dequantizes
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row * (w.cols / 32) * 34;
        for (std::int64_t c = c0; c < c0 + len;) {
            const std::int64_t b = c / 32, end = imin(c0 + len, (b + 1) * 32);
            const std::uint8_t* blk = p + b * 34;
            const float d = halfToFloat(std::uint16_t(blk[0] | (blk[1] << 8)));
            const auto* q = reinterpret_cast<const std::int8_t*>(blk + 2) - b * 32;
            for (; c < end; ++c) out[c - c0] = d * float(q[c]);
        }
        return;
    }
    case WeightFormat::MXFP4: { // e2m1 x 2^(e - 127): ggml's 2 e2m1 x 2^(e - 128), the same exact value
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row * (w.cols / 32) * 17;
        for (std::int64_t c = c0; c < c0 + len;) {
            const std::int64_t b = c / 32, end = imin(c0 + len, (b + 1) * 32);
            const std::uint8_t* blk = p + b * 17;
            const float s = e8m0[blk[0]];
            if (c == b * 32 && end == c + 32) { // a whole block: the variant's vector decode
                decodeMxfp4Block(blk + 1, s, out + (c - c0));
                c = end;
                continue;
            }
            for (; c < end; ++c) {
                const std::int64_t j = c - b * 32;
                const std::uint8_t byte = blk[1 + (j & 15)];
                out[c - c0] = decodeE2m1(j < 16 ? std::uint32_t(byte & 15u) : std::uint32_t(byte >> 4)) * s;
            }
        }
        return;
    }
    case WeightFormat::F16: {
        const auto* p = static_cast<const std::uint8_t*>(w.data) + (row * w.cols + c0) * 2;
        for (std::int64_t i = 0; i < len; ++i) out[i] = halfToFloat(std::uint16_t(p[2 * i] | (p[2 * i + 1] << 8)));
        return;
    }
    case WeightFormat::Q2_K:
    case WeightFormat::Q3_K:
    case WeightFormat::Q4_K:
    case WeightFormat::Q5_K:
    case WeightFormat::Q6_K:
    case WeightFormat::IQ4_XS: {
        const BlockLayout layout = blockLayout(w.format);
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row * (w.cols / 256) * layout.bytes;
        for (std::int64_t c = c0; c < c0 + len;) {
            const std::int64_t b = c / 256, end = imin(c0 + len, (b + 1) * 256);
            if (c == b * 256 && end == c + 256) {
                decodeSuperBlock(w.format, p + b * layout.bytes, out + (c - c0));
            } else { // part of a block: decode it whole, keep the part
                alignas(64) float whole[256];
                decodeSuperBlock(w.format, p + b * layout.bytes, whole);
                std::memcpy(out + (c - c0), whole + (c - b * 256), std::size_t(end - c) * 4);
            }
            c = end;
        }
        return;
    }
    }
}

const CpuKernelTable& kernelTable() {
    static const CpuKernelTable table{FOLIO_VARIANT_NAME, kLanes,   gemmImpl,    dequantizeRowImpl, quantizeRowsImpl,
                                      dotImpl,            axpyImpl, fmaLoopImpl, sumFloatsImpl};
    return table;
}

} // namespace folio::kernels::FOLIO_VARIANT_NS
