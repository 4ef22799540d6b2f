#include "folio/kernels/gemm.h"

#include "folio/kernels/formats.h"
#include "folio/kernels/thread_pool.h"
#include "folio/kernels/vec_ops.h"
#include "gemm_detail.h"

#include <algorithm>
#include <array>
#include <bit>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

namespace folio::kernels {

namespace {

using detail::kKTile;

constexpr int kLanes = kVecLanes;

std::atomic<std::int64_t> gFlops{0}, gNanos{0};

// Register blocking (BLIS-style): a micro tile of kMr tokens x kNr output rows is accumulated in
// registers from packed panels: A (tokens) as [k][kMr], B (dequantized weights) as [k][kNr].
// AVX-512: 8 x 32 -> 16 accumulators; AVX2: 6 x 16 -> 12 accumulators.
#if defined(__AVX512F__)
constexpr int kMr = 8; // 16 accumulators of 32 registers
#else
constexpr int kMr = 6; // 12 accumulators of 16 registers
#endif
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
            acc[i][0] += ai * b0;
            acc[i][1] += ai * b1;
        }
    }
    for (int i = 0; i < MT; ++i) {
        vstore(c + i * kNr, acc[i][0]);
        vstore(c + i * kNr + kLanes, acc[i][1]);
    }
}

inline void microKernelN(int mt, const float* a, const float* b, std::int64_t kc, float* c) {
    switch (mt) {
    case 1: microKernel<1>(a, b, kc, c); break;
    case 2: microKernel<2>(a, b, kc, c); break;
    case 3: microKernel<3>(a, b, kc, c); break;
    case 4: microKernel<4>(a, b, kc, c); break;
    case 5: microKernel<5>(a, b, kc, c); break;
#if defined(__AVX512F__)
    case 6: microKernel<6>(a, b, kc, c); break;
    case 7: microKernel<7>(a, b, kc, c); break;
#endif
    default: microKernel<kMr>(a, b, kc, c); break;
    }
}

} // namespace

// e4m3 and e2m1 decoded arithmetically so that the loops vectorize: the code's exponent and
// mantissa bits are placed under a biased float exponent, which is exact for normal codes; a
// subnormal code (exponent 0) then reads (1 + m/2^k) 2^-b instead of (m/2^k) 2^(1-b), which one
// fused step corrects: v = 2v - 2^(1-b). No float denormals appear on the way.
static inline float decodeE4m3(std::uint32_t b) {
    float v = std::bit_cast<float>(((b & 0x7fu) << 20) + (120u << 23));
    if ((b & 0x78u) == 0) v = 2.0f * v - 0.015625f; // 2^-6
    return (b & 0x80u) ? -v : v;
}

static inline float decodeE2m1(std::uint32_t n) {
    float v = std::bit_cast<float>(((n & 7u) << 22) + (126u << 23));
    if ((n & 6u) == 0) v = 2.0f * v - 1.0f;
    return (n & 8u) ? -v : v;
}

// 32 fp4 values (16 bytes, low nibble first) times one scale.
static inline void decodeFp4Block(const std::uint8_t* q, float scale, float* out) {
#if defined(__AVX512F__)
    const __m512 lut = _mm512_loadu_ps(kE2m1Values.data());
    const __m512i b32 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 lo = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(b32, _mm512_set1_epi32(15)), lut), s);
    const __m512 hi = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(b32, 4), lut), s);
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_ps(out, _mm512_permutex2var_ps(lo, first, hi));
    _mm512_storeu_ps(out + 16, _mm512_permutex2var_ps(lo, second, hi));
#else
    // One table load per byte gives both of its values.
    static const auto pairs = [] {
        std::array<std::array<float, 2>, 256> t{};
        for (int b = 0; b < 256; ++b) t[std::size_t(b)] = {kE2m1Values[std::size_t(b & 15)], kE2m1Values[std::size_t(b >> 4)]};
        return t;
    }();
    for (int i = 0; i < 16; ++i) {
        out[2 * i] = pairs[q[i]][0] * scale;
        out[2 * i + 1] = pairs[q[i]][1] * scale;
    }
#endif
}

#if defined(__AVX512F__)
// dst[k * kNr + j] = src[j * kKTile + k] for a 16 x 16 block.
static inline void transpose16(const float* src, float* dst) {
    __m512 out[16];
    detail::transpose16(src, kKTile, out);
    for (int k = 0; k < 16; ++k) _mm512_storeu_ps(dst + k * kNr, out[k]);
}
#endif

// Packs `nr` (<= kNr) dequantized rows of `kc` inputs (row stride kKTile) k-major into a panel of
// kNr rows; missing rows are zero.
static void packPanel(const float* rows, std::int64_t nr, std::int64_t kc, float* bp) {
    std::int64_t k0 = 0;
#if defined(__AVX512F__)
    if (nr == kNr)
        for (; k0 + 16 <= kc; k0 += 16)
            for (int j0 = 0; j0 < kNr; j0 += 16) transpose16(rows + j0 * kKTile + k0, bp + k0 * kNr + j0);
#endif
    for (int j = 0; j < kNr; ++j) {
        if (j < nr) {
            const float* src = rows + j * kKTile;
            for (std::int64_t k = k0; k < kc; ++k) bp[k * kNr + j] = src[k];
        } else {
            for (std::int64_t k = 0; k < kc; ++k) bp[k * kNr + j] = 0.0f;
        }
    }
}

