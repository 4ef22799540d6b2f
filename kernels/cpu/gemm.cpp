#include "folio/kernels/gemm.h"

#include "folio/kernels/formats.h"
#include "folio/kernels/thread_pool.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace folio::kernels {

namespace {

struct Tables {
    std::array<float, 256> e4m3{};
    std::array<float, 256> e8m0{};
    Tables() {
        for (int i = 0; i < 256; ++i) {
            e4m3[std::size_t(i)] = e4m3ToF32(std::uint8_t(i));
            e8m0[std::size_t(i)] = e8m0ToF32(std::uint8_t(i));
        }
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
typedef float vec __attribute__((vector_size(kLanes * 4), aligned(4)));

inline vec loadv(const float* p) {
    vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline float hsum(vec v) {
    float s = 0.0f;
    for (int i = 0; i < kLanes; ++i) s += v[i];
    return s;
}

constexpr std::int64_t kRowTile = 64; // output rows per task
constexpr std::int64_t kKTile = 512;  // inputs per dequantized slice

// acc[t][r] += x[t][0:len] . w[r][0:len] for up to 4 tokens and 4 rows.
template <int NT, int NR>
inline void micro(const float* const* xs, const float* const* ws, std::int64_t len, float acc[4][4]) {
    vec s[NT][NR] = {};
    std::int64_t k = 0;
    for (; k + kLanes <= len; k += kLanes) {
        vec wv[NR];
        for (int r = 0; r < NR; ++r) wv[r] = loadv(ws[r] + k);
        for (int t = 0; t < NT; ++t) {
            const vec xv = loadv(xs[t] + k);
            for (int r = 0; r < NR; ++r) s[t][r] += xv * wv[r];
        }
    }
    for (int t = 0; t < NT; ++t)
        for (int r = 0; r < NR; ++r) {
            float tail = 0.0f;
            for (std::int64_t kk = k; kk < len; ++kk) tail += xs[t][kk] * ws[r][kk];
            acc[t][r] += hsum(s[t][r]) + tail;
        }
}

template <int NT>
inline void microRows(const float* const* xs, const float* const* ws, int nr, std::int64_t len,
                      float acc[4][4]) {
    switch (nr) {
    case 4: micro<NT, 4>(xs, ws, len, acc); break;
    case 3: micro<NT, 3>(xs, ws, len, acc); break;
    case 2: micro<NT, 2>(xs, ws, len, acc); break;
    default: micro<NT, 1>(xs, ws, len, acc); break;
    }
}

} // namespace

void dequantizeRow(const WeightMatrix& w, std::int64_t row, std::int64_t c0, std::int64_t len, float* out) {
    const Tables& tb = tables();
    switch (w.format) {
    case WeightFormat::F32:
        std::memcpy(out, static_cast<const float*>(w.data) + row * w.cols + c0, std::size_t(len) * 4);
        return;
    case WeightFormat::BF16: {
        const auto* p = static_cast<const std::uint16_t*>(w.data) + row * w.cols + c0;
        for (std::int64_t i = 0; i < len; ++i) out[i] = bf16ToF32(p[i]);
        return;
    }
    case WeightFormat::FP8Block128: {
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row * w.cols;
        const std::int64_t scaleCols = (w.cols + 127) / 128;
        const std::uint8_t* srow = w.scales + (row / 128) * scaleCols;
        for (std::int64_t i = 0; i < len; ++i) {
            const std::int64_t c = c0 + i;
            out[i] = tb.e4m3[p[c]] * tb.e8m0[srow[c / 128]];
        }
        return;
    }
    case WeightFormat::FP4Row32: {
        const auto* p = static_cast<const std::uint8_t*>(w.data) + row * (w.cols / 2);
        const std::uint8_t* srow = w.scales + row * (w.cols / 32);
        for (std::int64_t i = 0; i < len; ++i) {
            const std::int64_t c = c0 + i;
            const std::uint8_t byte = p[c / 2];
            const std::uint8_t nib = (c & 1) ? std::uint8_t(byte >> 4) : std::uint8_t(byte & 0xf);
            out[i] = kE2m1Values[nib] * tb.e8m0[srow[c / 32]];
        }
        return;
    }
    }
}

void gemm(const float* x, std::int64_t n, std::int64_t ldx, const WeightMatrix& w, std::int64_t rowBegin,
          std::int64_t rowCount, float* y, std::int64_t ldy, ThreadPool* pool) {
    if (n <= 0 || rowCount <= 0) return;
    const std::int64_t cols = w.cols;
    const std::int64_t tiles = (rowCount + kRowTile - 1) / kRowTile;
    auto task = [&](std::int64_t tile, int) {
        thread_local std::vector<float> buf;
        const std::int64_t r0 = tile * kRowTile;
        const std::int64_t nr = std::min(kRowTile, rowCount - r0);
        const std::int64_t kt = std::min(kKTile, cols);
        if (buf.size() < std::size_t(kRowTile * kt)) buf.resize(std::size_t(kRowTile * kt));
        for (std::int64_t t = 0; t < n; ++t) std::fill(y + t * ldy + r0, y + t * ldy + r0 + nr, 0.0f);
        for (std::int64_t k0 = 0; k0 < cols; k0 += kt) {
            const std::int64_t len = std::min(kt, cols - k0);
            for (std::int64_t r = 0; r < nr; ++r) dequantizeRow(w, rowBegin + r0 + r, k0, len, &buf[std::size_t(r * kt)]);
            for (std::int64_t t0 = 0; t0 < n; t0 += 4) {
                const int nt = int(std::min<std::int64_t>(4, n - t0));
                const float* xs[4];
                for (int t = 0; t < 4; ++t) xs[t] = x + (t0 + std::min(t, nt - 1)) * ldx + k0;
                for (std::int64_t rr = 0; rr < nr; rr += 4) {
                    const int nrr = int(std::min<std::int64_t>(4, nr - rr));
                    const float* ws[4];
                    for (int r = 0; r < 4; ++r) ws[r] = &buf[std::size_t((rr + std::min(r, nrr - 1)) * kt)];
                    float acc[4][4] = {};
                    switch (nt) {
                    case 4: microRows<4>(xs, ws, nrr, len, acc); break;
                    case 3: microRows<3>(xs, ws, nrr, len, acc); break;
                    case 2: microRows<2>(xs, ws, nrr, len, acc); break;
                    default: microRows<1>(xs, ws, nrr, len, acc); break;
                    }
                    for (int t = 0; t < nt; ++t)
                        for (int r = 0; r < nrr; ++r) y[(t0 + t) * ldy + r0 + rr + r] += acc[t][r];
                }
            }
        }
    };
    if (pool && tiles > 1) pool->parallelFor(tiles, task);
    else
        for (std::int64_t i = 0; i < tiles; ++i) task(i, 0);
}

void quantizeActivations(float* x, std::int64_t n, std::int64_t cols, ThreadPool* pool) {
    auto row = [&](std::int64_t t, int) { roundTripE4m3(x + t * cols, int(cols), 128); };
    if (pool && n > 1) pool->parallelFor(n, row);
    else
        for (std::int64_t t = 0; t < n; ++t) row(t, 0);
}

} // namespace folio::kernels
