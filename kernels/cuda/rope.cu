// Interleaved RoPE with per-layer (YaRN) frequencies and its inverse (model::Rope::apply): angles
// pos * freq in double, cos/sin rounded to float, the rotation in float without fused multiply-adds
// (as the CPU's ISO C++ build does), so results match the CPU to the last bit but for cos/sin ulps.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

__global__ void ropeKernel(RopeParams p, std::int64_t pairs) {
    const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= pairs) return;
    const int half = p.dim / 2;
    const std::int64_t row = idx / half;
    const int i = int(idx % half);
    const std::int64_t pos = p.posBase + (row / p.rowsPerPos) * p.posStep;
    double sd, cd;
    sincos(double(pos) * p.freq[i], &sd, &cd);
    const float c = float(cd);
    const float s = p.inverse ? -float(sd) : float(sd);
    float* x = p.x + row * p.ld + p.offset + 2 * i;
    const float x0 = x[0], x1 = x[1];
    x[0] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
    x[1] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
}

} // namespace

CudaStatus rope(const RopeParams& p, void* stream) {
    if (p.rows <= 0) return {};
    if (!p.x || !p.freq || p.dim <= 0 || p.dim % 2 != 0 || p.offset < 0 || p.ld < p.offset + p.dim ||
        p.rowsPerPos <= 0)
        return CudaStatus("rope: bad arguments (need x, freq, an even dim within ld, rowsPerPos > 0)");
    const std::int64_t pairs = p.rows * (p.dim / 2);
    const int threads = 256;
    ropeKernel<<<detail::blocksFor(pairs, threads), threads, 0, detail::toStream(stream)>>>(p, pairs);
    FOLIO_CUDA_LAUNCHED(ropeKernel);
    return {};
}

} // namespace folio::kernels::cuda
