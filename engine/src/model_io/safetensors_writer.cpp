// safetensors writing, streaming: the header (every offset) is known from the declarations, so the
// data can follow in pieces without holding a tensor, let alone a model, in memory.
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <unistd.h>

namespace folio::model {

Result<std::unique_ptr<SafetensorsWriter>>
SafetensorsWriter::create(const std::string& path, std::vector<TensorDecl> tensors,
                          const std::vector<std::pair<std::string, std::string>>& metadata) {
    std::unique_ptr<SafetensorsWriter> w(new SafetensorsWriter);
    w->path_ = path;
    w->partial_ = path + ".partial";

    // Header: tensors in declaration order (= data order), then __metadata__.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        nlohmann::ordered_json meta = nlohmann::ordered_json::object();
        for (const auto& [k, v] : metadata) meta[k] = v;
        header["__metadata__"] = meta;
    }
    std::uint64_t offset = 0;
    for (const TensorDecl& t : tensors) {
        if (t.name.empty() || t.name == "__metadata__") return makeError(path + ": invalid tensor name '" + t.name + "'");
        if (header.contains(t.name)) return makeError(path + ": tensor '" + t.name + "' declared twice");
        std::uint64_t bytes = 0;
        if (!tensorByteSize(t.dtype, t.shape, &bytes))
            return makeError(path + ": tensor '" + t.name + "' has a shape with no whole byte size");
        header[t.name] = {{"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        w->ends_.push_back(offset);
    }
    std::string text = header.dump();
    // Pad with spaces so that the data region starts 8-byte aligned, as the reference writer does.
    while ((text.size() + 8) % 8 != 0) text.push_back(' ');
    w->tensors_ = std::move(tensors);

    w->file_ = std::fopen(w->partial_.c_str(), "wb");
    if (!w->file_) return makeError(w->partial_ + ": cannot create: " + std::strerror(errno));
    std::setvbuf(w->file_, nullptr, _IOFBF, 1 << 20);
    std::uint8_t len[8];
    const std::uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = std::uint8_t(n >> (8 * i));
    if (std::fwrite(len, 1, 8, w->file_) != 8 || std::fwrite(text.data(), 1, text.size(), w->file_) != text.size())
        return makeError(w->partial_ + ": write failed: " + std::strerror(errno));
    w->skipEmpty();
    return w;
}

void SafetensorsWriter::skipEmpty() {
    while (current_ < ends_.size() && written_ >= ends_[current_]) ++current_;
}

SafetensorsWriter::~SafetensorsWriter() {
    if (file_) std::fclose(file_);
    if (!finished_ && !partial_.empty()) ::unlink(partial_.c_str());
}

Status SafetensorsWriter::append(const void* bytes, std::size_t n) {
    if (!file_) return makeError(path_ + ": writer is closed");
    const std::uint64_t total = ends_.empty() ? 0 : ends_.back();
    if (n > total - written_)
        return makeError(path_ + ": " + std::to_string(n) + " bytes appended, only " +
                         std::to_string(total - written_) + " remain to be written");
    if (n && std::fwrite(bytes, 1, n, file_) != n)
        return makeError(partial_ + ": write failed: " + std::strerror(errno));
    written_ += n;
    skipEmpty();
    return {};
}

std::string_view SafetensorsWriter::currentTensor() const {
    return current_ < tensors_.size() ? std::string_view(tensors_[current_].name) : std::string_view();
}

std::uint64_t SafetensorsWriter::remainingInTensor() const {
    return current_ < ends_.size() ? ends_[current_] - written_ : 0;
}

Status SafetensorsWriter::finish() {
    if (!file_) return makeError(path_ + ": writer is closed");
    if (current_ < tensors_.size())
        return makeError(path_ + ": tensor '" + tensors_[current_].name + "' is missing " +
                         std::to_string(remainingInTensor()) + " bytes");
    const bool flushed = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!flushed || !closed) return makeError(partial_ + ": write failed: " + std::strerror(errno));
    if (std::rename(partial_.c_str(), path_.c_str()) != 0)
        return makeError(path_ + ": cannot rename into place: " + std::strerror(errno));
    finished_ = true;
    return {};
}

Status writeSafetensors(const std::string& path, const std::vector<std::pair<TensorDecl, std::string>>& tensors,
                        const std::vector<std::pair<std::string, std::string>>& metadata) {
    std::vector<TensorDecl> decls;
    for (const auto& t : tensors) decls.push_back(t.first);
    auto w = SafetensorsWriter::create(path, std::move(decls), metadata);
    if (!w) return makeError(w.error());
    for (const auto& t : tensors) {
        std::uint64_t want = 0;
        (void)tensorByteSize(t.first.dtype, t.first.shape, &want);
        if (t.second.size() != want)
            return makeError(path + ": tensor '" + t.first.name + "' has " + std::to_string(t.second.size()) +
                             " bytes of data, its shape needs " + std::to_string(want));
        if (Status s = (*w)->append(t.second.data(), t.second.size()); !s) return s;
    }
    return (*w)->finish();
}

} // namespace folio::model
