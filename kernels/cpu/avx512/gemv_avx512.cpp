// One token (decode): y = x . W^T with every output computed exactly as the batch GEMM computes it
// (one FMA chain per K tile of 256 inputs, from zero, written the same way so that it contracts
// the same way; the tiles' sums added to the output in order), so that a decode step and a
// prefill chunk give the same bits. What differs is how the weights reach the FMAs: a decode step
// reads every weight once, so the aim is to stream them at memory speed.
//
// The FMAs need column vectors (16 rows' weights for one input) while the checkpoint stores rows.
// Rows are taken 16 at a time (a group) and decoded into column vectors by transposing in
// registers: bf16 as f32 after widening, fp8 and fp4 as bytes before decoding (a 16 x 64 byte
// transpose costs a quarter of the shuffles of the f32 one per value). The column vectors of four
// K tiles go into small L1 buffers so that four independent FMA chains run side by side: one
// chain is bound by the FMA latency (4 cycles per column vector), which held bf16 near 24 GB/s a
// core and fp4 near 6. The next group's rows, one contiguous block, are prefetched while the
// current one is computed, so the loads meet one sequential stream instead of 16 to 64 row streams
// (at 32 concurrent row streams the read bandwidth of this kind of machine drops by a third).
//
// This is the AVX-512 variant's (BW byte transposes, VBMI vpermb for e2m1); gemv_avx2.cpp is the
// AVX2 one.
#include "simd_avx512.h"

#include "folio/kernels/formats.h"

namespace folio::kernels::avx512 {

namespace {

constexpr int kGroup = 16;  // rows per group: one lane each
constexpr int kChains = 4;  // K tiles accumulated side by side
constexpr int kNr = 32;     // rows per panel of the general path

// The general path, for f32 weights and shapes off the K tile: a panel's 32 rows dequantized a
// span of 4,096 columns at a time, then each 16 x 16 block transposed in registers.
void gemvRows(const float* x, const WeightMatrix& w, std::int64_t row0, std::int64_t nr, float* y) {
    constexpr std::int64_t kSpan = 16 * kKTile, kStride = kSpan + 16;
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
                for (; k + 16 <= kc; k += 16) {
                    __m512 lo[16], hi[16];
                    transpose16(tile + k, kStride, lo);
                    transpose16(tile + 16 * kStride + k, kStride, hi);
                    for (int m = 0; m < 16; ++m) {
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
                    acc1 = vfma(a, vload(b + 16), acc1);
                }
                sum0 += acc0;
                sum1 += acc1;
            }
        }
        float out[kNr];
        vstore(out, sum0);
        vstore(out + 16, sum1);
        for (std::int64_t j = 0; j < np; ++j) y[p0 + j] = out[j];
    }
}

// Transposes 16 rows of 64 bytes: afterwards r[i]'s 128-bit lane L holds byte column
// 16 L + bitReverse4(i), rows 0..15 in order (four rounds of in-lane unpacks, 64 shuffles).
inline void transposeBytes(__m512i (&r)[16]) {
    __m512i t[16];
    for (int p = 0; p < 8; ++p) {
        t[p] = _mm512_unpacklo_epi8(r[2 * p], r[2 * p + 1]);
        t[p + 8] = _mm512_unpackhi_epi8(r[2 * p], r[2 * p + 1]);
    }
    for (int p = 0; p < 8; ++p) {
        r[p] = _mm512_unpacklo_epi16(t[2 * p], t[2 * p + 1]);
        r[p + 8] = _mm512_unpackhi_epi16(t[2 * p], t[2 * p + 1]);
    }
    for (int p = 0; p < 8; ++p) {
        t[p] = _mm512_unpacklo_epi32(r[2 * p], r[2 * p + 1]);
        t[p + 8] = _mm512_unpackhi_epi32(r[2 * p], r[2 * p + 1]);
    }
    for (int p = 0; p < 8; ++p) {
        r[p] = _mm512_unpacklo_epi64(t[2 * p], t[2 * p + 1]);
        r[p + 8] = _mm512_unpackhi_epi64(t[2 * p], t[2 * p + 1]);
    }
}

