// Measured peaks of the device (cuda_bench.h): a large cuBLASLt bf16 GEMM and a large on-device
// copy, each timed with events, the best of several repetitions after a warm-up.
#include "device_common.cuh"
#include "folio/kernels/cuda_bench.h"
#include "folio/kernels/cuda_ops.h"

#include <algorithm>

namespace folio::kernels::cuda {

CudaStatus measureBf16GemmTflops(double* tflops, int size) {
    if (!tflops || size <= 0) return CudaStatus("measureBf16GemmTflops: bad arguments");
    const std::size_t n = std::size_t(size);
    Stream stream;
    FOLIO_STATUS_TRY(stream.create());
    BlasContext blas;
    FOLIO_STATUS_TRY(blas.create());
    DeviceBuffer a, b, c;
    FOLIO_STATUS_TRY(a.allocate(n * n * 2));
    FOLIO_STATUS_TRY(b.allocate(n * n * 2));
    FOLIO_STATUS_TRY(c.allocate(n * n * 4));
    // 0x3c00 is bf16 1.0: finite inputs, the values do not change the timing.
    FOLIO_STATUS_TRY(fillBytes(a.data(), 0x3c, n * n * 2, stream.get()));
    FOLIO_STATUS_TRY(fillBytes(b.data(), 0x3c, n * n * 2, stream.get()));
    Event start, stop;
    FOLIO_STATUS_TRY(start.create(true));
    FOLIO_STATUS_TRY(stop.create(true));
    auto gemm = [&] {
        return gemmBf16(blas, a.as<std::uint16_t>(), size, size, b.as<std::uint16_t>(), size, size,
                        c.as<float>(), size, stream.get());
    };
    FOLIO_STATUS_TRY(gemm()); // warm-up: algorithm selection, clocks
    float best = 1e30f;
    for (int rep = 0; rep < 5; ++rep) {
        FOLIO_STATUS_TRY(start.record(stream.get()));
        for (int i = 0; i < 3; ++i) FOLIO_STATUS_TRY(gemm());
        FOLIO_STATUS_TRY(stop.record(stream.get()));
        FOLIO_STATUS_TRY(stop.synchronize());
        float ms = 0;
        FOLIO_STATUS_TRY(elapsedMs(start, stop, &ms));
        best = std::min(best, ms / 3.0f);
    }
    *tflops = 2.0 * double(size) * double(size) * double(size) / (double(best) * 1e-3) / 1e12;
    return {};
}

CudaStatus measureDeviceCopyGBs(double* gbPerS, std::size_t bytes) {
    if (!gbPerS || bytes == 0) return CudaStatus("measureDeviceCopyGBs: bad arguments");
    Stream stream;
    FOLIO_STATUS_TRY(stream.create());
    DeviceBuffer src, dst;
    FOLIO_STATUS_TRY(src.allocate(bytes));
    FOLIO_STATUS_TRY(dst.allocate(bytes));
    FOLIO_STATUS_TRY(fillBytes(src.data(), 1, bytes, stream.get()));
    Event start, stop;
    FOLIO_STATUS_TRY(start.create(true));
    FOLIO_STATUS_TRY(stop.create(true));
    FOLIO_STATUS_TRY(copyOnDevice(dst.data(), src.data(), bytes, stream.get())); // warm-up
    float best = 1e30f;
    for (int rep = 0; rep < 5; ++rep) {
        FOLIO_STATUS_TRY(start.record(stream.get()));
        FOLIO_STATUS_TRY(copyOnDevice(dst.data(), src.data(), bytes, stream.get()));
        FOLIO_STATUS_TRY(stop.record(stream.get()));
        FOLIO_STATUS_TRY(stop.synchronize());
        float ms = 0;
        FOLIO_STATUS_TRY(elapsedMs(start, stop, &ms));
        best = std::min(best, ms);
    }
    *gbPerS = 2.0 * double(bytes) / (double(best) * 1e-3) / 1e9;
    return {};
}

} // namespace folio::kernels::cuda
