#include "folio/engine.h"
#include "model_io/synthetic.h"

namespace folio {

Status writeDemoModel(const std::string& directory) {
    model::SyntheticOptions o;
    o.preset = model::SyntheticPreset::Tiny;
    o.seed = 1;
    return model::makeSyntheticModel(o, directory);
}

} // namespace folio
