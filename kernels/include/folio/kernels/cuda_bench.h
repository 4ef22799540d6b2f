// Measured peaks of the current CUDA device, for benchmarks that report a fraction of what the
// machine can do (folio-cli bench prefill|decode --device cuda). Only compiled with
// FOLIO_HAVE_CUDA.
#pragma once

#include "folio/kernels/cuda_memory.h"

namespace folio::kernels::cuda {

// The bf16 tensor-core peak as cuBLASLt delivers it: the best of several timed square GEMMs of
// `size` (bf16 inputs, fp32 accumulate and output), in TFLOP/s (2 * size^3 flops per GEMM).
CudaStatus measureBf16GemmTflops(double* tflops, int size = 8192);

// Device memory copy bandwidth: the best of several timed device-to-device copies of `bytes`,
// counting the bytes read plus the bytes written, in GB/s.
CudaStatus measureDeviceCopyGBs(double* gbPerS, std::size_t bytes = std::size_t(1) << 30);

} // namespace folio::kernels::cuda
