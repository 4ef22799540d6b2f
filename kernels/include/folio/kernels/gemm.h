// Linear layers on the CPU: y[n, rows] = x[n, cols] . W[rows, cols]^T with W stored as in the
// checkpoint (f32, bf16, fp8 e4m3 with 128x128 UE8M0 block scales, or fp4 e2m1 packed two per byte
// with one UE8M0 scale per 32 inputs) or as in a GGUF file (ggml's Q8_0 and MXFP4 blocks). The weights are dequantized tile by tile inside the GEMM,
// never into a second copy of the model. Accumulation is fp32.
#pragma once

#include <cstdint>

namespace folio::kernels {

class ThreadPool;

// The GGUF formats are ggml's blocks, row-major, scales inside the blocks (no `scales`):
// Q8_0 = f16 scale + 32 int8 (value = scale x q; 34 bytes); MXFP4 = UE8M0 scale byte + 16 bytes
// whose low nibbles are inputs 0-15 and high nibbles inputs 16-31, e2m1 codes (17 bytes); F16 is
// IEEE half; the K-quants and IQ4_XS are super-blocks of 256 inputs with sub-block scales (ggml's
// block_q2_K .. block_q6_K, block_iq4_xs; kernels/cpu/generic/kernels_body.h decodes them).
enum class WeightFormat : int {
    F32 = 0, BF16 = 1, FP8Block128 = 2, FP4Row32 = 3, Q8_0 = 4, MXFP4 = 5,
    F16 = 6, Q4_K = 7, Q5_K = 8, Q6_K = 9, Q3_K = 10, Q2_K = 11, IQ4_XS = 12,
};

// Inputs and bytes per block of the formats that keep their scales inside the data (the GGUF
// ones; F16 as a block of one); {0, 0} for the checkpoint formats.
struct BlockLayout {
    int values = 0;
    int bytes = 0;
};
constexpr BlockLayout blockLayout(WeightFormat f) {
    switch (f) {
    case WeightFormat::Q8_0: return {32, 34};
    case WeightFormat::MXFP4: return {32, 17};
    case WeightFormat::F16: return {1, 2};
    case WeightFormat::Q4_K: return {256, 144};
    case WeightFormat::Q5_K: return {256, 176};
    case WeightFormat::Q6_K: return {256, 210};
    case WeightFormat::Q3_K: return {256, 110};
    case WeightFormat::Q2_K: return {256, 84};
    case WeightFormat::IQ4_XS: return {256, 136};
    default: return {};
    }
}

// Bytes of a rows x cols matrix's data (without the separate `scales` of fp8/fp4).
constexpr std::int64_t weightDataBytes(WeightFormat f, std::int64_t rows, std::int64_t cols) {
    switch (f) {
    case WeightFormat::F32: return 4 * rows * cols;
    case WeightFormat::BF16: return 2 * rows * cols;
    case WeightFormat::FP8Block128: return rows * cols;
    case WeightFormat::FP4Row32: return rows * cols / 2;
    default: {
        const BlockLayout b = blockLayout(f);
        return rows * (cols / b.values) * b.bytes;
    }
    }
}

// Bytes of a rows x cols matrix's separate `scales` (fp8: one per 128 x 128 block, fp4: one per 32
// inputs); 0 for the formats that keep them inside the data.
constexpr std::int64_t weightScaleBytes(WeightFormat f, std::int64_t rows, std::int64_t cols) {
    if (f == WeightFormat::FP8Block128) return (rows + 127) / 128 * ((cols + 127) / 128);
    if (f == WeightFormat::FP4Row32) return rows * (cols / 32);
    return 0;
}

// A short name: "F32", "BF16", "FP8", "FP4", "Q8_0", "MXFP4", "F16", "Q4_K", ...
const char* weightFormatName(WeightFormat f);

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
