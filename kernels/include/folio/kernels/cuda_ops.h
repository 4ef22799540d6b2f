// The CUDA ops of the DeepSeek-V4 forward pass (deepseek-v4.md section 4). Each op mirrors a CPU op
// of engine/src/model (the reference for its test, tests/cuda/test_cuda_ops.cpp) and is a plain
// host function: device pointers in, results written on `stream` (a cudaStream_t as void*;
// nullptr is the default stream). A launcher checks its preconditions, picks a configuration and
// returns a CudaStatus naming the failing call; it never synchronizes unless it says so.
// Activations are fp32 row-major; `ld*` are row strides in elements. Only compiled with
// FOLIO_HAVE_CUDA.
#pragma once

#include "folio/kernels/cuda_memory.h"
#include "folio/kernels/gemm.h"

#include <cstddef>
#include <cstdint>

namespace folio::kernels::cuda {

// A checkpoint matrix in device memory, in its checkpoint format (gemm.h WeightMatrix, with
// device pointers): [rows (outputs), cols (inputs)].
struct DeviceWeight {
    WeightFormat format = WeightFormat::F32;
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    const void* data = nullptr;
    const std::uint8_t* scales = nullptr; // FP8Block128: [ceil(rows/128), ceil(cols/128)]; FP4Row32: [rows, cols/32]

