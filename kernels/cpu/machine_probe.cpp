#include "folio/kernels/machine_probe.h"

#include "folio/kernels/thread_pool.h"
#include "kernel_table.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

namespace folio::kernels {

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

double measureFmaPeakGflops(ThreadPool& pool, double seconds) {
    const long iters = 2'000'000;
    const CpuKernelTable& k = cpuKernels(); // the active variant's width: ymm FMAs on avx2
    std::atomic<double> sink{0};
    double best = 0;
    const double t0 = now();
    while (now() - t0 < seconds) {
        const double s = now();
        pool.parallelFor(pool.size(), [&](std::int64_t, int) { sink = sink + k.fmaLoop(iters); });
        const double dt = now() - s;
        const double flops = double(pool.size()) * double(iters) * 12.0 * k.lanes * 2.0;
        best = std::max(best, flops / dt / 1e9);
    }
    return best;
}

double measureCopyBandwidthGBs(ThreadPool& pool, double seconds) {
    const std::size_t bytes = std::size_t(512) << 20;
    std::vector<char> src(bytes, 1), dst(bytes, 0);
    const std::int64_t parts = pool.size() * 8;
    const std::size_t part = bytes / std::size_t(parts);
    double best = 0;
    const double t0 = now();
    while (now() - t0 < seconds) {
        const double s = now();
        pool.parallelFor(parts, [&](std::int64_t i, int) {
            std::memcpy(dst.data() + std::size_t(i) * part, src.data() + std::size_t(i) * part, part);
        });
        best = std::max(best, double(bytes) / (now() - s) / 1e9);
    }
    return best;
}

double measureReadBandwidthGBs(ThreadPool& pool, double seconds) {
    const std::size_t floats = std::size_t(128) << 20; // 512 MiB
    std::vector<float> src(floats, 1.0f);
    const std::int64_t parts = pool.size() * 8;
    const CpuKernelTable& k = cpuKernels();
    const std::size_t part = floats / std::size_t(parts) / std::size_t(4 * k.lanes) * std::size_t(4 * k.lanes);
    std::atomic<double> sink{0};
    double best = 0;
    const double t0 = now();
    while (now() - t0 < seconds) {
        const double s = now();
        pool.parallelFor(parts, [&](std::int64_t i, int) {
            sink = sink + double(k.sumFloats(src.data() + std::size_t(i) * part, part));
        });
        best = std::max(best, double(part * std::size_t(parts) * sizeof(float)) / (now() - s) / 1e9);
    }
    return sink.load() < 0 ? 0 : best;
}

} // namespace folio::kernels
