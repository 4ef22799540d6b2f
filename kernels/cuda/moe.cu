// The MoE's routing and element-wise parts (deepseek-v4.md section 4, LayerRunner::moe): the
// sqrt-softplus router in fp32 with bias-only selection or hash routing, the grouping of the
// assignments by expert, the clamped SwiGLU, and the ordered sum of the experts' outputs.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

constexpr int kRouteThreads = 128;
constexpr int kMaxExperts = 1024;
constexpr int kMaxTopK = 16;

// log(1 + e^x) without overflow or needless underflow (model::softplus).
__device__ __forceinline__ float softplusf(float x) { return __fadd_rn(fmaxf(x, 0.0f), log1pf(expf(-fabsf(x)))); }

// One block per token.
__global__ void __launch_bounds__(kRouteThreads) routeKernel(MoeRouteParams p) {
    __shared__ float s[kMaxExperts];
    __shared__ float key[kMaxExperts];
    __shared__ float wv[32];
    __shared__ int wi[32];
    __shared__ int sel[kMaxTopK];
    const std::int64_t t = blockIdx.x;
    const int E = p.experts, K = p.topk;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int e = threadIdx.x; e < E; e += blockDim.x) {
        const float v = sqrtf(softplusf(p.logits[t * E + e]));
        s[e] = v;
        key[e] = p.bias ? __fadd_rn(v, p.bias[e]) : v;
    }
    __syncthreads();
    if (p.tid2eid) {
        if (threadIdx.x < K) sel[threadIdx.x] = int(p.tid2eid[std::int64_t(p.tokens[t]) * K + threadIdx.x]);
    } else {
        // K rounds of a block argmax over the keys not yet taken (taken ones are marked -inf with
        // their index kept out by the `sel` check).
        for (int k = 0; k < K; ++k) {
            float bv = -INFINITY;
            int bi = 0x7fffffff;
            for (int e = threadIdx.x; e < E; e += blockDim.x) {
                bool taken = false;
                for (int q = 0; q < k; ++q) taken |= sel[q] == e;
                if (!taken && detail::better(key[e], e, bv, bi)) {
                    bv = key[e];
                    bi = e;
                }
            }
            detail::warpArgBest(bv, bi);
            if (lane == 0) {
                wv[warp] = bv;
                wi[warp] = bi;
            }
            __syncthreads();
            if (threadIdx.x == 0) {
                float v = wv[0];
                int i = wi[0];
                for (int w = 1; w < int(blockDim.x >> 5); ++w)
                    if (detail::better(wv[w], wi[w], v, i)) {
                        v = wv[w];
                        i = wi[w];
                    }
                sel[k] = i;
            }
            __syncthreads();
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        float sum = 0.0f;
        for (int k = 0; k < K; ++k) sum = __fadd_rn(sum, s[sel[k]]);
        // sqrt(softplus) can underflow to 0 for very negative logits: guard the renormalisation.
        const float norm = p.normTopk ? __fdiv_rn(1.0f, fmaxf(sum, 1e-20f)) : 1.0f;
        for (int k = 0; k < K; ++k) {
            p.selected[t * K + k] = sel[k];
            p.weights[t * K + k] = __fmul_rn(__fmul_rn(s[sel[k]], norm), p.routedScale);
        }
    }
}

// One block: experts are owned by threads; each counts its assignments, thread 0 scans the counts,
// then each writes its rows in token order.
__global__ void __launch_bounds__(1024) groupKernel(MoeGroupParams p) {
    __shared__ int counts[kMaxExperts];
    const std::int64_t total = p.n * p.topk;
    for (int e = threadIdx.x; e < p.experts; e += blockDim.x) {
        int c = 0;
        for (std::int64_t a = 0; a < total; ++a) c += p.selected[a] == e;
        counts[e] = c;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int acc = 0;
        for (int e = 0; e < p.experts; ++e) {
            p.offsets[e] = acc;
            acc += counts[e];
            counts[e] = p.offsets[e];
        }
        p.offsets[p.experts] = acc;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < p.experts; e += blockDim.x) {
        int row = counts[e];
        for (std::int64_t a = 0; a < total; ++a)
            if (p.selected[a] == e) {
                p.rowToken[row] = std::int32_t(a / p.topk);
                p.rowWeight[row] = p.weights[a];
                p.assignRow[a] = row;
                ++row;
            }
    }
}

