#include "folio/kernels/cuda_runtime_probe.h"

namespace folio::kernels {

bool cudaCompiled() { return false; }

std::vector<CudaDeviceProps> cudaDevices(std::string* why) {
    if (why) *why = "no CUDA device: this build has no CUDA backend (nvcc was not found at configure time)";
    return {};
}

} // namespace folio::kernels
