// mHC (deepseek-v4.md section 4, model::hcSplit and LayerRunner::run): per token the mixes of the
// residual copies, the Sinkhorn-normalised comb, the sub-layer input x = sum_i pre_i h_i, and after
// the sub-layer h'_j = post_j y + sum_i comb[i][j] h_i. Float steps follow the CPU's order.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

constexpr int kMaxCopies = 4;
constexpr int kMaxMixes = (2 + kMaxCopies) * kMaxCopies; // 24
constexpr int kThreads = 256;

// hcSplit for one token (one thread): mixes already scaled by rsqrt(mean(h^2) + eps).
__device__ void split(const float* m, const HcParams& p, float* pre, float* post, float* comb) {
    const int hc = p.copies;
    for (int i = 0; i < hc; ++i)
        pre[i] = __fadd_rn(detail::sigmoidf(__fadd_rn(__fmul_rn(m[i], p.scale[0]), p.base[i])), p.hcEps);
    if (p.head) return;
    for (int i = 0; i < hc; ++i)
        post[i] = __fmul_rn(2.0f, detail::sigmoidf(__fadd_rn(__fmul_rn(m[hc + i], p.scale[1]), p.base[hc + i])));
    float c[kMaxCopies * kMaxCopies];
    for (int i = 0; i < hc * hc; ++i) c[i] = __fadd_rn(__fmul_rn(m[2 * hc + i], p.scale[2]), p.base[2 * hc + i]);
    // Row softmax (+eps), then column normalisation; then iters-1 rounds of rows and columns.
    for (int r = 0; r < hc; ++r) {
        float* row = c + r * hc;
        float mx = row[0];
        for (int j = 1; j < hc; ++j) mx = fmaxf(mx, row[j]);
        float s = 0.0f;
        for (int j = 0; j < hc; ++j) s = __fadd_rn(s, row[j] = expf(__fsub_rn(row[j], mx)));
        for (int j = 0; j < hc; ++j) row[j] = __fadd_rn(__fdiv_rn(row[j], s), p.hcEps);
    }
    auto normCols = [&] {
        for (int j = 0; j < hc; ++j) {
            float s = 0.0f;
            for (int r = 0; r < hc; ++r) s = __fadd_rn(s, c[r * hc + j]);
            const float d = __fadd_rn(s, p.hcEps);
            for (int r = 0; r < hc; ++r) c[r * hc + j] = __fdiv_rn(c[r * hc + j], d);
        }
    };
    auto normRows = [&] {
        for (int r = 0; r < hc; ++r) {
            float s = 0.0f;
            for (int j = 0; j < hc; ++j) s = __fadd_rn(s, c[r * hc + j]);
            const float d = __fadd_rn(s, p.hcEps);
            for (int j = 0; j < hc; ++j) c[r * hc + j] = __fdiv_rn(c[r * hc + j], d);
        }
    };
    normCols();
    for (int it = 1; it < p.iters; ++it) {
        normRows();
        normCols();
    }
    for (int i = 0; i < hc * hc; ++i) comb[i] = c[i];
}

