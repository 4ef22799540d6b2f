// The safetensors dtype spellings of deepseek-v4.md section 3.
#include "tensor.h"

namespace folio::model {

std::size_t dtypeBits(DType t) {
    switch (t) {
    case DType::F4: return 4;
    case DType::F8_E4M3:
    case DType::F8_E8M0:
    case DType::I8:
    case DType::U8: return 8;
    case DType::BF16:
    case DType::F16: return 16;
    case DType::F32:
    case DType::I32: return 32;
    case DType::I64:
    case DType::F64: return 64;
    case DType::Q8_0:
    case DType::MXFP4:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
    case DType::Q3_K:
    case DType::Q2_K:
    case DType::IQ4_XS: return 0; // whole blocks only
    }
    return 0;
}

const char* dtypeName(DType t) {
    switch (t) {
    case DType::BF16: return "BF16";
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::F8_E4M3: return "F8_E4M3";
    case DType::F8_E8M0: return "F8_E8M0";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::F4: return "F4";
    case DType::F64: return "F64";
    case DType::Q8_0: return "Q8_0";
    case DType::MXFP4: return "MXFP4";
    case DType::Q4_K: return "Q4_K";
    case DType::Q5_K: return "Q5_K";
    case DType::Q6_K: return "Q6_K";
    case DType::Q3_K: return "Q3_K";
    case DType::Q2_K: return "Q2_K";
    case DType::IQ4_XS: return "IQ4_XS";
    }
    return "?";
}

bool parseDType(const std::string& s, DType* out) {
    struct Spelling {
        const char* name;
        DType type;
    };
    static constexpr Spelling kSpellings[] = {
        {"BF16", DType::BF16},       {"F32", DType::F32},          {"F16", DType::F16},
        {"F64", DType::F64},         {"I64", DType::I64},          {"I32", DType::I32},
        {"I8", DType::I8},           {"U8", DType::U8},            {"F8_E4M3", DType::F8_E4M3},
        {"F8_E4M3FN", DType::F8_E4M3}, {"F8_E8M0", DType::F8_E8M0}, {"F8_E8M0FNU", DType::F8_E8M0},
        {"F4", DType::F4},
    };
    for (const Spelling& sp : kSpellings)
        if (s == sp.name) {
            *out = sp.type;
            return true;
        }
    return false;
}

std::string shapeToString(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

} // namespace folio::model
