// What every translation unit of one CPU variant shares: the vector type of its width, the K tile
// that fixes the summation order, scratch buffers and the pool trampoline. Included by the variant's
// files after they define FOLIO_VARIANT_NS (the variant's namespace) and FOLIO_KERNEL_LANES (f32
// lanes per vector: 4 for SSE2, 8 for AVX2, 16 for AVX-512). Everything here has internal linkage,
// so the same source compiled with different flags never merges across variants.
#pragma once

#include "../kernel_table.h"
#include "folio/kernels/formats.h"
#include "folio/kernels/thread_pool.h"

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if !defined(FOLIO_VARIANT_NS) || !defined(FOLIO_KERNEL_LANES)
#error "define FOLIO_VARIANT_NS and FOLIO_KERNEL_LANES before including generic/vector.h"
#endif

namespace folio::kernels::FOLIO_VARIANT_NS {

// Defined by the variant's body and its one-token file (external, but in the variant's namespace).
void dequantizeRowImpl(const WeightMatrix& w, std::int64_t row, std::int64_t c0, std::int64_t len, float* out);
// The decode path: y = x . W^T for one token, bit-identical to the batch GEMM's result. False when
// the variant has none for this matrix (the batch path then runs with n = 1).
bool gemvOneToken(const float* x, const WeightMatrix& w, std::int64_t rowBegin, std::int64_t rowCount, float* y,
                  ThreadPool* pool, bool threaded);

namespace {

constexpr int kLanes = FOLIO_KERNEL_LANES;
typedef float vecf __attribute__((vector_size(kLanes * 4)));
typedef std::int32_t veci __attribute__((vector_size(kLanes * 4)));

inline vecf vload(const float* p) {
    vecf v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void vstore(float* p, vecf v) { std::memcpy(p, &v, sizeof v); }

template <class T> inline T imin(T a, T b) { return a < b ? a : b; }
template <class T> inline T imax(T a, T b) { return a < b ? b : a; }

// Inputs per K tile. Every output is one FMA chain per tile, from zero, and the tiles' sums are
// added to the output in order, for any number of tokens: that is what makes a decode step and a
// prefill chunk agree bit for bit.
constexpr std::int64_t kKTile = 256;

// e8m0ToF32 of every byte, from the bit patterns (2^-127 is the subnormal 0x00400000; 0xff is NaN).
struct E8m0Table {
    float v[256];
    E8m0Table() {
        for (int i = 0; i < 256; ++i) {
            const std::uint32_t bits = i == 0 ? 0x00400000u : i == 255 ? 0x7fc00000u : std::uint32_t(i) << 23;
            v[i] = std::bit_cast<float>(bits);
        }
    }
};

inline const float* e8m0Table() {
    static const E8m0Table t;
    return t.v;
}

// e4m3 and e2m1 decoded arithmetically so that the loops vectorize: the code's exponent and
// mantissa bits are placed under a biased float exponent, which is exact for normal codes; a
// subnormal code (exponent 0) then reads (1 + m/2^k) 2^-b instead of (m/2^k) 2^(1-b), which one
// fused step corrects: v = 2v - 2^(1-b). No float denormals appear on the way.
inline float decodeE4m3(std::uint32_t b) {
    float v = std::bit_cast<float>(((b & 0x7fu) << 20) + (120u << 23));
    if ((b & 0x78u) == 0) v = 2.0f * v - 0.015625f; // 2^-6
    return (b & 0x80u) ? -v : v;
}

// n e4m3 codes times a power-of-two scale, one value at a time (the variants' spans fall back to it).
inline void decodeE4m3Scaled(const std::uint8_t* q, std::int64_t n, float scale, float* out) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = decodeE4m3(q[i]) * scale;
}

inline float decodeE2m1(std::uint32_t n) {
    float v = std::bit_cast<float>(((n & 7u) << 22) + (126u << 23));
    if ((n & 6u) == 0) v = 2.0f * v - 1.0f;
    return (n & 8u) ? -v : v;
}


// ggml's K-quants (generic/kquants.h, and the one-token decoders): scale and min of sub-block j (0..7) of a Q4_K/Q5_K block's 12 scale bytes.
inline void kScaleMin(int j, const std::uint8_t* q, int* sc, int* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// A growable 64-byte aligned float buffer (no std::vector here: its members would be instantiated
// with this variant's flags and could be the copy the rest of the program calls).
struct Scratch {
    float* p = nullptr;
    std::size_t n = 0;
    Scratch() = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() { std::free(p); }
    float* get(std::size_t want) {
        if (want > n) {
            std::free(p);
            n = (want + 15) / 16 * 16;
            p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
            if (!p) std::abort();
        }
        return p;
    }
};

// f(task, worker) for task in [0, n), on the pool when `threaded`.
template <class F> inline void forTasks(ThreadPool* pool, bool threaded, std::int64_t n, F& f) {
    if (threaded && pool && n > 1) {
        pool->parallelFor(n, [](void* ctx, std::int64_t i, int worker) { (*static_cast<F*>(ctx))(i, worker); }, &f);
    } else {
        for (std::int64_t i = 0; i < n; ++i) f(i, 0);
    }
}

} // namespace
} // namespace folio::kernels::FOLIO_VARIANT_NS
