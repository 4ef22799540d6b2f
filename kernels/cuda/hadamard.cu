// Walsh-Hadamard rotation of each row (model::hadamard): the same butterflies in the same order in
// shared memory, so the result is bit-identical to the CPU's.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

// One block of n/2 threads per row; each stage every thread computes one butterfly.
__global__ void hadamardKernel(float* x, int n, std::int64_t ld) {
    extern __shared__ float buf[];
    float* row = x + std::int64_t(blockIdx.x) * ld;
    for (int i = threadIdx.x; i < n; i += blockDim.x) buf[i] = row[i];
    __syncthreads();
    for (int h = 1; h < n; h *= 2) {
        for (int b = threadIdx.x; b < n / 2; b += blockDim.x) {
            // Butterfly b of this stage pairs j and j + h, j = (b / h) * 2h + b % h.
            const int j = (b / h) * 2 * h + (b % h);
            const float a = buf[j], c = buf[j + h];
            buf[j] = __fadd_rn(a, c);
            buf[j + h] = __fsub_rn(a, c);
        }
        __syncthreads();
    }
    const float s = float(1.0 / sqrt(double(n)));
    for (int i = threadIdx.x; i < n; i += blockDim.x) row[i] = __fmul_rn(buf[i], s);
}

} // namespace

CudaStatus hadamard(float* x, std::int64_t rows, int n, std::int64_t ld, void* stream) {
    if (rows <= 0) return {};
    if (!x || n < 2 || n > 1024 || (n & (n - 1)) != 0 || ld < n || rows > 0x7fffffff)
        return CudaStatus("hadamard: n must be a power of two in [2, 1024] and ld >= n");
    const int threads = n / 2 < 32 ? 32 : n / 2;
    hadamardKernel<<<unsigned(rows), threads, std::size_t(n) * sizeof(float), detail::toStream(stream)>>>(x, n, ld);
    FOLIO_CUDA_LAUNCHED(hadamardKernel);
    return {};
}

} // namespace folio::kernels::cuda
