#include "folio/engine.h"
#include "model_io/config.h"
#include "model_io/gguf_model.h"
#include "model_io/memory_plan.h"

#include <optional>

namespace folio {

Result<MemoryEstimate> estimateMemory(const std::string& directory, std::int64_t contextTokens, std::int64_t chunk) {
    // A GGUF file: the config from its metadata, the weights as the file holds them (its types).
    std::optional<model::GgufModel> gguf;
    if (model::isGgufPath(directory)) {
        auto g = model::openGgufModel(directory);
        if (!g) return makeError(g.error());
        gguf = std::move(*g);
    }
    auto cfg = gguf ? Result<model::ModelConfig>(gguf->config) : model::loadConfig(directory + "/config.json");
    if (!cfg) return makeError(cfg.error());
    const model::MemoryPlan plan = model::planMemory(*cfg);
    MemoryEstimate e;
    e.weightBytes = plan.weights.total;
    if (gguf) {
        e.weightBytes = 0;
        for (const model::TensorView& t : *gguf->checkpoint) e.weightBytes += t.nbytes;
    }
    // The engine keeps entries in f32: twice the bf16 figures of the plan.
    e.stateBytes = 2 * model::kvStateBytes(*cfg, contextTokens, false) + 2 * plan.kv.windowBf16 + plan.kv.carriedRows;
    e.scratchBytes = model::scratchBytes(*cfg, chunk, contextTokens);
    e.totalBytes = e.weightBytes + e.stateBytes + e.scratchBytes;
    return e;
}

} // namespace folio
