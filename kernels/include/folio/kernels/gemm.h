// Linear layers on the CPU: y[n, rows] = x[n, cols] . W[rows, cols]^T with W stored as in the
// checkpoint (f32, bf16, fp8 e4m3 with 128x128 UE8M0 block scales, or fp4 e2m1 packed two per byte
// with one UE8M0 scale per 32 inputs) or as in a GGUF file (ggml's Q8_0 and MXFP4 blocks). The weights are dequantized tile by tile inside the GEMM,
// never into a second copy of the model. Accumulation is fp32.
#pragma once

#include <cstdint>

namespace folio::kernels {

class ThreadPool;

// Q8_0 and MXFP4 are ggml's blocks of 32 inputs, row-major, scales inside the blocks (no `scales`):
// Q8_0 = f16 scale + 32 int8 (value = scale x q; 34 bytes); MXFP4 = UE8M0 scale byte + 16 bytes
// whose low nibbles are inputs 0-15 and high nibbles inputs 16-31, e2m1 codes (17 bytes).
enum class WeightFormat : int { F32 = 0, BF16 = 1, FP8Block128 = 2, FP4Row32 = 3, Q8_0 = 4, MXFP4 = 5 };

struct WeightMatrix {
    WeightFormat format = WeightFormat::F32;
    std::int64_t rows = 0; // outputs
    std::int64_t cols = 0; // inputs (logical, also for packed fp4)
    const void* data = nullptr;
    // FP8Block128: [ceil(rows/128), ceil(cols/128)] bytes; FP4Row32: [rows, cols/32] bytes.
    const std::uint8_t* scales = nullptr;

    // Whether the scales come in their own array (`scales`).
    bool quantized() const {
        return format == WeightFormat::FP8Block128 || format == WeightFormat::FP4Row32;
    }
};

// y[n, rowCount] = x[n, cols] . W[rowBegin : rowBegin + rowCount]^T. `x` rows are `ldx` floats
// apart, `y` rows `ldy` floats apart. Multithreaded over output tiles when `pool` is given.
void gemm(const float* x, std::int64_t n, std::int64_t ldx, const WeightMatrix& w, std::int64_t rowBegin,
          std::int64_t rowCount, float* y, std::int64_t ldy, ThreadPool* pool);

inline void gemm(const float* x, std::int64_t n, const WeightMatrix& w, float* y, ThreadPool* pool) {
    gemm(x, n, w.cols, w, 0, w.rows, y, w.rows, pool);
}

// Totals of every gemm() call since the last reset, for benchmarks: flops (2*n*rows*cols) and
// wall time spent inside gemm.
struct GemmTotals {
    double flops = 0;
    double seconds = 0;
};
GemmTotals gemmTotals();
void resetGemmTotals();

// Dequantizes row `row`, columns [c0, c0 + len), of W into out (f32).
void dequantizeRow(const WeightMatrix& w, std::int64_t row, std::int64_t c0, std::int64_t len, float* out);

// The reference's dynamic activation quantization before an fp8/fp4 GEMM: each row of x [n, cols]
// is rounded through e4m3 with one power-of-two (UE8M0) scale per 128 columns. In place.
void quantizeActivations(float* x, std::int64_t n, std::int64_t cols, ThreadPool* pool);

} // namespace folio::kernels
