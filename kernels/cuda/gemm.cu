// GEMMs of the CUDA backend. y[n, rows] = x[n, cols] . W[rows, cols]^T everywhere (row-major, W as
// stored in the checkpoint); cuBLAS sees the column-major transpose: Y^T = op_T(W) . X^T.
//   gemmBf16 (cuBLASLt) and gemmBf16Batched: bf16 operands, fp32 accumulation;
//   gemmF32: fp32 operands, pedantic fp32 compute (no TF32);
//   gemmF32Bf16: a tiled SIMT kernel for fp32 activations against bf16 weights;
//   linear / groupedOutput: the checkpoint formats dispatched onto those.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

#include <algorithm>
#include <cublasLt.h>
#include <cublas_v2.h>
#include <memory>

namespace folio::kernels::cuda {

namespace {

// Largest power of two (<= 256) dividing the address: cuBLASLt's heuristic assumes 256-byte
// alignment unless told otherwise, and sub-matrix views are less aligned.
std::uint32_t alignmentOf(const void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    std::uint32_t al = 256;
    while (al > 1 && (a % al) != 0) al /= 2;
    return al;
}

template <typename T, typename D> struct LtHandle {
    T h = nullptr;
    D destroy;
    explicit LtHandle(D d) : destroy(d) {}
    ~LtHandle() {
        if (h) (void)destroy(h);
    }
    LtHandle(const LtHandle&) = delete;
    LtHandle& operator=(const LtHandle&) = delete;
};

CudaStatus ensure(DeviceBuffer& b, std::size_t bytes) {
    if (b.bytes() >= bytes) return {};
    return b.allocate(bytes);
}

// ---- SIMT fp32 x bf16 ----
constexpr int kBM = 64, kBN = 64, kBK = 16;

// grid (ceil(rows / 64), ceil(n / 64)), 256 threads; each thread owns a 4 x 4 tile of outputs.
// Shared tiles are k-major so the inner loop reads broadcast-free consecutive floats.
__global__ void __launch_bounds__(256) gemmF32Bf16Kernel(const float* __restrict__ x, std::int64_t n, std::int64_t ldx,
                                                         const std::uint16_t* __restrict__ w, std::int64_t rows,
                                                         std::int64_t cols, float* __restrict__ y, std::int64_t ldy) {
    __shared__ float xs[kBK][kBM + 4];
    __shared__ float ws[kBK][kBN + 4];
    const int tid = threadIdx.x;
    const std::int64_t n0 = std::int64_t(blockIdx.x) * kBN; // output rows (weights)
    const std::int64_t m0 = std::int64_t(blockIdx.y) * kBM; // tokens
    const int ty = tid / 16, tx = tid % 16;
    float acc[4][4] = {};
    // Loaders: 1024 values per tile, 4 per thread: row lr, k lk .. lk+3.
    const int lr = tid / 4, lk = (tid % 4) * 4;
    for (std::int64_t k0 = 0; k0 < cols; k0 += kBK) {
        {
            const std::int64_t m = m0 + lr;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const std::int64_t k = k0 + lk + q;
                xs[lk + q][lr] = (m < n && k < cols) ? x[m * ldx + k] : 0.0f;
            }
            const std::int64_t r = n0 + lr;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const std::int64_t k = k0 + lk + q;
                ws[lk + q][lr] = (r < rows && k < cols) ? detail::bf16Bits(w[r * cols + k]) : 0.0f;
            }
        }
        __syncthreads();
        detail::tileFma4x4(xs, ws, ty, tx, acc);
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const std::int64_t m = m0 + ty * 4 + i;
        if (m >= n) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const std::int64_t r = n0 + tx * 4 + j;
            if (r < rows) y[m * ldy + r] = acc[i][j];
        }
    }
}

} // namespace