constexpr int bitReverse4(int i) { return ((i & 1) << 3) | ((i & 2) << 1) | ((i & 4) >> 1) | ((i & 8) >> 3); }

inline __m128i lane128(__m512i v, int lane) {
    switch (lane) {
    case 0: return _mm512_castsi512_si128(v);
    case 1: return _mm512_extracti32x4_epi32(v, 1);
    case 2: return _mm512_extracti32x4_epi32(v, 2);
    default: return _mm512_extracti32x4_epi32(v, 3);
    }
}

// Decoders: prepare(row0) once per group, then step(row0, c, out) writes the column vectors of
// columns [c, c + kStepCols): out[j * 16 + i] = dequantizeRow's value of W[row0 + i][c + j]. Each
// step reads one 64-byte line of each of the 16 rows.

struct Bf16Columns {
    static constexpr int kStepCols = 32;
    const WeightMatrix& w;
    std::int64_t rowBytes() const { return w.cols * 2; }
    void prepare(std::int64_t) {}
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const auto* p = static_cast<const std::uint16_t*>(w.data) + row0 * w.cols + c;
        __m512i raw[kGroup];
        for (int i = 0; i < kGroup; ++i) raw[i] = _mm512_loadu_si512(p + i * w.cols);
        for (int h = 0; h < 2; ++h) {
            __m512 r[16], t[16];
            for (int i = 0; i < 16; ++i) {
                const __m256i half = h ? _mm512_extracti64x4_epi64(raw[i], 1) : _mm512_castsi512_si256(raw[i]);
                r[i] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
            }
            transpose16(r, t);
            for (int m = 0; m < 16; ++m) _mm512_store_ps(out + (16 * h + m) * 16, t[m]);
        }
    }
};

// e4m3 code b as f16 bits is (sext(b) << 7) & 0xbf80: its value times 2^-8, exactly, subnormal
// codes included (they become normal f16 values); the hardware converts f16 to f32. The 2^8 is
// folded into the 128 x 128 block scale, or applied on its own where that would overflow.
struct Fp8Columns {
    static constexpr int kStepCols = 64;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 128][16]: each row's block scale (times 2^8 unless huge)
    Scratch& hugeBuffer;  // [cols / 128]: 1 where the 2^8 could not be folded in
    float* scales = nullptr;
    float* huge = nullptr;
    std::int64_t rowBytes() const { return w.cols; }
    void prepare(std::int64_t row0) {
        const float* e8 = e8m0Table();
        const std::int64_t blocks = (w.cols + 127) / 128;
        scales = scaleBuffer.get(std::size_t(blocks * 16));
        huge = hugeBuffer.get(std::size_t(blocks));
        for (std::int64_t b = 0; b < blocks; ++b) huge[b] = 0.0f;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) {
                const std::uint8_t e = w.scales[((row0 + i) / 128) * blocks + b];
                // 2^(e - 127) * 2^8 overflows for e in [247, 254]; 255 is NaN either way.
                if (e >= 247 && e != 255) huge[b] = 1.0f;
                scales[b * 16 + i] = e8[e];
            }
        for (std::int64_t b = 0; b < blocks; ++b)
            if (huge[b] == 0.0f)
                for (int i = 0; i < kGroup; ++i) scales[b * 16 + i] *= 256.0f;
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * w.cols + c;
        __m512i r[kGroup];
        for (int i = 0; i < kGroup; ++i) r[i] = _mm512_loadu_si512(p + i * w.cols);
        transposeBytes(r);
        const __m512 s = _mm512_loadu_ps(scales + c / 128 * 16);
        const bool big = huge[c / 128] != 0.0f;
        const __m512i mask = _mm512_set1_epi16(short(0xbf80));
        auto put = [&](int col, __m256i f16) {
            __m512 v = _mm512_cvtph_ps(f16);
            if (big) v = _mm512_mul_ps(v, _mm512_set1_ps(256.0f));
            _mm512_store_ps(out + col * 16, _mm512_mul_ps(v, s));
        };
        for (int i = 0; i < kGroup; ++i) {
            const int j = bitReverse4(i);
            const __m512i lo = _mm512_and_si512(_mm512_slli_epi16(_mm512_cvtepi8_epi16(_mm512_castsi512_si256(r[i])), 7), mask);
            const __m512i hi = _mm512_and_si512(_mm512_slli_epi16(_mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(r[i], 1)), 7), mask);
            put(j, _mm512_castsi512_si256(lo));
            put(16 + j, _mm512_extracti64x4_epi64(lo, 1));
            put(32 + j, _mm512_castsi512_si256(hi));
            put(48 + j, _mm512_extracti64x4_epi64(hi, 1));
        }
    }
};

