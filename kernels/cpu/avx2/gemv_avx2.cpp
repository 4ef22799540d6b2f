// One token (decode) on AVX2: y = x . W^T with every output computed exactly as this variant's
// batch GEMM computes it (one FMA chain per K tile of 256 inputs, from zero; the tiles' sums added
// to the output in order), so that a decode step and a prefill chunk give the same bits. A decode
// step reads every weight once, so the aim is to stream the weights at memory speed.
//
// The FMAs want column vectors (8 rows' weights for one input, one ymm lane per row) while the
// checkpoint stores rows. Rows are taken 8 at a time (a group) and turned into column vectors in
// registers: bf16 widened to f32 and transposed 8 x 8; fp8 and fp4 transposed as bytes first
// (8 rows x 32 bytes in 24 in-lane unpacks, a quarter of the shuffles of the f32 transpose per
// value), then decoded a column at a time: fp8 through its exact f16 bit pattern and F16C, fp4
// through a vpshufb table of f16 high bytes. The column vectors of four K tiles go into small L1
// buffers so that four independent FMA chains run side by side, and the next group's rows, one
// contiguous block, are prefetched while the current one is computed (one sequential stream
// instead of 8 to 32 row streams).
#include "simd_avx2.h"

namespace folio::kernels::avx2 {

namespace {

constexpr int kGroup = 8;  // rows per group: one lane each
constexpr int kChains = 4; // K tiles accumulated side by side
constexpr int kNr = 16;    // rows per panel of the general path (the batch GEMM's panel)

// The general path, for f32 weights and shapes off the K tile: a panel's 16 rows dequantized a
// span of 4,096 columns at a time, then each 8 x 8 block transposed in registers.
void gemvRows(const float* x, const WeightMatrix& w, std::int64_t row0, std::int64_t nr, float* y) {
    constexpr std::int64_t kSpan = 16 * kKTile, kStride = kSpan + 8;
    const std::int64_t cols = w.cols;
    thread_local Scratch rowsBuffer;
    float* const rows = rowsBuffer.get(std::size_t(kNr * kStride));
    for (std::int64_t p0 = 0; p0 < nr; p0 += kNr) {
        const std::int64_t np = imin<std::int64_t>(kNr, nr - p0);
        vecf sum0{}, sum1{};
        for (std::int64_t s0 = 0; s0 < cols; s0 += kSpan) {
            const std::int64_t sc = imin(kSpan, cols - s0);
            for (std::int64_t r = 0; r < kNr; ++r) {
                float* dst = rows + r * kStride;
                if (r < np) dequantizeRowImpl(w, row0 + p0 + r, s0, sc, dst);
                else
                    for (std::int64_t k = 0; k < sc; ++k) dst[k] = 0.0f;
            }
            for (std::int64_t k0 = 0; k0 < sc; k0 += kKTile) {
                const std::int64_t kc = imin(kKTile, sc - k0);
                const float* xk = x + s0 + k0;
                const float* tile = rows + k0;
                vecf acc0{}, acc1{};
                std::int64_t k = 0;
                for (; k + 8 <= kc; k += 8) {
                    __m256 lo[8], hi[8];
                    transpose8(tile + k, kStride, lo);
                    transpose8(tile + 8 * kStride + k, kStride, hi);
                    for (int m = 0; m < 8; ++m) {
                        const vecf a = vecf{} + xk[k + m];
                        acc0 = vfma(a, vecf(lo[m]), acc0);
                        acc1 = vfma(a, vecf(hi[m]), acc1);
                    }
                }
                for (; k < kc; ++k) {
                    float b[kNr];
                    for (int j = 0; j < kNr; ++j) b[j] = tile[j * kStride + k];
                    const vecf a = vecf{} + xk[k];
                    acc0 = vfma(a, vload(b), acc0);
                    acc1 = vfma(a, vload(b + 8), acc1);
                }
                sum0 += acc0;
                sum1 += acc1;
            }
        }
        float out[kNr];
        vstore(out, sum0);
        vstore(out + 8, sum1);
        for (std::int64_t j = 0; j < np; ++j) y[p0 + j] = out[j];
    }
}

// Transposes 8 rows of 32 bytes with in-lane unpacks: afterwards, for m in [0, 8), r[m]'s low
// 128-bit lane holds byte columns 2m and 2m + 1 (rows 0..7 each) and its high lane byte columns
// 16 + 2m and 17 + 2m.
inline void transposeBytes(__m256i (&r)[8]) {
    __m256i t[8];
    for (int p = 0; p < 4; ++p) {
        t[2 * p] = _mm256_unpacklo_epi8(r[2 * p], r[2 * p + 1]);     // bytes 0..7 of rows 2p, 2p+1
        t[2 * p + 1] = _mm256_unpackhi_epi8(r[2 * p], r[2 * p + 1]); // bytes 8..15
    }
    __m256i u[8];
    for (int h = 0; h < 2; ++h) {     // rows 0..3, 4..7
        for (int b = 0; b < 2; ++b) { // bytes 0..7, 8..15
            const __m256i a = t[4 * h + b], c = t[4 * h + 2 + b];
            u[4 * h + 2 * b] = _mm256_unpacklo_epi16(a, c);     // 4 rows of bytes 8b + 0..3
            u[4 * h + 2 * b + 1] = _mm256_unpackhi_epi16(a, c); // 8b + 4..7
        }
    }
    for (int q = 0; q < 4; ++q) { // u[q]: rows 0..3, bytes 4q..4q+3; u[q + 4]: rows 4..7
        r[2 * q] = _mm256_unpacklo_epi32(u[q], u[q + 4]);     // columns 4q, 4q + 1
        r[2 * q + 1] = _mm256_unpackhi_epi32(u[q], u[q + 4]); // columns 4q + 2, 4q + 3
    }
}

inline __m128i high128(__m256i v) { return _mm256_extracti128_si256(v, 1); }

// Decoders: prepare(row0) once per group, then step(row0, c, out) writes the column vectors of
// columns [c, c + kStepCols): out[j * 8 + i] = dequantizeRow's value of W[row0 + i][c + j]. Each
// step reads one 64-byte line of each of the 8 rows.

struct Bf16Columns {
    static constexpr int kStepCols = 32;
    const WeightMatrix& w;
    std::int64_t rowBytes() const { return w.cols * 2; }
    void prepare(std::int64_t) {}
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const auto* p = static_cast<const std::uint16_t*>(w.data) + row0 * w.cols + c;
        for (int q = 0; q < 4; ++q) { // 8 columns at a time
            __m256 r[8], t[8];
            for (int i = 0; i < kGroup; ++i) {
                const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i * w.cols + 8 * q));
                r[i] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
            }
            transpose8(r, t);
            for (int m = 0; m < 8; ++m) _mm256_store_ps(out + (8 * q + m) * 8, t[m]);
        }
    }
};

