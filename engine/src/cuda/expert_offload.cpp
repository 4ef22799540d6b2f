#include "expert_offload.h"

#include <algorithm>
#include <cstring>

namespace folio::model::cuda {

namespace {

std::size_t aligned(std::size_t b) {
    return (b + 255) / 256 * 256;
}

} // namespace

kc::CudaStatus ExpertOffload::init(const ModelWeights& w, int slotsPerSet,
                                   std::size_t pinnedBudget) {
    slots_ = std::max(1, slotsPerSet);
    experts_.assign(w.layers.size(), {});
    slotBytes_ = 0;
    std::size_t total = 0;
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        const auto& list = w.layers[l].ffn.experts;
        maxExperts_ = std::max(maxExperts_, int(list.size()));
        experts_[l].resize(list.size());
        for (std::size_t e = 0; e < list.size(); ++e) {
            const kernels::WeightMatrix* m[3] = {&list[e].w1, &list[e].w3, &list[e].w2};
            HostExpert& he = experts_[l][e];
            std::size_t off = 0;
            for (int k = 0; k < 3; ++k) {
                he.pieces[2 * k] = {m[k]->data, weightDataBytes(*m[k]), off};
                off += aligned(he.pieces[2 * k].bytes);
                he.pieces[2 * k + 1] = {m[k]->scales, m[k]->scales ? weightScaleBytes(*m[k]) : 0,
                                        off};
                off += aligned(he.pieces[2 * k + 1].bytes);
            }
            slotBytes_ = std::max(slotBytes_, off);
            total += off;
        }
    }
    // Page-locked copies when the budget allows; otherwise copies come from the mapping (pageable:
    // correct, but the copy engine cannot overlap them with compute).
    if (total <= pinnedBudget) {
        pinned_.resize(w.layers.size());
        for (std::size_t l = 0; l < experts_.size() && !pinned_.empty(); ++l) {
            std::size_t bytes = 0;
            for (const HostExpert& he : experts_[l])
                bytes += slotBytes_ * (he.pieces[0].src ? 1 : 0);
            if (!pinned_[l].allocate(bytes).ok()) {
                pinned_.clear(); // fall back to pageable copies
                break;
            }
            auto* dst = pinned_[l].as<std::uint8_t>();
            for (HostExpert& he : experts_[l]) {
                for (const Piece& p : he.pieces)
                    if (p.bytes) std::memcpy(dst + p.offset, p.src, p.bytes);
                he.packed = dst;
                dst += slotBytes_;
            }
        }
        if (pinned_.empty())
            for (auto& layer : experts_)
                for (HostExpert& he : layer) he.packed = nullptr;
    }
    FOLIO_STATUS_TRY(slotMemory_.allocate(2 * std::size_t(slots_) * slotBytes_));
    FOLIO_STATUS_TRY(copyStream_.create());
    for (int s = 0; s < 2; ++s) {
        FOLIO_STATUS_TRY(loaded_[s].create());
        FOLIO_STATUS_TRY(free_[s].create());
    }
    const std::size_t tableBytes = 6 * std::size_t(std::max(1, maxExperts_)) * sizeof(void*);
    FOLIO_STATUS_TRY(hostTables_.allocate(tableBytes));
    FOLIO_STATUS_TRY(deviceTables_.allocate(tableBytes));
    return {};
}

kc::CudaStatus ExpertOffload::runLayer(int layer, const std::vector<int>& needed,
                                       void* computeStream, const BatchFn& run) {
    const auto& layerExperts = experts_[std::size_t(layer)];
    // The caller synchronized the compute stream to learn `needed`, so no copy of an earlier
    // layer's tables is still reading hostTables_.
    auto* hostTab = hostTables_.as<const void*>();
    auto* devTab = deviceTables_.as<const void*>();
    std::size_t tabUsed = 0;
    int batchIndex = 0;
    for (std::size_t b0 = 0; b0 < needed.size(); b0 += std::size_t(slots_), ++batchIndex) {
        const std::size_t b1 = std::min(needed.size(), b0 + std::size_t(slots_));
        const int set = batchIndex % 2;
        auto* slotBase = static_cast<std::uint8_t*>(slotMemory_.data()) +
                         std::size_t(set) * std::size_t(slots_) * slotBytes_;
        // Copies into this set wait until the GEMMs of the batch that used it last have finished.
        FOLIO_STATUS_TRY(free_[set].waitOn(copyStream_.get()));
        for (std::size_t i = b0; i < b1; ++i) {
            const HostExpert& he = layerExperts[std::size_t(needed[i])];
            std::uint8_t* slot = slotBase + (i - b0) * slotBytes_;
            if (he.packed) {
                FOLIO_STATUS_TRY(kc::copyToDevice(slot, he.packed, slotBytes_, copyStream_.get()));
            } else {
                for (const Piece& p : he.pieces)
                    if (p.bytes)
                        FOLIO_STATUS_TRY(
                            kc::copyToDevice(slot + p.offset, p.src, p.bytes, copyStream_.get()));
            }
        }
        FOLIO_STATUS_TRY(loaded_[set].record(copyStream_.get()));

        // Pointer tables for the id range [first, last]: the batch's experts point at their slots;
        // ids in between have no rows and keep the first slot (never read).
        const int first = needed[b0], last = needed[b1 - 1], count = last - first + 1;
        const void** tab = hostTab + tabUsed;
        const HostExpert& proto = layerExperts[std::size_t(first)];
        for (int k = 0; k < 6; ++k)
            for (int e = 0; e < count; ++e)
                tab[std::size_t(k * count + e)] = slotBase + proto.pieces[k].offset;
        for (std::size_t i = b0; i < b1; ++i) {
            const int e = needed[i] - first;
            const HostExpert& he = layerExperts[std::size_t(needed[i])];
            std::uint8_t* slot = slotBase + (i - b0) * slotBytes_;
            for (int k = 0; k < 6; ++k)
                tab[std::size_t(k * count + e)] =
                    he.pieces[k].bytes ? slot + he.pieces[k].offset : nullptr;
        }
        const void** dtab = devTab + tabUsed;
        FOLIO_STATUS_TRY(
            kc::copyToDevice(dtab, tab, 6 * std::size_t(count) * sizeof(void*), computeStream));
        tabUsed += 6 * std::size_t(count);

        DeviceExpertTables t;
        t.w1 = dtab;
        t.s1 = reinterpret_cast<const std::uint8_t* const*>(dtab + count);
        t.w3 = dtab + 2 * count;
        t.s3 = reinterpret_cast<const std::uint8_t* const*>(dtab + 3 * count);
        t.w2 = dtab + 4 * count;
        t.s2 = reinterpret_cast<const std::uint8_t* const*>(dtab + 5 * count);
        FOLIO_STATUS_TRY(loaded_[set].waitOn(computeStream));
        FOLIO_STATUS_TRY(run(first, count, t));
        FOLIO_STATUS_TRY(free_[set].record(computeStream));
    }
    return {};
}

} // namespace folio::model::cuda
