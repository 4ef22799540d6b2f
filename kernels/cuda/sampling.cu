// Sampling on the device, as the engine's Sampler does it on the CPU: greedy argmax (first of
// equals), or temperature probabilities in double sorted descending (a stable radix sort keeps equal
// probabilities in id order), the top-p prefix, and an inverse-CDF draw with a caller-supplied u.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

namespace folio::kernels::cuda {

namespace {

constexpr int kThreads = 1024;

// Block-wide argmax; thread 0 gets the result.
__device__ void blockArgmax(const float* x, std::int64_t count, float* bestV, int* bestI) {
    __shared__ float wv[32];
    __shared__ int wi[32];
    float bv = -INFINITY;
    int bi = 0x7fffffff;
    for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x)
        if (detail::better(x[i], int(i), bv, bi)) {
            bv = x[i];
            bi = int(i);
        }
    detail::warpArgBest(bv, bi);
    if ((threadIdx.x & 31) == 0) {
        wv[threadIdx.x >> 5] = bv;
        wi[threadIdx.x >> 5] = bi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < int(blockDim.x >> 5); ++w)
            if (detail::better(wv[w], wi[w], bv, bi)) {
                bv = wv[w];
                bi = wi[w];
            }
        *bestV = bv;
        *bestI = bi;
    }
}

__global__ void __launch_bounds__(kThreads) argmaxKernel(const float* __restrict__ x, std::int64_t count,
                                                         std::int32_t* token) {
    float v;
    int i;
    blockArgmax(x, count, &v, &i);
    if (threadIdx.x == 0) *token = i;
}

// p_i = exp(double(l_i - max) / T); ids 0..count-1.
__global__ void __launch_bounds__(kThreads) probsKernel(const float* __restrict__ x, std::int64_t count, float temperature,
                                                        double* __restrict__ probs, std::int32_t* __restrict__ ids) {
    __shared__ float mx;
    __shared__ int mi;
    blockArgmax(x, count, &mx, &mi);
    __syncthreads();
    const float m = mx;
    for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x) {
        probs[i] = exp(double(__fsub_rn(x[i], m)) / double(temperature));
        ids[i] = std::int32_t(i);
    }
}

// One thread: the running mass is monotone, so both cut points are binary searches.
__global__ void pickKernel(const double* __restrict__ scan, const std::int32_t* __restrict__ sortedIds,
                           std::int64_t count, float topP, double u01, std::int32_t* token) {
    const double sum = scan[count - 1];
    std::int64_t keep = count;
    if (topP < 1.0f) {
        // The smallest prefix whose mass reaches topP: first i with scan[i] / sum >= topP.
        std::int64_t lo = 0, hi = count - 1;
        while (lo < hi) {
            const std::int64_t mid = (lo + hi) / 2;
            if (scan[mid] / sum >= double(topP)) hi = mid;
            else lo = mid + 1;
        }
        keep = lo + 1;
    }
    const double target = u01 * scan[keep - 1];
    // First i < keep with scan[i] > target.
    std::int64_t lo = 0, hi = keep - 1;
    while (lo < hi) {
        const std::int64_t mid = (lo + hi) / 2;
        if (scan[mid] > target) hi = mid;
        else lo = mid + 1;
    }
    *token = sortedIds[lo];
}

} // namespace

CudaStatus argmax(const float* logits, std::int64_t count, std::int32_t* token, void* stream) {
    if (!logits || !token || count <= 0 || count > 0x7fffffff)
        return CudaStatus("argmax: bad arguments (need logits, token, 0 < count < 2^31)");
    argmaxKernel<<<1, kThreads, 0, detail::toStream(stream)>>>(logits, count, token);
    FOLIO_CUDA_LAUNCHED(argmaxKernel);
    return {};
}

CudaStatus SamplerWorkspace::prepare(std::int64_t n) {
    if (n == count && temp.data()) return {};
    if (n <= 0 || n > 0x7fffffff) return CudaStatus("SamplerWorkspace: bad vocabulary size " + std::to_string(n));
    std::size_t sortBytes = 0, scanBytes = 0;
    FOLIO_CUDA_TRY(cub::DeviceRadixSort::SortPairsDescending(nullptr, sortBytes, static_cast<const double*>(nullptr),
                                                             static_cast<double*>(nullptr),
                                                             static_cast<const std::int32_t*>(nullptr),
                                                             static_cast<std::int32_t*>(nullptr), int(n)));
    FOLIO_CUDA_TRY(cub::DeviceScan::InclusiveSum(nullptr, scanBytes, static_cast<const double*>(nullptr),
                                                 static_cast<double*>(nullptr), int(n)));
    tempBytes = sortBytes > scanBytes ? sortBytes : scanBytes;
    FOLIO_STATUS_TRY(probs.allocate(std::size_t(n) * sizeof(double)));
    FOLIO_STATUS_TRY(sortedProbs.allocate(std::size_t(n) * sizeof(double)));
    FOLIO_STATUS_TRY(scan.allocate(std::size_t(n) * sizeof(double)));
    FOLIO_STATUS_TRY(ids.allocate(std::size_t(n) * sizeof(std::int32_t)));
    FOLIO_STATUS_TRY(sortedIds.allocate(std::size_t(n) * sizeof(std::int32_t)));
    FOLIO_STATUS_TRY(temp.allocate(tempBytes > 0 ? tempBytes : 1));
    count = n;
    return {};
}

CudaStatus sampleTopP(const float* logits, std::int64_t count, float temperature, float topP, double u01,
                      SamplerWorkspace& ws, std::int32_t* token, void* stream) {
    if (temperature <= 0.0f) return argmax(logits, count, token, stream);
    if (!logits || !token || count <= 0) return CudaStatus("sampleTopP: bad arguments (need logits, token, count > 0)");
    if (!(u01 >= 0.0 && u01 < 1.0)) return CudaStatus("sampleTopP: u01 must lie in [0, 1)");
    FOLIO_STATUS_TRY(ws.prepare(count));
    const cudaStream_t s = detail::toStream(stream);
    probsKernel<<<1, kThreads, 0, s>>>(logits, count, temperature, ws.probs.as<double>(), ws.ids.as<std::int32_t>());
    FOLIO_CUDA_LAUNCHED(probsKernel);
    std::size_t bytes = ws.tempBytes;
    FOLIO_CUDA_TRY(cub::DeviceRadixSort::SortPairsDescending(ws.temp.data(), bytes, ws.probs.as<const double>(),
                                                             ws.sortedProbs.as<double>(), ws.ids.as<const std::int32_t>(),
                                                             ws.sortedIds.as<std::int32_t>(), int(count), 0, 64, s));
    bytes = ws.tempBytes;
    FOLIO_CUDA_TRY(cub::DeviceScan::InclusiveSum(ws.temp.data(), bytes, ws.sortedProbs.as<const double>(),
                                                 ws.scan.as<double>(), int(count), s));
    pickKernel<<<1, 1, 0, s>>>(ws.scan.as<const double>(), ws.sortedIds.as<const std::int32_t>(), count, topP, u01,
                               token);
    FOLIO_CUDA_LAUNCHED(pickKernel);
    return {};
}

} // namespace folio::kernels::cuda
