// The public CPU linear-layer entry points (gemm.h): each forwards to the active variant's table and
// keeps the totals the benchmarks report.
#include "folio/kernels/gemm.h"

#include "folio/kernels/thread_pool.h"
#include "kernel_table.h"

#include <atomic>
#include <chrono>

namespace folio::kernels {

namespace {
std::atomic<std::int64_t> gFlops{0}, gNanos{0};
}

void gemm(const float* x, std::int64_t n, std::int64_t ldx, const WeightMatrix& w, std::int64_t rowBegin,
          std::int64_t rowCount, float* y, std::int64_t ldy, ThreadPool* pool) {
    if (n <= 0 || rowCount <= 0) return;
    const auto started = std::chrono::steady_clock::now();
    cpuKernels().gemm(x, n, ldx, w, rowBegin, rowCount, y, ldy, pool);
    gFlops.fetch_add(2 * n * rowCount * w.cols, std::memory_order_relaxed);
    gNanos.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count(),
        std::memory_order_relaxed);
}

GemmTotals gemmTotals() { return {double(gFlops.load()), double(gNanos.load()) * 1e-9}; }

void resetGemmTotals() {
    gFlops = 0;
    gNanos = 0;
}

void dequantizeRow(const WeightMatrix& w, std::int64_t row, std::int64_t c0, std::int64_t len, float* out) {
    cpuKernels().dequantizeRow(w, row, c0, len, out);
}

void quantizeActivations(float* x, std::int64_t n, std::int64_t cols, ThreadPool* pool) {
    const CpuKernelTable& k = cpuKernels();
    if (pool && n > 1) pool->parallelFor(n, [&](std::int64_t t, int) { k.quantizeRows(x, t, t + 1, cols); });
    else k.quantizeRows(x, 0, n, cols);
}

const char* weightFormatName(WeightFormat f) {
    switch (f) {
    case WeightFormat::F32: return "F32";
    case WeightFormat::BF16: return "BF16";
    case WeightFormat::FP8Block128: return "FP8";
    case WeightFormat::FP4Row32: return "FP4";
    case WeightFormat::Q8_0: return "Q8_0";
    case WeightFormat::MXFP4: return "MXFP4";
    case WeightFormat::F16: return "F16";
    case WeightFormat::Q4_K: return "Q4_K";
    case WeightFormat::Q5_K: return "Q5_K";
    case WeightFormat::Q6_K: return "Q6_K";
    case WeightFormat::Q3_K: return "Q3_K";
    case WeightFormat::Q2_K: return "Q2_K";
    case WeightFormat::IQ4_XS: return "IQ4_XS";
    }
    return "?";
}

float dot(const float* a, const float* b, std::int64_t n) { return cpuKernels().dot(a, b, n); }

void axpy(float alpha, const float* x, float* y, std::int64_t n) { cpuKernels().axpy(alpha, x, y, n); }

} // namespace folio::kernels
