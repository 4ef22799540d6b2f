// Sparse attention with sinks (deepseek-v4.md section 4): for query t at pos = pos0 + t, the keys
// are the window (positions max(0, pos - W + 1) .. pos) and the compressed entries (the indexer's
// selection, or every visible entry); K = V, one KV head shared by all query heads, and the sink
// adds exp(sink_h - m) to the softmax denominator only.
//
// Both kernels stream tiles of 32 keys through shared memory (rows padded to headDim + 1 floats so
// the per-key dot products read conflict-free) for 16 query heads at a time, with an online
// softmax: warp w scores heads 2w, 2w+1 (lane = key), every thread accumulates the outputs of its
// dims for all 16 heads. The prefill kernel runs one block per (token, head group) over all keys,
// starting from the sink (m = sink, l = 1); the decode kernel splits the keys across blocks and a
// combine kernel merges the partial states with the sink.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

#include <cmath>

namespace folio::kernels::cuda {

namespace {

constexpr int kHeads = 16;   // query heads per block
constexpr int kTile = 32;    // keys per tile
constexpr int kThreads = 256;
constexpr int kSplitKeys = 64; // keys per block in the decode kernel

struct KeyRange {
    std::int64_t windowStart; // first window position
    std::int64_t windowCount;
    std::int64_t total;       // window + compressed keys
};

__device__ __forceinline__ KeyRange keyRange(const SparseAttentionParams& p, std::int64_t t) {
    const std::int64_t pos = p.pos0 + t;
    KeyRange r;
    r.windowStart = pos - p.windowSize + 1 > 0 ? pos - p.windowSize + 1 : 0;
    r.windowCount = pos - r.windowStart + 1;
    std::int64_t compressed = 0;
    if (p.selected) compressed = p.selectedCount[t];
    else if (p.ratio > 0) compressed = (pos + 1) / p.ratio;
    r.total = r.windowCount + compressed;
    return r;
}

// Row of key i of query t (i < total).
__device__ __forceinline__ const float* keyRow(const SparseAttentionParams& p, std::int64_t t, const KeyRange& r,
                                               std::int64_t i) {
    const int hd = p.headDim;
    if (i < r.windowCount) {
        const std::int64_t pp = r.windowStart + i;
        return pp >= p.pos0 ? p.kv + (pp - p.pos0) * hd : p.window + (pp % p.windowSize) * hd;
    }
    const std::int64_t c = i - r.windowCount;
    const std::int64_t j = p.selected ? std::int64_t(p.selected[t * p.selectedLd + c]) : c;
    return p.entries + j * hd;
}

template <int HD> constexpr std::size_t smemBytes() {
    return sizeof(float) * (std::size_t(kHeads) * HD + std::size_t(kTile) * (HD + 1) + kHeads * kTile + 2 * kHeads) +
           sizeof(const float*) * kTile;
}

// The online-softmax state of one block: m, l per head (in warp registers: warp w owns heads 2w and
// 2w+1, every lane holds the same values) and O for this thread's dims of all 16 heads.
template <int HD> struct State {
    static constexpr int kDims = (HD + kThreads - 1) / kThreads;
    float m[2], l[2];
    float o[kHeads][kDims];
};

// Attends query t, heads h0 .. h0+15, over keys [k0, k1) of its list, updating `st`.
template <int HD>
__device__ void attendRange(const SparseAttentionParams& p, std::int64_t t, int h0, const KeyRange& r, std::int64_t k0,
                            std::int64_t k1, State<HD>& st, float* qs, float* ks, float* ps, float* cs,
                            const float** rows) {
    constexpr int kst = HD + 1;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (std::int64_t base = k0; base < k1; base += kTile) {
        if (threadIdx.x < kTile) {
            const std::int64_t i = base + threadIdx.x;
            rows[threadIdx.x] = i < k1 ? keyRow(p, t, r, i) : nullptr;
        }
        __syncthreads();
        for (int i = threadIdx.x; i < kTile * HD; i += kThreads) {
            const int j = i / HD, d = i % HD;
            const float* row = rows[j];
            ks[j * kst + d] = row ? row[d] : 0.0f;
        }
        __syncthreads();
        // Scores of key `lane` for the warp's two heads.
        const bool valid = rows[lane] != nullptr;
#pragma unroll
        for (int a = 0; a < 2; ++a) {
            const int h = 2 * warp + a;
            const float* qh = qs + h * HD;
            const float* kr = ks + lane * kst;
            float dot = 0.0f;
#pragma unroll 8
            for (int d = 0; d < HD; ++d) dot = fmaf(qh[d], kr[d], dot);
            const float s = valid ? __fmul_rn(dot, p.scale) : -INFINITY;
            const float mNew = fmaxf(st.m[a], detail::warpMax(s));
            float pj = 0.0f, corr = 1.0f;
            if (mNew != -INFINITY) {
                pj = valid ? expf(s - mNew) : 0.0f;
                corr = expf(st.m[a] - mNew);
            }
            st.l[a] = st.l[a] * corr + detail::warpSum(pj);
            st.m[a] = mNew;
            ps[h * kTile + lane] = pj;
            if (lane == 0) cs[h] = corr;
        }
        __syncthreads();
#pragma unroll
        for (int x = 0; x < State<HD>::kDims; ++x) {
            const int d = threadIdx.x + x * kThreads;
            if (d >= HD) continue;
#pragma unroll
            for (int h = 0; h < kHeads; ++h) {
                float acc = st.o[h][x] * cs[h];
                for (int j = 0; j < kTile; ++j) acc = fmaf(ps[h * kTile + j], ks[j * kst + d], acc);
                st.o[h][x] = acc;
            }
        }
        __syncthreads();
    }
}

template <int HD> __device__ void loadQueries(const SparseAttentionParams& p, std::int64_t t, int h0, float* qs) {
    for (int i = threadIdx.x; i < kHeads * HD; i += kThreads) {
        const int h = h0 + i / HD;
        qs[i] = h < p.heads ? p.q[(t * p.heads + h) * HD + i % HD] : 0.0f;
    }
}

struct Smem {
    float *qs, *ks, *ps, *cs, *ls;
    const float** rows;
};

template <int HD> __device__ Smem carve(float* smem) {
    Smem s;
    s.qs = smem;
    s.ks = s.qs + kHeads * HD;
    s.ps = s.ks + kTile * (HD + 1);
    s.cs = s.ps + kHeads * kTile;
    s.ls = s.cs + kHeads;
    s.rows = reinterpret_cast<const float**>(s.ls + kHeads + (kHeads % 2)); // 8-byte aligned
    return s;
}

// grid (ceil(heads / 16), n).
template <int HD> __global__ void __launch_bounds__(kThreads) prefillKernel(SparseAttentionParams p) {
    extern __shared__ float smem[];
    const Smem s = carve<HD>(smem);
    const std::int64_t t = blockIdx.y;
    const int h0 = blockIdx.x * kHeads;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    loadQueries<HD>(p, t, h0, s.qs);
    State<HD> st;
#pragma unroll
    for (int a = 0; a < 2; ++a) {
        const int h = h0 + 2 * warp + a;
        st.m[a] = h < p.heads ? p.sink[h] : 0.0f; // the sink's own term: exp(sink - m) with m = sink
        st.l[a] = 1.0f;
    }
#pragma unroll
    for (int h = 0; h < kHeads; ++h)
#pragma unroll
        for (int x = 0; x < State<HD>::kDims; ++x) st.o[h][x] = 0.0f;
    const KeyRange r = keyRange(p, t);
    attendRange<HD>(p, t, h0, r, 0, r.total, st, s.qs, s.ks, s.ps, s.cs, s.rows);
    if (lane == 0) {
        s.ls[2 * warp] = st.l[0];
        s.ls[2 * warp + 1] = st.l[1];
    }
    __syncthreads();
    for (int h = 0; h < kHeads && h0 + h < p.heads; ++h) {
        const float inv = 1.0f / s.ls[h];
        float* out = p.out + (t * p.heads + h0 + h) * HD;
#pragma unroll
        for (int x = 0; x < State<HD>::kDims; ++x) {
            const int d = threadIdx.x + x * kThreads;
            if (d < HD) out[d] = st.o[h][x] * inv;
        }
    }
}

// grid (splits, ceil(heads / 16), n): partial states of keys [split * 64, split * 64 + 64) without
// the sink. Workspace per (t, head, split): O [HD], then m, l.
template <int HD> __global__ void __launch_bounds__(kThreads) decodeKernel(SparseAttentionParams p, float* work, int splits) {
    extern __shared__ float smem[];
    const Smem s = carve<HD>(smem);
    const std::int64_t t = blockIdx.z;
    const int h0 = blockIdx.y * kHeads, split = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const KeyRange r = keyRange(p, t);
    const std::int64_t k0 = std::int64_t(split) * kSplitKeys;
    const std::int64_t k1 = k0 + kSplitKeys < r.total ? k0 + kSplitKeys : r.total;
    loadQueries<HD>(p, t, h0, s.qs);
    State<HD> st;
#pragma unroll
    for (int a = 0; a < 2; ++a) {
        st.m[a] = -INFINITY;
        st.l[a] = 0.0f;
    }
#pragma unroll
    for (int h = 0; h < kHeads; ++h)
#pragma unroll
        for (int x = 0; x < State<HD>::kDims; ++x) st.o[h][x] = 0.0f;
    if (k0 < k1) attendRange<HD>(p, t, h0, r, k0, k1, st, s.qs, s.ks, s.ps, s.cs, s.rows);
    if (lane == 0) {
        s.ls[2 * warp] = st.l[0];
        s.ls[2 * warp + 1] = st.l[1];
        s.cs[2 * warp] = st.m[0];
        s.cs[2 * warp + 1] = st.m[1];
    }
    __syncthreads();
    for (int h = 0; h < kHeads && h0 + h < p.heads; ++h) {
        float* w = work + ((t * p.heads + h0 + h) * splits + split) * (HD + 2);
#pragma unroll
        for (int x = 0; x < State<HD>::kDims; ++x) {
            const int d = threadIdx.x + x * kThreads;
            if (d < HD) w[d] = st.o[h][x];
        }
        if (threadIdx.x == 0) {
            w[HD] = s.cs[h];
            w[HD + 1] = s.ls[h];
        }
    }
}

// grid (n * heads): merges the splits' partial states and the sink.
__global__ void combineKernel(SparseAttentionParams p, const float* __restrict__ work, int splits) {
    const std::int64_t th = blockIdx.x; // t * heads + h
    const int h = int(th % p.heads);
    const int hd = p.headDim;
    const float* w = work + th * splits * (hd + 2);
    const float sink = p.sink[h];
    float m = sink;
    for (int s = 0; s < splits; ++s) m = fmaxf(m, w[s * (hd + 2) + hd]);
    float l = expf(sink - m);
    for (int s = 0; s < splits; ++s) {
        const float ms = w[s * (hd + 2) + hd];
        if (ms != -INFINITY) l += w[s * (hd + 2) + hd + 1] * expf(ms - m);
    }
    const float inv = 1.0f / l;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.0f;
        for (int s = 0; s < splits; ++s) {
            const float ms = w[s * (hd + 2) + hd];
            if (ms != -INFINITY) o += w[s * (hd + 2) + d] * expf(ms - m);
        }
        p.out[th * hd + d] = o * inv;
    }
}

__global__ void windowStoreKernel(const float* __restrict__ kv, std::int64_t n, std::int64_t pos0, int hd, int W,
                                  float* __restrict__ window) {
    const std::int64_t first = n > W ? n - W : 0;
    const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= (n - first) * hd) return;
    const std::int64_t t = first + idx / hd;
    const int d = int(idx % hd);
    window[((pos0 + t) % W) * hd + d] = kv[t * hd + d];
}

