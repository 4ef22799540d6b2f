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
            JsonLine()
                .add("device", d.kind == DeviceKind::Cuda ? "cuda" : "cpu")
                .add("name", d.name)
                .add("memory_bytes", static_cast<std::uint64_t>(d.memoryBytes))
                .print();
        }
        if (report.devices.size() == 1)
            JsonLine().add("device", "cuda").add("available", false).add("reason", report.cudaMessage).print();
        return ExitOk;
    }
    for (const DeviceInfo& d : report.devices) std::printf("%s\n", d.name.c_str());
    if (report.devices.size() == 1) std::printf("%s; the CPU is used\n", report.cudaMessage.c_str());
    return ExitOk;
}

} // namespace

const Command kDevicesCommand{
    "devices", "List the CPU and CUDA devices the engine can use",
    "Usage: folio-cli devices [--json]\n\n"
    "Lists the CPU and every usable CUDA device. Without a GPU or driver it says why CUDA is not\n"
    "used; the engine then runs on the CPU.\n",
    run};

} // namespace folio::cli
