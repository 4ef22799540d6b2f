// Embedding gather: every residual copy starts as the token's bf16 embedding row (Forward::embed).
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

// grid (dim / 256, n): one thread per (token, dim index), coalesced along dim.
__global__ void embedKernel(const std::uint16_t* __restrict__ embed, const std::int32_t* __restrict__ tokens,
                            std::int64_t dim, int copies, float* __restrict__ h) {
    const std::int64_t t = blockIdx.y;
    const std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= dim) return;
    const float v = detail::bf16Bits(embed[std::int64_t(tokens[t]) * dim + i]);
    float* dst = h + t * copies * dim + i;
    for (int c = 0; c < copies; ++c) dst[c * dim] = v;
}

} // namespace

CudaStatus embedTokens(const std::uint16_t* embed, const std::int32_t* tokens, std::int64_t n, std::int64_t dim,
                       int copies, float* h, void* stream) {
    if (n <= 0) return {};
    if (!embed || !tokens || !h || dim <= 0 || copies <= 0 || n > 65535)
        return CudaStatus("embedTokens: bad arguments (need pointers, dim > 0, copies > 0, n <= 65535)");
    const int threads = 256;
    embedKernel<<<dim3(detail::blocksFor(dim, threads), unsigned(n)), threads, 0, detail::toStream(stream)>>>(
        embed, tokens, dim, copies, h);
    FOLIO_CUDA_LAUNCHED(embedKernel);
    return {};
}

} // namespace folio::kernels::cuda