CudaStatus gemmBf16(BlasContext& blas, const std::uint16_t* x, std::int64_t n, std::int64_t ldx,
                    const std::uint16_t* w, std::int64_t rows, std::int64_t cols, float* y, std::int64_t ldy,
                    void* stream) {
    if (n <= 0 || rows <= 0) return {};
    if (!blas.blasLt() || !x || !w || !y || cols <= 0 || ldx < cols || ldy < rows)
        return CudaStatus("gemmBf16: bad arguments (need a BlasContext, pointers, ldx >= cols, ldy >= rows)");
    auto lt = static_cast<cublasLtHandle_t>(blas.blasLt());
    LtHandle<cublasLtMatmulDesc_t, decltype(&cublasLtMatmulDescDestroy)> op(&cublasLtMatmulDescDestroy);
    LtHandle<cublasLtMatrixLayout_t, decltype(&cublasLtMatrixLayoutDestroy)> la(&cublasLtMatrixLayoutDestroy),
        lb(&cublasLtMatrixLayoutDestroy), lc(&cublasLtMatrixLayoutDestroy);
    LtHandle<cublasLtMatmulPreference_t, decltype(&cublasLtMatmulPreferenceDestroy)> pref(
        &cublasLtMatmulPreferenceDestroy);
    FOLIO_CUBLAS_TRY(cublasLtMatmulDescCreate(&op.h, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t transA = CUBLAS_OP_T, transB = CUBLAS_OP_N;
    FOLIO_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op.h, CUBLASLT_MATMUL_DESC_TRANSA, &transA, sizeof transA));
    FOLIO_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op.h, CUBLASLT_MATMUL_DESC_TRANSB, &transB, sizeof transB));
    // Stored matrices (column-major): A = W^T [cols, rows], B = X^T [cols, n], C = Y^T [rows, n].
    FOLIO_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&la.h, CUDA_R_16BF, std::uint64_t(cols), std::uint64_t(rows), cols));
    FOLIO_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&lb.h, CUDA_R_16BF, std::uint64_t(cols), std::uint64_t(n), ldx));
    FOLIO_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&lc.h, CUDA_R_32F, std::uint64_t(rows), std::uint64_t(n), ldy));
    FOLIO_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&pref.h));
    const std::uint64_t wsBytes = blas.workspaceBytes();
    FOLIO_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes,
                                                          sizeof wsBytes));
    const std::uint32_t alA = alignmentOf(w), alB = alignmentOf(x), alC = alignmentOf(y);
    FOLIO_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alA,
                                                          sizeof alA));
    FOLIO_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alB,
                                                          sizeof alB));
    FOLIO_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alC,
                                                          sizeof alC));
    FOLIO_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alC,
                                                          sizeof alC));
    cublasLtMatmulHeuristicResult_t heuristic{};
    int found = 0;
    FOLIO_CUBLAS_TRY(cublasLtMatmulAlgoGetHeuristic(lt, op.h, la.h, lb.h, lc.h, lc.h, pref.h, 1, &heuristic, &found));
    if (found < 1) return CudaStatus("gemmBf16: cuBLASLt has no algorithm for this shape and alignment");
    const float alpha = 1.0f, beta = 0.0f;
    FOLIO_CUBLAS_TRY(cublasLtMatmul(lt, op.h, &alpha, w, la.h, x, lb.h, &beta, y, lc.h, y, lc.h, &heuristic.algo,
                                    blas.workspace(), blas.workspaceBytes(), detail::toStream(stream)));
    return {};
}

CudaStatus gemmBf16Batched(BlasContext& blas, const std::uint16_t* x, std::int64_t n, std::int64_t ldx,
                           std::int64_t strideX, const std::uint16_t* w, std::int64_t rows, std::int64_t cols,
                           std::int64_t strideW, float* y, std::int64_t ldy, std::int64_t strideY, int batch,
                           void* stream) {
    if (n <= 0 || rows <= 0 || batch <= 0) return {};
    if (!blas.blas() || !x || !w || !y || cols <= 0 || ldx < cols || ldy < rows || n > 0x7fffffff ||
        rows > 0x7fffffff || cols > 0x7fffffff)
        return CudaStatus("gemmBf16Batched: bad arguments (need a BlasContext, pointers, ldx >= cols, ldy >= rows)");
    auto h = static_cast<cublasHandle_t>(blas.blas());
    FOLIO_CUBLAS_TRY(cublasSetStream(h, detail::toStream(stream)));
    const float alpha = 1.0f, beta = 0.0f;
    FOLIO_CUBLAS_TRY(cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, int(rows), int(n), int(cols), &alpha, w,
                                                CUDA_R_16BF, int(cols), strideW, x, CUDA_R_16BF, int(ldx), strideX,
                                                &beta, y, CUDA_R_32F, int(ldy), strideY, batch, CUBLAS_COMPUTE_32F,
                                                CUBLAS_GEMM_DEFAULT));
    return {};
}

CudaStatus gemmF32(BlasContext& blas, const float* x, std::int64_t n, std::int64_t ldx, const float* w,
                   std::int64_t rows, std::int64_t cols, float* y, std::int64_t ldy, void* stream) {
    if (n <= 0 || rows <= 0) return {};
    if (!blas.blas() || !x || !w || !y || cols <= 0 || ldx < cols || ldy < rows || n > 0x7fffffff ||
        rows > 0x7fffffff || cols > 0x7fffffff)
        return CudaStatus("gemmF32: bad arguments (need a BlasContext, pointers, ldx >= cols, ldy >= rows)");
    auto h = static_cast<cublasHandle_t>(blas.blas());
    FOLIO_CUBLAS_TRY(cublasSetStream(h, detail::toStream(stream)));
    const float alpha = 1.0f, beta = 0.0f;
    FOLIO_CUBLAS_TRY(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, int(rows), int(n), int(cols), &alpha, w, CUDA_R_32F,
                                  int(cols), x, CUDA_R_32F, int(ldx), &beta, y, CUDA_R_32F, int(ldy),
                                  CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT));
    return {};
}

