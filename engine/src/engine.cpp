// The public engine API (folio/engine.h) over the internal model: checkpoint, weights, forward.
#include "folio/engine.h"

#include "folio/backend.h"
#include "folio/kernels/thread_pool.h"
#include "model/forward.h"
#include "model/state_io.h"
#include "model/weights.h"
#include "model_io/gguf_model.h"
#include "model_io/config.h"
#include "model_io/safetensors.h"

#ifdef FOLIO_HAVE_CUDA
#include "cuda/cuda_forward.h"
#include "cuda/device_state.h"
#endif

#include <algorithm>
#include <cstring>
#include <istream>
#include <streambuf>

namespace folio {

struct Sequence::Impl {
    // On the CPU the whole state. With the CUDA forward pass the layers' state lives in `device`
    // (whose pos is the sequence's position); `state` then keeps the MTP windows and the position.
    model::SequenceState state;
    std::uint64_t fingerprint = 0;
    const model::ModelConfig* cfg = nullptr;
#ifdef FOLIO_HAVE_CUDA
    const model::CudaForward* cuda = nullptr;
    std::unique_ptr<model::CudaSequenceState> device;
#endif
};

struct Model::Impl {
    ModelFacts facts;
    model::ModelConfig cfg;
    std::unique_ptr<model::Checkpoint> checkpoint;
    model::ModelWeights weights;
    std::unique_ptr<kernels::ThreadPool> pool;
    std::unique_ptr<model::Forward> forward;
#ifdef FOLIO_HAVE_CUDA
    std::unique_ptr<model::CudaForward> cuda; // when running on a GPU (forward is then unused)
#endif
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
    return double(kernels::weightDataBytes(m.format, m.rows, m.cols) + kernels::weightScaleBytes(m.format, m.rows, m.cols));
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

namespace {

#ifdef FOLIO_HAVE_CUDA
// A CUDA sequence's state in the host layout (the one state_io writes), so that the byte stream is
// the same whichever device wrote it.
Status hostCopy(const model::CudaForward& cuda, const model::CudaSequenceState& device, const model::ModelConfig& cfg,
                const model::SequenceState& mtpFrom, model::SequenceState* host) {
    *host = model::makeSequenceState(cfg);
    host->mtp = mtpFrom.mtp;
    return cuda.download(device, host);
}
#endif

} // namespace

std::int64_t Sequence::position() const { return impl_->state.pos; }

Status Sequence::save(std::ostream& out) const { return save(out, 0); }

Status Sequence::save(std::ostream& out, std::int64_t basePosition) const {
#ifdef FOLIO_HAVE_CUDA
    if (impl_->device) {
        model::SequenceState host;
        if (Status st = hostCopy(*impl_->cuda, *impl_->device, *impl_->cfg, impl_->state, &host); !st) return st;
        return model::writeState(host, impl_->fingerprint, out, basePosition);
    }
#endif
    return model::writeState(impl_->state, impl_->fingerprint, out, basePosition);
}

Status Sequence::restore(std::istream& in, StateCheck check) {
    return restoreState(in, check == StateCheck::Verify, false);
}

Status Sequence::restoreState(std::istream& in, bool verify, bool rewinding) {
#ifdef FOLIO_HAVE_CUDA
    if (impl_->device) {
        // A delta applies to the current state: read against its host copy, then upload into a
        // fresh device state so that a failure leaves the sequence as it was.
        model::SequenceState base;
        if (Status st = hostCopy(*impl_->cuda, *impl_->device, *impl_->cfg, impl_->state, &base); !st) return st;
        auto st = model::readState(*impl_->cfg, impl_->fingerprint, in, &base, verify, rewinding);
        if (!st.ok()) return makeError(st.error());
        model::SequenceState& next = st.value();
        if (rewinding) {
            model::applyRewind(base, std::move(next));
            next = std::move(base);
        }
        auto fresh = impl_->cuda->newState();
        if (!fresh.ok()) return makeError(fresh.error());
        if (Status up = impl_->cuda->upload(next, *fresh.value()); !up) return up;
        impl_->device = std::move(fresh.value());
        impl_->state.mtp = std::move(next.mtp);
        impl_->state.pos = impl_->device->pos;
        return {};
    }
#endif
    auto st = model::readState(*impl_->cfg, impl_->fingerprint, in, &impl_->state, verify, rewinding);
    if (!st.ok()) return makeError(st.error());
    if (rewinding) model::applyRewind(impl_->state, std::move(st.value())); // the kept entries stay in place
    else impl_->state = std::move(st.value());
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

Status Sequence::restore(std::span<const char> bytes, StateCheck check) {
    MemoryBuffer buffer(bytes.data(), bytes.size());
    std::istream in(&buffer);
    return restore(in, check);
}

Status Sequence::rewind(std::span<const char> mark) {
    MemoryBuffer buffer(mark.data(), mark.size());
    std::istream in(&buffer);
    return restoreState(in, true, true);
}

std::unique_ptr<Sequence> Sequence::clone() const {
    auto copy = std::make_unique<Impl>();
    copy->state = impl_->state;
    copy->fingerprint = impl_->fingerprint;
    copy->cfg = impl_->cfg;
#ifdef FOLIO_HAVE_CUDA
    copy->cuda = impl_->cuda;
    if (impl_->device) {
        auto d = impl_->cuda->clone(*impl_->device);
        if (!d.ok()) return nullptr; // out of device memory: no copy
        copy->device = std::move(d.value());
    }
#endif
    return std::unique_ptr<Sequence>(new Sequence(std::move(copy)));
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::open(const std::string& directory, const ModelOptions& options) {
    std::string cpuError;
    if (!cpuKernelsUsable(&cpuError)) return makeError(cpuError);
    auto impl = std::make_unique<Impl>();
    if (model::isGgufPath(directory)) { // one .gguf (or its first split part) is a model
        auto g = model::openGgufModel(directory);
        if (!g.ok()) return makeError(g.error());
        impl->cfg = std::move(g->config);
        impl->checkpoint = std::move(g->checkpoint);
    } else {
        auto cfg = model::loadConfig(directory + "/config.json");
        if (!cfg.ok()) return makeError(cfg.error());
        impl->cfg = std::move(cfg.value());
        auto ck = model::Checkpoint::open(directory);
        if (!ck.ok()) return makeError(ck.error());
        impl->checkpoint = std::move(ck.value());
    }
    const model::Checkpoint* ckp = impl->checkpoint.get();
    auto w = model::bindWeights(impl->cfg, [ckp](const std::string& n) { return ckp->find(n); });
    if (!w.ok()) return makeError(directory + ": " + w.error());
    impl->weights = std::move(w.value());

    std::string note;
    const BackendReport backends = probeBackends();
    const DeviceKind device = chooseDevice(options.device, backends, &note);
    impl->pool = std::make_unique<kernels::ThreadPool>(options.threads);
    impl->forward = std::make_unique<model::Forward>(impl->cfg, impl->weights, impl->pool.get(), !options.exact);
    std::string deviceText;
    if (device == DeviceKind::Cuda) {
#ifdef FOLIO_HAVE_CUDA
        model::CudaForwardOptions co;
        co.quantize = !options.exact;
        auto cuda = model::CudaForward::create(impl->cfg, impl->weights, co);
        if (cuda.ok()) {
            impl->cuda = std::move(cuda.value());
            deviceText = "CUDA: " + impl->cuda->description();
        } else if (options.device == "cuda") {
            return makeError(directory + ": " + cuda.error()); // asked for the GPU: say why not
        } else {
            note = cuda.error() + "; using the CPU"; // "auto": the CPU still runs it
        }
#else
        note = "this build has no CUDA backend; using the CPU";
#endif
    }

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
    if (!deviceText.empty()) {
        f.device = deviceText;
    } else {
        f.device = "CPU, " + std::to_string(impl->pool->size()) + " threads, " + backends.cpuKernels + " kernels";
        if (!note.empty()) f.device += " (" + note + ")";
    }
    return std::unique_ptr<Model>(new Model(std::move(impl)));
}

const ModelFacts& Model::facts() const { return impl_->facts; }

std::unique_ptr<Sequence> Model::newSequence() const {
    auto s = std::make_unique<Sequence::Impl>();
    s->state = model::makeSequenceState(impl_->cfg);
    s->fingerprint = impl_->facts.fingerprint;
    s->cfg = &impl_->cfg;
#ifdef FOLIO_HAVE_CUDA
    if (impl_->cuda) {
        auto d = impl_->cuda->newState();
        if (!d.ok()) return nullptr; // out of device memory
        s->cuda = impl_->cuda.get();
        s->device = std::move(d.value());
    }
#endif
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
#ifdef FOLIO_HAVE_CUDA
        if (seq.impl_->device) {
            if (seq.impl_->cuda != impl_->cuda.get()) return makeError("this sequence's state is on another model's GPU");
            Status st = impl_->cuda->run(*seq.impl_->device, tokens.data() + done, len, options.allLogits,
                                         wantLogits ? &part : nullptr);
            if (!st) return st;
            seq.impl_->state.pos = seq.impl_->device->pos;
        } else {
            impl_->forward->run(seq.impl_->state, tokens.data() + done, len, options.allLogits,
                                wantLogits ? &part : nullptr);
        }
#else
        impl_->forward->run(seq.impl_->state, tokens.data() + done, len, options.allLogits, wantLogits ? &part : nullptr);
#endif
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

std::int64_t Model::tokensProcessed() const {
#ifdef FOLIO_HAVE_CUDA
    if (impl_->cuda) return impl_->cuda->tokensProcessed();
#endif
    return impl_->forward->tokensProcessed();
}

} // namespace folio
