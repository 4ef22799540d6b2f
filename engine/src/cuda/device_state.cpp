#include "device_state.h"

#include <algorithm>

namespace folio::model::cuda {

namespace {

kc::CudaStatus zeroed(kc::DeviceBuffer& b, std::size_t bytes, void* stream) {
    FOLIO_STATUS_TRY(b.allocate(bytes));
    return bytes ? kc::fillBytes(b.data(), 0, bytes, stream) : kc::CudaStatus{};
}

kc::CudaStatus makeCompressor(int ratio, int dim, void* stream, DeviceCompressorState* c) {
    c->ratio = ratio;
    c->dim = dim;
    c->width = (ratio == 4 ? 2 : 1) * dim;
    const std::size_t rows = std::size_t(ratio) * std::size_t(c->width) * sizeof(float);
    FOLIO_STATUS_TRY(zeroed(c->curA, rows, stream));
    FOLIO_STATUS_TRY(zeroed(c->curG, rows, stream));
    if (ratio == 4) {
        FOLIO_STATUS_TRY(zeroed(c->prevA, rows, stream));
        FOLIO_STATUS_TRY(zeroed(c->prevG, rows, stream));
    }
    c->capacity = 0;
    return {};
}

std::size_t rowBytes(const DeviceCompressorState& c) {
    return std::size_t(c.ratio) * std::size_t(c.width) * sizeof(float);
}

kc::CudaStatus downloadCompressor(const DeviceCompressorState& d, std::int64_t pos,
                                  CompressorState* c, void* stream) {
    const std::size_t rb = rowBytes(d);
    c->curA.resize(rb / sizeof(float));
    c->curG.resize(rb / sizeof(float));
    FOLIO_STATUS_TRY(kc::copyToHost(c->curA.data(), d.curA.data(), rb, stream));
    FOLIO_STATUS_TRY(kc::copyToHost(c->curG.data(), d.curG.data(), rb, stream));
    if (d.ratio == 4) {
        c->prevA.resize(rb / sizeof(float));
        c->prevG.resize(rb / sizeof(float));
        FOLIO_STATUS_TRY(kc::copyToHost(c->prevA.data(), d.prevA.data(), rb, stream));
        FOLIO_STATUS_TRY(kc::copyToHost(c->prevG.data(), d.prevG.data(), rb, stream));
    }
    const std::int64_t count = pos / d.ratio;
    c->entries.resize(std::size_t(count) * std::size_t(d.dim));
    if (count > 0)
        FOLIO_STATUS_TRY(kc::copyToHost(c->entries.data(), d.entries.data(),
                                c->entries.size() * sizeof(float), stream));
    return {};
}

kc::CudaStatus uploadCompressor(const CompressorState& c, std::int64_t pos,
                                DeviceCompressorState* d, void* stream) {
    const std::size_t rb = rowBytes(*d);
    if (c.curA.size() * sizeof(float) != rb || c.curG.size() * sizeof(float) != rb ||
        (d->ratio == 4 &&
         (c.prevA.size() * sizeof(float) != rb || c.prevG.size() * sizeof(float) != rb)))
        return kc::CudaStatus(
            "sequence state: compressor rows have the wrong size for the device state");
    const std::int64_t count = pos / d->ratio;
    if (std::int64_t(c.entries.size()) != count * d->dim)
        return kc::CudaStatus("sequence state: compressed entries do not match the position");
    FOLIO_STATUS_TRY(kc::copyToDevice(d->curA.data(), c.curA.data(), rb, stream));
    FOLIO_STATUS_TRY(kc::copyToDevice(d->curG.data(), c.curG.data(), rb, stream));
    if (d->ratio == 4) {
        FOLIO_STATUS_TRY(kc::copyToDevice(d->prevA.data(), c.prevA.data(), rb, stream));
        FOLIO_STATUS_TRY(kc::copyToDevice(d->prevG.data(), c.prevG.data(), rb, stream));
    }
    FOLIO_STATUS_TRY(reserveEntries(*d, count, stream));
    if (count > 0)
        FOLIO_STATUS_TRY(kc::copyToDevice(d->entries.data(), c.entries.data(),
                                  c.entries.size() * sizeof(float), stream));
    return {};
}

kc::CudaStatus cloneCompressor(const DeviceCompressorState& from, std::int64_t pos,
                               DeviceCompressorState* to, void* stream) {
    const std::size_t rb = rowBytes(from);
    FOLIO_STATUS_TRY(kc::copyOnDevice(to->curA.data(), from.curA.data(), rb, stream));
    FOLIO_STATUS_TRY(kc::copyOnDevice(to->curG.data(), from.curG.data(), rb, stream));
    if (from.ratio == 4) {
        FOLIO_STATUS_TRY(kc::copyOnDevice(to->prevA.data(), from.prevA.data(), rb, stream));
        FOLIO_STATUS_TRY(kc::copyOnDevice(to->prevG.data(), from.prevG.data(), rb, stream));
    }
    const std::int64_t count = pos / from.ratio;
    FOLIO_STATUS_TRY(reserveEntries(*to, count, stream));
    if (count > 0)
        FOLIO_STATUS_TRY(kc::copyOnDevice(to->entries.data(), from.entries.data(),
                                  std::size_t(count) * std::size_t(from.dim) * sizeof(float),
                                  stream));
    return {};
}

} // namespace

kc::CudaStatus makeDeviceState(const ModelConfig& cfg, void* stream, CudaSequenceState* out) {
    out->pos = 0;
    out->layers.clear();
    out->layers.resize(std::size_t(cfg.numHiddenLayers));
    for (int l = 0; l < cfg.numHiddenLayers; ++l) {
        DeviceLayerState& ls = out->layers[std::size_t(l)];
        ls.ratio = cfg.compressRatio(l);
        FOLIO_STATUS_TRY(zeroed(ls.window,
                        std::size_t(cfg.slidingWindow) * std::size_t(cfg.headDim) * sizeof(float),
                        stream));
        if (ls.ratio > 0) FOLIO_STATUS_TRY(makeCompressor(ls.ratio, cfg.headDim, stream, &ls.compressor));
        if (ls.ratio == 4) FOLIO_STATUS_TRY(makeCompressor(4, cfg.indexHeadDim, stream, &ls.indexer));
        // Entry buffers from the start: the attention ops take them even before the first block.
        if (ls.ratio > 0) FOLIO_STATUS_TRY(reserveEntries(ls.compressor, 1, stream));
        if (ls.ratio == 4) FOLIO_STATUS_TRY(reserveEntries(ls.indexer, 1, stream));
    }
    return kc::synchronize(stream);
}

kc::CudaStatus reserveEntries(DeviceCompressorState& c, std::int64_t entries, void* stream) {
    if (entries <= c.capacity) return {};
    // Doubling keeps the copies amortised O(1) per entry; 64 entries at least.
    const std::int64_t cap = std::max<std::int64_t>({entries, 2 * c.capacity, 64});
    kc::DeviceBuffer grown;
    FOLIO_STATUS_TRY(grown.allocate(std::size_t(cap) * std::size_t(c.dim) * sizeof(float)));
    if (c.capacity > 0)
        FOLIO_STATUS_TRY(kc::copyOnDevice(grown.data(), c.entries.data(),
                                  std::size_t(c.capacity) * std::size_t(c.dim) * sizeof(float),
                                  stream));
    // The old buffer may still be read by queued work: let it finish before freeing.
    FOLIO_STATUS_TRY(kc::synchronize(stream));
    c.entries = std::move(grown);
    c.capacity = cap;
    return {};
}

kc::CudaStatus downloadState(const CudaSequenceState& d, SequenceState* s, void* stream) {
    if (s->layers.size() != d.layers.size())
        return kc::CudaStatus("sequence state: layer count differs from the device state");
    s->pos = d.pos;
    for (std::size_t l = 0; l < d.layers.size(); ++l) {
        const DeviceLayerState& dl = d.layers[l];
        LayerState& hl = s->layers[l];
        hl.ratio = dl.ratio;
        hl.window.resize(dl.window.bytes() / sizeof(float));
        FOLIO_STATUS_TRY(kc::copyToHost(hl.window.data(), dl.window.data(), dl.window.bytes(), stream));
        if (dl.ratio > 0)
            FOLIO_STATUS_TRY(downloadCompressor(dl.compressor, d.pos, &hl.compressor, stream));
        if (dl.ratio == 4) FOLIO_STATUS_TRY(downloadCompressor(dl.indexer, d.pos, &hl.indexer, stream));
    }
    return {};
}

kc::CudaStatus uploadState(const SequenceState& s, CudaSequenceState* d, void* stream) {
    if (s.layers.size() != d->layers.size())
        return kc::CudaStatus("sequence state: layer count differs from the device state");
    for (std::size_t l = 0; l < s.layers.size(); ++l) {
        const LayerState& hl = s.layers[l];
        DeviceLayerState& dl = d->layers[l];
        if (hl.ratio != dl.ratio || hl.window.size() * sizeof(float) != dl.window.bytes())
            return kc::CudaStatus("sequence state: layer " + std::to_string(l) +
                                  " differs from the device state");
        FOLIO_STATUS_TRY(kc::copyToDevice(dl.window.data(), hl.window.data(), dl.window.bytes(), stream));
        if (dl.ratio > 0) FOLIO_STATUS_TRY(uploadCompressor(hl.compressor, s.pos, &dl.compressor, stream));
        if (dl.ratio == 4) FOLIO_STATUS_TRY(uploadCompressor(hl.indexer, s.pos, &dl.indexer, stream));
    }
    d->pos = s.pos;
    return kc::synchronize(stream);
}

kc::CudaStatus cloneState(const CudaSequenceState& from, CudaSequenceState* to, void* stream) {
    if (from.layers.size() != to->layers.size())
        return kc::CudaStatus("cloneState: layer count differs");
    for (std::size_t l = 0; l < from.layers.size(); ++l) {
        const DeviceLayerState& a = from.layers[l];
        DeviceLayerState& b = to->layers[l];
        FOLIO_STATUS_TRY(kc::copyOnDevice(b.window.data(), a.window.data(), a.window.bytes(), stream));
        if (a.ratio > 0) FOLIO_STATUS_TRY(cloneCompressor(a.compressor, from.pos, &b.compressor, stream));
        if (a.ratio == 4) FOLIO_STATUS_TRY(cloneCompressor(a.indexer, from.pos, &b.indexer, stream));
    }
    to->pos = from.pos;
    return kc::synchronize(stream);
}

} // namespace folio::model::cuda
