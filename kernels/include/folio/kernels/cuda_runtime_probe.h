// A CUDA device query that is safe without a GPU. Compiled from cuda/ when the CUDA backend is built,
// from cpu/ otherwise.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace folio::kernels {

struct CudaDeviceProps {
    std::string name;
    std::size_t totalMemory = 0;
    int smMajor = 0;
    int smMinor = 0;
};

// True when this build contains the CUDA backend.
bool cudaCompiled();

// Lists usable devices. Without a driver or GPU returns an empty list and sets *why (never throws,
// never reads cudaGetDeviceCount's output when it reported an error).
std::vector<CudaDeviceProps> cudaDevices(std::string* why);

} // namespace folio::kernels
