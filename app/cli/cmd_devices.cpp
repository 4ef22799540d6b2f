// folio-cli devices: the compute devices this build can use on this machine.
#include "args.h"
#include "cli.h"
#include "json_line.h"

#include "folio/backend.h"

#include <cstdio>

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    Args args({"json"}, {});
    if (!args.parse(argv)) return fail("devices", args.error(), ExitUsage);
    const BackendReport report = probeBackends();
    if (args.has("json")) {
        for (const DeviceInfo& d : report.devices) {
            JsonLine line;
            line.add("device", d.kind == DeviceKind::Cuda ? "cuda" : "cpu")
                .add("name", d.name)
                .add("memory_bytes", static_cast<std::uint64_t>(d.memoryBytes));
            if (d.kind == DeviceKind::Cpu)
                line.add("cpu_kernels", report.cpuKernels).add("cpu_kernels_detail", report.cpuKernelsDetail);
            line.print();
        }
        if (report.devices.size() == 1)
            JsonLine().add("device", "cuda").add("available", false).add("reason", report.cudaMessage).print();
        return ExitOk;
    }
    for (const DeviceInfo& d : report.devices) {
        std::printf("%s\n", d.name.c_str());
        if (d.kind == DeviceKind::Cpu) std::printf("  %s\n", report.cpuKernelsDetail.c_str());
    }
    if (report.devices.size() == 1) std::printf("%s; the CPU is used\n", report.cudaMessage.c_str());
    return ExitOk;
}

} // namespace

const Command kDevicesCommand{
    "devices", "List the CPU and CUDA devices the engine can use",
    "Usage: folio-cli devices [--json]\n\n"
    "Lists the CPU and every usable CUDA device. Without a GPU or driver it says why CUDA is not\n"
    "used; the engine then runs on the CPU. The CPU line names the kernel variant that runs\n"
    "(baseline, avx2, avx512: the best this CPU has, or FOLIO_CPU=baseline|avx2|avx512 to force one).\n",
    run};

} // namespace folio::cli