// e4m3 code b as f16 bits is (sext(b) << 7) & 0xbf80: its value times 2^-8, exactly, subnormal
// codes included (they become normal f16 values). A group's 8 rows lie in one 128-row scale block,
// so each 128-column block has one scale; the 2^8 is folded into it, or applied on its own where
// that would overflow.
struct Fp8Columns {
    static constexpr int kStepCols = 64;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 128] scale (times 2^8 unless huge)
    Scratch& hugeBuffer;  // [cols / 128]: 1 where the 2^8 could not be folded in
    float* scales = nullptr;
    float* huge = nullptr;
    std::int64_t rowBytes() const { return w.cols; }
    void prepare(std::int64_t row0) {
        const float* e8 = e8m0Table();
        const std::int64_t blocks = (w.cols + 127) / 128;
        scales = scaleBuffer.get(std::size_t(blocks));
        huge = hugeBuffer.get(std::size_t(blocks));
        for (std::int64_t b = 0; b < blocks; ++b) {
            const std::uint8_t e = w.scales[(row0 / 128) * blocks + b];
            // 2^(e - 127) * 2^8 overflows for e in [247, 254]; 255 is NaN either way.
            const bool big = e >= 247 && e != 255;
            huge[b] = big ? 1.0f : 0.0f;
            scales[b] = big ? e8[e] : e8[e] * 256.0f;
        }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * w.cols + c;
        const __m256 s = _mm256_set1_ps(scales[c / 128]);
        const bool big = huge[c / 128] != 0.0f;
        const __m256i mask = _mm256_set1_epi16(short(0xbf80));
        auto put = [&](int col, __m128i f16) {
            __m256 v = _mm256_cvtph_ps(f16);
            if (big) v = _mm256_mul_ps(v, _mm256_set1_ps(256.0f));
            _mm256_store_ps(out + col * 8, _mm256_mul_ps(v, s));
        };
        for (int h = 0; h < 2; ++h) { // columns [32h, 32h + 32)
            __m256i r[kGroup];
            for (int i = 0; i < kGroup; ++i)
                r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i * w.cols + 32 * h));
            transposeBytes(r);
            for (int m = 0; m < 8; ++m) {
                const __m256i lo = _mm256_and_si256(_mm256_slli_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(r[m])), 7), mask);
                const __m256i hi = _mm256_and_si256(_mm256_slli_epi16(_mm256_cvtepi8_epi16(high128(r[m])), 7), mask);
                put(32 * h + 2 * m, _mm256_castsi256_si128(lo));
                put(32 * h + 2 * m + 1, high128(lo));
                put(32 * h + 16 + 2 * m, _mm256_castsi256_si128(hi));
                put(32 * h + 17 + 2 * m, high128(hi));
            }
        }
    }
};

