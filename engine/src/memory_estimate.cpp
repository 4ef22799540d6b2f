#include "folio/engine.h"
#include "model_io/config.h"
#include "model_io/memory_plan.h"

namespace folio {

Result<MemoryEstimate> estimateMemory(const std::string& directory, std::int64_t contextTokens, std::int64_t chunk) {
    auto cfg = model::loadConfig(directory + "/config.json");
    if (!cfg) return makeError(cfg.error());
    const model::MemoryPlan plan = model::planMemory(*cfg);
    MemoryEstimate e;
    e.weightBytes = plan.weights.total;
    // The engine keeps entries in f32: twice the bf16 figures of the plan.
    e.stateBytes = 2 * model::kvStateBytes(*cfg, contextTokens, false) + 2 * plan.kv.windowBf16 + plan.kv.carriedRows;
    e.scratchBytes = model::scratchBytes(*cfg, chunk, contextTokens);
    e.totalBytes = e.weightBytes + e.stateBytes + e.scratchBytes;
    return e;
}

} // namespace folio
