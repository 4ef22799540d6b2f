// Expert GEMMs grouped by expert (LayerRunner::moe's runExpert for all experts in one launch): the
// rows of each expert are contiguous (moeGroup); a block owns one expert and 64 outputs and walks
// that expert's row tiles. Weights are dequantized tile by tile into shared memory (fp4 e2m1 with a
// UE8M0 scale per 32 inputs, or fp8 e4m3 with 128x128 scales, or bf16/f32) and multiplied in fp32,
// as kernels::gemm does on the CPU; the expert row counts stay on the device (no host sync).
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

constexpr int kBM = 64, kBN = 64, kBK = 32, kThreads = 256;

__device__ __forceinline__ float weightValue(WeightFormat f, const void* data, const std::uint8_t* scales,
                                             std::int64_t row, std::int64_t col, std::int64_t cols) {
    switch (f) {
    case WeightFormat::F32: return static_cast<const float*>(data)[row * cols + col];
    case WeightFormat::BF16: return detail::bf16Bits(static_cast<const std::uint16_t*>(data)[row * cols + col]);
    case WeightFormat::FP8Block128: {
        const std::uint8_t q = static_cast<const std::uint8_t*>(data)[row * cols + col];
        return detail::e4m3Value(q) * detail::e8m0Value(scales[(row / 128) * ((cols + 127) / 128) + col / 128]);
    }
    case WeightFormat::FP4Row32: {
        const std::uint8_t b = static_cast<const std::uint8_t*>(data)[row * (cols / 2) + col / 2];
        const std::uint32_t nib = (col & 1) ? std::uint32_t(b >> 4) : std::uint32_t(b & 15u);
        return detail::e2m1Value(nib) * detail::e8m0Value(scales[row * (cols / 32) + col / 32]);
    }
    default: break; // the GGUF blocks: refused before upload
    }
    return 0.0f;
}

// grid (ceil(outRows / 64), row-tile slots, experts).
__global__ void __launch_bounds__(kThreads) expertGemmKernel(ExpertGemmParams p) {
    __shared__ float xs[kBK][kBM + 4];
    __shared__ float ws[kBK][kBN + 4];
    const int e = blockIdx.z;
    const std::int64_t r0 = p.offsets[e], rows = p.offsets[e + 1] - r0;
    const std::int64_t n0 = std::int64_t(blockIdx.x) * kBN;
    const void* wdata = p.weightData[e];
    const std::uint8_t* wscales = p.weightScales ? p.weightScales[e] : nullptr;
    const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
    const int lr = tid / 4, lk = (tid % 4) * 8; // loaders: row lr, k lk .. lk+7
    for (std::int64_t m0 = std::int64_t(blockIdx.y) * kBM; m0 < rows; m0 += std::int64_t(gridDim.y) * kBM) {
        float acc[4][4] = {};
        const std::int64_t xm = m0 + lr;
        const float* xrow = nullptr;
        if (xm < rows) {
            const std::int64_t g = r0 + xm;
            xrow = p.x + (p.rowSource ? std::int64_t(p.rowSource[g]) : g) * p.ldx;
        }
        const std::int64_t wn = n0 + lr;
        for (std::int64_t k0 = 0; k0 < p.inCols; k0 += kBK) {
#pragma unroll
            for (int q = 0; q < 8; ++q) {
                const std::int64_t k = k0 + lk + q;
                xs[lk + q][lr] = xrow ? xrow[k] : 0.0f;
                ws[lk + q][lr] = wn < p.outRows ? weightValue(p.format, wdata, wscales, wn, k, p.inCols) : 0.0f;
            }
            __syncthreads();
            detail::tileFma4x4(xs, ws, ty, tx, acc);
            __syncthreads();
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const std::int64_t m = m0 + ty * 4 + i;
            if (m >= rows) continue;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const std::int64_t nn = n0 + tx * 4 + j;
                if (nn < p.outRows) p.y[(r0 + m) * p.ldy + nn] = acc[i][j];
            }
        }
    }
}

} // namespace

CudaStatus expertGemm(const ExpertGemmParams& p, void* stream) {
    if (p.experts <= 0 || p.maxRows <= 0) return {};
    if (!p.x || !p.offsets || !p.weightData || !p.y || p.outRows <= 0 || p.inCols <= 0 || p.inCols % kBK != 0 ||
        p.ldx < p.inCols || p.ldy < p.outRows || p.experts > 65535 ||
        (p.format != WeightFormat::F32 && p.format != WeightFormat::BF16 && !p.weightScales))
        return CudaStatus("expertGemm: bad arguments (need pointers, scales for quantized weights, inCols % 32 == 0)");
    const std::int64_t rowTiles = (p.maxRows + kBM - 1) / kBM;
    const dim3 grid(unsigned((p.outRows + kBN - 1) / kBN), unsigned(rowTiles < 65535 ? rowTiles : 65535),
                    unsigned(p.experts));
    expertGemmKernel<<<grid, kThreads, 0, detail::toStream(stream)>>>(p);
    FOLIO_CUDA_LAUNCHED(expertGemmKernel);
    return {};
}

} // namespace folio::kernels::cuda
