#include "cuda_check.cuh"
#include "folio/kernels/cuda_runtime_probe.h"

#include <cublas_v2.h>

namespace folio::kernels {

std::string cudaErrorText(cudaError_t err, const char* stmt, const char* file, int line) {
    return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ") in `" + stmt +
           "` at " + file + ":" + std::to_string(line);
}

std::string cublasErrorText(cublasStatus_t err, const char* stmt, const char* file, int line) {
    return std::string(cublasGetStatusName(err)) + " (" + cublasGetStatusString(err) + ") in `" +
           stmt + "` at " + file + ":" + std::to_string(line);
}

bool cudaCompiled() { return true; }

std::vector<CudaDeviceProps> cudaDevices(std::string* why) {
    std::vector<CudaDeviceProps> out;
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        // Without a driver or GPU the call fails and `count` must not be trusted.
        if (why) *why = std::string("no CUDA device: ") + cudaGetErrorString(err);
        (void)cudaGetLastError();
        return out;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
            (void)cudaGetLastError();
            continue;
        }
        out.push_back({p.name, p.totalGlobalMem, p.major, p.minor});
    }
    if (out.empty() && why) *why = "no CUDA device: the driver reports none";
    return out;
}

} // namespace folio::kernels
