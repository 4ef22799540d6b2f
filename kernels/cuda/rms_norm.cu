// RMSNorm per row (model::rmsNorm): the sum of squares in double, then y = (x * r) * w in float
// with the same rounding steps as the CPU.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

// One block per row; threads stride over the row (coalesced), a block reduction in double.
__global__ void rmsNormKernel(const float* x, std::int64_t ldx, const float* __restrict__ w, int cols,
                              float eps, float* y, std::int64_t ldy) {
    __shared__ double scratch[32];
    const float* xr = x + std::int64_t(blockIdx.x) * ldx;
    float* yr = y + std::int64_t(blockIdx.x) * ldy;
    double ss = 0.0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) ss += double(xr[i]) * double(xr[i]);
    ss = detail::blockSum(ss, scratch);
    const float r = float(1.0 / sqrt(ss / cols + double(eps)));
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        const float v = __fmul_rn(xr[i], r);
        yr[i] = w ? __fmul_rn(v, w[i]) : v;
    }
}

} // namespace

CudaStatus rmsNorm(const float* x, std::int64_t ldx, const float* weight, std::int64_t rows, int cols, float eps,
                   float* y, std::int64_t ldy, void* stream) {
    if (rows <= 0) return {};
    if (!x || !y || cols <= 0 || ldx < cols || ldy < cols || rows > 0x7fffffff)
        return CudaStatus("rmsNorm: bad arguments (need pointers, cols > 0, ld >= cols)");
    const int threads = cols >= 1024 ? 256 : 128;
    rmsNormKernel<<<unsigned(rows), threads, 0, detail::toStream(stream)>>>(x, ldx, weight, cols, eps, y, ldy);
    FOLIO_CUDA_LAUNCHED(rmsNormKernel);
    return {};
}

} // namespace folio::kernels::cuda
