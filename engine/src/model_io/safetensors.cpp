// safetensors reading: the strict header parser, memory mappings and the Checkpoint directory.
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace folio::model {

namespace {

using nlohmann::json;

std::string show(const json& v) {
    std::string s = v.dump();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

// Reads a JSON non-negative integer that fits in int64.
bool readU63(const json& v, std::uint64_t* out) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) return false;
    const std::uint64_t x = v.get<std::uint64_t>();
    if (x > std::uint64_t(INT64_MAX)) return false;
    *out = x;
    return true;
}

std::string baseName(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

bool tensorByteSize(DType dtype, const std::vector<std::int64_t>& shape, std::uint64_t* bytes) {
    std::uint64_t n = 1;
    for (const std::int64_t d : shape) {
        if (d < 0 || __builtin_mul_overflow(n, std::uint64_t(d), &n)) return false;
    }
    std::uint64_t bits = 0;
    if (__builtin_mul_overflow(n, std::uint64_t(dtypeBits(dtype)), &bits)) return false;
    if (bits % 8 != 0) return false;
    *bytes = bits / 8;
    return true;
}

Result<SafetensorsHeader> parseSafetensors(const std::uint8_t* bytes, std::size_t size, const std::string& file) {
    if (size < 8) return makeError(file + ": " + std::to_string(size) + " bytes, too short for a safetensors header");
    std::uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[i]; // little-endian
    if (headerLen < 2 || headerLen > kMaxSafetensorsHeaderBytes)
        return makeError(file + ": header length " + std::to_string(headerLen) + " is outside [2, " +
                         std::to_string(kMaxSafetensorsHeaderBytes) + "]");
    if (headerLen > size - 8)
        return makeError(file + ": header length " + std::to_string(headerLen) + " runs past the end of the file (" +
                         std::to_string(size) + " bytes)");

    const char* text = reinterpret_cast<const char*>(bytes + 8);
    const json root = json::parse(text, text + headerLen, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return makeError(file + ": header is not valid JSON");
    if (!root.is_object()) return makeError(file + ": header is not a JSON object");

    SafetensorsHeader h;
    h.dataStart = 8 + headerLen;
    const std::uint64_t dataSize = size - h.dataStart;
    for (const auto& [name, v] : root.items()) {
        if (name == "__metadata__") {
            if (!v.is_object()) return makeError(file + ": __metadata__ is not an object of strings");
            for (const auto& [k, mv] : v.items()) {
                if (!mv.is_string()) return makeError(file + ": __metadata__ value of '" + k + "' is not a string");
                h.metadata.emplace_back(k, mv.get<std::string>());
            }
            continue;
        }
        const std::string where = file + ": tensor '" + name + "'";
        if (!v.is_object()) return makeError(where + ": entry is not an object");
        for (const auto& [k, unused] : v.items()) {
            (void)unused;
            if (k != "dtype" && k != "shape" && k != "data_offsets")
                return makeError(where + ": unexpected field '" + k + "'");
        }
        SafetensorsEntry e;
        e.name = name;
        const auto dt = v.find("dtype");
        if (dt == v.end() || !dt->is_string()) return makeError(where + ": missing or non-string dtype");
        if (!parseDType(dt->get<std::string>(), &e.dtype))
            return makeError(where + ": unknown dtype " + show(*dt));
        const auto sh = v.find("shape");
        if (sh == v.end() || !sh->is_array()) return makeError(where + ": missing shape array");
        for (const json& d : *sh) {
            std::uint64_t x = 0;
            if (!readU63(d, &x)) return makeError(where + ": shape " + show(*sh) + " is not a list of non-negative integers");
            e.shape.push_back(std::int64_t(x));
        }
        const auto off = v.find("data_offsets");
        if (off == v.end() || !off->is_array() || off->size() != 2 || !readU63((*off)[0], &e.begin) ||
            !readU63((*off)[1], &e.end))
            return makeError(where + ": data_offsets must be two non-negative integers");
        if (e.end < e.begin) return makeError(where + ": data_offsets " + show(*off) + " end before they begin");
        if (e.end > dataSize)
            return makeError(where + ": data_offsets " + show(*off) + " run past the end of the data region (" +
                             std::to_string(dataSize) + " bytes)");
        std::uint64_t want = 0;
        if (!tensorByteSize(e.dtype, e.shape, &want))
            return makeError(where + ": shape " + shapeToString(e.shape) + " of " + dtypeName(e.dtype) +
                             " has no whole byte size");
        if (e.end - e.begin != want)
            return makeError(where + ": data_offsets " + show(*off) + " hold " + std::to_string(e.end - e.begin) +
                             " bytes, but " + dtypeName(e.dtype) + " " + shapeToString(e.shape) + " needs " +
                             std::to_string(want));
        h.tensors.push_back(std::move(e));
    }

    // The tensors must tile the data region: sorted by offset, each begins where the previous ended.
    std::sort(h.tensors.begin(), h.tensors.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t cursor = 0;
    const SafetensorsEntry* prev = nullptr;
    for (const SafetensorsEntry& e : h.tensors) {
        if (e.begin < cursor)
            return makeError(file + ": tensor '" + e.name + "' (bytes " + std::to_string(e.begin) + ".." +
                             std::to_string(e.end) + ") overlaps tensor '" + prev->name + "' (ends at " +
                             std::to_string(cursor) + ")");
        if (e.begin > cursor)
            return makeError(file + ": data region has a gap of " + std::to_string(e.begin - cursor) +
                             " bytes before tensor '" + e.name + "'");
        cursor = e.end;
        prev = &e;
    }
    if (cursor != dataSize) {
        const std::string last = prev ? "after tensor '" + prev->name + "'" : "with no tensors";
        return makeError(file + ": data region is " + std::to_string(dataSize) + " bytes but the tensors cover " +
                         std::to_string(cursor) + " (" + last + "); the file is truncated or has trailing bytes");
    }
    return h;
}

// --- MappedFile ---------------------------------------------------------------------------------

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return makeError(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return makeError(path + ": cannot stat: " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return makeError(path + ": not a regular file");
    }
    std::unique_ptr<MappedFile> f(new MappedFile);
    f->path_ = path;
    f->size_ = std::size_t(st.st_size);
    if (f->size_ > 0) {
        void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            return makeError(path + ": cannot map: " + std::strerror(err));
        }
        f->data_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd); // the mapping keeps the file alive
    return f;
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

// --- Checkpoint ---------------------------------------------------------------------------------

Status Checkpoint::addShard(const std::string& fileName) {
    auto mapped = MappedFile::open(dir_ + "/" + fileName);
    if (!mapped) return makeError(mapped.error());
    const MappedFile& f = **mapped;
    auto header = parseSafetensors(f.data(), f.size(), fileName);
    if (!header) return makeError(dir_ + "/" + header.error());
    for (SafetensorsEntry& e : header->tensors) {
        if (byName_.count(e.name))
            return makeError(dir_ + ": tensor '" + e.name + "' appears in both " + tensors_[byName_[e.name]].shard +
                             " and " + fileName);
        TensorView v;
        v.name = std::move(e.name);
        v.dtype = e.dtype;
        v.shape = std::move(e.shape);
        v.data = f.data() + header->dataStart + e.begin;
        v.nbytes = std::size_t(e.end - e.begin);
        v.shard = fileName;
        byName_.emplace(v.name, tensors_.size());
        tensors_.push_back(std::move(v));
    }
    files_.push_back(std::move(*mapped));
    return {};
}

std::unique_ptr<Checkpoint> Checkpoint::fromViews(std::string source, std::vector<std::unique_ptr<MappedFile>> files,
                                                  std::vector<TensorView> tensors) {
    std::unique_ptr<Checkpoint> c(new Checkpoint);
    c->dir_ = std::move(source);
    c->files_ = std::move(files);
    c->tensors_ = std::move(tensors);
    for (std::size_t i = 0; i < c->tensors_.size(); ++i) c->byName_.emplace(c->tensors_[i].name, i);
    return c;
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::open(const std::string& dir) {
    std::unique_ptr<Checkpoint> c(new Checkpoint);
    c->dir_ = dir;
    const std::string indexPath = dir + "/model.safetensors.index.json";
    std::ifstream in(indexPath, std::ios::binary);
    if (!in) {
        struct stat st {};
        if (::stat((dir + "/model.safetensors").c_str(), &st) != 0)
            return makeError(dir + ": no model.safetensors.index.json or model.safetensors");
        if (Status s = c->addShard("model.safetensors"); !s) return makeError(s.error());
        return c;
    }

    std::ostringstream text;
    text << in.rdbuf();
    const json index = json::parse(text.str(), nullptr, false);
    if (index.is_discarded() || !index.is_object()) return makeError(indexPath + ": not a valid JSON object");
    const auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object()) return makeError(indexPath + ": missing \"weight_map\" object");
    std::map<std::string, std::string> weightMap; // tensor -> shard
    std::vector<std::string> shards;
    for (const auto& [name, v] : wm->items()) {
        if (!v.is_string()) return makeError(indexPath + ": weight_map entry '" + name + "' is not a file name");
        const std::string shard = v.get<std::string>();
        // Shards live beside the index: no paths, so the index cannot point outside the directory.
        if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
            return makeError(indexPath + ": weight_map entry '" + name + "' names an invalid shard '" + shard + "'");
        weightMap.emplace(name, shard);
        if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
    }
    std::sort(shards.begin(), shards.end());
    for (const std::string& shard : shards)
        if (Status s = c->addShard(shard); !s) return makeError(s.error());

    // The index and the shards must agree in both directions.
    for (const auto& [name, shard] : weightMap) {
        const TensorView* t = c->find(name);
        if (!t) return makeError(indexPath + ": tensor '" + name + "' is listed in " + shard + " but not found there");
        if (t->shard != shard)
            return makeError(indexPath + ": tensor '" + name + "' is listed in " + shard + " but stored in " + t->shard);
    }
    for (const TensorView& t : c->tensors_)
        if (!weightMap.count(t.name))
            return makeError(indexPath + ": tensor '" + t.name + "' of " + t.shard + " is missing from the weight_map");
    return c;
}

const TensorView* Checkpoint::find(const std::string& name) const {
    const auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : &tensors_[it->second];
}

std::vector<std::string> Checkpoint::shardNames() const {
    std::vector<std::string> names;
    for (const auto& f : files_) names.push_back(baseName(f->path()));
    return names;
}

std::uint64_t Checkpoint::tensorBytes() const {
    std::uint64_t n = 0;
    for (const TensorView& t : tensors_) n += t.nbytes;
    return n;
}

} // namespace folio::model
