// The sequence state of one sequence on a CUDA device (the twin of model/state.h): per layer the
// window ring, and for compressed layers the compressor's carried rows and its entries (and the
// indexer's), with the entry buffers grown by doubling as the sequence gets longer. download() and
// upload() convert to and from the host SequenceState, whose byte stream (state_io) is the one
// format of saved sequences, so a snapshot moves freely between the CPU and the GPU.
// Only compiled with FOLIO_HAVE_CUDA.
#pragma once

#include "folio/kernels/cuda_memory.h"
#include "model/state.h"

#include <cstdint>
#include <vector>

namespace folio::model::cuda {

namespace kc = folio::kernels::cuda;

struct DeviceCompressorState {
    int ratio = 0;
    int dim = 0;
    int width = 0;
    kc::DeviceBuffer curA, curG;   // [ratio, width]
    kc::DeviceBuffer prevA, prevG; // [ratio, width] (ratio 4)
    kc::DeviceBuffer entries;      // [capacity, dim]
    std::int64_t capacity = 0;

    float* entryData() const { return entries.as<float>(); }
};

struct DeviceLayerState {
    int ratio = 0;
    kc::DeviceBuffer window;          // [W, headDim]
    DeviceCompressorState compressor; // ratio > 0
    DeviceCompressorState indexer;    // ratio == 4
};

} // namespace folio::model::cuda

namespace folio::model {

// Opaque outside engine/src/cuda: the device state of a sequence plus its position.
struct CudaSequenceState {
    std::int64_t pos = 0;
    std::vector<cuda::DeviceLayerState> layers;
};

namespace cuda {

// An empty (zeroed) device state shaped for cfg's main layers.
kc::CudaStatus makeDeviceState(const ModelConfig& cfg, void* stream, CudaSequenceState* out);

// Makes room for `entries` compressed entries, keeping the existing ones. May synchronize `stream`.
kc::CudaStatus reserveEntries(DeviceCompressorState& c, std::int64_t entries, void* stream);

// Device -> host: fills s.pos and s.layers (s must be shaped by makeSequenceState); s.mtp
// untouched.
kc::CudaStatus downloadState(const CudaSequenceState& d, SequenceState* s, void* stream);
// Host -> device (d shaped by makeDeviceState).
kc::CudaStatus uploadState(const SequenceState& s, CudaSequenceState* d, void* stream);
// A device copy of the state.
kc::CudaStatus cloneState(const CudaSequenceState& from, CudaSequenceState* to, void* stream);

} // namespace cuda
} // namespace folio::model