CudaStatus gemmF32Bf16(const float* x, std::int64_t n, std::int64_t ldx, const std::uint16_t* w, std::int64_t rows,
                       std::int64_t cols, float* y, std::int64_t ldy, void* stream) {
    if (n <= 0 || rows <= 0) return {};
    if (!x || !w || !y || cols <= 0 || ldx < cols || ldy < rows || (n + kBM - 1) / kBM > 65535)
        return CudaStatus("gemmF32Bf16: bad arguments (need pointers, ldx >= cols, ldy >= rows, n <= 4M)");
    const dim3 grid(unsigned((rows + kBN - 1) / kBN), unsigned((n + kBM - 1) / kBM));
    gemmF32Bf16Kernel<<<grid, 256, 0, detail::toStream(stream)>>>(x, n, ldx, w, rows, cols, y, ldy);
    FOLIO_CUDA_LAUNCHED(gemmF32Bf16Kernel);
    return {};
}

CudaStatus linear(BlasContext& blas, LinearScratch& scratch, const DeviceWeight& w, std::int64_t rowBegin,
                  std::int64_t rowCount, const float* x, std::int64_t n, std::int64_t ldx, bool quantize, float* y,
                  std::int64_t ldy, void* stream) {
    if (n <= 0 || rowCount <= 0) return {};
    if (rowBegin < 0 || rowBegin + rowCount > w.rows)
        return CudaStatus("linear: rows [" + std::to_string(rowBegin) + ", " + std::to_string(rowBegin + rowCount) +
                          ") outside the weight's " + std::to_string(w.rows));
    switch (w.format) {
    case WeightFormat::F32:
        return gemmF32(blas, x, n, ldx, static_cast<const float*>(w.data) + rowBegin * w.cols, rowCount, w.cols, y,
                       ldy, stream);
    case WeightFormat::BF16:
        return gemmF32Bf16(x, n, ldx, static_cast<const std::uint16_t*>(w.data) + rowBegin * w.cols, rowCount, w.cols,
                           y, ldy, stream);
    case WeightFormat::FP8Block128:
    case WeightFormat::FP4Row32: break;
    default:
        return CudaStatus(std::string("linear: GGUF ") + weightFormatName(w.format) + " weights do not run on CUDA yet");
    }
    FOLIO_STATUS_TRY(ensure(scratch.acts, std::size_t(n * w.cols) * 2));
    FOLIO_STATUS_TRY(activationsToBf16(x, n, w.cols, ldx, quantize, scratch.acts.as<std::uint16_t>(), w.cols, stream));
    const std::int64_t rowBytes = w.cols * 2;
    const std::int64_t tileRows = std::min(rowCount, std::max<std::int64_t>(128, std::int64_t(scratch.weightTileBytes) / rowBytes));
    FOLIO_STATUS_TRY(ensure(scratch.weights, std::size_t(tileRows * rowBytes)));
    for (std::int64_t r0 = 0; r0 < rowCount; r0 += tileRows) {
        const std::int64_t rr = std::min(tileRows, rowCount - r0);
        FOLIO_STATUS_TRY(dequantizeToBf16(w, rowBegin + r0, rr, scratch.weights.as<std::uint16_t>(), stream));
        FOLIO_STATUS_TRY(gemmBf16(blas, scratch.acts.as<std::uint16_t>(), n, w.cols, scratch.weights.as<std::uint16_t>(), rr,
                      w.cols, y + r0, ldy, stream));
    }
    return {};
}

CudaStatus groupedOutput(BlasContext& blas, LinearScratch& scratch, const DeviceWeight& woA, int groups,
                         const float* o, std::int64_t n, bool quantize, float* z, void* stream) {
    if (n <= 0) return {};
    if (groups <= 0 || woA.rows % groups != 0)
        return CudaStatus("groupedOutput: wo_a rows (" + std::to_string(woA.rows) + ") must split into " +
                          std::to_string(groups) + " groups");
    const std::int64_t groupIn = woA.cols, ol = woA.rows / groups, width = groups * groupIn;
    FOLIO_STATUS_TRY(ensure(scratch.acts, std::size_t(n * width) * 2));
    FOLIO_STATUS_TRY(activationsToBf16(o, n, width, width, quantize, scratch.acts.as<std::uint16_t>(), width, stream));
    FOLIO_STATUS_TRY(ensure(scratch.weights, std::size_t(woA.rows * groupIn) * 2));
    FOLIO_STATUS_TRY(dequantizeToBf16(woA, 0, woA.rows, scratch.weights.as<std::uint16_t>(), stream));
    return gemmBf16Batched(blas, scratch.acts.as<std::uint16_t>(), n, width, groupIn,
                           scratch.weights.as<std::uint16_t>(), ol, groupIn, ol * groupIn, z, groups * ol, ol, groups,
                           stream);
}

} // namespace folio::kernels::cuda
