// The quantize-dequantize round trips of the reference numerics (formats.h): e4m3 with UE8M0 block
// scales (activations before fp8/fp4 GEMMs in blocks of 128, the KV and compressed entries' dims
// [0:448] in blocks of 64) and e2m1 (the indexer, blocks of 32). One warp per block of values.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

enum class Fmt { E4m3, E2m1 };

// Rounds block `blk` of row `row` in place (one warp); returns nothing. len <= 1024.
template <Fmt F> __device__ void roundBlock(float* v, int len) {
    const int lane = threadIdx.x & 31;
    float amax = 0.0f;
    for (int i = lane; i < len; i += 32) amax = fmaxf(amax, fabsf(v[i]));
    amax = detail::warpMax(amax);
    const float s = detail::ue8m0Scale(amax, F == Fmt::E4m3 ? 448.0f : 6.0f);
    const float inv = __fdiv_rn(1.0f, s); // exact: s is a power of two
    for (int i = lane; i < len; i += 32) {
        const float q = __fmul_rn(v[i], inv);
        v[i] = __fmul_rn(F == Fmt::E4m3 ? detail::roundToE4m3(q) : detail::roundToE2m1(q), s);
    }
}

template <Fmt F>
__global__ void roundTripKernel(float* x, std::int64_t rows, int cols, std::int64_t ld, int block, std::int64_t total) {
    const std::int64_t w = std::int64_t(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (w >= total) return;
    const int perRow = (cols + block - 1) / block;
    const std::int64_t row = w / perRow;
    const int b0 = int(w % perRow) * block;
    const int len = min(block, cols - b0);
    (void)rows;
    roundBlock<F>(x + row * ld + b0, len);
}

// Activations to bf16, optionally through the e4m3 round trip in blocks of 128 first.
__global__ void toBf16Kernel(const float* __restrict__ x, std::int64_t cols, std::int64_t ldx, bool quantize,
                             std::uint16_t* __restrict__ out, std::int64_t ldo, std::int64_t total) {
    const std::int64_t w = std::int64_t(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (w >= total) return;
    const int lane = threadIdx.x & 31;
    const std::int64_t perRow = (cols + 127) / 128;
    const std::int64_t row = w / perRow, b0 = (w % perRow) * 128;
    const int len = int(min(std::int64_t(128), cols - b0));
    const float* src = x + row * ldx + b0;
    std::uint16_t* dst = out + row * ldo + b0;
    float v[4];
    float amax = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const int i = lane + 32 * k;
        v[k] = i < len ? src[i] : 0.0f;
        amax = fmaxf(amax, fabsf(v[k]));
    }
    if (quantize) {
        amax = detail::warpMax(amax);
        const float s = detail::ue8m0Scale(amax, 448.0f);
        const float inv = __fdiv_rn(1.0f, s);
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = __fmul_rn(detail::roundToE4m3(__fmul_rn(v[k], inv)), s);
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const int i = lane + 32 * k;
        if (i < len) dst[i] = detail::toBf16Bits(v[k]);
    }
}

template <Fmt F>
CudaStatus launchRoundTrip(float* x, std::int64_t rows, int cols, std::int64_t ld, int block, void* stream) {
    if (rows <= 0 || cols <= 0) return {};
    if (!x || block <= 0 || block > 1024 || ld < cols)
        return CudaStatus("roundTrip: bad arguments (need x, 0 < block <= 1024, ld >= cols)");
    const std::int64_t total = rows * ((cols + block - 1) / block);
    roundTripKernel<F><<<detail::blocksFor(total, kWarpsPerBlock), kWarpsPerBlock * 32, 0, detail::toStream(stream)>>>(
        x, rows, cols, ld, block, total);
    FOLIO_CUDA_LAUNCHED(roundTripKernel);
    return {};
}

} // namespace

CudaStatus roundTripE4m3(float* x, std::int64_t rows, int cols, std::int64_t ld, int block, void* stream) {
    return launchRoundTrip<Fmt::E4m3>(x, rows, cols, ld, block, stream);
}

CudaStatus roundTripE2m1(float* x, std::int64_t rows, int cols, std::int64_t ld, int block, void* stream) {
    return launchRoundTrip<Fmt::E2m1>(x, rows, cols, ld, block, stream);
}

CudaStatus activationsToBf16(const float* x, std::int64_t rows, std::int64_t cols, std::int64_t ldx, bool quantize,
                             std::uint16_t* out, std::int64_t ldo, void* stream) {
    if (rows <= 0 || cols <= 0) return {};
    if (!x || !out || ldx < cols || ldo < cols)
        return CudaStatus("activationsToBf16: bad arguments (need pointers, ld >= cols)");
    const std::int64_t total = rows * ((cols + 127) / 128);
    toBf16Kernel<<<detail::blocksFor(total, kWarpsPerBlock), kWarpsPerBlock * 32, 0, detail::toStream(stream)>>>(
        x, cols, ldx, quantize, out, ldo, total);
    FOLIO_CUDA_LAUNCHED(toBf16Kernel);
    return {};
}

} // namespace folio::kernels::cuda
