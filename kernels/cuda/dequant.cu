// Checkpoint weights to bf16 on the device: block-scaled fp8 e4m3 (128x128 UE8M0 scales) and fp4
// e2m1 (two per byte, low nibble first, one UE8M0 scale per 32 along K), plus bf16/f32 copies.
// Each thread expands four consecutive values of one row.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

__global__ void dequantKernel(DeviceWeight w, std::int64_t rowBegin, std::int64_t rowCount,
                              std::uint16_t* __restrict__ out) {
    const std::int64_t quads = (w.cols + 3) / 4;
    const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= rowCount * quads) return;
    const std::int64_t r = idx / quads, row = rowBegin + r;
    const std::int64_t c0 = (idx % quads) * 4;
    for (std::int64_t c = c0; c < c0 + 4 && c < w.cols; ++c) {
        float v = 0.0f;
        switch (w.format) {
        case WeightFormat::F32: v = static_cast<const float*>(w.data)[row * w.cols + c]; break;
        case WeightFormat::BF16: v = detail::bf16Bits(static_cast<const std::uint16_t*>(w.data)[row * w.cols + c]); break;
        case WeightFormat::FP8Block128: {
            const std::uint8_t q = static_cast<const std::uint8_t*>(w.data)[row * w.cols + c];
            const std::int64_t scaleCols = (w.cols + 127) / 128;
            v = detail::e4m3Value(q) * detail::e8m0Value(w.scales[(row / 128) * scaleCols + c / 128]);
            break;
        }
        case WeightFormat::FP4Row32: {
            const std::uint8_t b = static_cast<const std::uint8_t*>(w.data)[row * (w.cols / 2) + c / 2];
            const std::uint32_t nib = (c & 1) ? std::uint32_t(b >> 4) : std::uint32_t(b & 15u);
            v = detail::e2m1Value(nib) * detail::e8m0Value(w.scales[row * (w.cols / 32) + c / 32]);
            break;
        }
        default: v = __int_as_float(0x7fc00000); break; // the GGUF blocks: refused before upload
        }
        out[r * w.cols + c] = detail::toBf16Bits(v);
    }
}

} // namespace

CudaStatus dequantizeToBf16(const DeviceWeight& w, std::int64_t rowBegin, std::int64_t rowCount, std::uint16_t* out,
                            void* stream) {
    if (rowCount <= 0) return {};
    if (!w.data || !out || rowBegin < 0 || rowBegin + rowCount > w.rows || w.cols <= 0)
        return CudaStatus("dequantizeToBf16: rows [" + std::to_string(rowBegin) + ", " +
                          std::to_string(rowBegin + rowCount) + ") outside the weight's " + std::to_string(w.rows));
    if (w.quantized() && !w.scales) return CudaStatus("dequantizeToBf16: a quantized weight needs its scales");
    if (w.format == WeightFormat::FP4Row32 && w.cols % 32 != 0)
        return CudaStatus("dequantizeToBf16: fp4 weights need cols % 32 == 0");
    const std::int64_t work = rowCount * ((w.cols + 3) / 4);
    const int threads = 256;
    dequantKernel<<<detail::blocksFor(work, threads), threads, 0, detail::toStream(stream)>>>(w, rowBegin, rowCount,
                                                                                            out);
    FOLIO_CUDA_LAUNCHED(dequantKernel);
    return {};
}

} // namespace folio::kernels::cuda