// ggml's Q8_0 (GGUF): per 32 values an f16 scale, then 32 int8. A step is one block of 8 rows:
// their 32-byte runs transposed as bytes, each column widened (int8 to f32, exact) and scaled by
// the rows' block scales (decoded once per group): the product dequantizeRow forms.
struct Q8Columns {
    static constexpr int kStepCols = 32;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 32][8]
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 32 * 34; }
    void prepare(std::int64_t row0) {
        const std::int64_t blocks = w.cols / 32, rb = rowBytes();
        scales = scaleBuffer.get(std::size_t(blocks * 8));
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) {
                const std::uint8_t* blk = p + i * rb + b * 34;
                scales[b * 8 + i] = halfToFloat(std::uint16_t(blk[0] | (blk[1] << 8)));
            }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = rowBytes(), b = c / 32;
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb + b * 34 + 2;
        __m256i r[kGroup];
        for (int i = 0; i < kGroup; ++i) r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i * rb));
        transposeBytes(r);
        const __m256 s = _mm256_load_ps(scales + b * 8);
        auto put = [&](int col, __m128i bytes8) {
            _mm256_store_ps(out + col * 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes8)), s));
        };
        for (int m = 0; m < 8; ++m) {
            const __m128i lo = _mm256_castsi256_si128(r[m]), hi = high128(r[m]);
            put(2 * m, lo);
            put(2 * m + 1, _mm_srli_si128(lo, 8));
            put(16 + 2 * m, hi);
            put(17 + 2 * m, _mm_srli_si128(hi, 8));
        }
    }
};

// Byte column j (0..31) of 8 transposed 32-byte rows, in the low 8 bytes.
inline __m128i byteColumn(const __m256i (&r)[kGroup], int j) {
    const __m128i half = j >= 16 ? high128(r[(j % 16) / 2]) : _mm256_castsi256_si128(r[(j % 16) / 2]);
    return (j % 2) ? _mm_srli_si128(half, 8) : half;
}

// ggml's Q4_K (GGUF, kquants.h): a step is one pair of sub-blocks (64 columns), whose 32 code
// bytes hold the first in their low nibbles and the second in their high ones; per row and
// sub-block d sc and dmin m are formed once per group, value = (d sc) q - (dmin m).
struct Q4KColumns {
    static constexpr int kStepCols = 64;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 32][2][8]
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 256 * 144; }
    void prepare(std::int64_t row0) {
        const std::int64_t blocks = w.cols / 256, rb = rowBytes();
        scales = scaleBuffer.get(std::size_t(blocks * 8 * 16));
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) {
                const std::uint8_t* blk = p + i * rb + b * 144;
                const float d = halfToFloat(std::uint16_t(blk[0] | (blk[1] << 8)));
                const float dmin = halfToFloat(std::uint16_t(blk[2] | (blk[3] << 8)));
                for (int s = 0; s < 8; ++s) {
                    int sc, m;
                    kScaleMin(s, blk + 4, &sc, &m);
                    scales[((b * 8 + s) * 2) * 8 + i] = d * float(sc);
                    scales[((b * 8 + s) * 2 + 1) * 8 + i] = dmin * float(m);
                }
            }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = rowBytes(), b = c / 256, pair = (c % 256) / 64;
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb + b * 144 + 16 + pair * 32;
        __m256i r[kGroup];
        for (int i = 0; i < kGroup; ++i) r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i * rb));
        transposeBytes(r);
        const std::int64_t s = (b * 8 + 2 * pair) * 2;
        const __m256 d1 = _mm256_load_ps(scales + s * 8), m1 = _mm256_load_ps(scales + (s + 1) * 8);
        const __m256 d2 = _mm256_load_ps(scales + (s + 2) * 8), m2 = _mm256_load_ps(scales + (s + 3) * 8);
        const __m256i low4 = _mm256_set1_epi32(15);
        for (int j = 0; j < 32; ++j) {
            const __m256i q = _mm256_cvtepu8_epi32(byteColumn(r, j));
            const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(q, low4)), hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(q, 4));
            _mm256_store_ps(out + j * 8, _mm256_sub_ps(_mm256_mul_ps(d1, lo), m1));
            _mm256_store_ps(out + (32 + j) * 8, _mm256_sub_ps(_mm256_mul_ps(d2, hi), m2));
        }
    }
};