// ggml's Q8_0 (GGUF): per 32 values an f16 scale, then 32 int8. A step takes two blocks (64
// columns) of 16 rows: their 32-byte runs side by side in one 64-byte vector per row, transposed as
// bytes, widened (int8 to f32, exact) and scaled by each row's block scale (decoded once per group),
// the product dequantizeRow forms.
struct Q8Columns {
    static constexpr int kStepCols = 64;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 32][16]
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 32 * 34; }
    void prepare(std::int64_t row0) {
        const std::int64_t blocks = w.cols / 32, rb = rowBytes();
        scales = scaleBuffer.get(std::size_t(blocks * 16));
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) {
                const std::uint8_t* blk = p + i * rb + b * 34;
                scales[b * 16 + i] = halfToFloat(std::uint16_t(blk[0] | (blk[1] << 8)));
            }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = rowBytes(), b0 = c / 32;
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb + b0 * 34 + 2;
        __m512i r[kGroup];
        for (int i = 0; i < kGroup; ++i) {
            const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i * rb));
            const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i * rb + 34));
            r[i] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        }
        transposeBytes(r);
        const __m512 s0 = _mm512_loadu_ps(scales + b0 * 16), s1 = _mm512_loadu_ps(scales + (b0 + 1) * 16);
        for (int i = 0; i < kGroup; ++i)
            for (int lane = 0; lane < 4; ++lane) {
                const int col = 16 * lane + bitReverse4(i);
                const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lane128(r[i], lane)));
                _mm512_store_ps(out + col * 16, _mm512_mul_ps(v, lane < 2 ? s0 : s1));
            }
    }
};

// ggml's MXFP4 (GGUF): per 32 values a UE8M0 byte, then 16 bytes whose low nibbles are values
// 0-15 and high nibbles 16-31. A step is four blocks of 16 rows: each row's four 16-byte code runs
// in one 64-byte vector (lane L = block L), transposed as bytes, then each code byte column looked
// up twice (vpermps on the e2m1 table) and scaled by the rows' block scales (decoded per group).
struct Mxfp4Columns {
    static constexpr int kStepCols = 128;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 32][16]
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 32 * 17; }
    void prepare(std::int64_t row0) {
        const float* e8 = e8m0Table();
        const std::int64_t blocks = w.cols / 32, rb = rowBytes();
        scales = scaleBuffer.get(std::size_t(blocks * 16));
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) scales[b * 16 + i] = e8[p[i * rb + b * 17]];
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = rowBytes(), b0 = c / 32;
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb + b0 * 17 + 1;
        const __m512 lut = _mm512_loadu_ps(kE2m1Values.data());
        __m512i r[kGroup];
        for (int i = 0; i < kGroup; ++i) {
            const std::uint8_t* q = p + i * rb;
            __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
            v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 17)), 1);
            v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 34)), 2);
            r[i] = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 51)), 3);
        }
        transposeBytes(r);
        for (int lane = 0; lane < 4; ++lane) {
            const __m512 sc = _mm512_loadu_ps(scales + (b0 + lane) * 16);
            for (int i = 0; i < kGroup; ++i) {
                const int j = bitReverse4(i); // code byte j of block `lane`: values j and 16 + j
                const __m512i idx = _mm512_cvtepu8_epi32(lane128(r[i], lane));
                float* o = out + (32 * lane + j) * 16;
                _mm512_store_ps(o, _mm512_mul_ps(_mm512_permutexvar_ps(idx, lut), sc));
                _mm512_store_ps(o + 16 * 16, _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(idx, 4), lut), sc));
            }
        }
    }
};

