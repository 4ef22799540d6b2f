// The public engine API (folio/engine.h) over the internal model: checkpoint, weights, forward.
#include "folio/engine.h"

#include "folio/backend.h"
#include "folio/kernels/thread_pool.h"
#include "model/forward.h"
#include "model/state_io.h"
#include "model/weights.h"
#include "model_io/config.h"
#include "model_io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <istream>
#include <streambuf>

namespace folio {

struct Sequence::Impl {
    model::SequenceState state;
    std::uint64_t fingerprint = 0;
    const model::ModelConfig* cfg = nullptr;
};

struct Model::Impl {
    ModelFacts facts;
    model::ModelConfig cfg;
    std::unique_ptr<model::Checkpoint> checkpoint;
    model::ModelWeights weights;
    std::unique_ptr<kernels::ThreadPool> pool;
    std::unique_ptr<model::Forward> forward;
};

namespace {

// FNV-1a over the config and the layout of every tensor, plus a sample of each tensor's bytes, so
// that two checkpoints of one shape but different weights get different fingerprints.
std::uint64_t fingerprintOf(const model::Checkpoint& ck, const model::ModelConfig& cfg) {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&](const void* p, std::size_t n) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    };
    const int dims[] = {cfg.hiddenSize, cfg.numHiddenLayers, cfg.numAttentionHeads, cfg.headDim, cfg.vocabSize,
                        cfg.nRoutedExperts, cfg.indexTopk, cfg.slidingWindow};
    mix(dims, sizeof dims);
    mix(cfg.compressRatios.data(), cfg.compressRatios.size() * sizeof(int));
    for (const model::TensorView& t : ck) {
        mix(t.name.data(), t.name.size());
        mix(t.shape.data(), t.shape.size() * sizeof(std::int64_t));
        const int dt = int(t.dtype);
        mix(&dt, sizeof dt);
        const std::size_t sample = std::min<std::size_t>(t.nbytes, 64);
        mix(t.data, sample);
        mix(t.data + t.nbytes - sample, sample);
    }
    return h;
}

double matrixBytes(const kernels::WeightMatrix& m) {
    const double n = double(m.rows) * double(m.cols);
    switch (m.format) {
    case kernels::WeightFormat::F32: return 4 * n;
    case kernels::WeightFormat::BF16: return 2 * n;
    case kernels::WeightFormat::FP8Block128: return n + double((m.rows + 127) / 128 * ((m.cols + 127) / 128));
    case kernels::WeightFormat::FP4Row32: return n / 2 + n / 32;
    }
    return 0;
}

double matrixFlops(const kernels::WeightMatrix& m) { return 2.0 * double(m.rows) * double(m.cols); }

// Per-token cost of the main layers: the matrices every token uses plus numExpertsPerTok routed
// experts (taken at the first expert's size; all experts of a layer have one shape).
void costModel(const model::ModelConfig& cfg, const model::ModelWeights& w, ModelFacts* f) {
    double bytes = 0, flops = 0;
    auto use = [&](const kernels::WeightMatrix& m, double times) {
        bytes += matrixBytes(m) * times;
        flops += matrixFlops(m) * times;
    };
    for (const model::LayerWeights& l : w.layers) {
        for (const auto* m : {&l.hcAttn.fn, &l.hcFfn.fn, &l.attn.wqA, &l.attn.wqB, &l.attn.wkv, &l.attn.woA,
                              &l.attn.woB, &l.ffn.gate, &l.ffn.shared.w1, &l.ffn.shared.w2, &l.ffn.shared.w3})
            use(*m, 1);
        if (l.attn.ratio > 0) {
            use(l.attn.compressor.wkv, 1);
            use(l.attn.compressor.wgate, 1);
        }
        if (l.attn.ratio == 4) {
            for (const auto* m : {&l.attn.indexer.wqB, &l.attn.indexer.weightsProj, &l.attn.indexer.compressor.wkv,
                                  &l.attn.indexer.compressor.wgate})
                use(*m, 1);
        }
        if (!l.ffn.experts.empty()) {
            const auto& e = l.ffn.experts.front();
            for (const auto* m : {&e.w1, &e.w2, &e.w3}) use(*m, cfg.numExpertsPerTok);
        }
    }
    f->linearFlopsPerToken = flops;
    f->headFlops = matrixFlops(w.head) + matrixFlops(w.hcHead.fn);
    f->decodeBytesPerToken = std::uint64_t(bytes + matrixBytes(w.head) + 2.0 * cfg.hiddenSize);
}

} // namespace