// One block per token: the mixes (fn . v, a float dot per mix; mean(v^2) in double), the split by
// thread 0, then x = sum_i pre_i h_i by all threads.
__global__ void __launch_bounds__(kThreads) hcPreKernel(HcParams p) {
    __shared__ float partial[kThreads / 32][kMaxMixes];
    __shared__ double ssPartial[kThreads / 32];
    __shared__ float mixes[kMaxMixes];
    __shared__ float pre[kMaxCopies];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const std::int64_t t = blockIdx.x;
    const int mixN = p.head ? p.copies : (2 + p.copies) * p.copies;
    const std::int64_t width = std::int64_t(p.copies) * p.dim;
    const float* v = p.h + t * width;
    float acc[kMaxMixes];
#pragma unroll
    for (int m = 0; m < kMaxMixes; ++m) acc[m] = 0.0f;
    double ss = 0.0;
    for (std::int64_t k = threadIdx.x; k < width; k += blockDim.x) {
        const float vk = v[k];
        ss += double(vk) * double(vk);
#pragma unroll
        for (int m = 0; m < kMaxMixes; ++m)
            if (m < mixN) acc[m] = fmaf(p.fn[m * width + k], vk, acc[m]);
    }
#pragma unroll
    for (int m = 0; m < kMaxMixes; ++m) {
        const float s = detail::warpSum(acc[m]);
        if (lane == 0) partial[warp][m] = s;
    }
    ss = detail::warpSum(ss);
    if (lane == 0) ssPartial[warp] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        double tot = 0.0;
        for (int w = 0; w < kThreads / 32; ++w) tot += ssPartial[w];
        const float r = float(1.0 / sqrt(tot / double(width) + p.normEps));
        for (int m = 0; m < mixN; ++m) {
            float s = 0.0f;
            for (int w = 0; w < kThreads / 32; ++w) s += partial[w][m];
            mixes[m] = __fmul_rn(s, r);
        }
        float post[kMaxCopies], comb[kMaxCopies * kMaxCopies];
        split(mixes, p, pre, post, comb);
        if (!p.head) {
            for (int i = 0; i < p.copies; ++i) p.post[t * p.copies + i] = post[i];
            for (int i = 0; i < p.copies * p.copies; ++i) p.comb[t * p.copies * p.copies + i] = comb[i];
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < p.dim; i += blockDim.x) {
        float x = 0.0f;
        for (int c = 0; c < p.copies; ++c) x = __fadd_rn(x, __fmul_rn(pre[c], v[std::int64_t(c) * p.dim + i]));
        p.x[t * p.dim + i] = x;
    }
}

// grid (dim / 256, n): h'_j = post_j * y + sum_i comb[i][j] * h_i for one (token, dim index).
__global__ void hcPostKernel(float* h, const float* __restrict__ y, const float* __restrict__ post,
                             const float* __restrict__ comb, int copies, int dim) {
    const std::int64_t t = blockIdx.y;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= dim) return;
    float* ht = h + t * copies * dim;
    float old[kMaxCopies];
    for (int c = 0; c < copies; ++c) old[c] = ht[std::int64_t(c) * dim + i];
    const float yv = y[t * dim + i];
    const float* cb = comb + t * copies * copies;
    for (int j = 0; j < copies; ++j) {
        float d = __fmul_rn(post[t * copies + j], yv);
        for (int c = 0; c < copies; ++c) d = __fadd_rn(d, __fmul_rn(cb[c * copies + j], old[c]));
        ht[std::int64_t(j) * dim + i] = d;
    }
}

} // namespace

CudaStatus hcPre(const HcParams& p, void* stream) {
    if (p.n <= 0) return {};
    if (!p.h || !p.fn || !p.base || !p.scale || !p.x || p.copies < 1 || p.copies > kMaxCopies || p.dim <= 0 ||
        (!p.head && (!p.post || !p.comb)) || p.n > 0x7fffffff)
        return CudaStatus("hcPre: bad arguments (need h, fn, base, scale, x, and post/comb unless head; copies <= 4)");
    hcPreKernel<<<unsigned(p.n), kThreads, 0, detail::toStream(stream)>>>(p);
    FOLIO_CUDA_LAUNCHED(hcPreKernel);
    return {};
}

CudaStatus hcPost(float* h, const float* y, const float* post, const float* comb, std::int64_t n, int copies, int dim,
                  void* stream) {
    if (n <= 0) return {};
    if (!h || !y || !post || !comb || copies < 1 || copies > kMaxCopies || dim <= 0 || n > 65535)
        return CudaStatus("hcPost: bad arguments (need pointers, 1 <= copies <= 4, n <= 65535)");
    const int threads = 256;
    hcPostKernel<<<dim3(detail::blocksFor(dim, threads), unsigned(n)), threads, 0, detail::toStream(stream)>>>(
        h, y, post, comb, copies, dim);
    FOLIO_CUDA_LAUNCHED(hcPostKernel);
    return {};
}

} // namespace folio::kernels::cuda
