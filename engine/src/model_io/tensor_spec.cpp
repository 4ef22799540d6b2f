// The checkpoint layout of deepseek-v4.md section 2, generated from the config, and the check of a
// checkpoint against it.
#include "tensor_spec.h"

#include "safetensors.h"

#include <set>

namespace folio::model {

namespace {

std::int64_t ceilDiv(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Appends specs for one block of tensors (a layer, the MTP block or the top level).
class SpecBuilder {
public:
    SpecBuilder(const ModelConfig& cfg, ExpertFormat experts, std::vector<TensorSpec>* out)
        : c_(cfg), experts_(experts), out_(out), quantized_(!cfg.quantMethod.empty()) {}

    void scope(std::string prefix, int layer, bool mtp) {
        prefix_ = std::move(prefix);
        layer_ = layer;
        mtp_ = mtp;
    }

    void add(const std::string& name, std::vector<std::int64_t> shape, DType dtype, TensorKind kind,
             int expert = -1, bool isScale = false) {
        TensorSpec s;
        s.name = prefix_ + name;
        s.shape = std::move(shape);
        s.dtype = dtype;
        s.kind = kind;
        s.layer = layer_;
        s.mtp = mtp_;
        s.expert = expert;
        s.isScale = isScale;
        out_->push_back(std::move(s));
    }

    // An fp8 e4m3 linear [out, in] with UE8M0 scales per weight block: scale [ceil(out/128),
    // ceil(in/128)]. Unquantized checkpoints store bf16 and no scale.
    void fp8Linear(const std::string& name, std::int64_t out, std::int64_t in, TensorKind kind, int expert = -1) {
        if (!quantized_) return add(name + ".weight", {out, in}, DType::BF16, kind, expert);
        add(name + ".weight", {out, in}, DType::F8_E4M3, kind, expert);
        add(name + ".scale", {ceilDiv(out, c_.weightBlockRows), ceilDiv(in, c_.weightBlockCols)}, DType::F8_E8M0,
            kind, expert, true);
    }

    // A routed expert's linear [out, in] in the checkpoint's expert format. fp4: I8 [out, in/2], two
    // e2m1 values per byte along `in`, scale [out, in/32].
    void expertLinear(const std::string& name, std::int64_t out, std::int64_t in, int expert) {
        const TensorKind k = TensorKind::RoutedExpert;
        switch (experts_) {
        case ExpertFormat::Fp4:
            add(name + ".weight", {out, in / 2}, DType::I8, k, expert);
            add(name + ".scale", {out, in / 32}, DType::F8_E8M0, k, expert, true);
            return;
        case ExpertFormat::Fp8: return fp8Linear(name, out, in, k, expert);
        case ExpertFormat::Bf16: return add(name + ".weight", {out, in}, DType::BF16, k, expert);
        }
    }

    void norm(const std::string& name, std::int64_t dim, TensorKind kind) {
        add(name + ".weight", {dim}, DType::BF16, kind);
    }

    // mHC mixing parameters of one sub-layer ("attn", "ffn") or of the head ("head": no Sinkhorn, hc
    // mixes only).
    void hc(const std::string& which) {
        const std::int64_t hc = c_.hcMult, D = c_.hiddenSize;
        const std::int64_t mixes = which == "head" ? hc : (2 + hc) * hc;
        const TensorKind k = TensorKind::HcNorm;
        add("hc_" + which + "_fn", {mixes, hc * D}, DType::F32, k);
        add("hc_" + which + "_base", {mixes}, DType::F32, k);
        add("hc_" + which + "_scale", {which == "head" ? 1 : 3}, DType::F32, k);
    }

    // Compressor of ratio m over d-dim entries (d = head_dim for attention, index_head_dim in the
    // indexer). Ratio 4 overlaps two blocks, so wkv/wgate/ape have 2d outputs.
    void compressor(const std::string& p, int ratio, std::int64_t d) {
        const std::int64_t outs = (ratio == 4 ? 2 : 1) * d;
        const TensorKind k = TensorKind::Compressor;
        add(p + "ape", {ratio, outs}, DType::F32, k);
        add(p + "wkv.weight", {outs, c_.hiddenSize}, DType::BF16, k);
        add(p + "wgate.weight", {outs, c_.hiddenSize}, DType::BF16, k);
        norm(p + "norm", d, k);
    }

    // Everything under layers.L. (or mtp.k.): norms, mHC, attention of the layer's type, MoE.
    void block(int ratio, bool hashRouted) {
        const std::int64_t D = c_.hiddenSize, H = c_.numAttentionHeads, hd = c_.headDim, G = c_.oGroups;
        const std::int64_t E = c_.nRoutedExperts, I = c_.moeIntermediateSize;
        const TensorKind A = TensorKind::Attention;
        norm("attn_norm", D, TensorKind::HcNorm);
        norm("ffn_norm", D, TensorKind::HcNorm);
        hc("attn");
        hc("ffn");
        add("attn.attn_sink", {H}, DType::F32, A);
        fp8Linear("attn.wq_a", c_.qLoraRank, D, A);
        norm("attn.q_norm", c_.qLoraRank, A);
        fp8Linear("attn.wq_b", H * hd, c_.qLoraRank, A);
        fp8Linear("attn.wkv", hd, D, A);
        norm("attn.kv_norm", hd, A);
        fp8Linear("attn.wo_a", G * c_.oLoraRank, H * hd / G, A);
        fp8Linear("attn.wo_b", D, G * c_.oLoraRank, A);
        if (ratio > 0) compressor("attn.compressor.", ratio, hd);
        if (ratio == 4) {
            const TensorKind k = TensorKind::Compressor;
            fp8Linear("attn.indexer.wq_b", std::int64_t(c_.indexNHeads) * c_.indexHeadDim, c_.qLoraRank, k);
            add("attn.indexer.weights_proj.weight", {c_.indexNHeads, D}, DType::BF16, k);
            compressor("attn.indexer.compressor.", ratio, c_.indexHeadDim);
        }
        const TensorKind R = TensorKind::Router;
        add("ffn.gate.weight", {E, D}, DType::BF16, R);
        if (hashRouted) add("ffn.gate.tid2eid", {c_.vocabSize, c_.numExpertsPerTok}, DType::I64, R);
        else add("ffn.gate.bias", {E}, DType::F32, R);
        for (int e = 0; e < E; ++e) {
            const std::string p = "ffn.experts." + std::to_string(e) + ".";
            expertLinear(p + "w1", I, D, e);
            expertLinear(p + "w2", D, I, e);
            expertLinear(p + "w3", I, D, e);
        }
        if (c_.nSharedExperts > 0) {
            const std::int64_t Is = I * c_.nSharedExperts;
            fp8Linear("ffn.shared_experts.w1", Is, D, TensorKind::SharedExpert);
            fp8Linear("ffn.shared_experts.w2", D, Is, TensorKind::SharedExpert);
            fp8Linear("ffn.shared_experts.w3", Is, D, TensorKind::SharedExpert);
        }
    }

private:
    const ModelConfig& c_;
    ExpertFormat experts_;
    std::vector<TensorSpec>* out_;
    bool quantized_;
    std::string prefix_;
    int layer_ = -1;
    bool mtp_ = false;
};

std::string problemFor(const TensorSpec& spec, const TensorView& t) {
    return "tensor '" + spec.name + "' in " + t.shard + ": expected " + dtypeName(spec.dtype) + " " +
           shapeToString(spec.shape) + ", found " + dtypeName(t.dtype) + " " + shapeToString(t.shape);
}

} // namespace

std::uint64_t TensorSpec::bytes() const {
    std::uint64_t n = 0;
    (void)tensorByteSize(dtype, shape, &n);
    return n;
}

std::uint64_t TensorSpec::params() const {
    if (isScale || dtype == DType::I64) return 0;
    std::uint64_t n = 1;
    for (auto d : shape) n *= std::uint64_t(d);
    // I8 routed-expert weights hold two fp4 values per byte.
    return (kind == TensorKind::RoutedExpert && dtype == DType::I8) ? 2 * n : n;
}

ExpertFormat expertFormat(const ModelConfig& cfg) {
    if (cfg.quantMethod.empty()) return ExpertFormat::Bf16;
    return cfg.expertDtype == "fp8" ? ExpertFormat::Fp8 : ExpertFormat::Fp4;
}

std::vector<TensorSpec> expectedTensors(const ModelConfig& cfg, ExpertFormat experts) {
    std::vector<TensorSpec> out;
    SpecBuilder b(cfg, experts, &out);
    const std::int64_t D = cfg.hiddenSize, V = cfg.vocabSize;

    b.scope("", -1, false);
    b.add("embed.weight", {V, D}, DType::BF16, TensorKind::EmbedHead);
    if (!cfg.tieWordEmbeddings) b.add("head.weight", {V, D}, DType::BF16, TensorKind::EmbedHead);
    b.norm("norm", D, TensorKind::HcNorm);
    b.hc("head");

    for (int l = 0; l < cfg.numHiddenLayers; ++l) {
        b.scope("layers." + std::to_string(l) + ".", l, false);
        b.block(cfg.compressRatio(l), l < cfg.numHashLayers);
    }
    // MTP blocks: window-only attention (their compress ratio is 0), biased routing, their own
    // experts, plus the projections that fold the next token's embedding into the stream.
    for (int k = 0; k < cfg.numNextnPredictLayers; ++k) {
        const int l = cfg.numHiddenLayers + k;
        b.scope("mtp." + std::to_string(k) + ".", l, true);
        b.block(cfg.compressRatio(l), false);
        b.fp8Linear("e_proj", D, D, TensorKind::MtpProj);
        b.fp8Linear("h_proj", D, D, TensorKind::MtpProj);
        b.norm("enorm", D, TensorKind::HcNorm);
        b.norm("hnorm", D, TensorKind::HcNorm);
        b.norm("norm", D, TensorKind::HcNorm);
        b.hc("head");
    }
    return out;
}

bool matchesSpec(const TensorSpec& spec, DType dtype, const std::vector<std::int64_t>& shape) {
    if (dtype == spec.dtype && shape == spec.shape) return true;
    // Packed fp4 spelled F4: the stored shape is the logical one (twice the last dimension).
    if (spec.dtype == DType::I8 && spec.kind == TensorKind::RoutedExpert && dtype == DType::F4 &&
        shape.size() == spec.shape.size() && !shape.empty()) {
        std::vector<std::int64_t> logical = spec.shape;
        logical.back() *= 2;
        return shape == logical;
    }
    return false;
}

ExpertFormat detectExpertFormat(const Checkpoint& ckpt, const ModelConfig& cfg) {
    const ExpertFormat fallback = expertFormat(cfg);
    const std::string first = cfg.numHiddenLayers > 0 ? "layers.0.ffn.experts.0.w1.weight" : "";
    const TensorView* t = ckpt.find(first);
    if (!t) return fallback;
    switch (t->dtype) {
    case DType::I8:
    case DType::F4: return ExpertFormat::Fp4;
    case DType::F8_E4M3: return ExpertFormat::Fp8;
    case DType::BF16: return ExpertFormat::Bf16;
    default: return fallback;
    }
}

Status validateCheckpoint(const Checkpoint& ckpt, const ModelConfig& cfg) {
    const ExpertFormat format = detectExpertFormat(ckpt, cfg);
    if (!cfg.expertDtype.empty() && format != expertFormat(cfg))
        return makeError(ckpt.directory() + ": config.json says expert_dtype \"" + cfg.expertDtype +
                         "\" but layers.0.ffn.experts.0.w1.weight is " +
                         dtypeName(ckpt.find("layers.0.ffn.experts.0.w1.weight")->dtype));
    const std::vector<TensorSpec> specs = expectedTensors(cfg, format);

    constexpr std::size_t kMaxListed = 40;
    std::vector<std::string> problems;
    std::size_t missing = 0, wrong = 0, unknown = 0;
    std::set<std::string> expected;
    for (const TensorSpec& s : specs) {
        expected.insert(s.name);
        const TensorView* t = ckpt.find(s.name);
        if (!t) {
            ++missing;
            if (problems.size() < kMaxListed)
                problems.push_back("tensor '" + s.name + "' is missing (expected " + dtypeName(s.dtype) + " " +
                                   shapeToString(s.shape) + ")");
        } else if (!matchesSpec(s, t->dtype, t->shape)) {
            ++wrong;
            if (problems.size() < kMaxListed) problems.push_back(problemFor(s, *t));
        }
    }
    for (const TensorView& t : ckpt) {
        if (expected.count(t.name)) continue;
        ++unknown;
        if (problems.size() < kMaxListed)
            problems.push_back("tensor '" + t.name + "' in " + t.shard + " is not part of this config's layout");
    }
    if (problems.empty()) return {};
    std::string msg = ckpt.directory() + ": checkpoint does not match config.json (" + std::to_string(missing) +
                      " missing, " + std::to_string(wrong) + " wrong shape or dtype, " + std::to_string(unknown) +
                      " unknown)";
    for (const std::string& p : problems) msg += "\n  " + p;
    if (missing + wrong + unknown > problems.size())
        msg += "\n  ... and " + std::to_string(missing + wrong + unknown - problems.size()) + " more";
    return makeError(msg);
}

} // namespace folio::model