// ggml's Q4_K (GGUF): super-blocks of 256 with 8 sub-blocks of 32, each a 6-bit scale and min;
// value = (d sc) q - (dmin m) (kquants.h). A step is half a super-block (128 columns): each row's
// 64 code bytes (sub-blocks 4h .. 4h + 3: byte b holds sub-block 4h + 2(b / 32) in its low nibble
// and the next in its high one), transposed as bytes; the rows' d sc and dmin m of every
// sub-block are formed once per group, as the scalar decoder forms them.
struct Q4KColumns {
    static constexpr int kStepCols = 128;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 32][2][16]: d sc, dmin m
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 256 * 144; }
    void prepare(std::int64_t row0) {
        const std::int64_t blocks = w.cols / 256, rb = rowBytes();
        scales = scaleBuffer.get(std::size_t(blocks * 8 * 32));
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) {
                const std::uint8_t* blk = p + i * rb + b * 144;
                const float d = halfToFloat(std::uint16_t(blk[0] | (blk[1] << 8)));
                const float dmin = halfToFloat(std::uint16_t(blk[2] | (blk[3] << 8)));
                for (int s = 0; s < 8; ++s) {
                    int sc, m;
                    kScaleMin(s, blk + 4, &sc, &m);
                    scales[((b * 8 + s) * 2) * 16 + i] = d * float(sc);
                    scales[((b * 8 + s) * 2 + 1) * 16 + i] = dmin * float(m);
                }
            }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = rowBytes(), b = c / 256, half = (c % 256) / 128;
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb + b * 144 + 16 + half * 64;
        __m512i r[kGroup];
        for (int i = 0; i < kGroup; ++i) r[i] = _mm512_loadu_si512(p + i * rb);
        transposeBytes(r);
        const __m512i low4 = _mm512_set1_epi32(15);
        for (int lane = 0; lane < 4; ++lane) {
            // Byte columns 16 lane .. 16 lane + 15: part 0 (bytes 0-31) or 1 (32-63) of the step.
            const int part = lane / 2;
            const std::int64_t s = (b * 8 + 4 * half + 2 * part) * 2;
            const __m512 d1 = _mm512_loadu_ps(scales + s * 16), m1 = _mm512_loadu_ps(scales + (s + 1) * 16);
            const __m512 d2 = _mm512_loadu_ps(scales + (s + 2) * 16), m2 = _mm512_loadu_ps(scales + (s + 3) * 16);
            for (int i = 0; i < kGroup; ++i) {
                const int e = 16 * (lane % 2) + bitReverse4(i); // byte within its 32-byte part
                const __m512i q = _mm512_cvtepu8_epi32(lane128(r[i], lane));
                const __m512 lo = _mm512_cvtepi32_ps(_mm512_and_si512(q, low4));
                const __m512 hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(q, 4));
                _mm512_store_ps(out + (part * 64 + e) * 16, _mm512_sub_ps(_mm512_mul_ps(d1, lo), m1));
                _mm512_store_ps(out + (part * 64 + 32 + e) * 16, _mm512_sub_ps(_mm512_mul_ps(d2, hi), m2));
            }
        }
    }
};

