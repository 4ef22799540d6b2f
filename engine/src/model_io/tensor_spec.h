// Every tensor a DeepSeek-V4 checkpoint of a given config holds (deepseek-v4.md section 2), and the
// check of a checkpoint against that list.
#pragma once

#include "config.h"
#include "folio/status.h"
#include "tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace folio::model {

class Checkpoint;

// What a tensor is for; the memory plan sums bytes per kind.
enum class TensorKind : int {
    EmbedHead = 0,    // embed.weight, head.weight
    Attention = 1,    // wq_a/b, wkv, wo_a/b, q_norm, kv_norm, attn_sink
    Compressor = 2,   // attn.compressor.*, attn.indexer.*
    HcNorm = 3,       // hc_* (mHC) and the layer norms, final norm
    Router = 4,       // ffn.gate.weight / bias / tid2eid
    SharedExpert = 5, // ffn.shared_experts.*
    RoutedExpert = 6, // ffn.experts.*
    MtpProj = 7,      // mtp.k.e_proj / h_proj (the rest of the MTP block uses the kinds above)
};

enum class ExpertFormat : int { Fp4 = 0, Fp8 = 1, Bf16 = 2 };

struct TensorSpec {
    std::string name;
    std::vector<std::int64_t> shape; // as stored (fp4: I8 with half the logical input width)
    DType dtype = DType::F32;
    TensorKind kind = TensorKind::Attention;
    int layer = -1;   // -1 top level; numHiddenLayers + k for mtp.k
    bool mtp = false; // under the mtp.k. prefix
    int expert = -1;  // routed expert index, else -1
    bool isScale = false;

    std::uint64_t bytes() const;
    // Parameters it represents (fp4 counts two per byte); 0 for scales and tid2eid (not parameters).
    std::uint64_t params() const;
};

// The routed-expert storage this config implies: expert_dtype "fp8" -> Fp8, no quantization_config
// -> Bf16, otherwise (fp4 or absent, as Flash) -> Fp4.
ExpertFormat expertFormat(const ModelConfig& cfg);

// Every tensor of the checkpoint in section 2's layout: top level, layers 0..L-1 by attention type
// (SWA / CSA ratio 4 / HCA ratio 128), hash-routed layers (gate.tid2eid [vocab, topk] I64, no bias)
// and biased ones, routed experts in `experts`, shared experts, and the MTP blocks.
std::vector<TensorSpec> expectedTensors(const ModelConfig& cfg, ExpertFormat experts);
inline std::vector<TensorSpec> expectedTensors(const ModelConfig& cfg) {
    return expectedTensors(cfg, expertFormat(cfg));
}

// True when a stored tensor matches the spec, accepting the alternative spellings: F8_E4M3FN,
// F8_E8M0FNU (same DType), and fp4 stored as F4 with the logical shape instead of I8 packed.
bool matchesSpec(const TensorSpec& spec, DType dtype, const std::vector<std::int64_t>& shape);

// The routed-expert format a checkpoint actually uses (from its first expert's w1 weight), falling
// back to the config's.
ExpertFormat detectExpertFormat(const Checkpoint& ckpt, const ModelConfig& cfg);

// Every expected tensor present with the expected shape and dtype, and no unknown tensor. The error
// lists the problems (up to a few dozen), each naming the tensor, the shard and the mismatch.
Status validateCheckpoint(const Checkpoint& ckpt, const ModelConfig& cfg);

} // namespace folio::model
