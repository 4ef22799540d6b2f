#include "state.h"

namespace folio::model {

namespace {

CompressorState makeCompressor(int ratio, int dim) {
    CompressorState c;
    c.ratio = ratio;
    c.dim = dim;
    c.width = (ratio == 4 ? 2 : 1) * dim;
    c.curA.assign(std::size_t(ratio) * c.width, 0.0f);
    c.curG.assign(std::size_t(ratio) * c.width, 0.0f);
    if (ratio == 4) {
        c.prevA.assign(std::size_t(ratio) * c.width, 0.0f);
        c.prevG.assign(std::size_t(ratio) * c.width, 0.0f);
    }
    return c;
}

} // namespace

SequenceState makeSequenceState(const ModelConfig& cfg) {
    SequenceState s;
    s.layers.resize(std::size_t(cfg.numHiddenLayers));
    for (int l = 0; l < cfg.numHiddenLayers; ++l) {
        LayerState& ls = s.layers[std::size_t(l)];
        ls.ratio = cfg.compressRatio(l);
        ls.window.assign(std::size_t(cfg.slidingWindow) * cfg.headDim, 0.0f);
        if (ls.ratio > 0) ls.compressor = makeCompressor(ls.ratio, cfg.headDim);
        if (ls.ratio == 4) ls.indexer = makeCompressor(4, cfg.indexHeadDim);
    }
    s.mtp.resize(std::size_t(cfg.numNextnPredictLayers));
    for (LayerState& m : s.mtp) m.window.assign(std::size_t(cfg.slidingWindow) * cfg.headDim, 0.0f);
    return s;
}

} // namespace folio::model