CudaStatus check(const SparseAttentionParams& p, const char* what) {
    if (!p.q || !p.kv || !p.sink || !p.out || p.heads <= 0 || p.windowSize <= 0 || p.pos0 < 0 ||
        (p.pos0 > 0 && !p.window) || (p.ratio > 0 && !p.entries) || (p.selected && (!p.selectedCount || p.selectedLd <= 0)) ||
        p.n > 65535)
        return CudaStatus(std::string(what) + ": bad arguments (need q, kv, sink, out, the window ring after position 0, "
                                              "entries when compressed, counts with a selection; n <= 65535)");
    if (p.headDim != 64 && p.headDim != 128 && p.headDim != 256 && p.headDim != 512)
        return CudaStatus(std::string(what) + ": headDim " + std::to_string(p.headDim) + " is not 64, 128, 256 or 512");
    return {};
}

template <int HD> CudaStatus launchPrefill(const SparseAttentionParams& p, cudaStream_t stream) {
    const std::size_t smem = smemBytes<HD>();
    FOLIO_CUDA_TRY(cudaFuncSetAttribute(prefillKernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    const dim3 grid(unsigned((p.heads + kHeads - 1) / kHeads), unsigned(p.n));
    prefillKernel<HD><<<grid, kThreads, smem, stream>>>(p);
    FOLIO_CUDA_LAUNCHED(prefillKernel);
    return {};
}

int decodeSplits(const SparseAttentionParams& p) {
    std::int64_t maxKeys = p.windowSize;
    if (p.selected) maxKeys += p.selectedLd;
    else if (p.ratio > 0) maxKeys += (p.pos0 + p.n) / p.ratio;
    return int((maxKeys + kSplitKeys - 1) / kSplitKeys);
}

template <int HD>
CudaStatus launchDecode(const SparseAttentionParams& p, float* work, int splits, cudaStream_t stream) {
    const std::size_t smem = smemBytes<HD>();
    FOLIO_CUDA_TRY(cudaFuncSetAttribute(decodeKernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    const dim3 grid(unsigned(splits), unsigned((p.heads + kHeads - 1) / kHeads), unsigned(p.n));
    decodeKernel<HD><<<grid, kThreads, smem, stream>>>(p, work, splits);
    FOLIO_CUDA_LAUNCHED(decodeKernel);
    combineKernel<<<unsigned(p.n * p.heads), 128, 0, stream>>>(p, work, splits);
    FOLIO_CUDA_LAUNCHED(combineKernel);
    return {};
}

} // namespace

CudaStatus sparseAttentionPrefill(const SparseAttentionParams& p, void* stream) {
    if (p.n <= 0) return {};
    FOLIO_STATUS_TRY(check(p, "sparseAttentionPrefill"));
    const cudaStream_t s = detail::toStream(stream);
    switch (p.headDim) {
    case 64: return launchPrefill<64>(p, s);
    case 128: return launchPrefill<128>(p, s);
    case 256: return launchPrefill<256>(p, s);
    default: return launchPrefill<512>(p, s);
    }
}

std::size_t sparseAttentionDecodeWorkspace(const SparseAttentionParams& p) {
    if (p.n <= 0) return 0;
    return std::size_t(p.n) * std::size_t(p.heads) * std::size_t(decodeSplits(p)) * std::size_t(p.headDim + 2);
}

CudaStatus sparseAttentionDecode(const SparseAttentionParams& p, float* workspace, std::size_t workspaceFloats,
                                 void* stream) {
    if (p.n <= 0) return {};
    FOLIO_STATUS_TRY(check(p, "sparseAttentionDecode"));
    const std::size_t need = sparseAttentionDecodeWorkspace(p);
    if (!workspace || workspaceFloats < need)
        return CudaStatus("sparseAttentionDecode: the workspace needs " + std::to_string(need) + " floats, has " +
                          std::to_string(workspaceFloats));
    const int splits = decodeSplits(p);
    if (splits > 65535) return CudaStatus("sparseAttentionDecode: too many keys for one launch");
    const cudaStream_t s = detail::toStream(stream);
    switch (p.headDim) {
    case 64: return launchDecode<64>(p, workspace, splits, s);
    case 128: return launchDecode<128>(p, workspace, splits, s);
    case 256: return launchDecode<256>(p, workspace, splits, s);
    default: return launchDecode<512>(p, workspace, splits, s);
    }
}

CudaStatus windowStore(const float* kv, std::int64_t n, std::int64_t pos0, int headDim, int windowSize, float* window,
                       void* stream) {
    if (n <= 0) return {};
    if (!kv || !window || headDim <= 0 || windowSize <= 0 || pos0 < 0)
        return CudaStatus("windowStore: bad arguments (need kv, window, headDim > 0, windowSize > 0)");
    const std::int64_t rows = n > windowSize ? windowSize : n;
    const int threads = 256;
    windowStoreKernel<<<detail::blocksFor(rows * headDim, threads), threads, 0, detail::toStream(stream)>>>(
        kv, n, pos0, headDim, windowSize, window);
    FOLIO_CUDA_LAUNCHED(windowStoreKernel);
    return {};
}

} // namespace folio::kernels::cuda
