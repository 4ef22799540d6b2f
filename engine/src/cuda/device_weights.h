// The DeepSeek-V4 weights on a CUDA device (the CUDA twin of model/weights.h). Matrices keep their
// checkpoint format (bf16, fp8 e4m3 with 128x128 e8m0 scales, packed fp4 with per-32 scales): the
// ops dequantize them tile by tile. Small fp32 vectors (norms, mHC, sinks, biases, ape) are
// uploaded as the host binding converted them. The routed experts are either resident (device
// pointer tables per layer, the form expertGemm takes) or left to an ExpertOffload
// (expert_offload.h). Only compiled with FOLIO_HAVE_CUDA.
#pragma once

#include "folio/kernels/cuda_memory.h"
#include "folio/kernels/cuda_ops.h"
#include "model/weights.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace folio::model::cuda {

namespace kc = folio::kernels::cuda;

// Device memory handed out in 256-byte aligned pieces from large blocks, freed all at once.
class DeviceArena {
public:
    explicit DeviceArena(std::size_t blockBytes = std::size_t(256) << 20)
        : blockBytes_(blockBytes) {}
    kc::CudaStatus allocate(std::size_t bytes, void** out);
    // allocate + copy from host (synchronous with respect to `src`: pageable copies are staged).
    kc::CudaStatus upload(const void* src, std::size_t bytes, void** out, void* stream);
    std::size_t bytes() const { return total_; }

private:
    std::size_t blockBytes_;
    std::vector<kc::DeviceBuffer> blocks_;
    std::size_t used_ = 0; // in the last block
    std::size_t total_ = 0;
};

// Bytes of a matrix's data and of its scales as stored.
std::size_t weightDataBytes(const kernels::WeightMatrix& m);
std::size_t weightScaleBytes(const kernels::WeightMatrix& m);

struct DeviceHc {
    const float* fn = nullptr;    // [mixes, hc*D]
    const float* base = nullptr;  // [mixes]
    const float* scale = nullptr; // [3] or [1]
};

struct DeviceCompressor {
    int ratio = 0;
    int dim = 0;
    const float* ape = nullptr; // [ratio, coff*d]
    kc::DeviceWeight wkv, wgate;
    const float* norm = nullptr; // [d]
};

struct DeviceAttention {
    int ratio = 0;
    const float* sink = nullptr; // [H]
    kc::DeviceWeight wqA, wqB, wkv, woA, woB;
    const float* qNorm = nullptr;
    const float* kvNorm = nullptr;
    DeviceCompressor compressor;                     // ratio > 0
    kc::DeviceWeight indexerWqB, indexerWeightsProj; // ratio == 4
    DeviceCompressor indexerCompressor;
};

// Device tables of the routed experts' pointers, indexed by expert id ([E] each).
struct DeviceExpertTables {
    const void* const* w1 = nullptr;
    const void* const* w3 = nullptr;
    const void* const* w2 = nullptr;
    const std::uint8_t* const* s1 = nullptr;
    const std::uint8_t* const* s3 = nullptr;
    const std::uint8_t* const* s2 = nullptr;
};

struct DeviceMoe {
    kc::DeviceWeight gate;                 // [E, D] bf16
    const float* bias = nullptr;           // [E] (biased layers)
    const std::int64_t* tid2eid = nullptr; // [vocab, topk] (hash layers)
    kc::DeviceWeight sharedW1, sharedW2, sharedW3;
    kernels::WeightFormat expertFormatIn = kernels::WeightFormat::FP4Row32;  // w1, w3
    kernels::WeightFormat expertFormatOut = kernels::WeightFormat::FP4Row32; // w2
    bool resident = true;
    DeviceExpertTables experts; // when resident
};

struct DeviceLayer {
    const float* attnNorm = nullptr;
    const float* ffnNorm = nullptr;
    DeviceHc hcAttn, hcFfn;
    DeviceAttention attn;
    DeviceMoe ffn;
};

struct DeviceModel {
    const std::uint16_t* embed = nullptr; // [vocab, D] bf16
    kc::DeviceWeight head;
    const float* norm = nullptr;
    DeviceHc hcHead;
    std::vector<DeviceLayer> layers;
    const double* freqPlain = nullptr;      // rope frequencies of ratio-0 layers
    const double* freqCompressed = nullptr; // of compressed layers (YaRN)
};

// Bytes the routed experts of all main layers take on the device, and everything else.
struct DeviceWeightSizes {
    std::size_t routedExperts = 0;
    std::size_t rest = 0;
};
DeviceWeightSizes deviceWeightSizes(const ModelConfig& cfg, const ModelWeights& w);

// Uploads the main model (the MTP block stays on the host: the engine's API never runs it).
// residentExperts = false leaves the routed experts out (DeviceMoe::resident = false).
kc::CudaStatus uploadModel(const ModelConfig& cfg, const ModelWeights& w, bool residentExperts,
                           DeviceArena& arena, void* stream, DeviceModel* out);

} // namespace folio::model::cuda
