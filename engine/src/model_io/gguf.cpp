#include "gguf.h"

#include "tokenizer/utf8.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_set>

namespace folio::model {

namespace {

struct TypeRow {
    std::uint32_t id;
    GgmlTypeTraits traits;
};

// ggml's block sizes (ggml-common.h): values per block, bytes per block.
constexpr TypeRow kTypes[] = {
    {0, {"F32", 1, 4}},        {1, {"F16", 1, 2}},          {2, {"Q4_0", 32, 18}},    {3, {"Q4_1", 32, 20}},
    {6, {"Q5_0", 32, 22}},     {7, {"Q5_1", 32, 24}},       {8, {"Q8_0", 32, 34}},    {9, {"Q8_1", 32, 36}},
    {10, {"Q2_K", 256, 84}},   {11, {"Q3_K", 256, 110}},    {12, {"Q4_K", 256, 144}}, {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},  {15, {"Q8_K", 256, 292}},    {16, {"IQ2_XXS", 256, 66}}, {17, {"IQ2_XS", 256, 74}},
    {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},   {20, {"IQ4_NL", 32, 18}}, {21, {"IQ3_S", 256, 110}},
    {22, {"IQ2_S", 256, 82}},  {23, {"IQ4_XS", 256, 136}},  {24, {"I8", 1, 1}},       {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},       {27, {"I64", 1, 8}},         {28, {"F64", 1, 8}},      {29, {"IQ1_M", 256, 56}},
    {30, {"BF16", 1, 2}},      {34, {"TQ1_0", 256, 54}},    {35, {"TQ2_0", 256, 66}}, {39, {"MXFP4", 32, 17}},
};

// A bounds-checked little-endian cursor over the file; every failure says where it was.
class Reader {
public:
    Reader(const std::uint8_t* p, std::size_t size, const std::string& file) : p_(p), size_(size), file_(file) {}

    std::size_t pos() const { return pos_; }
    std::size_t left() const { return size_ - pos_; }
    const std::string& error() const { return error_; }
    bool failed() const { return !error_.empty(); }

    bool fail(const std::string& what) {
        if (error_.empty()) error_ = file_ + ": " + what;
        return false;
    }