// ggml's Q6_K (GGUF, kquants.h): a step is half a super-block h (128 columns): 64 ql bytes (byte j:
// column j low nibble, 64 + j high) and 32 qh bytes (byte m: columns m + 32 t, two bits each),
// transposed as bytes; value = (d sc) (q - 32) with d sc per row and 16 columns formed per group.
struct Q6KColumns {
    static constexpr int kStepCols = 128;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 16][8]
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 256 * 210; }
    void prepare(std::int64_t row0) {
        const std::int64_t blocks = w.cols / 256, rb = rowBytes();
        scales = scaleBuffer.get(std::size_t(blocks * 16 * 8));
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) {
                const std::uint8_t* blk = p + i * rb + b * 210;
                const float d = halfToFloat(std::uint16_t(blk[208] | (blk[209] << 8)));
                const auto* sc = reinterpret_cast<const std::int8_t*>(blk + 192);
                for (int g = 0; g < 16; ++g) scales[(b * 16 + g) * 8 + i] = d * float(sc[g]);
            }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = rowBytes(), b = c / 256, h = (c % 256) / 128;
        const auto* blk = static_cast<const std::uint8_t*>(w.data) + row0 * rb + b * 210;
        __m256i lowA[kGroup], lowB[kGroup], high[kGroup];
        for (int i = 0; i < kGroup; ++i) {
            lowA[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + i * rb + h * 64));
            lowB[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + i * rb + h * 64 + 32));
            high[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + i * rb + 128 + h * 32));
        }
        transposeBytes(lowA);
        transposeBytes(lowB);
        transposeBytes(high);
        const __m256i low4 = _mm256_set1_epi32(15), low2 = _mm256_set1_epi32(3), bias = _mm256_set1_epi32(32);
        // Column k = m + 32 t takes qh byte m's bits 2t and ql byte m + 32 (t % 2)'s nibble t / 2.
        for (int m = 0; m < 32; ++m) {
            const __m256i hq = _mm256_cvtepu8_epi32(byteColumn(high, m));
            const __m256i la = _mm256_cvtepu8_epi32(byteColumn(lowA, m)), lb = _mm256_cvtepu8_epi32(byteColumn(lowB, m));
            for (int t = 0; t < 4; ++t) {
                const int k = m + 32 * t;
                const __m256i low = t % 2 ? lb : la;
                const __m256i lo = _mm256_and_si256(t / 2 ? _mm256_srli_epi32(low, 4) : low, low4);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(hq, 2 * t), low2);
                const __m256i q = _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)), bias);
                const __m256 dl = _mm256_load_ps(scales + (b * 16 + (h * 128 + k) / 16) * 8);
                _mm256_store_ps(out + k * 8, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(q)));
            }
        }
    }
};

