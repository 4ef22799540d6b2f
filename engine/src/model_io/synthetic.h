// Synthetic DeepSeek-V4 checkpoints in exactly the real layout (config.json, sharded safetensors
// with model.safetensors.index.json, tokenizer.json) with random weights, deterministic from a seed
// and scaled so that activations stay realistic through the network. Used by `folio-cli make-model`,
// by tests (tiny) and by benchmarks (flash-shape, pro-shape: real dimensions, fewer layers/experts).
#pragma once

#include "config.h"
#include "folio/status.h"
#include "tensor_spec.h"

#include <cstdint>
#include <functional>
#include <string>

namespace folio::model {

enum class SyntheticPreset : int { Tiny = 0, FlashShape = 1, ProShape = 2 };

bool parseSyntheticPreset(const std::string& name, SyntheticPreset* out); // tiny, flash-shape, pro-shape

struct SyntheticOptions {
    SyntheticPreset preset = SyntheticPreset::Tiny;
    int layers = 0;  // 0: the preset's default (tiny 6, flash/pro-shape 2)
    int experts = 0; // 0: the preset's default (16)
    std::uint64_t seed = 0;
    int shards = 0;  // 0: automatic (at least 3, about 4 GiB each)
};

struct TokenizerInfo {
    int vocabSize = 0; // highest id + 1, added tokens included
    int bosId = 0;
    int eosId = 1;
};

// Writes dir/tokenizer.json, a byte-level BPE with DeepSeek's pre-tokenizer trained
// (folio::trainByteLevelBpe) on a built-in corpus to at most `vocabSize` entries before the six
// special tokens of deepseek-v4.md section 7, and dir/tokenizer_config.json; returns the size and
// BOS/EOS ids as the engine's tokenizer loader reads them back. A model's vocab_size is this size
// rounded up to a multiple of 64 (or more): ids past the tokenizer are valid, unused rows.
Result<TokenizerInfo> writeTokenizer(const std::string& dir, int vocabSize);

// The configuration of a preset (tokenizer ids and vocab size as given).
Result<ModelConfig> syntheticConfig(const SyntheticOptions& options, const TokenizerInfo& tokenizer);

// config.json text with the same keys as the real checkpoints' (expert_dtype only when set).
std::string configToJson(const ModelConfig& cfg);

// Writes the whole checkpoint into `dir` (created if needed), streaming tensor by tensor in pieces
// of at most a few MiB. `progress` (optional) gets one line per shard.
Status makeSyntheticModel(const SyntheticOptions& options, const std::string& dir,
                          const std::function<void(const std::string&)>& progress = {});

// --- The weights, exposed so that tests can check encodings against the intended values ---

// The intended (pre-quantization) values of rows [row0, row0 + rows) of `spec`, row-major with the
// LOGICAL width (fp4 experts: twice the stored I8 width; 1-D tensors are one row). Deterministic in
// (seed, tensor name, row). Not for scales or tid2eid.
void syntheticRows(const TensorSpec& spec, const ModelConfig& cfg, std::uint64_t seed, std::int64_t row0,
                   std::int64_t rows, float* out);

// A row of tid2eid: `topk` distinct expert ids in [0, experts) for token id `row`.
void syntheticExpertIds(const std::string& name, std::uint64_t seed, std::int64_t row, int topk, int experts,
                        std::int64_t* out);

} // namespace folio::model
