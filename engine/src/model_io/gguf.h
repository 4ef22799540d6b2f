// GGUF, llama.cpp's model container (version 3, little endian): a strict header parser over a
// memory-mapped file, and a writer (make-model and tests).
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count, then the metadata (key
// string, u32 value type, value), the tensor infos (name string, u32 n_dims, u64 dims innermost
// first, u32 ggml type, u64 offset within the data section), padding to `general.alignment`
// (32 when absent), and the data section, each tensor's offset a multiple of the alignment.
// Strings are a u64 byte length and UTF-8 bytes without a terminator.
#pragma once

#include "folio/status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace folio::model {

// ggml's tensor types by their on-disk id (ggml.h). Ids are stored in files: never renumber.
enum class GgmlType : std::uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35,
    MXFP4 = 39,
};

// A type's block: `blockElems` values (along the innermost dimension) in `blockBytes` bytes.
struct GgmlTypeTraits {
    const char* name;
    std::uint32_t blockElems;
    std::uint32_t blockBytes;
};

// nullptr for an id this build does not know (or ggml has retired).
const GgmlTypeTraits* ggmlTypeTraits(std::uint32_t id);

enum class GgufValueType : std::uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
    U64 = 10, I64 = 11, F64 = 12,
};

const char* ggufValueTypeName(GgufValueType t);

// One metadata value. Integers of every width are in `i` (u64 values above INT64_MAX are refused),
// floats in `f`, bools in `b`, strings in `s`; an array keeps its element type and its elements in
// `ints`, `floats` or `strings` (bools as 0/1 ints). Nested arrays are refused.
struct GgufValue {
    GgufValueType type = GgufValueType::U8;
    GgufValueType elementType = GgufValueType::U8; // arrays only
    std::int64_t i = 0;
    double f = 0;
    bool b = false;
    std::string s;
    std::vector<std::int64_t> ints;
    std::vector<double> floats;
    std::vector<std::string> strings;

    bool isInteger() const;
    bool isFloat() const { return type == GgufValueType::F32 || type == GgufValueType::F64; }
};

struct GgufTensorInfo {
    std::string name;
    std::vector<std::int64_t> dims; // innermost first, as stored
    std::uint32_t type = 0;         // a GgmlType id
    std::uint64_t offset = 0;       // within the data section
    std::uint64_t bytes = 0;        // from the type's block size and the dims
    std::int64_t elements() const;
};

struct GgufFile {
    std::uint32_t version = 0;
    std::uint64_t alignment = 32;
    std::vector<std::pair<std::string, GgufValue>> metadata; // in file order
    std::vector<GgufTensorInfo> tensors;                     // in file order
    std::uint64_t dataStart = 0;                             // byte offset of the data section

    const GgufValue* find(std::string_view key) const;
    const GgufTensorInfo* tensor(std::string_view name) const;
};

// Bounds a hostile file cannot push us past: allocations follow the counts only after they are
// checked against the bytes left.
inline constexpr int kGgufMaxDims = 4;

// Parses and validates the header of a whole GGUF file given as `size` bytes at `bytes`. Checks
// the magic, version 3 (1 and 2, and big-endian files, are named as such), every count and string
// length against the bytes left, UTF-8 keys, no duplicate key or tensor name, known value and
// tensor types, dims that fill whole blocks, offsets that are multiples of the alignment, tensors
// that do not overlap and end inside the file. `file` names the file in every message.
Result<GgufFile> parseGguf(const std::uint8_t* bytes, std::size_t size, const std::string& file);

// Writes a GGUF v3 file: metadata in the order added, tensors in the order added, each padded to
// the alignment. Values are typed by the overload used.
class GgufWriter {
public:
    explicit GgufWriter(std::uint32_t alignment = 32);

    void addU32(const std::string& key, std::uint32_t v);
    void addI32(const std::string& key, std::int32_t v);
    void addU64(const std::string& key, std::uint64_t v);
    void addF32(const std::string& key, float v);
    void addBool(const std::string& key, bool v);
    void addString(const std::string& key, const std::string& v);
    void addI32Array(const std::string& key, const std::vector<std::int32_t>& v);
    void addF32Array(const std::string& key, const std::vector<float>& v);
    void addStringArray(const std::string& key, const std::vector<std::string>& v);

    // `data` must hold the type's size for `dims` (innermost first).
    void addTensor(const std::string& name, const std::vector<std::int64_t>& dims, GgmlType type,
                   std::vector<std::uint8_t> data);

    // The whole file in memory (tests), or written to `path` (atomically: a temporary, then renamed).
    std::vector<std::uint8_t> bytes() const;
    Status write(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        std::vector<std::int64_t> dims;
        GgmlType type;
        std::vector<std::uint8_t> data;
    };
    std::uint32_t alignment_;
    std::vector<std::uint8_t> kv_; // the encoded metadata
    std::uint64_t kvCount_ = 0;
    std::vector<Tensor> tensors_;
};

} // namespace folio::model