// ggml's Q6_K (GGUF): super-blocks of 256 with 16 int8 scales; code = low 4 bits from ql, high 2
// from qh, minus 32; value = (d sc) q (kquants.h). A step is half a super-block h (128 columns):
// each row's 64 ql bytes (byte j: column j low nibble, column 64 + j high nibble) and 32 qh bytes
// (byte m: columns m, 32 + m, 64 + m, 96 + m, two bits each), both transposed as bytes.
struct Q6KColumns {
    static constexpr int kStepCols = 128;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 16][16]: d sc
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 256 * 210; }
    void prepare(std::int64_t row0) {
        const std::int64_t blocks = w.cols / 256, rb = rowBytes();
        scales = scaleBuffer.get(std::size_t(blocks * 16 * 16));
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb;
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int i = 0; i < kGroup; ++i) {
                const std::uint8_t* blk = p + i * rb + b * 210;
                const float d = halfToFloat(std::uint16_t(blk[208] | (blk[209] << 8)));
                const auto* sc = reinterpret_cast<const std::int8_t*>(blk + 192);
                for (int g = 0; g < 16; ++g) scales[(b * 16 + g) * 16 + i] = d * float(sc[g]);
            }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        const std::int64_t rb = rowBytes(), b = c / 256, h = (c % 256) / 128;
        const auto* blk = static_cast<const std::uint8_t*>(w.data) + row0 * rb + b * 210;
        __m512i ql[kGroup], qh[kGroup];
        for (int i = 0; i < kGroup; ++i) {
            ql[i] = _mm512_loadu_si512(blk + i * rb + h * 64);
            qh[i] = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + i * rb + 128 + h * 32)));
        }
        transposeBytes(ql);
        transposeBytes(qh);
        // Byte column j of a transposed set: register bitReverse4(j % 16), 128-bit lane j / 16.
        alignas(64) std::uint8_t lowCols[64][16], highCols[32][16];
        for (int i = 0; i < kGroup; ++i)
            for (int lane = 0; lane < 4; ++lane) {
                _mm_store_si128(reinterpret_cast<__m128i*>(lowCols[16 * lane + bitReverse4(i)]), lane128(ql[i], lane));
                if (lane < 2) _mm_store_si128(reinterpret_cast<__m128i*>(highCols[16 * lane + bitReverse4(i)]), lane128(qh[i], lane));
            }
        const __m512i low4 = _mm512_set1_epi32(15), low2 = _mm512_set1_epi32(3), bias = _mm512_set1_epi32(32);
        // Column k = m + 32 t (t = 0..3) takes qh column m's bits 2t and ql column m + 32 (t % 2)'s
        // nibble t / 2: three widenings give four columns.
        for (int m = 0; m < 32; ++m) {
            const __m512i high = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(highCols[m])));
            const __m512i lowA = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(lowCols[m])));
            const __m512i lowB = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(lowCols[m + 32])));
            for (int t = 0; t < 4; ++t) {
                const int k = m + 32 * t;
                const __m512i low = t % 2 ? lowB : lowA;
                const __m512i lo = _mm512_and_si512(t / 2 ? _mm512_srli_epi32(low, 4) : low, low4);
                const __m512i hi = _mm512_and_si512(_mm512_srli_epi32(high, 2 * t), low2);
                const __m512i q = _mm512_sub_epi32(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4)), bias);
                const __m512 dl = _mm512_loadu_ps(scales + (b * 16 + (h * 128 + k) / 16) * 16);
                _mm512_store_ps(out + k * 16, _mm512_mul_ps(dl, _mm512_cvtepi32_ps(q)));
            }
        }
    }
};

