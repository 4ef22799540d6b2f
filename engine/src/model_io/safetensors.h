// safetensors checkpoints: a strict header parser, memory-mapped shards (never read whole into RAM),
// a Checkpoint that opens a model directory, and a streaming writer (make-model and tests).
//
// File layout: [u64 little-endian N][N bytes of JSON header][data region]. The header maps each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} relative to the data region, plus
// an optional "__metadata__" object of strings. Offsets must tile the data region exactly.
#pragma once

#include "folio/status.h"
#include "tensor.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace folio::model {

// Largest accepted JSON header (the reference implementation's bound): a hostile length field must
// not make us allocate or scan gigabytes.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

struct SafetensorsEntry {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape; // as stored; F4 shapes count 4-bit elements
    std::uint64_t begin = 0;         // offsets within the data region
    std::uint64_t end = 0;
};

struct SafetensorsHeader {
    std::vector<SafetensorsEntry> tensors; // in data order
    std::vector<std::pair<std::string, std::string>> metadata;
    std::uint64_t dataStart = 0; // 8 + header length
};

// Bytes a tensor of this dtype and shape occupies; false on overflow or a fractional byte count
// (an F4 tensor with an odd element count).
bool tensorByteSize(DType dtype, const std::vector<std::int64_t>& shape, std::uint64_t* bytes);

// Parses and validates the header of a whole safetensors file given as `size` bytes at `bytes`.
// Checks: header length bounded and within the file, valid JSON object, known dtypes, shapes of
// non-negative integers, offsets within the data region, end - begin == dtype x shape, no overlap,
// no gap, and the last tensor ending at the end of the file. `file` names the file in messages.
Result<SafetensorsHeader> parseSafetensors(const std::uint8_t* bytes, std::size_t size, const std::string& file);

// A read-only memory mapping of a whole file; unmapped on destruction.
class MappedFile {
public:
    static Result<std::unique_ptr<MappedFile>> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    MappedFile() = default;
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::string path_;
};

// A checkpoint directory: `model.safetensors`, or shards listed by `model.safetensors.index.json`
// ({"weight_map": {tensor: shard file}}). Holds every mapping for its lifetime; TensorView::data
// points into them (not necessarily aligned: copy with memcpy or read bytes).
class Checkpoint {
public:
    static Result<std::unique_ptr<Checkpoint>> open(const std::string& dir);
    // A checkpoint of tensors read from elsewhere (GGUF): `files` stay mapped for its lifetime and
    // every view points into them; `source` is what directory() names in messages.
    static std::unique_ptr<Checkpoint> fromViews(std::string source, std::vector<std::unique_ptr<MappedFile>> files,
                                                 std::vector<TensorView> tensors);

    // nullptr when absent.
    const TensorView* find(const std::string& name) const;
    // Every tensor, shard by shard in data order.
    const std::vector<TensorView>& tensors() const { return tensors_; }
    auto begin() const { return tensors_.begin(); }
    auto end() const { return tensors_.end(); }
    std::size_t size() const { return tensors_.size(); }

    const std::string& directory() const { return dir_; }
    std::vector<std::string> shardNames() const;
    std::uint64_t tensorBytes() const; // sum of every tensor's nbytes

private:
    Status addShard(const std::string& fileName);

    std::string dir_;
    std::vector<std::unique_ptr<MappedFile>> files_;
    std::vector<TensorView> tensors_;
    std::unordered_map<std::string, std::size_t> byName_;
};

// A tensor to write: its bytes are given later, in declaration order.
struct TensorDecl {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
};

// Writes one safetensors file streaming: the header is computed from the declarations up front, then
// the tensors' bytes are appended in order, in pieces of any size. Writes PATH.partial and renames it
// into place on finish(); a writer destroyed unfinished removes the partial file.
class SafetensorsWriter {
public:
    static Result<std::unique_ptr<SafetensorsWriter>>
    create(const std::string& path, std::vector<TensorDecl> tensors,
           const std::vector<std::pair<std::string, std::string>>& metadata = {});
    ~SafetensorsWriter();
    SafetensorsWriter(const SafetensorsWriter&) = delete;
    SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

    // The next `n` bytes of the data region; fails when more than declared would be written.
    Status append(const void* bytes, std::size_t n);
    // Name of the tensor that the next appended byte belongs to ("" when all are written).
    std::string_view currentTensor() const;
    std::uint64_t remainingInTensor() const;
    // Fails unless every declared byte has been written; then flushes, syncs and renames.
    Status finish();

private:
    SafetensorsWriter() = default;
    void skipEmpty(); // moves past the tensors that are complete (and those of zero bytes)
    std::string path_;
    std::string partial_;
    std::FILE* file_ = nullptr;
    std::vector<TensorDecl> tensors_;
    std::vector<std::uint64_t> ends_; // cumulative end offset of each tensor
    std::uint64_t written_ = 0;
    std::size_t current_ = 0;
    bool finished_ = false;
};

// Convenience for small files (tests): declarations with their whole contents.
Status writeSafetensors(const std::string& path, const std::vector<std::pair<TensorDecl, std::string>>& tensors,
                        const std::vector<std::pair<std::string, std::string>>& metadata = {});

} // namespace folio::model
