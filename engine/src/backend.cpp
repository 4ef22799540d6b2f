#include "folio/backend.h"

#include "folio/kernels/cuda_runtime_probe.h"

#include <thread>

namespace folio {

namespace {

std::string cpuName() {
    std::string features;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) features = "AVX-512";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) features = "AVX2+FMA";
    else if (__builtin_cpu_supports("avx")) features = "AVX";
    else features = "SSE";
#else
    features = "generic";
#endif
    return "CPU (" + std::to_string(std::thread::hardware_concurrency()) + " threads, " + features + ")";
}

} // namespace

BackendReport probeBackends() {
    BackendReport report;
    report.cudaCompiled = kernels::cudaCompiled();
    report.devices.push_back({DeviceKind::Cpu, cpuName(), 0});
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
