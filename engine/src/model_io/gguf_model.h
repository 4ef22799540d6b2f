// A DeepSeek-V4 model from GGUF files as llama.cpp's converter writes them (architecture
// `deepseek4`, ../shared/docs/gguf-deepseek4.md): the config from the metadata, and the tensors
// under the official checkpoint names, so that the weight binder and the engine see one model
// whatever file it came from. Split files (NAME-00001-of-00004.gguf) are opened from the first.
#pragma once

#include "config.h"
#include "gguf.h"
#include "safetensors.h"

#include <memory>
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

// How writeGgufModel stores the checkpoint's fp8 weights (attention, shared experts): as Q8_0, the
// type llama.cpp's converter writes (lossy: e4m3 values re-quantized per 32), or as F32 (exact).
// fp4 experts always become MXFP4 (the same codes and scales, repacked: exact); bf16 and f32 stay.
enum class GgufFp8As : int { Q8_0 = 0, F32 = 1 };

// Writes `ck` (with `cfg`) as one GGUF file in llama.cpp's deepseek4 layout: its metadata keys
// and tensor names, experts of a layer in one tensor. The MTP block is left out, as the converter
// does by default. `tokenizerJson` (the text of a tokenizer.json; may be empty) becomes the
// tokenizer.ggml.* metadata.
Status writeGgufModel(const Checkpoint& ck, const ModelConfig& cfg, GgufFp8As fp8As, const std::string& path,
                      const std::string& tokenizerJson = {});

// Whether `path` names a GGUF file (by its extension).
bool isGgufPath(const std::string& path);

} // namespace folio::model
