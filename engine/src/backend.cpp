#include "folio/backend.h"

#include "folio/kernels/cpu_dispatch.h"
#include "folio/kernels/cuda_runtime_probe.h"

#include <stdexcept>
#include <thread>

namespace folio {

bool cpuKernelsUsable(std::string* error) {
    try {
        (void)kernels::activeCpuVariant();
        return true;
    } catch (const std::exception& e) {
        if (error) *error = e.what();
        return false;
    }
}

BackendReport probeBackends() {
    BackendReport report;
    report.cudaCompiled = kernels::cudaCompiled();
    std::string error;
    std::string variant = "unusable";
    if (cpuKernelsUsable(&error)) {
        variant = kernels::cpuVariantName(kernels::activeCpuVariant());
        report.cpuKernels = variant;
        report.cpuKernelsDetail = kernels::cpuVariantDescription();
    } else {
        report.cpuKernelsDetail = error;
    }
    report.devices.push_back({DeviceKind::Cpu,
                              "CPU (" + std::to_string(std::thread::hardware_concurrency()) + " threads, " +
                                  variant + " kernels)",
                              0});
    std::string why;
    for (const auto& d : kernels::cudaDevices(&why)) {
        report.devices.push_back({DeviceKind::Cuda,
                                  d.name + " (sm_" + std::to_string(d.smMajor) +
                                      std::to_string(d.smMinor) + ")",
                                  d.totalMemory});
    }
    report.cudaMessage = why;
    return report;
}

DeviceKind chooseDevice(const std::string& request, const BackendReport& report, std::string* note) {
    const bool haveCuda = report.devices.size() > 1;
    if (request == "cpu") return DeviceKind::Cpu;
    if (haveCuda) return DeviceKind::Cuda;
    if (request == "cuda" && note) *note = report.cudaMessage + "; using the CPU";
    return DeviceKind::Cpu;
}

} // namespace folio
