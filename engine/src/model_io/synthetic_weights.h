// Internal to make-model: streams one synthetic tensor after another into a SafetensorsWriter,
// encoding each in its checkpoint format. A `.scale` tensor is produced with its weight (the block
// maxima are known only then) and written when its own turn comes, right after the weight.
#pragma once

#include "config.h"
#include "safetensors.h"
#include "synthetic.h"
#include "tensor_spec.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace folio::model {

class TensorStreamer {
public:
    TensorStreamer(SafetensorsWriter& writer, const ModelConfig& cfg, std::uint64_t seed)
        : writer_(writer), cfg_(cfg), seed_(seed) {}

    // Appends the bytes of `spec`; tensors must come in the writer's declaration order.
    Status write(const TensorSpec& spec);

private:
    static constexpr std::int64_t kChunkValues = 1 << 20; // values generated per piece (4 MiB f32)
    static std::string scaleName(const TensorSpec& weight);
    Status writePlain(const TensorSpec& spec);
    Status writeExpertIds(const TensorSpec& spec);
    Status writeFp8(const TensorSpec& spec);
    Status writeFp4(const TensorSpec& spec);

    SafetensorsWriter& writer_;
    const ModelConfig& cfg_;
    std::uint64_t seed_;
    std::vector<float> values_;
    std::vector<std::uint8_t> bytes_;
    std::map<std::string, std::vector<std::uint8_t>> pendingScales_;
};

} // namespace folio::model