// fp4: byte column j of a step holds columns 2j (low nibble) and 2j + 1 (high nibble) of 8 rows.
// The nibbles are looked up as f16 high bytes (vpshufb), widened to f16 words and to f32 (F16C),
// then scaled by each row's scale of the 32-column block (decoded once per group).
struct Fp4Columns {
    static constexpr int kStepCols = 128;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 32][8]
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 2; }
    void prepare(std::int64_t row0) {
        const float* e8 = e8m0Table();
        const std::int64_t blocks = w.cols / 32;
        scales = scaleBuffer.get(std::size_t(blocks * 8));
        const std::uint8_t* sp = w.scales + row0 * blocks;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) scales[b * 8 + i] = e8[sp[i * blocks + b]];
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = w.cols / 2;
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb + c / 2;
        const __m256i table = _mm256_broadcastsi128_si256(e2m1F16HighBytes());
        const __m256i nib = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) { // byte columns [32h, 32h + 32): value columns [64h, 64h + 64)
            __m256i r[kGroup];
            for (int i = 0; i < kGroup; ++i)
                r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i * rb + 32 * h));
            transposeBytes(r);
            // Value column v's scale vector: block (c + v) / 32.
            const float* s0 = scales + ((c + 64 * h) / 32) * 8;
            const __m256 sLow = _mm256_load_ps(s0), sHigh = _mm256_load_ps(s0 + 8);
            for (int m = 0; m < 8; ++m) {
                // Byte columns 2m, 2m + 1 (low lane) and 16 + 2m, 17 + 2m (high lane).
                const __m256i even = _mm256_shuffle_epi8(table, _mm256_and_si256(r[m], nib));
                const __m256i odd = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(r[m], 4), nib));
                const __m256i e0 = _mm256_unpacklo_epi8(zero, even), e1 = _mm256_unpackhi_epi8(zero, even);
                const __m256i o0 = _mm256_unpacklo_epi8(zero, odd), o1 = _mm256_unpackhi_epi8(zero, odd);
                // Low lane: byte column j = 2m + (0|1) gives value columns 2j, 2j + 1 (block 0 of
                // this half); high lane: j = 16 + 2m + (0|1), block 1.
                const int j0 = 2 * m;
                float* o = out + 64 * h * 8;
                auto put = [&](int col, __m128i f16, __m256 s) { _mm256_store_ps(o + col * 8, _mm256_mul_ps(_mm256_cvtph_ps(f16), s)); };
                put(2 * j0, _mm256_castsi256_si128(e0), sLow);
                put(2 * j0 + 1, _mm256_castsi256_si128(o0), sLow);
                put(2 * j0 + 2, _mm256_castsi256_si128(e1), sLow);
                put(2 * j0 + 3, _mm256_castsi256_si128(o1), sLow);
                put(32 + 2 * j0, high128(e0), sHigh);
                put(32 + 2 * j0 + 1, high128(o0), sHigh);
                put(32 + 2 * j0 + 2, high128(e1), sHigh);
                put(32 + 2 * j0 + 3, high128(o1), sHigh);
            }
        }
    }
};

// acc[q] += x[q * kKTile + j] * column j of chain q, for j in [0, n): the chains interleaved.
template <int Q> inline void fmaColumns(const float* x, std::int64_t n, const float* buf, std::int64_t bufStride, vecf (&acc)[kChains]) {
    for (std::int64_t j = 0; j < n; ++j)
        for (int q = 0; q < Q; ++q) acc[q] = vfma(vecf{} + x[q * kKTile + j], vload(buf + q * bufStride + j * 8), acc[q]);
}

// Groups [0, groups) of 8 rows from row0; cols is a multiple of kKTile.
template <class Decoder> void gemvGroups(const float* x, Decoder& d, std::int64_t row0, std::int64_t groups, float* y) {
    constexpr int S = Decoder::kStepCols;
    alignas(64) float buf[kChains][S * 8];
    const std::int64_t cols = d.w.cols, tiles = cols / kKTile;
    const std::int64_t groupLines = kGroup * d.rowBytes() / 64;
    const std::int64_t steps = cols / S, linesPerStep = (groupLines + steps - 1) / steps;
    const char* base = static_cast<const char*>(d.w.data);
    for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t r0 = row0 + kGroup * g;
        // The next group is one contiguous block: fetch it line by line while this one runs.
        const char* next = base + (r0 + kGroup) * d.rowBytes();
        const std::int64_t nextLines = g + 1 < groups ? groupLines : 0;
        std::int64_t line = 0;
        d.prepare(r0);
        vecf sum{};
        for (std::int64_t t0 = 0; t0 < tiles; t0 += kChains) {
            const int q = int(imin<std::int64_t>(kChains, tiles - t0));
            vecf acc[kChains] = {};
            for (std::int64_t s = 0; s < kKTile; s += S) {
                for (int c = 0; c < q; ++c) {
                    d.step(r0, (t0 + c) * kKTile + s, buf[c]);
                    for (std::int64_t l = 0; l < linesPerStep && line < nextLines; ++l, ++line)
                        _mm_prefetch(next + line * 64, _MM_HINT_T0);
                }
                const float* xs = x + t0 * kKTile + s;
                switch (q) {
                case 1: fmaColumns<1>(xs, S, buf[0], S * 8, acc); break;
                case 2: fmaColumns<2>(xs, S, buf[0], S * 8, acc); break;
                case 3: fmaColumns<3>(xs, S, buf[0], S * 8, acc); break;
                default: fmaColumns<4>(xs, S, buf[0], S * 8, acc); break;
                }
            }
            for (int c = 0; c < q; ++c) sum += acc[c];
        }
        vstore(y + kGroup * g, sum);
    }
}

} // namespace