    template <class T> bool read(T* out, const char* what) {
        if (left() < sizeof(T))
            return fail(std::string("truncated: the file ends at byte ") + std::to_string(size_) + " while reading " + what);
        std::memcpy(out, p_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return true;
    }

    bool string(std::string* out, const std::string& what) {
        std::uint64_t n = 0;
        if (!read(&n, what.c_str())) return false;
        if (n > left())
            return fail("truncated or corrupt: " + what + " claims " + std::to_string(n) + " bytes at byte " +
                        std::to_string(pos_) + ", but only " + std::to_string(left()) + " remain");
        out->assign(reinterpret_cast<const char*>(p_ + pos_), std::size_t(n));
        pos_ += std::size_t(n);
        return true;
    }

private:
    const std::uint8_t* p_;
    std::size_t size_;
    std::size_t pos_ = 0;
    const std::string& file_;
    std::string error_;
};

// Bytes one element of a scalar value type occupies; 0 for strings and arrays.
std::size_t scalarBytes(GgufValueType t) {
    switch (t) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::Bool: return 1;
    case GgufValueType::U16:
    case GgufValueType::I16: return 2;
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::F32: return 4;
    case GgufValueType::U64:
    case GgufValueType::I64:
    case GgufValueType::F64: return 8;
    case GgufValueType::String:
    case GgufValueType::Array: return 0;
    }
    return 0;
}

bool knownValueType(std::uint32_t t) { return t <= 12; }

// One scalar of type t into v (i, f or b). Strings are handled by the caller.
bool readScalar(Reader& r, GgufValueType t, GgufValue* v, const std::string& what) {
    auto integer = [&](auto tag) {
        decltype(tag) x{};
        if (!r.read(&x, what.c_str())) return false;
        v->i = std::int64_t(x);
        return true;
    };
    switch (t) {
    case GgufValueType::U8: return integer(std::uint8_t{});
    case GgufValueType::I8: return integer(std::int8_t{});
    case GgufValueType::U16: return integer(std::uint16_t{});
    case GgufValueType::I16: return integer(std::int16_t{});
    case GgufValueType::U32: return integer(std::uint32_t{});
    case GgufValueType::I32: return integer(std::int32_t{});
    case GgufValueType::I64: return integer(std::int64_t{});
    case GgufValueType::U64: {
        std::uint64_t x = 0;
        if (!r.read(&x, what.c_str())) return false;
        if (x > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
            return r.fail(what + " is " + std::to_string(x) + ", beyond what Folio reads (2^63 - 1)");
        v->i = std::int64_t(x);
        return true;
    }
    case GgufValueType::F32: {
        float x = 0;
        if (!r.read(&x, what.c_str())) return false;
        v->f = x;
        return true;
    }
    case GgufValueType::F64: return r.read(&v->f, what.c_str());
    case GgufValueType::Bool: {
        std::uint8_t x = 0;
        if (!r.read(&x, what.c_str())) return false;
        if (x > 1) return r.fail(what + " is a bool of value " + std::to_string(x) + " (0 or 1 expected)");
        v->b = x != 0;
        v->i = x;
        return true;
    }
    case GgufValueType::String:
    case GgufValueType::Array: break;
    }
    return r.fail(what + ": not a scalar type");
}

bool readValue(Reader& r, GgufValueType t, GgufValue* v, const std::string& key) {
    v->type = t;
    const std::string what = "the value of \"" + key + "\"";
    if (t == GgufValueType::String) return r.string(&v->s, what);
    if (t != GgufValueType::Array) return readScalar(r, t, v, what);
    std::uint32_t et = 0;
    std::uint64_t n = 0;
    if (!r.read(&et, (what + " (array element type)").c_str()) || !r.read(&n, (what + " (array length)").c_str())) return false;
    if (!knownValueType(et)) return r.fail("\"" + key + "\" is an array of unknown value type " + std::to_string(et));
    v->elementType = GgufValueType(et);
    if (v->elementType == GgufValueType::Array) return r.fail("\"" + key + "\" is an array of arrays, which Folio does not read");
    // Every element takes at least one byte (a string at least its 8-byte length): a hostile count
    // fails here instead of in an allocation.
    const std::size_t minBytes = v->elementType == GgufValueType::String ? 8 : scalarBytes(v->elementType);
    if (n > r.left() / minBytes)
        return r.fail("truncated or corrupt: \"" + key + "\" claims " + std::to_string(n) + " elements at byte " +
                      std::to_string(r.pos()) + ", more than the " + std::to_string(r.left()) + " bytes left hold");
    if (v->elementType == GgufValueType::String) {
        v->strings.resize(std::size_t(n));
        for (std::uint64_t k = 0; k < n; ++k)
            if (!r.string(&v->strings[std::size_t(k)], what + "[" + std::to_string(k) + "]")) return false;
        return true;
    }
    const bool floats = v->elementType == GgufValueType::F32 || v->elementType == GgufValueType::F64;
    (floats ? v->floats.reserve(std::size_t(n)) : v->ints.reserve(std::size_t(n)));
    GgufValue e;
    for (std::uint64_t k = 0; k < n; ++k) {
        if (!readScalar(r, v->elementType, &e, what + "[" + std::to_string(k) + "]")) return false;
        if (floats) v->floats.push_back(e.f);
        else v->ints.push_back(e.i);
    }
    return true;
}

bool mulOk(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
    *out = a * b;
    return true;
}

} // namespace

const GgmlTypeTraits* ggmlTypeTraits(std::uint32_t id) {
    for (const TypeRow& r : kTypes)
        if (r.id == id) return &r.traits;
    return nullptr;
}

const char* ggufValueTypeName(GgufValueType t) {
    static const char* const names[] = {"u8",  "i8",  "u16",    "i16",   "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    const auto i = std::uint32_t(t);
    return i < 13 ? names[i] : "unknown";
}

bool GgufValue::isInteger() const {
    switch (type) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::U16:
    case GgufValueType::I16:
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::U64:
    case GgufValueType::I64: return true;
    default: return false;
    }
}

std::int64_t GgufTensorInfo::elements() const {
    std::int64_t n = 1;
    for (std::int64_t d : dims) n *= d;
    return n;
}

const GgufValue* GgufFile::find(std::string_view key) const {
    for (const auto& [k, v] : metadata)
        if (k == key) return &v;
    return nullptr;
}

const GgufTensorInfo* GgufFile::tensor(std::string_view name) const {
    for (const GgufTensorInfo& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

Result<GgufFile> parseGguf(const std::uint8_t* bytes, std::size_t size, const std::string& file) {
    Reader r(bytes, size, file);
    GgufFile g;
    if (size < 4 || std::memcmp(bytes, "GGUF", 4) != 0) {
        if (size >= 4 && std::memcmp(bytes, "FUGG", 4) == 0)
            return makeError(file + ": a big-endian GGUF file; Folio reads little-endian GGUF only");
        if (size >= 4 && (std::memcmp(bytes, "ggml", 4) == 0 || std::memcmp(bytes, "ggjt", 4) == 0 ||
                          std::memcmp(bytes, "ggmf", 4) == 0 || std::memcmp(bytes, "lmgg", 4) == 0 ||
                          std::memcmp(bytes, "tjgg", 4) == 0 || std::memcmp(bytes, "fmgg", 4) == 0))
            return makeError(file + ": a pre-GGUF ggml/ggjt model file; convert it to GGUF v3 with a current llama.cpp");
        return makeError(file + ": not a GGUF file (it does not start with \"GGUF\")");
    }
    std::uint32_t magic = 0;
    r.read(&magic, "the magic");
    if (!r.read(&g.version, "the version")) return makeError(r.error());
    if (g.version == 1 || g.version == 2)
        return makeError(file + ": GGUF version " + std::to_string(g.version) +
                         " is not supported (only version 3); convert the model again with a current llama.cpp");
    if (g.version != 3) {
        if ((g.version & 0xffffu) == 0 && (g.version >> 16) != 0)
            return makeError(file + ": a big-endian GGUF file; Folio reads little-endian GGUF only");
        return makeError(file + ": GGUF version " + std::to_string(g.version) + " is unknown (Folio reads version 3)");
    }
    std::uint64_t tensorCount = 0, kvCount = 0;
    if (!r.read(&tensorCount, "the tensor count") || !r.read(&kvCount, "the metadata count")) return makeError(r.error());
    // A metadata entry takes at least 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 8 + 4 + 8.
    if (kvCount > r.left() / 14)
        return makeError(file + ": corrupt header: " + std::to_string(kvCount) + " metadata entries cannot fit in " +
                         std::to_string(size) + " bytes");
    if (tensorCount > r.left() / 33)
        return makeError(file + ": corrupt header: " + std::to_string(tensorCount) + " tensors cannot fit in " +
                         std::to_string(size) + " bytes");

    std::unordered_set<std::string> keys;
    g.metadata.reserve(std::size_t(kvCount));
    for (std::uint64_t k = 0; k < kvCount; ++k) {
        std::string key;
        if (!r.string(&key, "metadata key " + std::to_string(k))) return makeError(r.error());
        if (key.empty()) return makeError(file + ": metadata key " + std::to_string(k) + " is empty");
        if (!tok::isValidUtf8(key)) return makeError(file + ": metadata key " + std::to_string(k) + " is not UTF-8");
        if (!keys.insert(key).second) return makeError(file + ": metadata key \"" + key + "\" appears twice");
        std::uint32_t t = 0;
        if (!r.read(&t, ("the type of \"" + key + "\"").c_str())) return makeError(r.error());
        if (!knownValueType(t)) return makeError(file + ": metadata \"" + key + "\" has unknown value type " + std::to_string(t));
        GgufValue v;
        if (!readValue(r, GgufValueType(t), &v, key)) return makeError(r.error());
        g.metadata.emplace_back(std::move(key), std::move(v));
    }
    if (const GgufValue* a = g.find("general.alignment")) {
        if (a->type != GgufValueType::U32)
            return makeError(file + ": general.alignment is a " + ggufValueTypeName(a->type) + " (u32 expected)");
        if (a->i == 0 || (a->i & (a->i - 1)) != 0)
            return makeError(file + ": general.alignment is " + std::to_string(a->i) + ", not a power of two");
        g.alignment = std::uint64_t(a->i);
    }

    std::unordered_set<std::string> names;
    g.tensors.reserve(std::size_t(tensorCount));
    for (std::uint64_t k = 0; k < tensorCount; ++k) {
        GgufTensorInfo t;
        if (!r.string(&t.name, "the name of tensor " + std::to_string(k))) return makeError(r.error());
        const std::string what = "tensor \"" + t.name + "\"";
        if (t.name.empty()) return makeError(file + ": tensor " + std::to_string(k) + " has an empty name");
        if (!names.insert(t.name).second) return makeError(file + ": " + what + " appears twice");
        std::uint32_t nd = 0;
        if (!r.read(&nd, (what + " (dimension count)").c_str())) return makeError(r.error());
        if (nd == 0 || nd > std::uint32_t(kGgufMaxDims))
            return makeError(file + ": " + what + " has " + std::to_string(nd) + " dimensions (1 to 4 expected)");
        std::uint64_t elements = 1;
        for (std::uint32_t d = 0; d < nd; ++d) {
            std::uint64_t n = 0;
            if (!r.read(&n, (what + " (dimensions)").c_str())) return makeError(r.error());
            if (n == 0 || n > std::uint64_t(std::numeric_limits<std::int64_t>::max()) || !mulOk(elements, n, &elements) ||
                elements > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
                return makeError(file + ": " + what + " has an impossible dimension " + std::to_string(n));
            t.dims.push_back(std::int64_t(n));
        }
        if (!r.read(&t.type, (what + " (type)").c_str()) || !r.read(&t.offset, (what + " (offset)").c_str()))
            return makeError(r.error());
        const GgmlTypeTraits* tt = ggmlTypeTraits(t.type);
        if (!tt) return makeError(file + ": " + what + " has unknown ggml type id " + std::to_string(t.type));
        if (std::uint64_t(t.dims[0]) % tt->blockElems != 0)
            return makeError(file + ": " + what + " (" + tt->name + ") has a row of " + std::to_string(t.dims[0]) +
                             " values, not a multiple of its block of " + std::to_string(tt->blockElems));
        if (!mulOk(elements / tt->blockElems, tt->blockBytes, &t.bytes))
            return makeError(file + ": " + what + " is too large");
        if (t.offset % g.alignment != 0)
            return makeError(file + ": " + what + " starts at data offset " + std::to_string(t.offset) +
                             ", not a multiple of the alignment " + std::to_string(g.alignment));
        g.tensors.push_back(std::move(t));
    }
    const std::uint64_t headerEnd = r.pos();
    g.dataStart = (headerEnd + g.alignment - 1) / g.alignment * g.alignment;
    const std::uint64_t dataBytes = g.dataStart <= size ? size - g.dataStart : 0;
    if (!g.tensors.empty() && g.dataStart > size)
        return makeError(file + ": truncated: the data section would start at byte " + std::to_string(g.dataStart) +
                         " of a " + std::to_string(size) + "-byte file");
    std::vector<const GgufTensorInfo*> order;
    for (const GgufTensorInfo& t : g.tensors) {
        if (t.offset > dataBytes || t.bytes > dataBytes - t.offset)
            return makeError(file + ": tensor \"" + t.name + "\"'s data (" + std::to_string(t.bytes) + " bytes at data offset " +
                             std::to_string(t.offset) + ") runs past the end of the file (" + std::to_string(dataBytes) +
                             " data bytes): truncated or corrupt");
        order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < order.size(); ++i)
        if (order[i - 1]->offset + order[i - 1]->bytes > order[i]->offset)
            return makeError(file + ": tensors \"" + order[i - 1]->name + "\" and \"" + order[i]->name + "\" overlap");
    return g;
}

// ---- writer ----

namespace {

template <class T> void put(std::vector<std::uint8_t>& out, T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}

void putString(std::vector<std::uint8_t>& out, const std::string& s) {
    put<std::uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

void putKey(std::vector<std::uint8_t>& out, const std::string& key, GgufValueType t) {
    putString(out, key);
    put<std::uint32_t>(out, std::uint32_t(t));
}

} // namespace

GgufWriter::GgufWriter(std::uint32_t alignment) : alignment_(alignment) {
    if (alignment != 32) addU32("general.alignment", alignment);
}

void GgufWriter::addU32(const std::string& key, std::uint32_t v) {
    putKey(kv_, key, GgufValueType::U32);
    put(kv_, v);
    ++kvCount_;
}
void GgufWriter::addI32(const std::string& key, std::int32_t v) {
    putKey(kv_, key, GgufValueType::I32);
    put(kv_, v);
    ++kvCount_;
}
void GgufWriter::addU64(const std::string& key, std::uint64_t v) {
    putKey(kv_, key, GgufValueType::U64);
    put(kv_, v);
    ++kvCount_;
}
void GgufWriter::addF32(const std::string& key, float v) {
    putKey(kv_, key, GgufValueType::F32);
    put(kv_, v);
    ++kvCount_;
}
void GgufWriter::addBool(const std::string& key, bool v) {
    putKey(kv_, key, GgufValueType::Bool);
    put<std::uint8_t>(kv_, v ? 1 : 0);
    ++kvCount_;
}
void GgufWriter::addString(const std::string& key, const std::string& v) {
    putKey(kv_, key, GgufValueType::String);
    putString(kv_, v);
    ++kvCount_;
}
void GgufWriter::addI32Array(const std::string& key, const std::vector<std::int32_t>& v) {
    putKey(kv_, key, GgufValueType::Array);
    put<std::uint32_t>(kv_, std::uint32_t(GgufValueType::I32));
    put<std::uint64_t>(kv_, v.size());
    for (std::int32_t x : v) put(kv_, x);
    ++kvCount_;
}
void GgufWriter::addF32Array(const std::string& key, const std::vector<float>& v) {
    putKey(kv_, key, GgufValueType::Array);
    put<std::uint32_t>(kv_, std::uint32_t(GgufValueType::F32));
    put<std::uint64_t>(kv_, v.size());
    for (float x : v) put(kv_, x);
    ++kvCount_;
}
void GgufWriter::addStringArray(const std::string& key, const std::vector<std::string>& v) {
    putKey(kv_, key, GgufValueType::Array);
    put<std::uint32_t>(kv_, std::uint32_t(GgufValueType::String));
    put<std::uint64_t>(kv_, v.size());
    for (const std::string& s : v) putString(kv_, s);
    ++kvCount_;
}

void GgufWriter::addTensor(const std::string& name, const std::vector<std::int64_t>& dims, GgmlType type,
                           std::vector<std::uint8_t> data) {
    tensors_.push_back({name, dims, type, std::move(data)});
}

std::vector<std::uint8_t> GgufWriter::bytes() const {
    std::vector<std::uint8_t> out;
    out.insert(out.end(), {'G', 'G', 'U', 'F'});
    put<std::uint32_t>(out, 3);
    put<std::uint64_t>(out, tensors_.size());
    put<std::uint64_t>(out, kvCount_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    std::uint64_t offset = 0;
    auto pad = [&](std::uint64_t n) { return (n + alignment_ - 1) / alignment_ * alignment_; };
    for (const Tensor& t : tensors_) {
        putString(out, t.name);
        put<std::uint32_t>(out, std::uint32_t(t.dims.size()));
        for (std::int64_t d : t.dims) put<std::uint64_t>(out, std::uint64_t(d));
        put<std::uint32_t>(out, std::uint32_t(t.type));
        put<std::uint64_t>(out, offset);
        offset = pad(offset + t.data.size());
    }
    out.resize(std::size_t(pad(out.size())), 0);
    for (const Tensor& t : tensors_) {
        out.insert(out.end(), t.data.begin(), t.data.end());
        out.resize(std::size_t(pad(out.size())), 0);
    }
    return out;
}

Status GgufWriter::write(const std::string& path) const {
    const std::vector<std::uint8_t> data = bytes();
    const std::string tmp = path + ".partial";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return makeError(path + ": cannot create " + tmp);
        f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
        f.flush();
        if (!f) return makeError(path + ": writing failed (disk full?)");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return makeError(path + ": cannot rename " + tmp + ": " + ec.message());
    return {};
}

} // namespace folio::model
