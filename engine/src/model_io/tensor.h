// A read-only view of one checkpoint tensor, memory-mapped from its safetensors shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace folio::model {

// Storage dtypes of safetensors files (deepseek-v4.md section 3). The values are stable: they are
// written into prefix-cache fingerprints.
enum class DType : int {
    BF16 = 0,
    F32 = 1,
    F16 = 2,
    F8_E4M3 = 3, // also spelled F8_E4M3FN
    F8_E8M0 = 4, // also spelled F8_E8M0FNU; UE8M0 scales
    I8 = 5,      // packed fp4 e2m1 for routed experts (two per byte, low nibble first)
    U8 = 6,
    I32 = 7,
    I64 = 8,
    F4 = 9,      // packed fp4 e2m1 spelled F4 by newer writers (shape is the logical one)
    F64 = 10,
    Q8_0 = 11,  // GGUF: ggml blocks of 32 (f16 scale + 32 int8); shape is the logical one
    MXFP4 = 12, // GGUF: ggml blocks of 32 (UE8M0 byte + 16 bytes of e2m1 pairs); logical shape
    // GGUF super-blocks of 256 (kernels/include/folio/kernels/gemm.h); shape is the logical one.
    Q4_K = 13,
    Q5_K = 14,
    Q6_K = 15,
    Q3_K = 16,
    Q2_K = 17,
    IQ4_XS = 18,
};

std::size_t dtypeBits(DType t);   // 4 for F4, else 8 * bytes; 0 for the GGUF block types
const char* dtypeName(DType t);   // the safetensors spelling
bool parseDType(const std::string& s, DType* out);
std::string shapeToString(const std::vector<std::int64_t>& shape); // "[129280, 4096]"

struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape; // as stored
    const std::uint8_t* data = nullptr;
    std::size_t nbytes = 0;
    std::string shard; // file name, for messages

    std::int64_t dim(int i) const { return shape[std::size_t(i)]; }
    std::int64_t numel() const {
        std::int64_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }
};

} // namespace folio::model