bool gemvOneToken(const float* x, const WeightMatrix& w, std::int64_t rowBegin, std::int64_t rowCount, float* y,
                  ThreadPool* pool, bool threaded) {
    // Groups must not straddle a 128-row fp8 scale block: rowBegin a multiple of 8 keeps them inside.
    // The grouped decoders take the checkpoint formats; F32 and the GGUF blocks the general path.
    const bool grouped = (w.format == WeightFormat::BF16 || w.format == WeightFormat::FP4Row32 ||
                          w.format == WeightFormat::Q8_0 || w.format == WeightFormat::Q4_K || w.format == WeightFormat::Q6_K ||
                          (w.format == WeightFormat::FP8Block128 && rowBegin % kGroup == 0)) &&
                         w.cols % kKTile == 0;
    if (!grouped) {
        constexpr std::int64_t kRowTile = 4 * kNr;
        const std::int64_t tiles = (rowCount + kRowTile - 1) / kRowTile;
        auto rowTile = [&](std::int64_t tile, int) {
            const std::int64_t r0 = tile * kRowTile;
            gemvRows(x, w, rowBegin + r0, imin(kRowTile, rowCount - r0), y + r0);
        };
        forTasks(pool, threaded, tiles, rowTile);
        return true;
    }
    // Tasks of consecutive groups, long enough that the prefetch runs ahead for most of them and
    // about eight per thread so that a slow thread does not hold the others up.
    const std::int64_t groups = rowCount / kGroup, tail = rowCount % kGroup;
    const int threads = threaded ? pool->size() : 1;
    const std::int64_t perTask = imax<std::int64_t>(8, groups / (8 * threads));
    const std::int64_t tasks = (groups + perTask - 1) / perTask + (tail ? 1 : 0);
    auto task = [&](std::int64_t t, int) {
        const std::int64_t g0 = t * perTask;
        if (g0 >= groups) { // the rows after the last whole group
            gemvRows(x, w, rowBegin + groups * kGroup, tail, y + groups * kGroup);
            return;
        }
        const std::int64_t n = imin(perTask, groups - g0);
        thread_local Scratch scales, huge;
        if (w.format == WeightFormat::BF16) {
            Bf16Columns d{w};
            gemvGroups(x, d, rowBegin + g0 * kGroup, n, y + g0 * kGroup);
        } else if (w.format == WeightFormat::FP8Block128) {
            Fp8Columns d{w, scales, huge};
            gemvGroups(x, d, rowBegin + g0 * kGroup, n, y + g0 * kGroup);
        } else if (w.format == WeightFormat::Q8_0) {
            Q8Columns d{w, scales};
            gemvGroups(x, d, rowBegin + g0 * kGroup, n, y + g0 * kGroup);
        } else if (w.format == WeightFormat::Q4_K) {
            Q4KColumns d{w, scales};
            gemvGroups(x, d, rowBegin + g0 * kGroup, n, y + g0 * kGroup);
        } else if (w.format == WeightFormat::Q6_K) {
            Q6KColumns d{w, scales};
            gemvGroups(x, d, rowBegin + g0 * kGroup, n, y + g0 * kGroup);
        } else {
            Fp4Columns d{w, scales};
            gemvGroups(x, d, rowBegin + g0 * kGroup, n, y + g0 * kGroup);
        }
    };
    forTasks(pool, threaded, tasks, task);
    return true;
}

} // namespace folio::kernels::avx2
