// The dispatch table of the CPU kernels: one per instruction-set variant, each filled by its own
// translation units (baseline/, avx2/, avx512/), compiled with that variant's flags. Nothing in this
// header depends on the compiler's target macros, so every translation unit sees the same table.
//
// A variant's code lives in its own namespace and, inside it, in an anonymous namespace wherever it
// can: an inline function or template instantiation with external linkage compiled with AVX-512
// flags could otherwise be the copy the linker keeps for the whole program (test_kernel_symbols
// checks the object files for such symbols).
#pragma once

#include "folio/kernels/gemm.h"

#include <cstddef>
#include <cstdint>

namespace folio::kernels {

class ThreadPool;

struct CpuKernelTable {
    const char* name;
    int lanes; // f32 lanes of the vectors this variant computes with

    // gemm.h's contract (y = x . W^T); includes the one-token path, bit-identical to a batch.
    void (*gemm)(const float* x, std::int64_t n, std::int64_t ldx, const WeightMatrix& w, std::int64_t rowBegin,
                 std::int64_t rowCount, float* y, std::int64_t ldy, ThreadPool* pool);
    void (*dequantizeRow)(const WeightMatrix& w, std::int64_t row, std::int64_t c0, std::int64_t len, float* out);
    // Rows [r0, r1) of x [*, cols] rounded through e4m3 with a UE8M0 scale per 128 columns.
    void (*quantizeRows)(float* x, std::int64_t r0, std::int64_t r1, std::int64_t cols);

    float (*dot)(const float* a, const float* b, std::int64_t n);
    void (*axpy)(float alpha, const float* x, float* y, std::int64_t n);

    // The machine probes' inner loops: `iters` rounds of 12 independent FMA chains of `lanes`
    // lanes (returns a value that depends on all of them); the sum of n floats (n % (4 lanes) == 0).
    double (*fmaLoop)(long iters);
    float (*sumFloats)(const float* p, std::size_t n);
};

namespace baseline {
const CpuKernelTable& kernelTable();
}
namespace avx2 {
const CpuKernelTable& kernelTable();
}
namespace avx512 {
const CpuKernelTable& kernelTable();
}

// The table of the active variant (cpu_dispatch.h's activeCpuVariant()).
const CpuKernelTable& cpuKernels();

} // namespace folio::kernels