Sequence::Sequence(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sequence::~Sequence() = default;

std::int64_t Sequence::position() const { return impl_->state.pos; }

Status Sequence::save(std::ostream& out) const { return model::writeState(impl_->state, impl_->fingerprint, out); }

Status Sequence::save(std::ostream& out, std::int64_t basePosition) const {
    return model::writeState(impl_->state, impl_->fingerprint, out, basePosition);
}

Status Sequence::restore(std::istream& in) {
    auto st = model::readState(*impl_->cfg, impl_->fingerprint, in, &impl_->state);
    if (!st.ok()) return makeError(st.error());
    impl_->state = std::move(st.value());
    return {};
}

namespace {

// An input stream over bytes in memory, without copying them.
class MemoryBuffer : public std::streambuf {
public:
    MemoryBuffer(const char* data, std::size_t size) {
        char* p = const_cast<char*>(data); // read-only use: the get area is never written
        setg(p, p, p + size);
    }
};

} // namespace

Status Sequence::restore(std::span<const char> bytes) {
    MemoryBuffer buffer(bytes.data(), bytes.size());
    std::istream in(&buffer);
    return restore(in);
}

std::unique_ptr<Sequence> Sequence::clone() const {
    return std::unique_ptr<Sequence>(new Sequence(std::make_unique<Impl>(*impl_)));
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::open(const std::string& directory, const ModelOptions& options) {
    auto impl = std::make_unique<Impl>();
    auto cfg = model::loadConfig(directory + "/config.json");
    if (!cfg.ok()) return makeError(cfg.error());
    impl->cfg = std::move(cfg.value());
    auto ck = model::Checkpoint::open(directory);
    if (!ck.ok()) return makeError(ck.error());
    impl->checkpoint = std::move(ck.value());
    const model::Checkpoint* ckp = impl->checkpoint.get();
    auto w = model::bindWeights(impl->cfg, [ckp](const std::string& n) { return ckp->find(n); });
    if (!w.ok()) return makeError(directory + ": " + w.error());
    impl->weights = std::move(w.value());

    std::string note;
    const BackendReport backends = probeBackends();
    const DeviceKind device = chooseDevice(options.device, backends, &note);
    // The CUDA backend of the forward pass is not in this build yet: run on the CPU and say so.
    impl->pool = std::make_unique<kernels::ThreadPool>(options.threads);
    impl->forward = std::make_unique<model::Forward>(impl->cfg, impl->weights, impl->pool.get());

    ModelFacts& f = impl->facts;
    f.directory = directory;
    f.vocabSize = impl->cfg.vocabSize;
    f.layers = impl->cfg.numHiddenLayers;
    f.hiddenSize = impl->cfg.hiddenSize;
    f.maxPositions = impl->cfg.maxPositionEmbeddings;
    f.bosId = impl->cfg.bosTokenId;
    f.eosId = impl->cfg.eosTokenId;
    f.fingerprint = fingerprintOf(*impl->checkpoint, impl->cfg);
    for (const model::TensorView& t : *impl->checkpoint) f.weightBytes += t.nbytes;
    costModel(impl->cfg, impl->weights, &f);
    f.device = "CPU, " + std::to_string(impl->pool->size()) + " threads";
    if (device == DeviceKind::Cuda) f.device += " (the CUDA forward pass is not built yet)";
    else if (!note.empty()) f.device += " (" + note + ")";
    return std::unique_ptr<Model>(new Model(std::move(impl)));
}

const ModelFacts& Model::facts() const { return impl_->facts; }

std::unique_ptr<Sequence> Model::newSequence() const {
    auto s = std::make_unique<Sequence::Impl>();
    s->state = model::makeSequenceState(impl_->cfg);
    s->fingerprint = impl_->facts.fingerprint;
    s->cfg = &impl_->cfg;
    return std::unique_ptr<Sequence>(new Sequence(std::move(s)));
}

Status Model::prefill(Sequence& seq, std::span<const std::int32_t> tokens, const PrefillOptions& options,
                      std::vector<float>* logits) const {
    if (seq.impl_->fingerprint != impl_->facts.fingerprint)
        return makeError("this sequence belongs to another model");
    for (std::size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= impl_->cfg.vocabSize)
            return makeError("token id " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                             " is outside the vocabulary [0, " + std::to_string(impl_->cfg.vocabSize) + ")");
    if (seq.position() + std::int64_t(tokens.size()) > impl_->cfg.maxPositionEmbeddings)
        return makeError("the context would exceed the model's " + std::to_string(impl_->cfg.maxPositionEmbeddings) +
                         " positions");
    const std::int64_t n = std::int64_t(tokens.size());
    const std::int64_t chunk = std::max<std::int64_t>(1, options.chunk);
    const std::int64_t vocab = impl_->cfg.vocabSize;
    if (logits) logits->clear();
    std::vector<float> part;
    for (std::int64_t done = 0; done < n;) {
        const std::int64_t len = std::min(chunk, n - done);
        const bool wantLogits = logits && (options.allLogits || done + len == n);
        impl_->forward->run(seq.impl_->state, tokens.data() + done, len, options.allLogits, wantLogits ? &part : nullptr);
        if (wantLogits) {
            if (options.allLogits) logits->insert(logits->end(), part.begin(), part.end());
            else logits->assign(part.begin(), part.begin() + vocab);
        }
        done += len;
        if (options.progress && !options.progress({done, n}) && done < n) return makeError("cancelled");
    }
    return {};
}

Status Model::decode(Sequence& seq, std::int32_t token, std::vector<float>* logits) const {
    return prefill(seq, std::span<const std::int32_t>(&token, 1), PrefillOptions{}, logits);
}

std::int64_t Model::tokensProcessed() const { return impl_->forward->tokensProcessed(); }

} // namespace folio
