// A DeepSeek-V4 model from GGUF files as llama.cpp's converter writes them (architecture
// `deepseek4`, ../shared/docs/gguf-deepseek4.md): the config from the metadata, and the tensors
// under the official checkpoint names, so that the weight binder and the engine see one model
// whatever file it came from. Split files (NAME-00001-of-00004.gguf) are opened from the first.
#pragma once

#include "config.h"
#include "folio/kernels/gemm.h"
#include "gguf.h"
#include "safetensors.h"

#include <memory>
#include <optional>
#include <string>

namespace folio::model {

struct GgufModel {
    ModelConfig config;
    std::unique_ptr<Checkpoint> checkpoint; // official names; the GGUF blocks as DType Q8_0 / MXFP4
};

// The config of a `deepseek4` file's metadata; errors name the file and the key. Another
// architecture is refused as "architecture X is not DeepSeek-V4".
Result<ModelConfig> ggufModelConfig(const GgufFile& g, const std::string& file);

// Opens `path` (and its other split parts), checks the architecture, maps the config and the
// tensors. A tensor of a type Folio does not run is refused here, naming the tensor, its type and
// the supported types.
Result<GgufModel> openGgufModel(const std::string& path);

// The types writeGgufModel stores the checkpoint's weights as.
// `dense`: the fp8 matrices (attention, shared experts). Q8_0 is what llama.cpp's converter writes
//   (lossy: e4m3 values re-quantized per 32); F32 widens them exactly; F16, Q2_K..Q6_K and IQ4_XS
//   quantize them with Folio's quantizers (ggml_quants.h). A matrix whose width the type cannot
//   take (the K-quants need multiples of 256) falls back to Q8_0, as llama-quantize falls back.
// `experts`: MXFP4 repacks the fp4 experts (the same codes and scales: exact); any `dense` type
//   dequantizes and re-quantizes them.
// bf16 and f32 tensors stay as they are.
struct GgufWriteTypes {
    GgmlType dense = GgmlType::Q8_0;
    GgmlType experts = GgmlType::MXFP4;
};

// Parses a lower-case type name as make-model's --gguf takes it ("q8_0", "f32", "f16", "q2_k",
// "q3_k", "q4_k", "q5_k", "q6_k", "iq4_xs"; "mxfp4" too when `experts`).
bool parseGgufWriteType(const std::string& name, bool experts, GgmlType* out);

// Writes `ck` (with `cfg`) as one GGUF file in llama.cpp's deepseek4 layout: its metadata keys
// and tensor names, experts of a layer in one tensor. The MTP block is left out, as the converter
// does by default. `tokenizerJson` (the text of a tokenizer.json; may be empty) becomes the
// tokenizer.ggml.* metadata.
Status writeGgufModel(const Checkpoint& ck, const ModelConfig& cfg, GgufWriteTypes types, const std::string& path,
                      const std::string& tokenizerJson = {});

// The kernels' format of a GGUF dtype (F16 and the block types), nullopt for the others.
std::optional<kernels::WeightFormat> ggufWeightFormat(DType d);

// Whether `path` names a GGUF file (by its extension).
bool isGgufPath(const std::string& path);

} // namespace folio::model