    bool quantized() const {
        return format == WeightFormat::FP8Block128 || format == WeightFormat::FP4Row32;
    }
};

// ---- Embedding ----------------------------------------------------------------------------------
// h[t, c, :] = bf16 embed[tokens[t], :] for every copy c < copies.   h: [n, copies, dim] f32
CudaStatus embedTokens(const std::uint16_t* embed, const std::int32_t* tokens, std::int64_t n, std::int64_t dim,
                       int copies, float* h, void* stream);

// ---- Row-wise ops -------------------------------------------------------------------------------
// y = x * rsqrt(mean(x^2) + eps) * weight per row (weight may be null). The sum of squares is
// accumulated in double, as model::rmsNorm does. In place allowed (y == x, same ld).
CudaStatus rmsNorm(const float* x, std::int64_t ldx, const float* weight, std::int64_t rows, int cols, float eps,
                   float* y, std::int64_t ldy, void* stream);

// In-place Walsh-Hadamard transform of each row's first n values (n a power of two <= 1024), times
// n^-0.5 (model::hadamard).
CudaStatus hadamard(float* x, std::int64_t rows, int n, std::int64_t ld, void* stream);

// Interleaved RoPE on x[row, offset : offset + dim] at position posBase + (row / rowsPerPos) * posStep
// (model::Rope::apply). freq: device [dim / 2] doubles (model::ropeFrequencies); angles in double.
struct RopeParams {
    float* x = nullptr;
    std::int64_t rows = 0;
    std::int64_t ld = 0;
    int offset = 0;
    int dim = 64;
    const double* freq = nullptr;
    std::int64_t posBase = 0;
    std::int64_t rowsPerPos = 1;
    std::int64_t posStep = 1;
    bool inverse = false; // de-rotation (multiplies by e^{-i theta})
};
CudaStatus rope(const RopeParams& p, void* stream);

// ---- Quantization round trips (formats.h) -------------------------------------------------------
// In place, per row: blocks of `block` (<= 1024) values through e4m3 / e2m1 with a UE8M0 scale
// (roundTripE4m3 / roundTripE2m1 of formats.h, bit for bit).
CudaStatus roundTripE4m3(float* x, std::int64_t rows, int cols, std::int64_t ld, int block, void* stream);
CudaStatus roundTripE2m1(float* x, std::int64_t rows, int cols, std::int64_t ld, int block, void* stream);

// out[rows, cols] bf16 from x. quantize: the activation round trip first (e4m3, block 128, as
// kernels::quantizeActivations), whose values bf16 then holds exactly; else round to nearest bf16.
CudaStatus activationsToBf16(const float* x, std::int64_t rows, std::int64_t cols, std::int64_t ldx, bool quantize,
                             std::uint16_t* out, std::int64_t ldo, void* stream);

// ---- Weights and GEMMs --------------------------------------------------------------------------
// out[rowCount, cols] bf16 = rows [rowBegin, rowBegin + rowCount) of w dequantized (block-scaled
// fp8 e4m3 or fp4 e2m1 with e8m0 scales, or bf16/f32). Exact for fp8/fp4 (their products with a
// power-of-two scale fit bf16) unless a scale leaves bf16's range.
CudaStatus dequantizeToBf16(const DeviceWeight& w, std::int64_t rowBegin, std::int64_t rowCount, std::uint16_t* out,
                            void* stream);

// y[n, rows] = x[n, cols] . w[rows, cols]^T, bf16 inputs, fp32 accumulate and output (cuBLASLt).
CudaStatus gemmBf16(BlasContext& blas, const std::uint16_t* x, std::int64_t n, std::int64_t ldx,
                    const std::uint16_t* w, std::int64_t rows, std::int64_t cols, float* y, std::int64_t ldy,
                    void* stream);

// `batch` independent bf16 GEMMs of the same shape, the operands of batch b at b * stride*
// (cublasGemmStridedBatchedEx, fp32 accumulate).
CudaStatus gemmBf16Batched(BlasContext& blas, const std::uint16_t* x, std::int64_t n, std::int64_t ldx,
                           std::int64_t strideX, const std::uint16_t* w, std::int64_t rows, std::int64_t cols,
                           std::int64_t strideW, float* y, std::int64_t ldy, std::int64_t strideY, int batch,
                           void* stream);

// fp32 x against fp32 weights, exact fp32 products (cuBLAS, pedantic math: no TF32).
CudaStatus gemmF32(BlasContext& blas, const float* x, std::int64_t n, std::int64_t ldx, const float* w,
                   std::int64_t rows, std::int64_t cols, float* y, std::int64_t ldy, void* stream);

// fp32 x against bf16 weights, fp32 products and accumulation (a tiled SIMT kernel): the
// unquantized bf16 matrices the reference applies in fp32 (router, compressors, indexer weights,
// head).
CudaStatus gemmF32Bf16(const float* x, std::int64_t n, std::int64_t ldx, const std::uint16_t* w, std::int64_t rows,
                       std::int64_t cols, float* y, std::int64_t ldy, void* stream);

// Scratch of linear(): the bf16 activations and one tile of dequantized weights.
struct LinearScratch {
    DeviceBuffer acts;
    DeviceBuffer weights;
    std::size_t weightTileBytes = std::size_t(64) << 20; // the dequantized tile's budget
};

// y[n, rowCount] = x[n, cols] . w[rowBegin : rowBegin + rowCount]^T as kernels::gemm computes it:
// fp8/fp4 weights are dequantized to bf16 tile by tile (rows within weightTileBytes) and multiplied
// by cuBLASLt with the activations in bf16 (after the e4m3 round trip when `quantize`); bf16 weights
// take gemmF32Bf16, f32 weights gemmF32.
CudaStatus linear(BlasContext& blas, LinearScratch& scratch, const DeviceWeight& w, std::int64_t rowBegin,
                  std::int64_t rowCount, const float* x, std::int64_t n, std::int64_t ldx, bool quantize, float* y,
                  std::int64_t ldy, void* stream);

// The grouped low-rank output: o [n, G * groupIn] viewed as G groups, z[n, g * ol : (g+1) * ol] =
// wo_a[g * ol : (g+1) * ol] . o_g with woA [G * ol, groupIn] fp8. One batched GEMM over the groups.
CudaStatus groupedOutput(BlasContext& blas, LinearScratch& scratch, const DeviceWeight& woA, int groups,
                         const float* o, std::int64_t n, bool quantize, float* z, void* stream);

// ---- mHC ----------------------------------------------------------------------------------------
// Per token: mixes = (fn . flatten(h)) * rsqrt(mean(h^2) + normEps); then (model::hcSplit)
// pre = sigmoid(mixes[:hc] * scale[0] + base) + hcEps, and unless `head`: post, and comb after
// Sinkhorn (iters). x = sum_i pre_i h_i.
struct HcParams {
    const float* h = nullptr;     // [n, copies, dim]
    const float* fn = nullptr;    // [mixes, copies * dim] f32; mixes = head ? copies : (2 + copies) * copies
    const float* base = nullptr;  // [mixes]
    const float* scale = nullptr; // [3] ([1] for the head)
    std::int64_t n = 0;
    int copies = 4;               // hc_mult (<= 4)
    int dim = 0;                  // D
    int iters = 20;               // hc_sinkhorn_iters
    float hcEps = 1e-6f;
    double normEps = 1e-6;
    bool head = false;
    float* x = nullptr;    // [n, dim]
    float* post = nullptr; // [n, copies] (not for the head)
    float* comb = nullptr; // [n, copies, copies] comb[i][j] (not for the head)
};
CudaStatus hcPre(const HcParams& p, void* stream);

// h'[t, j] = post[t, j] * y[t] + sum_i comb[t, i, j] * h[t, i], in place on h [n, copies, dim].
CudaStatus hcPost(float* h, const float* y, const float* post, const float* comb, std::int64_t n, int copies, int dim,
                  void* stream);

// ---- Compressor ---------------------------------------------------------------------------------
// One compressor (ratio 4 with the overlap, or any other ratio) over a chunk of n tokens at
// positions pos0.., as LayerRunner::compress: pools every entry whose block completes in the chunk
// into entries[j] (j in [pos0 / ratio, (pos0 + n) / ratio)) and updates the carried rows.
struct CompressorParams {
    int ratio = 0;
    int dim = 0; // d; the rows are width = (ratio == 4 ? 2 : 1) * d wide
    std::int64_t pos0 = 0;
    std::int64_t n = 0;
    const float* a = nullptr;   // [n, width] wkv . x
    const float* g = nullptr;   // [n, width] wgate . x (ape is added here)
    const float* ape = nullptr; // [ratio, width]
    float* curA = nullptr;      // [ratio, width] the incomplete block's rows (slot = pos % ratio)
    float* curG = nullptr;
    float* prevA = nullptr;     // [ratio, width] the last complete block's rows (ratio 4 only)
    float* prevG = nullptr;
    float* entries = nullptr;   // [capacity, d]
    std::int64_t capacity = 0;
};
CudaStatus compressChunk(const CompressorParams& p, void* stream);

// The post-processing of entries [first, first + count): RMSNorm with `norm`, rope on the last
// ropeDim dims at position j * ratio, then for attention entries the e4m3 round trip of dims
// [0, d - ropeDim) in blocks of 64, for indexer entries the Hadamard rotation and the e2m1 round trip
// in blocks of 32 (round trips only when `quantize`).
struct CompressedEntryParams {
    float* entries = nullptr; // [capacity, d]
    std::int64_t first = 0;
    std::int64_t count = 0;
    int dim = 0;
    int ratio = 0;
    const float* norm = nullptr; // [d]
    float eps = 1e-6f;
    const double* freq = nullptr; // rope frequencies of the layer
    int ropeDim = 64;
    bool indexer = false;
    bool quantize = true;
};
CudaStatus finishCompressedEntries(const CompressedEntryParams& p, void* stream);

// ---- Lightning indexer --------------------------------------------------------------------------
// scores[t, j] = sum_h (w[t, h] * wscale) * ReLU(q[t, h] . keys[j]) for j < (pos0 + t + 1) / ratio.
struct IndexerScoreParams {
    const float* q = nullptr;    // [n, heads, dim] after rope, Hadamard and the fp4 round trip
    const float* w = nullptr;    // [n, heads] weights_proj . x
    float wscale = 0.0f;         // dim^-0.5 * heads^-0.5
    const float* keys = nullptr; // [count, dim] indexer entries
    std::int64_t n = 0;
    std::int64_t pos0 = 0;
    int heads = 0;
    int dim = 0; // <= 128
    int ratio = 4;
    float* scores = nullptr; // [n, ldScores]
    std::int64_t ldScores = 0; // >= (pos0 + n) / ratio
};
CudaStatus indexerScores(const IndexerScoreParams& p, void* stream);

// Per query the min(k, visible) best entries by score (ties to the lower index) in ascending index
// order, as topKIndices + sort: selected [n, k], counts [n].
struct TopKParams {
    const float* scores = nullptr;
    std::int64_t ldScores = 0;
    std::int64_t n = 0;
    std::int64_t pos0 = 0;
    int ratio = 4;
    int k = 0;
    std::int32_t* selected = nullptr;
    std::int32_t* counts = nullptr;
};
CudaStatus indexerTopK(const TopKParams& p, void* stream);

// ---- Sparse attention with sinks ----------------------------------------------------------------
// o[t, h] = sum_j exp(s_j - m) kv_j / (sum_j exp(s_j - m) + exp(sink_h - m)), s_j = scale q[t,h].kv_j,
// over the window (positions max(0, pos - W + 1) .. pos: this chunk's kv, or the ring for positions
// before pos0) and the compressed entries: `selected` ones (CSA) or every visible one (ratio > 0
// without selection). K = V. No de-rotation (apply rope with inverse afterwards).
struct SparseAttentionParams {
    const float* q = nullptr;       // [n, heads, headDim]
    const float* kv = nullptr;      // [n, headDim]
    const float* window = nullptr;  // [windowSize, headDim]
    const float* entries = nullptr; // [count, headDim]
    const std::int32_t* selected = nullptr;      // [n, selectedLd] or null
    const std::int32_t* selectedCount = nullptr; // [n]
    int selectedLd = 0;
    const float* sink = nullptr; // [heads]
    std::int64_t n = 0;
    std::int64_t pos0 = 0;
    int heads = 0;
    int headDim = 512; // 64, 128, 256 or 512
    int windowSize = 128;
    int ratio = 0;
    float scale = 0.0f;
    float* out = nullptr; // [n, heads, headDim]
};
// A chunk of queries: one block per (token, 16 heads), flash-style over tiles of 32 keys.
CudaStatus sparseAttentionPrefill(const SparseAttentionParams& p, void* stream);
// Few queries over long key lists: the keys are split across blocks (partial softmax states in
// `workspace`, sparseAttentionDecodeWorkspace floats), then combined with the sink.
std::size_t sparseAttentionDecodeWorkspace(const SparseAttentionParams& p);
CudaStatus sparseAttentionDecode(const SparseAttentionParams& p, float* workspace, std::size_t workspaceFloats,
                                 void* stream);
// The window ring after the chunk: window[(pos0 + t) % windowSize] = kv[t] for the last windowSize t.
CudaStatus windowStore(const float* kv, std::int64_t n, std::int64_t pos0, int headDim, int windowSize, float* window,
                       void* stream);

// ---- MoE ----------------------------------------------------------------------------------------
// s = sqrt(softplus(logits)); selection: top-k of s + bias (ties to the lower index), or
// tid2eid[tokens[t]] in hash layers; weights = s[sel] / max(sum s[sel], 1e-20) * routedScale
// (no division when !normTopk). selected and weights [n, topk], in selection order.
struct MoeRouteParams {
    const float* logits = nullptr;       // [n, experts] x . gate^T (fp32)
    const float* bias = nullptr;         // [experts] or null
    const std::int64_t* tid2eid = nullptr; // [vocab, topk] or null
    const std::int32_t* tokens = nullptr;  // [n] (hash routing)
    std::int64_t n = 0;
    int experts = 0; // <= 1024
    int topk = 0;    // <= 16
    float routedScale = 1.0f;
    bool normTopk = true;
    std::int32_t* selected = nullptr;
    float* weights = nullptr;
};
CudaStatus moeRoute(const MoeRouteParams& p, void* stream);

// Groups the n * topk assignments by expert, each expert's rows in token order: offsets [experts+1],
// rowToken / rowWeight [n * topk] per grouped row, assignRow [n, topk] the grouped row of each
// assignment.
struct MoeGroupParams {
    const std::int32_t* selected = nullptr;
    const float* weights = nullptr;
    std::int64_t n = 0;
    int experts = 0;
    int topk = 0;
    std::int32_t* offsets = nullptr;
    std::int32_t* rowToken = nullptr;
    float* rowWeight = nullptr;
    std::int32_t* assignRow = nullptr;
};
CudaStatus moeGroup(const MoeGroupParams& p, void* stream);

// out = silu(min(g, limit)) * clamp(u, -limit, limit) * rowWeight[r] (no clamp when limit <= 0; weight
// 1 when rowWeight is null).   g, u, out: [rows, inter]
CudaStatus swiglu(const float* g, const float* u, const float* rowWeight, std::int64_t rows, std::int64_t inter,
                  float limit, float* out, void* stream);

// Expert GEMMs grouped by expert, weights dequantized tile by tile in shared memory (fp32 FMA):
// for every expert e and grouped row r in [offsets[e], offsets[e+1]):
//   y[r, :] = x[rowSource ? rowSource[r] : r, :] . W_e^T,   W_e [outRows, inCols] in `format`.
struct ExpertGemmParams {
    const float* x = nullptr;
    std::int64_t ldx = 0;
    const std::int32_t* rowSource = nullptr;
    const std::int32_t* offsets = nullptr; // [experts + 1] (device)
    int experts = 0;
    std::int64_t maxRows = 0; // an upper bound of any expert's rows (grid size)
    WeightFormat format = WeightFormat::FP4Row32;
    std::int64_t outRows = 0;
    std::int64_t inCols = 0;
    const void* const* weightData = nullptr;           // [experts] device array of device pointers
    const std::uint8_t* const* weightScales = nullptr; // [experts]
    float* y = nullptr;
    std::int64_t ldy = 0;
};
CudaStatus expertGemm(const ExpertGemmParams& p, void* stream);

// y[t] = sum over t's experts in ascending expert order of routed[assignRow[t, k]] (+ shared[t]).
CudaStatus moeCombine(const float* routed, const std::int32_t* selected, const std::int32_t* assignRow,
                      const float* shared, std::int64_t n, int topk, std::int64_t dim, float* y, void* stream);

// ---- Sampling -----------------------------------------------------------------------------------
// token = the index of the largest logit (the first of equals).
CudaStatus argmax(const float* logits, std::int64_t count, std::int32_t* token, void* stream);

// Buffers of sampleTopP for a vocabulary of `count`.
struct SamplerWorkspace {
    DeviceBuffer probs, sortedProbs, ids, sortedIds, scan, temp;
    std::int64_t count = 0;
    std::size_t tempBytes = 0;
    CudaStatus prepare(std::int64_t count);
};

// The engine's Sampler on the device: p_i = exp((l_i - max) / T) in double, sorted descending (ties
// to the lower id), the smallest prefix whose mass reaches topP, and the token where the running
// mass first exceeds u01 * (kept mass). u01 in [0, 1) is drawn by the caller. T <= 0: argmax.
CudaStatus sampleTopP(const float* logits, std::int64_t count, float temperature, float topP, double u01,
                      SamplerWorkspace& ws, std::int32_t* token, void* stream);

} // namespace folio::kernels::cuda