__global__ void swigluKernel(const float* __restrict__ g, const float* __restrict__ u,
                             const float* __restrict__ rowWeight, std::int64_t inter, std::int64_t total, float limit,
                             float* __restrict__ out) {
    const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= total) return;
    float gv = g[idx], uv = u[idx];
    if (limit > 0.0f) {
        gv = fminf(gv, limit);
        uv = fminf(fmaxf(uv, -limit), limit);
    }
    float v = __fmul_rn(__fmul_rn(gv, detail::sigmoidf(gv)), uv);
    if (rowWeight) v = __fmul_rn(v, rowWeight[idx / inter]);
    out[idx] = v;
}

// grid (dim / 256, n): the experts of token t in ascending expert order (a stable sort of its k
// assignments), then the shared expert.
__global__ void combineKernel(const float* __restrict__ routed, const std::int32_t* __restrict__ selected,
                              const std::int32_t* __restrict__ assignRow, const float* __restrict__ shared, int topk,
                              std::int64_t dim, float* __restrict__ y) {
    const std::int64_t t = blockIdx.y;
    const std::int64_t d = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (d >= dim) return;
    int ex[kMaxTopK], row[kMaxTopK];
    for (int k = 0; k < topk; ++k) {
        int e = selected[t * topk + k], r = assignRow[t * topk + k], q = k;
        for (; q > 0 && ex[q - 1] > e; --q) {
            ex[q] = ex[q - 1];
            row[q] = row[q - 1];
        }
        ex[q] = e;
        row[q] = r;
    }
    float acc = 0.0f;
    for (int k = 0; k < topk; ++k) acc = __fadd_rn(acc, routed[std::int64_t(row[k]) * dim + d]);
    if (shared) acc = __fadd_rn(acc, shared[t * dim + d]);
    y[t * dim + d] = acc;
}

} // namespace

CudaStatus moeRoute(const MoeRouteParams& p, void* stream) {
    if (p.n <= 0) return {};
    if (!p.logits || !p.selected || !p.weights || p.experts <= 0 || p.experts > kMaxExperts || p.topk <= 0 ||
        p.topk > kMaxTopK || p.topk > p.experts || (p.tid2eid && !p.tokens) || p.n > 0x7fffffff)
        return CudaStatus("moeRoute: bad arguments (need logits, outputs, 0 < topk <= 16, experts <= 1024, tokens "
                          "with tid2eid)");
    routeKernel<<<unsigned(p.n), kRouteThreads, 0, detail::toStream(stream)>>>(p);
    FOLIO_CUDA_LAUNCHED(routeKernel);
    return {};
}

CudaStatus moeGroup(const MoeGroupParams& p, void* stream) {
    if (p.n <= 0) return {};
    if (!p.selected || !p.weights || !p.offsets || !p.rowToken || !p.rowWeight || !p.assignRow || p.experts <= 0 ||
        p.experts > kMaxExperts || p.topk <= 0 || p.n * p.topk > 0x7fffffff)
        return CudaStatus("moeGroup: bad arguments (need every pointer, experts <= 1024)");
    groupKernel<<<1, 1024, 0, detail::toStream(stream)>>>(p);
    FOLIO_CUDA_LAUNCHED(groupKernel);
    return {};
}

CudaStatus swiglu(const float* g, const float* u, const float* rowWeight, std::int64_t rows, std::int64_t inter,
                  float limit, float* out, void* stream) {
    if (rows <= 0 || inter <= 0) return {};
    if (!g || !u || !out) return CudaStatus("swiglu: bad arguments (need g, u, out)");
    const int threads = 256;
    swigluKernel<<<detail::blocksFor(rows * inter, threads), threads, 0, detail::toStream(stream)>>>(
        g, u, rowWeight, inter, rows * inter, limit, out);
    FOLIO_CUDA_LAUNCHED(swigluKernel);
    return {};
}

CudaStatus moeCombine(const float* routed, const std::int32_t* selected, const std::int32_t* assignRow,
                      const float* shared, std::int64_t n, int topk, std::int64_t dim, float* y, void* stream) {
    if (n <= 0) return {};
    if (!routed || !selected || !assignRow || !y || topk <= 0 || topk > kMaxTopK || dim <= 0 || n > 65535)
        return CudaStatus("moeCombine: bad arguments (need pointers, 0 < topk <= 16, n <= 65535)");
    const int threads = 256;
    combineKernel<<<dim3(detail::blocksFor(dim, threads), unsigned(n)), threads, 0, detail::toStream(stream)>>>(
        routed, selected, assignRow, shared, topk, dim, y);
    FOLIO_CUDA_LAUNCHED(combineKernel);
    return {};
}

} // namespace folio::kernels::cuda
