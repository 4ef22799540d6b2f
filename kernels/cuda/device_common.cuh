// Device-side helpers shared by the ops: number formats (the device twins of formats.h, written to
// give the same bits), warp and block reductions, and the stream cast.
#pragma once

#include "cuda_check.cuh"
#include "folio/kernels/cuda_memory.h"

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace folio::kernels::cuda::detail {

inline cudaStream_t toStream(void* s) { return static_cast<cudaStream_t>(s); }

inline unsigned blocksFor(std::int64_t n, int threads) { return unsigned((n + threads - 1) / threads); }

__device__ __forceinline__ float bf16Bits(std::uint16_t v) { return __uint_as_float(std::uint32_t(v) << 16); }

// Round to nearest even (the hardware conversion); NaN stays NaN.
__device__ __forceinline__ std::uint16_t toBf16Bits(float f) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}

__device__ __forceinline__ float e8m0Value(std::uint8_t b) {
    return b == 0xff ? __uint_as_float(0x7fc00000u) : ldexpf(1.0f, int(b) - 127);
}

// fp8 e4m3fn code -> float (0x7F/0xFF NaN).
__device__ __forceinline__ float e4m3Value(std::uint8_t b) {
    const int exp = (b >> 3) & 0xf, man = b & 7;
    if (exp == 0xf && man == 7) return __uint_as_float(0x7fc00000u);
    const float v = exp == 0 ? ldexpf(float(man), -9) : ldexpf(1.0f + float(man) * 0.125f, exp - 7);
    return (b & 0x80) ? -v : v;
}

__device__ __forceinline__ float e2m1Value(std::uint32_t nibble) {
    // 0, .5, 1, 1.5, 2, 3, 4, 6 and their negatives.
    const std::uint32_t m = nibble & 7u;
    const float mag = m < 4 ? 0.5f * float(m) : float(1u << ((m >> 1) - 1u)) * (1.0f + 0.5f * float(m & 1u));
    return (nibble & 8u) ? -mag : mag;
}

// Nearest e4m3 value, ties to even, saturating at +-448 (formats.h roundToE4m3, bit for bit).
__device__ __forceinline__ float roundToE4m3(float f) {
    if (isnan(f)) return f;
    const float a = fabsf(f);
    float r;
    if (a >= 448.0f) {
        r = 448.0f;
    } else if (a < 0.015625f) {
        r = __fsub_rn(__fadd_rn(a, 16384.0f), 16384.0f);
    } else {
        std::uint32_t b = __float_as_uint(a);
        b += 0x7ffffu + ((b >> 20) & 1u);
        r = __uint_as_float(b & 0xfff00000u);
    }
    return copysignf(r, f);
}

// Nearest e2m1 value (ties to the even mantissa, saturating at +-6), as formats.h f32ToE2m1.
__device__ __forceinline__ float roundToE2m1(float f) {
    const float a = fabsf(f);
    float r;
    if (a <= 0.25f) r = 0.0f;
    else if (a < 0.75f) r = 0.5f;
    else if (a <= 1.25f) r = 1.0f;
    else if (a < 1.75f) r = 1.5f;
    else if (a <= 2.5f) r = 2.0f;
    else if (a < 3.5f) r = 3.0f;
    else if (a <= 5.0f) r = 4.0f;
    else r = 6.0f;
    return signbit(f) ? -r : r;
}

// 2^ceil(log2(max(amax, 1e-4) / fmtMax)), formed as formats.h ue8m0Scale does.
__device__ __forceinline__ float ue8m0Scale(float amax, float fmtMax) {
    const float s = __fdiv_rn(fmaxf(amax, 1e-4f), fmtMax);
    return ldexpf(1.0f, int(ceilf(log2f(s))));
}

__device__ __forceinline__ float warpSum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warpSum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warpMax(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// (va, ia) beats (vb, ib): the larger value, ties to the lower index (top-k and argmax order).
__device__ __forceinline__ bool better(float va, int ia, float vb, int ib) {
    return va > vb || (va == vb && ia < ib);
}

// Every lane of the warp ends with the warp's best (value, index) pair by better().
__device__ __forceinline__ void warpArgBest(float& bv, int& bi) {
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (better(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 values. Contains __syncthreads: call from every thread.
template <typename T> __device__ T blockSum(T v, T* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warpSum(v);
    __syncthreads(); // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T r = lane < warps ? scratch[lane] : T(0);
    return warpSum(r);
}

__device__ __forceinline__ float sigmoidf(float x) { return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x))); }

// One K tile of a 4 x 4 register-blocked product from shared memory: acc[i][j] += xs[k][ty*4+i] *
// ws[k][tx*4+j] for k in [0, KT), one FMA chain per output in k order. Shared by the tiled GEMMs.
template <int KT, int XW, int WW>
__device__ __forceinline__ void tileFma4x4(const float (&xs)[KT][XW], const float (&ws)[KT][WW], int ty, int tx,
                                           float (&acc)[4][4]) {
#pragma unroll
    for (int k = 0; k < KT; ++k) {
        float a[4], b[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) a[i] = xs[k][ty * 4 + i];
#pragma unroll
        for (int j = 0; j < 4; ++j) b[j] = ws[k][tx * 4 + j];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
}

} // namespace folio::kernels::cuda::detail
