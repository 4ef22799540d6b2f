#include "folio/kernels/machine_probe.h"

#include "folio/kernels/thread_pool.h"
#include "folio/kernels/vec_ops.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

namespace folio::kernels {

namespace {

constexpr int kLanes = kVecLanes;
using vec = vecf;

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// 12 independent FMA chains hide the FMA latency (4 cycles x 2 ports needs >= 8).
double fmaLoop(long iters) {
    vec acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = vec{} + float(i) * 1e-3f;
    const vec a = vec{} + 0.999999f, b = vec{} + 1e-7f;
    for (long it = 0; it < iters; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = acc[i] * a + b;
    float s = 0;
    for (int i = 0; i < 12; ++i) s += acc[i][0];
    return double(s);
}

} // namespace

double measureFmaPeakGflops(ThreadPool& pool, double seconds) {
    const long iters = 2'000'000;
    std::atomic<double> sink{0};
    double best = 0;
    const double t0 = now();
    while (now() - t0 < seconds) {
        const double s = now();
        pool.parallelFor(pool.size(), [&](std::int64_t, int) { sink = sink + fmaLoop(iters); });
        const double dt = now() - s;
        const double flops = double(pool.size()) * double(iters) * 12.0 * kLanes * 2.0;
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
    const std::size_t part = floats / std::size_t(parts) / kLanes * kLanes;
    std::atomic<double> sink{0};
    double best = 0;
    const double t0 = now();
    while (now() - t0 < seconds) {
        const double s = now();
        pool.parallelFor(parts, [&](std::int64_t i, int) {
            const float* p = src.data() + std::size_t(i) * part;
            vec a0{}, a1{}, a2{}, a3{};
            for (std::size_t k = 0; k < part; k += 4 * kLanes) {
                a0 += vload(p + k);
                a1 += vload(p + k + kLanes);
                a2 += vload(p + k + 2 * kLanes);
                a3 += vload(p + k + 3 * kLanes);
            }
            const vec t = (a0 + a1) + (a2 + a3);
            sink = sink + double(t[0]);
        });
        best = std::max(best, double(part * std::size_t(parts) * sizeof(float)) / (now() - s) / 1e9);
    }
    return sink.load() < 0 ? 0 : best;
}

} // namespace folio::kernels
