// Folio's own quantizers into ggml's block formats, used to write GGUF files (make-model --gguf,
// the tests): one row of `cols` floats into the type's blocks. They aim at sound, simple choices
// (per sub-block range, scales rounded to the format's bits), not at llama-quantize's search for
// the least error; the kernels' dequantization (kernels/cpu/generic/kquants.h) reads them back.
#pragma once

#include "gguf.h"

#include <cstddef>
#include <cstdint>

namespace folio::model {

// IEEE half of f, rounding to nearest even; saturates to infinity above the half range.
std::uint16_t f32ToHalf(float f);

// Whether rows of `cols` values can be written as `type` (the types below, whole blocks only).
bool ggmlWritable(GgmlType type, std::int64_t cols);

// Bytes of one row of `cols` values as `type`.
std::size_t ggmlRowBytes(GgmlType type, std::int64_t cols);

// Writes x[0, cols) as `type` (F32, F16, BF16, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) into
// out[0, ggmlRowBytes). The caller checked ggmlWritable.
void quantizeRowGgml(GgmlType type, const float* x, std::int64_t cols, std::uint8_t* out);

} // namespace folio::model
