// Measurements of the machine itself, for benchmarks to report achieved fractions against:
// fp32 FMA peak (register-only FMA chains on every thread) and memory copy bandwidth.
#pragma once

namespace folio::kernels {

class ThreadPool;

// GFLOP/s of fused multiply-adds (2 flops each) on all threads of `pool`, for about `seconds`.
double measureFmaPeakGflops(ThreadPool& pool, double seconds = 0.3);

// GB/s of memcpy over a buffer much larger than the caches, counting the copied size once (as
// memcpy benchmarks such as mbw do; STREAM's "copy" counts the bytes read and written, twice this).
double measureCopyBandwidthGBs(ThreadPool& pool, double seconds = 0.3);

// GB/s of reading a buffer much larger than the caches on every thread (summing it), the access a
// decode step makes of the weights.
double measureReadBandwidthGBs(ThreadPool& pool, double seconds = 0.3);

} // namespace folio::kernels
