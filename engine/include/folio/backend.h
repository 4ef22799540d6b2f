// Which compute backends this build and this machine offer.
#pragma once

#include <string>
#include <vector>

namespace folio {

enum class DeviceKind : int { Cpu = 0, Cuda = 1 };

struct DeviceInfo {
    DeviceKind kind = DeviceKind::Cpu;
    std::string name;          // "CPU (2 threads, AVX2+FMA)" or "NVIDIA H100 80GB HBM3"
    std::size_t memoryBytes = 0; // device memory; 0 when unknown
};

struct BackendReport {
    bool cudaCompiled = false;     // the CUDA backend is part of this build
    std::string cpuKernels;        // the CPU kernel variant in use: "baseline", "avx2", "avx512"
    std::string cpuKernelsDetail;  // how it was chosen and what the CPU has, or why FOLIO_CPU fails
    std::vector<DeviceInfo> devices; // the CPU first, then every usable CUDA device
    std::string cudaMessage;       // why no CUDA device is used ("no CUDA device: ...")
};

// Whether the CPU kernels can run as FOLIO_CPU asks (unset or "auto": the best variant this CPU
// has). False, with a message naming the choices or what the CPU lacks, for an unknown variant or one
// this CPU cannot run; mains check it before anything else, so that nothing dies of SIGILL.
bool cpuKernelsUsable(std::string* error);

// Probes the machine. Never crashes without a GPU or driver: it reports why CUDA is unavailable.
BackendReport probeBackends();

// "cpu", "cuda" or "auto" -> the device to run on. "cuda" without a device falls back to the CPU and
// says so in `note`.
DeviceKind chooseDevice(const std::string& request, const BackendReport& report, std::string* note);

} // namespace folio