void dequantizeRow(const WeightMatrix& w, std::int64_t row, std::int64_t c0, std::int64_t len, float* out) {
    const float* e8m0 = detail::e8m0Table();
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
            const std::int64_t b1 = std::min(c0 + len, (b0 / 128 + 1) * 128);
            const float s = e8m0[srow[b0 / 128]];
            float* o = out + (b0 - c0);
            const std::uint8_t* q = p + b0;
            for (std::int64_t i = 0; i < b1 - b0; ++i) o[i] = decodeE4m3(q[i]) * s;
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
    }
}

void gemm(const float* x, std::int64_t n, std::int64_t ldx, const WeightMatrix& w, std::int64_t rowBegin,
          std::int64_t rowCount, float* y, std::int64_t ldy, ThreadPool* pool) {
    if (n <= 0 || rowCount <= 0) return;
    const auto started = std::chrono::steady_clock::now();
    const std::int64_t cols = w.cols;
    const std::int64_t tiles = (rowCount + kRowTile - 1) / kRowTile;
    // Below about a megaflop the wake-up of the pool costs more than the work.
    const bool threaded = pool && tiles > 1 && 2 * n * rowCount * cols >= (std::int64_t(1) << 20);
    auto account = [&] {
        gFlops.fetch_add(2 * n * rowCount * cols, std::memory_order_relaxed);
        gNanos.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count(),
                         std::memory_order_relaxed);
    };
#if defined(FOLIO_GEMV_AVX512)
    if (n == 1) { // decode: gemv.cpp, same order, same bits
        detail::gemvOneToken(x, w, rowBegin, rowCount, y, pool, threaded);
        account();
        return;
    }
#endif
    const std::int64_t tokenBlocks = (n + kMr - 1) / kMr;
    const std::int64_t kTiles = (cols + kKTile - 1) / kKTile;
    // The tokens, packed once per call, k-major per block of kMr (zero tokens pad the last block),
    // one slice per K tile: every row tile reads the same packed A (packing it again per row tile
    // held flash-shape prefill at 0.60 of the FMA peak; once per call it reaches 0.66-0.70, perf.md).
    thread_local std::vector<float> apackBuffer;
    const std::size_t sliceFloats = std::size_t(tokenBlocks * kMr * kKTile);
    apackBuffer.resize(sliceFloats * std::size_t(kTiles));
    float* const apack = apackBuffer.data(); // the caller's buffer (the pool's threads have their own)
    auto packTokens = [&](std::int64_t kt, int) {
        const std::int64_t k0 = kt * kKTile, kc = std::min(kKTile, cols - k0);
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
        thread_local std::vector<float> rows, bpack;
        const std::int64_t r0 = tile * kRowTile;
        const std::int64_t nr = std::min(kRowTile, rowCount - r0);
        const std::int64_t panels = (nr + kNr - 1) / kNr;
        rows.resize(std::size_t(kRowTile * kKTile));
        bpack.resize(std::size_t(kRowTile * kKTile));
        float c[kMr * kNr];
        for (std::int64_t t = 0; t < n; ++t) std::fill(y + t * ldy + r0, y + t * ldy + r0 + nr, 0.0f);
        for (std::int64_t k0 = 0; k0 < cols; k0 += kKTile) {
            const std::int64_t kc = std::min(kKTile, cols - k0);
            const float* aslice = apack + std::size_t(k0 / kKTile) * sliceFloats;
            // Dequantize this tile's rows, then pack them k-major per panel of kNr rows (zero rows pad
            // the last panel).
            for (std::int64_t r = 0; r < nr; ++r) dequantizeRow(w, rowBegin + r0 + r, k0, kc, &rows[std::size_t(r * kKTile)]);
            for (std::int64_t p = 0; p < panels; ++p)
                packPanel(&rows[std::size_t(p * kNr * kKTile)], std::min<std::int64_t>(kNr, nr - p * kNr), kc,
                          &bpack[std::size_t(p * kNr * kKTile)]);
            for (std::int64_t tb = 0; tb < tokenBlocks; ++tb) {
                const int mt = int(std::min<std::int64_t>(kMr, n - tb * kMr));
                for (std::int64_t p = 0; p < panels; ++p) {
                    microKernelN(mt, aslice + tb * kMr * kKTile, &bpack[std::size_t(p * kNr * kKTile)], kc, c);
                    const int nj = int(std::min<std::int64_t>(kNr, nr - p * kNr));
                    for (int i = 0; i < mt; ++i) {
                        float* dst = y + (tb * kMr + i) * ldy + r0 + p * kNr;
                        for (int j = 0; j < nj; ++j) dst[j] += c[i * kNr + j];
                    }
                }
            }
        }
    };
    if (threaded && n * cols >= (std::int64_t(1) << 16)) pool->parallelFor(kTiles, packTokens);
    else
        for (std::int64_t kt = 0; kt < kTiles; ++kt) packTokens(kt, 0);
    if (threaded) pool->parallelFor(tiles, task);
    else
        for (std::int64_t i = 0; i < tiles; ++i) task(i, 0);
    account();
}

GemmTotals gemmTotals() { return {double(gFlops.load()), double(gNanos.load()) * 1e-9}; }

void resetGemmTotals() {
    gFlops = 0;
    gNanos = 0;
}

void quantizeActivations(float* x, std::int64_t n, std::int64_t cols, ThreadPool* pool) {
    auto row = [&](std::int64_t t, int) { roundTripE4m3(x + t * cols, int(cols), 128); };
    if (pool && n > 1) pool->parallelFor(n, row);
    else
        for (std::int64_t t = 0; t < n; ++t) row(t, 0);
}

} // namespace folio::kernels
