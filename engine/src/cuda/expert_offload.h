// Routed experts kept in host memory when the model does not fit on the device: each expert's six
// pieces (w1, w3, w2 data and scales) are packed into one page-locked block (or, when pinning that
// much fails, read from the memory-mapped checkpoint) and copied on a second stream into a double
// set of device slots. Batch b+1's copies overlap batch b's expert GEMMs; events order the reuse of
// a slot set. Only compiled with FOLIO_HAVE_CUDA.
#pragma once

#include "device_weights.h"
#include "folio/kernels/cuda_memory.h"
#include "model/weights.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace folio::model::cuda {

class ExpertOffload {
public:
    // Packs the routed experts of every layer; slots: experts per set (two sets on the device).
    kc::CudaStatus init(const ModelWeights& w, int slotsPerSet, std::size_t pinnedBudget);
    std::size_t slotBytes() const { return slotBytes_; }
    bool pinned() const { return !pinned_.empty(); }

    // One batch of experts of one layer, ready on the device: run(first, count, tables) launches
    // the GEMMs of experts [first, first + count) (only the listed ones have rows) with `tables`,
    // device pointer tables indexed from `first`.
    using BatchFn =
        std::function<kc::CudaStatus(int first, int count, const DeviceExpertTables& tables)>;

    // needed: ascending ids of the experts with rows in this chunk. Issues copies on copyStream and
    // calls `run` for each batch with the compute stream already waiting for the copies.
    kc::CudaStatus runLayer(int layer, const std::vector<int>& needed, void* computeStream,
                            const BatchFn& run);

private:
    struct Piece {
        const void* src = nullptr;
        std::size_t bytes = 0;
        std::size_t offset = 0; // within the slot
    };
    struct HostExpert {
        const std::uint8_t* packed = nullptr; // pinned: the whole slot image
        Piece pieces[6]; // w1 data, w1 scales, w3 data, w3 scales, w2 data, w2 scales
    };

    std::vector<std::vector<HostExpert>> experts_; // [layer][expert]
    std::vector<kc::PinnedBuffer> pinned_;         // one block per layer when pinned
    std::size_t slotBytes_ = 0;
    int slots_ = 0;
    int maxExperts_ = 0;
    kc::DeviceBuffer slotMemory_; // [2 * slots, slotBytes]
    kc::Stream copyStream_;
    kc::Event loaded_[2], free_[2];
    kc::PinnedBuffer hostTables_; // pointer tables of the current layer's batches
    kc::DeviceBuffer deviceTables_;
};

} // namespace folio::model::cuda