// fp4: byte column j of a step holds columns 2j (low nibble) and 2j + 1 (high nibble) of 16 rows;
// vpermb spreads its bytes over 16 dwords and vpermps looks the nibbles up (it reads the low four
// bits of each index). The per-row scales of each 32-column block are decoded once per group.
struct Fp4Columns {
    static constexpr int kStepCols = 128;
    const WeightMatrix& w;
    Scratch& scaleBuffer; // [cols / 32][16]
    float* scales = nullptr;
    std::int64_t rowBytes() const { return w.cols / 2; }
    void prepare(std::int64_t row0) {
        const float* e8 = e8m0Table();
        const std::int64_t blocks = w.cols / 32;
        scales = scaleBuffer.get(std::size_t(blocks * 16));
        const std::uint8_t* sp = w.scales + row0 * blocks;
        const __m512i zero = _mm512_setzero_si512(), all = _mm512_set1_epi32(255);
        const __m512i atZero = _mm512_castps_si512(_mm512_set1_ps(e8[0])), atAll = _mm512_castps_si512(_mm512_set1_ps(e8[255]));
        for (std::int64_t b0 = 0; b0 < blocks; b0 += 64) {
            const __mmask64 m = blocks - b0 >= 64 ? ~__mmask64(0) : (__mmask64(1) << (blocks - b0)) - 1;
            __m512i r[kGroup];
            for (int i = 0; i < kGroup; ++i) r[i] = _mm512_maskz_loadu_epi8(m, sp + i * blocks + b0);
            transposeBytes(r);
            for (int i = 0; i < kGroup; ++i)
                for (int lane = 0; lane < 4; ++lane) {
                    const std::int64_t b = b0 + 16 * lane + bitReverse4(i);
                    if (b >= blocks) continue;
                    const __m512i e = _mm512_cvtepu8_epi32(lane128(r[i], lane));
                    __m512i f = _mm512_slli_epi32(e, 23); // 2^(e - 127) for e in [1, 254]
                    f = _mm512_mask_mov_epi32(f, _mm512_cmpeq_epi32_mask(e, zero), atZero);
                    f = _mm512_mask_mov_epi32(f, _mm512_cmpeq_epi32_mask(e, all), atAll);
                    _mm512_storeu_si512(scales + b * 16, f);
                }
        }
    }
    void step(std::int64_t row0, std::int64_t c, float* out) const {
        // Byte 4k of lane L's selector picks row k of byte column 16 L + j.
        struct Spread {
            alignas(64) std::uint8_t v[4][64];
            Spread() {
                for (int lane = 0; lane < 4; ++lane)
                    for (int q = 0; q < 64; ++q) v[lane][q] = std::uint8_t(16 * lane + q / 4);
            }
        };
        static const Spread spread;
        const __m512 lut = _mm512_loadu_ps(kE2m1Values.data());
        const std::int64_t rb = w.cols / 2;
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row0 * rb + c / 2;
        __m512i r[kGroup];
        for (int i = 0; i < kGroup; ++i) r[i] = _mm512_loadu_si512(p + i * rb);
        transposeBytes(r);
        for (int lane = 0; lane < 4; ++lane) {
            const __m512 s = _mm512_loadu_ps(scales + (c / 32 + lane) * 16);
            const __m512i sel = _mm512_load_si512(spread.v[lane]);
            for (int j = 0; j < 16; ++j) {
                const __m512i idx = _mm512_permutexvar_epi8(sel, r[bitReverse4(j)]);
                float* o = out + (32 * lane + 2 * j) * 16;
                _mm512_store_ps(o, _mm512_mul_ps(_mm512_permutexvar_ps(idx, lut), s));
                _mm512_store_ps(o + 16, _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(idx, 4), lut), s));
            }
        }
    }
};

// acc[q] += x[q * kKTile + j] * column j of chain q, for j in [0, n): the chains interleaved.
template <int Q> inline void fmaColumns(const float* x, std::int64_t n, const float* buf, std::int64_t bufStride, vecf (&acc)[kChains]) {
    for (std::int64_t j = 0; j < n; ++j)
        for (int q = 0; q < Q; ++q) acc[q] = vfma(vecf{} + x[q * kKTile + j], vload(buf + q * bufStride + j * 16), acc[q]);
}

// Groups [0, groups) of 16 rows from row0; cols is a multiple of kKTile.
template <class Decoder> void gemvGroups(const float* x, Decoder& d, std::int64_t row0, std::int64_t groups, float* y) {
    constexpr int S = Decoder::kStepCols;
    alignas(64) float buf[kChains][S * 16];
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
                case 1: fmaColumns<1>(xs, S, buf[0], S * 16, acc); break;
                case 2: fmaColumns<2>(xs, S, buf[0], S * 16, acc); break;
                case 3: fmaColumns<3>(xs, S, buf[0], S * 16, acc); break;
                default: fmaColumns<4>(xs, S, buf[0], S * 16, acc); break;
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
    // The grouped decoders take the checkpoint formats; F32 and the GGUF blocks the general path.
    const bool grouped = (w.format == WeightFormat::BF16 || w.format == WeightFormat::FP8Block128 ||
                          w.format == WeightFormat::FP4Row32 || w.format == WeightFormat::Q8_0 ||
                          w.format == WeightFormat::MXFP4 || w.format == WeightFormat::Q4_K ||
                          w.format == WeightFormat::Q6_K) &&
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
        } else if (w.format == WeightFormat::MXFP4) {
            Mxfp4Columns d{w, scales};
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

} // namespace folio::kernels::avx512
