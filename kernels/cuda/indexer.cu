// The lightning indexer of CSA layers (deepseek-v4.md section 4): weighted ReLU scores of every
// visible compressed indexer entry, then per query the top-k entries (ties to the lower index),
// returned in ascending index order as the CPU's topKIndices + sort gives them.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

#include <cub/block/block_scan.cuh>

namespace folio::kernels::cuda {

namespace {

constexpr int kEntryTile = 64;
constexpr int kScoreThreads = 256;
constexpr int kHeadGroups = kScoreThreads / kEntryTile; // 4

// grid (ceil(maxVisible / 64), n): one query's heads and a tile of 64 keys in shared memory
// (keys padded to dim + 1 floats: conflict-free column reads). Thread (group, e) sums its group's
// heads for entry e; the four groups' partial scores are added in group order.
__global__ void __launch_bounds__(kScoreThreads) indexerScoreKernel(IndexerScoreParams p) {
    extern __shared__ float smem[];
    const std::int64_t t = blockIdx.y;
    const std::int64_t visible = (p.pos0 + t + 1) / p.ratio;
    const std::int64_t j0 = std::int64_t(blockIdx.x) * kEntryTile;
    if (j0 >= visible) return;
    const int dim = p.dim, heads = p.heads, kst = dim + 1;
    float* qs = smem;                          // [heads, dim]
    float* ks = qs + heads * dim;              // [64, dim + 1]
    float* ws = ks + kEntryTile * kst;         // [heads]
    float* part = ws + heads;                  // [4, 64]
    const float* q = p.q + t * heads * dim;
    for (int i = threadIdx.x; i < heads * dim; i += blockDim.x) qs[i] = q[i];
    for (int h = threadIdx.x; h < heads; h += blockDim.x) ws[h] = __fmul_rn(p.w[t * heads + h], p.wscale);
    for (int i = threadIdx.x; i < kEntryTile * dim; i += blockDim.x) {
        const int e = i / dim, k = i % dim;
        const std::int64_t j = j0 + e;
        ks[e * kst + k] = j < visible ? p.keys[j * dim + k] : 0.0f;
    }
    __syncthreads();
    const int e = threadIdx.x % kEntryTile, grp = threadIdx.x / kEntryTile;
    const int perGroup = (heads + kHeadGroups - 1) / kHeadGroups;
    float acc = 0.0f;
    const float* kr = ks + e * kst;
    for (int h = grp * perGroup; h < min(heads, (grp + 1) * perGroup); ++h) {
        const float* qh = qs + h * dim;
        float dot = 0.0f;
        for (int k = 0; k < dim; ++k) dot = fmaf(qh[k], kr[k], dot);
        acc = __fadd_rn(acc, __fmul_rn(ws[h], fmaxf(dot, 0.0f)));
    }
    part[grp * kEntryTile + e] = acc;
    __syncthreads();
    if (grp == 0 && j0 + e < visible) {
        float s = part[e];
        for (int g = 1; g < kHeadGroups; ++g) s = __fadd_rn(s, part[g * kEntryTile + e]);
        p.scores[t * p.ldScores + j0 + e] = s;
    }
}

// Order-preserving key of a float (larger float, larger key); -0 counts as +0.
__device__ __forceinline__ std::uint32_t orderedKey(float f) {
    const std::uint32_t u = __float_as_uint(f == 0.0f ? 0.0f : f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

constexpr int kTopKThreads = 1024;

// One block per query: a 4-pass radix select finds the k-th largest key T and how many entries
// equal to T are taken; an ordered compaction (block scans, chunk by chunk in index order) then
// writes the entries above T and the first equal ones, ascending.
__global__ void __launch_bounds__(kTopKThreads) topKKernel(TopKParams p) {
    using Scan = cub::BlockScan<int, kTopKThreads>;
    __shared__ typename Scan::TempStorage scanTemp;
    __shared__ int hist[256];
    __shared__ std::uint32_t sPrefix;
    __shared__ int sRemaining;
    __shared__ int sOut, sEq;
    const std::int64_t t = blockIdx.x;
    const std::int64_t visible = (p.pos0 + t + 1) / p.ratio;
    const float* sc = p.scores + t * p.ldScores;
    std::int32_t* out = p.selected + t * std::int64_t(p.k);
    if (visible <= p.k) {
        for (std::int64_t i = threadIdx.x; i < visible; i += blockDim.x) out[i] = std::int32_t(i);
        if (threadIdx.x == 0) p.counts[t] = std::int32_t(visible);
        return;
    }
    if (threadIdx.x == 0) {
        sPrefix = 0;
        sRemaining = p.k;
    }
    std::uint32_t mask = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        const std::uint32_t prefix = sPrefix;
        for (std::int64_t i = threadIdx.x; i < visible; i += blockDim.x) {
            const std::uint32_t key = orderedKey(sc[i]);
            if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            int remaining = sRemaining, b = 255;
            for (; b > 0 && hist[b] < remaining; --b) remaining -= hist[b];
            sRemaining = remaining;
            sPrefix = prefix | (std::uint32_t(b) << shift);
        }
        mask |= 255u << shift;
        __syncthreads();
    }
    const std::uint32_t T = sPrefix;
    const int takeEqual = sRemaining;
    if (threadIdx.x == 0) {
        sOut = 0;
        sEq = 0;
    }
    __syncthreads();
    for (std::int64_t base = 0; base < visible; base += blockDim.x) {
        const std::int64_t i = base + threadIdx.x;
        const std::uint32_t key = i < visible ? orderedKey(sc[i]) : 0u;
        const int eq = (i < visible && key == T) ? 1 : 0;
        int eqBefore = 0, eqTotal = 0;
        Scan(scanTemp).ExclusiveSum(eq, eqBefore, eqTotal);
        __syncthreads();
        const int take = (i < visible && key > T) || (eq && sEq + eqBefore < takeEqual) ? 1 : 0;
        int outBefore = 0, outTotal = 0;
        Scan(scanTemp).ExclusiveSum(take, outBefore, outTotal);
        if (take) out[sOut + outBefore] = std::int32_t(i);
        __syncthreads();
        if (threadIdx.x == 0) {
            sOut += outTotal;
            sEq += eqTotal;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) p.counts[t] = p.k;
}

} // namespace

CudaStatus indexerScores(const IndexerScoreParams& p, void* stream) {
    if (p.n <= 0) return {};
    if (!p.q || !p.w || !p.keys || !p.scores || p.heads <= 0 || p.dim <= 0 || p.dim > 128 || p.ratio < 1 ||
        p.ldScores < (p.pos0 + p.n) / p.ratio || p.n > 65535)
        return CudaStatus("indexerScores: bad arguments (need pointers, dim <= 128, ldScores >= visible entries)");
    const std::int64_t maxVisible = (p.pos0 + p.n) / p.ratio;
    if (maxVisible == 0) return {};
    const std::size_t smem =
        sizeof(float) * (std::size_t(p.heads) * p.dim + std::size_t(kEntryTile) * (p.dim + 1) + p.heads +
                         kHeadGroups * kEntryTile);
    FOLIO_CUDA_TRY(cudaFuncSetAttribute(indexerScoreKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    const dim3 grid(unsigned((maxVisible + kEntryTile - 1) / kEntryTile), unsigned(p.n));
    indexerScoreKernel<<<grid, kScoreThreads, smem, detail::toStream(stream)>>>(p);
    FOLIO_CUDA_LAUNCHED(indexerScoreKernel);
    return {};
}

CudaStatus indexerTopK(const TopKParams& p, void* stream) {
    if (p.n <= 0) return {};
    if (!p.scores || !p.selected || !p.counts || p.k <= 0 || p.ratio < 1 || p.n > 0x7fffffff)
        return CudaStatus("indexerTopK: bad arguments (need scores, selected, counts, k > 0)");
    topKKernel<<<unsigned(p.n), kTopKThreads, 0, detail::toStream(stream)>>>(p);
    FOLIO_CUDA_LAUNCHED(topKKernel);
    return {};
}

} // namespace folio::kernels::cuda
