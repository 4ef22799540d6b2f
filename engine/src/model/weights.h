// The DeepSeek-V4 weights bound to the memory-mapped checkpoint tensors. Quantized matrices stay in
// the mapping (WeightMatrix points into it); only small vectors (norms, mHC, sinks, biases) are
// converted to fp32 here, as the reference keeps them in fp32 at run time.
#pragma once

#include "folio/kernels/gemm.h"
#include "folio/status.h"
#include "model_io/config.h"
#include "model_io/tensor.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace folio::model {

using kernels::WeightMatrix;

// Looks a tensor up by name; nullptr when absent.
using TensorLookup = std::function<const TensorView*(const std::string&)>;

struct HyperConnection {  // mHC parameters of one sub-layer (or of the head)
    WeightMatrix fn;      // [mixes, hc*D] f32
    std::vector<float> base;  // [mixes]
    std::vector<float> scale; // [3] (sub-layers) or [1] (head)
};

struct CompressorWeights {
    int ratio = 0;          // 4 (overlapping, 2d outputs) or 128
    int dim = 0;            // d: 512 for attention, index_head_dim inside the indexer
    std::vector<float> ape; // [ratio, coff*d]
    WeightMatrix wkv;       // [coff*d, D] bf16
    WeightMatrix wgate;     // [coff*d, D] bf16
    std::vector<float> norm; // [d]
    int coff() const { return ratio == 4 ? 2 : 1; }
};

struct IndexerWeights {
    WeightMatrix wqB;          // [index_heads*index_dim, q_lora] fp8
    WeightMatrix weightsProj;  // [index_heads, D] bf16
    CompressorWeights compressor;
};

struct AttentionWeights {
    int ratio = 0; // 0 SWA, 4 CSA, 128 HCA
    std::vector<float> sink; // [H]
    WeightMatrix wqA, wqB, wkv, woA, woB;
    std::vector<float> qNorm, kvNorm;
    CompressorWeights compressor; // ratio > 0
    IndexerWeights indexer;       // ratio == 4
};

struct ExpertWeights {
    WeightMatrix w1, w2, w3; // w1/w3 [inter, D], w2 [D, inter]
};

struct MoeWeights {
    WeightMatrix gate;              // [E, D] bf16 (computed in fp32)
    std::vector<float> bias;        // [E] (biased layers)
    const std::int64_t* tid2eid = nullptr; // [vocab, topk] (hash layers)
    std::vector<std::int64_t> tid2eidWidened; // tid2eid's storage when the file holds it as int32 (GGUF)
    std::vector<ExpertWeights> experts;
    ExpertWeights shared;
    bool hashed() const { return tid2eid != nullptr; }
};

struct LayerWeights {
    std::vector<float> attnNorm, ffnNorm;
    HyperConnection hcAttn, hcFfn;
    AttentionWeights attn;
    MoeWeights ffn;
};

struct MtpWeights {
    WeightMatrix eProj, hProj;
    std::vector<float> enorm, hnorm, norm;
    HyperConnection hcHead;
    LayerWeights block;
};

struct ModelWeights {
    WeightMatrix embed; // [vocab, D]: bf16 in the checkpoints, any format from a GGUF (rows looked up)
    WeightMatrix head;                    // [vocab, D] bf16
    std::vector<float> norm;              // [D]
    HyperConnection hcHead;
    std::vector<LayerWeights> layers;
    std::vector<MtpWeights> mtp;
};

// Binds every tensor the config implies; the error names the tensor and what was wrong (missing,
// shape, dtype). Shapes and dtypes are checked here too, so a checkpoint that passes can be run.
Result<ModelWeights> bindWeights(const ModelConfig& cfg, const TensorLookup& lookup);

} // namespace folio::model
