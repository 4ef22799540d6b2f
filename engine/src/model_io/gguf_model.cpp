#include "gguf_model.h"

#include "ggml_quants.h"

#include "folio/kernels/gemm.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

namespace folio::model {

namespace {

// Metadata reads that name the file and the key when a value is missing or of the wrong kind.
class Meta {
public:
    Meta(const GgufFile& g, const std::string& file) : g_(g), file_(file) {}
    const std::string& error() const { return error_; }
    bool failed() const { return !error_.empty(); }

    const GgufValue* get(const std::string& key, bool required) {
        const GgufValue* v = g_.find(key);
        if (!v && required) fail(key, "is missing");
        return v;
    }
    template <class T> void integer(const std::string& key, T* out, bool required = true, std::int64_t min = 0) {
        const GgufValue* v = get(key, required);
        if (!v) return;
        if (!v->isInteger()) return fail(key, std::string("is a ") + ggufValueTypeName(v->type) + ", not an integer");
        if (v->i < min || v->i > std::int64_t(std::numeric_limits<int>::max()))
            return fail(key, "is " + std::to_string(v->i) + ", out of range");
        *out = T(v->i);
    }
    void real(const std::string& key, double* out, bool required = true) {
        const GgufValue* v = get(key, required);
        if (!v) return;
        if (v->isFloat()) *out = v->f;
        else if (v->isInteger()) *out = double(v->i);
        else fail(key, std::string("is a ") + ggufValueTypeName(v->type) + ", not a number");
    }
    void boolean(const std::string& key, bool* out, bool required = true) {
        const GgufValue* v = get(key, required);
        if (!v) return;
        if (v->type != GgufValueType::Bool) return fail(key, std::string("is a ") + ggufValueTypeName(v->type) + ", not a bool");
        *out = v->b;
    }
    void text(const std::string& key, std::string* out, bool required = true) {
        const GgufValue* v = get(key, required);
        if (!v) return;
        if (v->type != GgufValueType::String) return fail(key, std::string("is a ") + ggufValueTypeName(v->type) + ", not a string");
        *out = v->s;
    }
    void fail(const std::string& key, const std::string& what) {
        if (error_.empty()) error_ = file_ + ": metadata key '" + key + "' " + what;
    }

private:
    const GgufFile& g_;
    const std::string& file_;
    std::string error_;
};

// blk.N.<suffix> -> layers.N.<official> (experts are split separately).
const std::map<std::string, std::string>& layerNames() {
    static const std::map<std::string, std::string> m = {
        {"attn_norm.weight", "attn_norm.weight"},
        {"ffn_norm.weight", "ffn_norm.weight"},
        {"attn_q_a_norm.weight", "attn.q_norm.weight"},
        {"attn_kv_a_norm.weight", "attn.kv_norm.weight"},
        {"attn_q_a.weight", "attn.wq_a.weight"},
        {"attn_q_b.weight", "attn.wq_b.weight"},
        {"attn_kv.weight", "attn.wkv.weight"},
        {"attn_output_a.weight", "attn.wo_a.weight"},
        {"attn_output_b.weight", "attn.wo_b.weight"},
        {"attn_sinks.weight", "attn.attn_sink"},
        {"attn_compressor_kv.weight", "attn.compressor.wkv.weight"},
        {"attn_compressor_gate.weight", "attn.compressor.wgate.weight"},
        {"attn_compressor_ape.weight", "attn.compressor.ape"},
        {"attn_compressor_norm.weight", "attn.compressor.norm.weight"},
        {"indexer_compressor_kv.weight", "attn.indexer.compressor.wkv.weight"},
        {"indexer_compressor_gate.weight", "attn.indexer.compressor.wgate.weight"},
        {"indexer_compressor_ape.weight", "attn.indexer.compressor.ape"},
        {"indexer_compressor_norm.weight", "attn.indexer.compressor.norm.weight"},
        {"indexer.proj.weight", "attn.indexer.weights_proj.weight"},
        {"indexer.attn_q_b.weight", "attn.indexer.wq_b.weight"},
        {"hc_attn_fn.weight", "hc_attn_fn"},
        {"hc_attn_base.weight", "hc_attn_base"},
        {"hc_attn_scale.weight", "hc_attn_scale"},
        {"hc_ffn_fn.weight", "hc_ffn_fn"},
        {"hc_ffn_base.weight", "hc_ffn_base"},
        {"hc_ffn_scale.weight", "hc_ffn_scale"},
        {"ffn_gate_inp.weight", "ffn.gate.weight"},
        {"exp_probs_b.bias", "ffn.gate.bias"},
        {"ffn_gate_tid2eid.weight", "ffn.gate.tid2eid"},
        {"ffn_gate_shexp.weight", "ffn.shared_experts.w1.weight"},
        {"ffn_up_shexp.weight", "ffn.shared_experts.w3.weight"},
        {"ffn_down_shexp.weight", "ffn.shared_experts.w2.weight"},
    };
    return m;
}

const std::map<std::string, std::string>& expertNames() {
    static const std::map<std::string, std::string> m = {
        {"ffn_gate_exps.weight", "w1.weight"}, {"ffn_up_exps.weight", "w3.weight"}, {"ffn_down_exps.weight", "w2.weight"}};
    return m;
}

const std::map<std::string, std::string>& globalNames() {
    static const std::map<std::string, std::string> m = {
        {"token_embd.weight", "embed.weight"},      {"output.weight", "head.weight"},
        {"output_norm.weight", "norm.weight"},      {"output_hc_fn.weight", "hc_head_fn"},
        {"output_hc_base.weight", "hc_head_base"},  {"output_hc_scale.weight", "hc_head_scale"}};
    return m;
}

std::optional<DType> dtypeOf(std::uint32_t ggml) {
    switch (GgmlType(ggml)) {
    case GgmlType::F32: return DType::F32;
    case GgmlType::BF16: return DType::BF16;
    case GgmlType::I32: return DType::I32;
    case GgmlType::I8: return DType::I8;
    case GgmlType::Q8_0: return DType::Q8_0;
    case GgmlType::MXFP4: return DType::MXFP4;
    case GgmlType::F16: return DType::F16;
    case GgmlType::Q4_K: return DType::Q4_K;
    case GgmlType::Q5_K: return DType::Q5_K;
    case GgmlType::Q6_K: return DType::Q6_K;
    case GgmlType::Q3_K: return DType::Q3_K;
    case GgmlType::Q2_K: return DType::Q2_K;
    case GgmlType::IQ4_XS: return DType::IQ4_XS;
    default: return std::nullopt;
    }
}

constexpr const char* kSupportedTypes = "F32, F16, BF16, I32, I8, Q8_0, MXFP4, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS";

std::string baseName(const std::string& p) { return std::filesystem::path(p).filename().string(); }

// "NAME-00001-of-00004.gguf" -> every part's path; a single file -> itself.
std::vector<std::string> splitParts(const std::string& path) {
    const std::string b = baseName(path);
    const std::size_t n = b.size();
    // -XXXXX-of-YYYYY.gguf is 20 characters.
    if (n > 20 && b.compare(n - 5, 5, ".gguf") == 0 && b[n - 20] == '-' && b.compare(n - 14, 4, "-of-") == 0) {
        const std::string no = b.substr(n - 19, 5), count = b.substr(n - 10, 5);
        if (no.find_first_not_of("0123456789") == std::string::npos && count.find_first_not_of("0123456789") == std::string::npos) {
            const int total = std::stoi(count);
            const std::string stem = path.substr(0, path.size() - 20);
            std::vector<std::string> parts;
            for (int i = 1; i <= total; ++i) {
                char suffix[32];
                std::snprintf(suffix, sizeof suffix, "-%05d-of-%05d.gguf", i, total);
                parts.push_back(stem + suffix);
            }
            return parts;
        }
    }
    return {path};
}

} // namespace

std::optional<kernels::WeightFormat> ggufWeightFormat(DType d) {
    switch (d) {
    case DType::F16: return kernels::WeightFormat::F16;
    case DType::Q8_0: return kernels::WeightFormat::Q8_0;
    case DType::MXFP4: return kernels::WeightFormat::MXFP4;
    case DType::Q4_K: return kernels::WeightFormat::Q4_K;
    case DType::Q5_K: return kernels::WeightFormat::Q5_K;
    case DType::Q6_K: return kernels::WeightFormat::Q6_K;
    case DType::Q3_K: return kernels::WeightFormat::Q3_K;
    case DType::Q2_K: return kernels::WeightFormat::Q2_K;
    case DType::IQ4_XS: return kernels::WeightFormat::IQ4_XS;
    default: return std::nullopt;
    }
}

bool isGgufPath(const std::string& path) { return path.size() > 5 && path.compare(path.size() - 5, 5, ".gguf") == 0; }

Result<ModelConfig> ggufModelConfig(const GgufFile& g, const std::string& file) {
    Meta m(g, file);
    std::string arch;
    m.text("general.architecture", &arch);
    if (m.failed()) return makeError(m.error());
    if (arch != "deepseek4") return makeError(file + ": architecture " + arch + " is not DeepSeek-V4 (deepseek4)");
    const std::string a = "deepseek4.";
    ModelConfig c;
    c.modelType = "deepseek_v4";
    m.integer(a + "embedding_length", &c.hiddenSize, true, 1);
    m.integer(a + "block_count", &c.numHiddenLayers, true, 1);
    m.integer(a + "attention.head_count", &c.numAttentionHeads, true, 1);
    m.integer(a + "attention.head_count_kv", &c.numKeyValueHeads, false, 1);
    m.integer(a + "attention.key_length", &c.headDim, true, 1);
    int valueLength = 0;
    m.integer(a + "attention.value_length", &valueLength, false, 1);
    if (valueLength && valueLength != c.headDim) m.fail(a + "attention.value_length", "differs from key_length");
    m.integer(a + "rope.dimension_count", &c.qkRopeHeadDim, true, 1);
    m.integer(a + "attention.q_lora_rank", &c.qLoraRank, true, 1);
    m.integer(a + "attention.output_lora_rank", &c.oLoraRank, true, 1);
    m.integer(a + "attention.output_group_count", &c.oGroups, true, 1);
    m.integer(a + "attention.sliding_window", &c.slidingWindow, true, 1);
    m.real(a + "attention.layer_norm_rms_epsilon", &c.rmsNormEps);
    m.integer(a + "expert_count", &c.nRoutedExperts, true, 1);
    m.integer(a + "expert_used_count", &c.numExpertsPerTok, true, 1);
    m.integer(a + "expert_shared_count", &c.nSharedExperts, true, 0);
    m.integer(a + "expert_feed_forward_length", &c.moeIntermediateSize, true, 1);
    m.real(a + "expert_weights_scale", &c.routedScalingFactor);
    m.boolean(a + "expert_weights_norm", &c.normTopkProb, false);
    int gating = 4;
    m.integer(a + "expert_gating_func", &gating, false);
    // llama.cpp's gating ids: 1 softmax, 2 sigmoid, 4 sqrt(softplus) (V4's).
    if (gating == 1) c.scoringFunc = ScoringFunc::Softmax;
    else if (gating == 2) c.scoringFunc = ScoringFunc::Sigmoid;
    else if (gating == 4) c.scoringFunc = ScoringFunc::SqrtSoftplus;
    else m.fail(a + "expert_gating_func", "is " + std::to_string(gating) + ", not one of 1, 2, 4");
    c.topkMethod = "noaux_tc";
    m.integer(a + "hash_layer_count", &c.numHashLayers, false);
    m.integer(a + "context_length", &c.maxPositionEmbeddings, true, 1);
    m.real(a + "rope.freq_base", &c.ropeTheta);
    c.compressRopeTheta = c.ropeTheta;
    m.real(a + "attention.compress_rope_freq_base", &c.compressRopeTheta, false);
    if (const GgufValue* t = m.get(a + "rope.scaling.type", false); t && t->type == GgufValueType::String && t->s != "none") {
        c.ropeScaling.type = t->s;
        m.real(a + "rope.scaling.factor", &c.ropeScaling.factor);
        m.integer(a + "rope.scaling.original_context_length", &c.ropeScaling.originalMaxPositionEmbeddings, true, 1);
        m.real(a + "rope.scaling.yarn_beta_fast", &c.ropeScaling.betaFast, false);
        m.real(a + "rope.scaling.yarn_beta_slow", &c.ropeScaling.betaSlow, false);
    }
    m.integer(a + "attention.indexer.head_count", &c.indexNHeads, true, 1);
    m.integer(a + "attention.indexer.key_length", &c.indexHeadDim, true, 1);
    m.integer(a + "attention.indexer.top_k", &c.indexTopk, true, 1);
    m.integer(a + "hyper_connection.count", &c.hcMult, true, 1);
    m.integer(a + "hyper_connection.sinkhorn_iterations", &c.hcSinkhornIters, true, 1);
    m.real(a + "hyper_connection.epsilon", &c.hcEps);
    // One SwiGLU clamp per layer in the file; the model takes one value for all.
    if (const GgufValue* cl = m.get(a + "swiglu_clamp_exp", false)) {
        if (cl->type != GgufValueType::Array || cl->floats.empty()) m.fail(a + "swiglu_clamp_exp", "is not an array of floats");
        else {
            c.swigluLimit = cl->floats.front();
            for (double x : cl->floats)
                if (x != c.swigluLimit) m.fail(a + "swiglu_clamp_exp", "differs between layers, which Folio does not run");
        }
    }
    if (const GgufValue* r = m.get(a + "attention.compress_ratios", true)) {
        if (r->type != GgufValueType::Array || r->ints.size() < std::size_t(c.numHiddenLayers))
            m.fail(a + "attention.compress_ratios", "needs one integer per layer");
        else
            for (int l = 0; l < c.numHiddenLayers; ++l) c.compressRatios.push_back(int(r->ints[std::size_t(l)]));
    }
    c.numNextnPredictLayers = 0; // the converter leaves the MTP block out unless asked (--mtp)
    if (const GgufValue* tokens = m.get("tokenizer.ggml.tokens", false); tokens && tokens->type == GgufValueType::Array)
        c.vocabSize = int(tokens->strings.size());
    else if (const GgufTensorInfo* e = g.tensor("token_embd.weight"); e && e->dims.size() == 2)
        c.vocabSize = int(e->dims[1]);
    m.integer("tokenizer.ggml.bos_token_id", &c.bosTokenId, false);
    m.integer("tokenizer.ggml.eos_token_id", &c.eosTokenId, false);
    // The model's own numerics (activations through e4m3 before the quantized linears) stay those
    // of the official checkpoint this file was converted from.
    c.quantMethod = "fp8";
    c.quantFmt = "e4m3";
    c.scaleFmt = "ue8m0";
    c.expertDtype = "fp4";
    if (m.failed()) return makeError(m.error());
    if (c.vocabSize <= 0) return makeError(file + ": no vocabulary (tokenizer.ggml.tokens) and no token_embd.weight");
    if (const std::string why = checkConfigConsistency(c); !why.empty()) return makeError(file + ": " + why);
    return c;
}

Result<GgufModel> openGgufModel(const std::string& path) {
    const std::vector<std::string> parts = splitParts(path);
    std::vector<std::unique_ptr<MappedFile>> files;
    std::vector<GgufFile> headers;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::error_code ec;
        if (!std::filesystem::exists(parts[i], ec))
            return makeError(path + ": part " + std::to_string(i + 1) + " of " + std::to_string(parts.size()) + " (" +
                             baseName(parts[i]) + ") is missing");
        auto mapped = MappedFile::open(parts[i]);
        if (!mapped) return makeError(mapped.error());
        auto header = parseGguf((*mapped)->data(), (*mapped)->size(), parts[i]);
        if (!header) return makeError(header.error());
        headers.push_back(std::move(*header));
        files.push_back(std::move(*mapped));
    }
    auto cfg = ggufModelConfig(headers.front(), parts.front());
    if (!cfg) return makeError(cfg.error());

    std::vector<TensorView> views;
    std::map<std::string, bool> seen;
    for (std::size_t f = 0; f < headers.size(); ++f) {
        const GgufFile& g = headers[f];
        const std::uint8_t* base = files[f]->data() + g.dataStart;
        const std::string shard = baseName(parts[f]);
        for (const GgufTensorInfo& t : g.tensors) {
            std::string official;
            bool experts = false;
            if (auto it = globalNames().find(t.name); it != globalNames().end()) {
                official = it->second;
            } else if (t.name.rfind("blk.", 0) == 0) {
                const std::size_t dot = t.name.find('.', 4);
                if (dot == std::string::npos) continue;
                const std::string layer = t.name.substr(4, dot - 4), suffix = t.name.substr(dot + 1);
                if (auto l = layerNames().find(suffix); l != layerNames().end()) official = "layers." + layer + "." + l->second;
                else if (auto e = expertNames().find(suffix); e != expertNames().end()) {
                    official = "layers." + layer + ".ffn.experts.%." + e->second;
                    experts = true;
                }
            }
            if (official.empty()) continue; // not part of the model Folio runs (the MTP block, say)
            const std::optional<DType> dt = dtypeOf(t.type);
            if (!dt)
                return makeError(shard + ": tensor " + t.name + " has type " + ggmlTypeTraits(t.type)->name +
                                 ", which Folio does not run yet (supported: " + kSupportedTypes + ")");
            if (!seen.emplace(t.name, true).second)
                return makeError(path + ": tensor " + t.name + " appears in two split parts");
            // GGUF dims are innermost first; the official shapes outermost first.
            std::vector<std::int64_t> shape(t.dims.rbegin(), t.dims.rend());
            if (!experts) {
                views.push_back({official, *dt, shape, base + t.offset, std::size_t(t.bytes), shard});
                continue;
            }
            // [experts, out, in]: one view per expert, each a contiguous slice.
            if (shape.size() != 3 || shape[0] != cfg->nRoutedExperts)
                return makeError(shard + ": tensor " + t.name + " has shape " + shapeToString(shape) + ", expected " +
                                 std::to_string(cfg->nRoutedExperts) + " experts first");
            const std::size_t each = std::size_t(t.bytes) / std::size_t(shape[0]);
            const std::size_t at = official.find('%');
            for (std::int64_t e = 0; e < shape[0]; ++e) {
                std::string name = official;
                name.replace(at, 1, std::to_string(e));
                views.push_back({name, *dt, {shape[1], shape[2]}, base + t.offset + std::size_t(e) * each, each, shard});
            }
        }
    }
    GgufModel out;
    out.config = std::move(*cfg);
    out.checkpoint = Checkpoint::fromViews(path, std::move(files), std::move(views));
    return out;
}

} // namespace folio::model

// ---- writing a checkpoint as GGUF ----

namespace folio::model {

namespace {

// `want`, or Q8_0 where its blocks do not divide the width (llama-quantize's fallback), or F32.
GgmlType writableType(GgmlType want, std::int64_t cols) {
    if (ggmlWritable(want, cols)) return want;
    return ggmlWritable(GgmlType::Q8_0, cols) ? GgmlType::Q8_0 : GgmlType::F32;
}

// Every row of `m` as `type`: the kernels' own f32 values, re-quantized, into out (rows x
// ggmlRowBytes(type, cols) bytes).
void requantizeRows(const kernels::WeightMatrix& m, GgmlType type, std::uint8_t* out) {
    const std::size_t rowBytes = ggmlRowBytes(type, m.cols);
    std::vector<float> row(std::size_t(m.cols));
    for (std::int64_t r = 0; r < m.rows; ++r) {
        kernels::dequantizeRow(m, r, 0, m.cols, row.data());
        quantizeRowGgml(type, row.data(), m.cols, out + std::size_t(r) * rowBytes);
    }
}

std::map<std::string, std::string> invert(const std::map<std::string, std::string>& m) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : m) out.emplace(v, k);
    return out;
}

} // namespace

bool parseGgufWriteType(const std::string& name, bool experts, GgmlType* out) {
    static const std::map<std::string, GgmlType> kNames = {
        {"f32", GgmlType::F32},   {"f16", GgmlType::F16},   {"q8_0", GgmlType::Q8_0}, {"q2_k", GgmlType::Q2_K},
        {"q3_k", GgmlType::Q3_K}, {"q4_k", GgmlType::Q4_K}, {"q5_k", GgmlType::Q5_K}, {"q6_k", GgmlType::Q6_K},
        {"iq4_xs", GgmlType::IQ4_XS}};
    if (experts && name == "mxfp4") {
        *out = GgmlType::MXFP4;
        return true;
    }
    const auto it = kNames.find(name);
    if (it == kNames.end()) return false;
    *out = it->second;
    return true;
}

Status writeGgufModel(const Checkpoint& ck, const ModelConfig& cfg, GgufWriteTypes types, const std::string& path,
                      const std::string& tokenizerJson) {
    GgufWriter w;
    const std::string a = "deepseek4.";
    w.addString("general.architecture", "deepseek4");
    w.addString("general.name", "folio synthetic");
    w.addU32(a + "block_count", std::uint32_t(cfg.numHiddenLayers));
    w.addU32(a + "context_length", std::uint32_t(cfg.maxPositionEmbeddings));
    w.addU32(a + "embedding_length", std::uint32_t(cfg.hiddenSize));
    w.addU32(a + "attention.head_count", std::uint32_t(cfg.numAttentionHeads));
    w.addU32(a + "attention.head_count_kv", std::uint32_t(cfg.numKeyValueHeads));
    w.addU32(a + "attention.key_length", std::uint32_t(cfg.headDim));
    w.addU32(a + "attention.value_length", std::uint32_t(cfg.headDim));
    w.addU32(a + "rope.dimension_count", std::uint32_t(cfg.qkRopeHeadDim));
    w.addU32(a + "attention.q_lora_rank", std::uint32_t(cfg.qLoraRank));
    w.addU32(a + "attention.output_lora_rank", std::uint32_t(cfg.oLoraRank));
    w.addU32(a + "attention.output_group_count", std::uint32_t(cfg.oGroups));
    w.addU32(a + "attention.sliding_window", std::uint32_t(cfg.slidingWindow));
    w.addF32(a + "attention.layer_norm_rms_epsilon", float(cfg.rmsNormEps));
    w.addU32(a + "expert_count", std::uint32_t(cfg.nRoutedExperts));
    w.addU32(a + "expert_used_count", std::uint32_t(cfg.numExpertsPerTok));
    w.addU32(a + "expert_shared_count", std::uint32_t(cfg.nSharedExperts));
    w.addU32(a + "expert_feed_forward_length", std::uint32_t(cfg.moeIntermediateSize));
    w.addF32(a + "expert_weights_scale", float(cfg.routedScalingFactor));
    w.addBool(a + "expert_weights_norm", cfg.normTopkProb);
    w.addU32(a + "expert_gating_func", cfg.scoringFunc == ScoringFunc::Softmax ? 1 : cfg.scoringFunc == ScoringFunc::Sigmoid ? 2 : 4);
    w.addU32(a + "hash_layer_count", std::uint32_t(cfg.numHashLayers));
    w.addF32(a + "rope.freq_base", float(cfg.ropeTheta));
    w.addF32(a + "attention.compress_rope_freq_base", float(cfg.compressRopeTheta));
    if (!cfg.ropeScaling.type.empty()) {
        w.addString(a + "rope.scaling.type", cfg.ropeScaling.type);
        w.addF32(a + "rope.scaling.factor", float(cfg.ropeScaling.factor));
        w.addU32(a + "rope.scaling.original_context_length", std::uint32_t(cfg.ropeScaling.originalMaxPositionEmbeddings));
        w.addF32(a + "rope.scaling.yarn_beta_fast", float(cfg.ropeScaling.betaFast));
        w.addF32(a + "rope.scaling.yarn_beta_slow", float(cfg.ropeScaling.betaSlow));
    }
    w.addU32(a + "attention.indexer.head_count", std::uint32_t(cfg.indexNHeads));
    w.addU32(a + "attention.indexer.key_length", std::uint32_t(cfg.indexHeadDim));
    w.addU32(a + "attention.indexer.top_k", std::uint32_t(cfg.indexTopk));
    w.addU32(a + "hyper_connection.count", std::uint32_t(cfg.hcMult));
    w.addU32(a + "hyper_connection.sinkhorn_iterations", std::uint32_t(cfg.hcSinkhornIters));
    w.addF32(a + "hyper_connection.epsilon", float(cfg.hcEps));
    w.addF32Array(a + "swiglu_clamp_exp", std::vector<float>(std::size_t(cfg.numHiddenLayers), float(cfg.swigluLimit)));
    std::vector<std::int32_t> ratios(cfg.compressRatios.begin(), cfg.compressRatios.end());
    w.addI32Array(a + "attention.compress_ratios", ratios);
    if (!tokenizerJson.empty()) { // llama.cpp's layout: tokens by id, their types, merges
        const nlohmann::json t = nlohmann::json::parse(tokenizerJson, nullptr, false);
        if (t.is_discarded() || !t.contains("model") || !t["model"].contains("vocab"))
            return makeError(path + ": the tokenizer.json to embed is not valid");
        std::map<std::int64_t, std::pair<std::string, int>> byId;
        for (const auto& [text, id] : t["model"]["vocab"].items()) byId[id.get<std::int64_t>()] = {text, 1};
        if (t.contains("added_tokens"))
            for (const auto& added : t["added_tokens"])
                byId[added["id"].get<std::int64_t>()] = {added["content"].get<std::string>(),
                                                          added.value("special", false) ? 3 : 4};
        std::vector<std::string> tokens, merges;
        std::vector<std::int32_t> tokenTypes;
        const std::int64_t last = byId.empty() ? -1 : byId.rbegin()->first;
        for (std::int64_t id = 0; id <= last || id < cfg.vocabSize; ++id) {
            auto it = byId.find(id);
            tokens.push_back(it != byId.end() ? it->second.first : "[PAD" + std::to_string(id) + "]");
            tokenTypes.push_back(it != byId.end() ? it->second.second : 5);
        }
        for (const auto& m : t["model"]["merges"])
            merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
        w.addString("tokenizer.ggml.model", "gpt2");
        w.addString("tokenizer.ggml.pre", "deepseek-v3");
        w.addStringArray("tokenizer.ggml.tokens", tokens);
        w.addI32Array("tokenizer.ggml.token_type", tokenTypes);
        w.addStringArray("tokenizer.ggml.merges", merges);
    }
    w.addU32("tokenizer.ggml.bos_token_id", std::uint32_t(cfg.bosTokenId));
    w.addU32("tokenizer.ggml.eos_token_id", std::uint32_t(cfg.eosTokenId));

    const auto layerBack = invert(layerNames()), globalBack = invert(globalNames());
    auto fail = [&](const TensorView& t, const std::string& what) {
        return makeError(path + ": cannot write " + t.name + " (" + dtypeName(t.dtype) + "): " + what);
    };
    for (const TensorView& t : ck) {
        std::string gguf;
        if (auto g = globalBack.find(t.name); g != globalBack.end()) {
            gguf = g->second;
        } else if (t.name.rfind("layers.", 0) == 0) {
            const std::size_t dot = t.name.find('.', 7);
            const std::string layer = t.name.substr(7, dot - 7), rest = t.name.substr(dot + 1);
            if (rest.rfind("ffn.experts.", 0) == 0) continue; // below, a layer's experts at once
            if (auto l = layerBack.find(rest); l != layerBack.end()) gguf = "blk." + layer + "." + l->second;
        }
        if (gguf.empty()) continue; // scales (with their weights), the MTP block
        std::vector<std::int64_t> dims(t.shape.rbegin(), t.shape.rend());
        const std::size_t bytes = t.nbytes;
        if (t.dtype == DType::F32 || t.dtype == DType::BF16) {
            w.addTensor(gguf, dims, t.dtype == DType::F32 ? GgmlType::F32 : GgmlType::BF16,
                        std::vector<std::uint8_t>(t.data, t.data + bytes));
        } else if (t.dtype == DType::I32) { // tid2eid read from a GGUF
            w.addTensor(gguf, dims, GgmlType::I32, std::vector<std::uint8_t>(t.data, t.data + bytes));
        } else if (t.dtype == DType::I64) { // tid2eid
            std::vector<std::uint8_t> out(std::size_t(t.numel()) * 4);
            for (std::int64_t i = 0; i < t.numel(); ++i) {
                std::int64_t v;
                std::memcpy(&v, t.data + std::size_t(i) * 8, 8);
                const auto n = std::int32_t(v);
                std::memcpy(&out[std::size_t(i) * 4], &n, 4);
            }
            w.addTensor(gguf, dims, GgmlType::I32, std::move(out));
        } else if (t.dtype == DType::F8_E4M3 || (ggufWeightFormat(t.dtype) && t.shape.size() == 2)) {
            // fp8 (the values the fp8 kernels compute with), or GGUF blocks already (rewriting a
            // GGUF): through the kernels' f32 values, as `types.dense`.
            kernels::WeightMatrix m{kernels::WeightFormat::FP8Block128, 0, 0, t.data, nullptr};
            if (t.dtype == DType::F8_E4M3) {
                const std::string base = t.name.substr(0, t.name.size() - std::string(".weight").size());
                const TensorView* scale = ck.find(base + ".scale");
                if (!scale || t.shape.size() != 2) return fail(t, "no .scale beside it");
                m.scales = scale->data;
            } else {
                m.format = *ggufWeightFormat(t.dtype);
            }
            m.rows = t.shape[0];
            m.cols = t.shape[1];
            const GgmlType type = writableType(types.dense, m.cols);
            std::vector<std::uint8_t> out(std::size_t(m.rows) * ggmlRowBytes(type, m.cols));
            requantizeRows(m, type, out.data());
            w.addTensor(gguf, dims, type, std::move(out));
        } else {
            return fail(t, "not a type the converter writes");
        }
    }
    // Experts: [E, rows, cols] fp4 (two codes a byte, low nibble first; a scale per 32) -> MXFP4
    // blocks (a scale byte, then low nibbles the block's first 16 values, high nibbles the rest).
    for (int l = 0; l < cfg.numHiddenLayers; ++l) {
        const std::string p = "layers." + std::to_string(l) + ".ffn.experts.";
        for (const auto& [suffix, official] : expertNames()) {
            const TensorView* first = ck.find(p + "0." + official);
            if (!first) return makeError(path + ": " + p + "0." + official + " is missing");
            const std::int64_t rows = first->shape[0];
            const bool packedFp4 = first->dtype == DType::I8 || first->dtype == DType::U8;
            const std::int64_t cols = packedFp4 ? first->shape[1] * 2 : first->shape[1];
            const std::int64_t blocks = cols / 32;
            const GgmlType type = types.experts == GgmlType::MXFP4 ? GgmlType::MXFP4 : writableType(types.experts, cols);
            const std::size_t rowBytes = type == GgmlType::MXFP4 ? std::size_t(blocks * 17) : ggmlRowBytes(type, cols);
            std::vector<std::uint8_t> out(std::size_t(cfg.nRoutedExperts) * std::size_t(rows) * rowBytes);
            for (int e = 0; e < cfg.nRoutedExperts; ++e) {
                const std::string name = p + std::to_string(e) + "." + official;
                const TensorView* t = ck.find(name);
                if (!t) return makeError(path + ": " + name + " is missing");
                const auto block = ggufWeightFormat(t->dtype);
                if (block && type == GgmlType::MXFP4 && *block != kernels::WeightFormat::MXFP4)
                    return fail(*t, "only fp4 experts become MXFP4; choose another experts type");
                std::uint8_t* dst = &out[std::size_t(e) * std::size_t(rows) * rowBytes];
                if (block) { // GGUF blocks already: MXFP4 copied, others through f32
                    if (type == GgmlType::MXFP4) std::memcpy(dst, t->data, std::size_t(rows) * rowBytes);
                    else requantizeRows(kernels::WeightMatrix{*block, rows, cols, t->data, nullptr}, type, dst);
                    continue;
                }
                const TensorView* s = ck.find(name.substr(0, name.size() - 7) + ".scale");
                if (!s) return makeError(path + ": " + name + "'s scale is missing");
                if (t->dtype != DType::I8 && t->dtype != DType::U8 && t->dtype != DType::F4)
                    return fail(*t, "experts must be fp4 or GGUF blocks to be written");
                if (type != GgmlType::MXFP4) { // through f32: the fp4 kernels' values, re-quantized
                    requantizeRows(kernels::WeightMatrix{kernels::WeightFormat::FP4Row32, rows, cols, t->data, s->data}, type, dst);
                    continue;
                }
                for (std::int64_t r = 0; r < rows; ++r)
                    for (std::int64_t b = 0; b < blocks; ++b) {
                        std::uint8_t* blk = &out[(std::size_t(e) * std::size_t(rows) + std::size_t(r)) * std::size_t(blocks) * 17 +
                                                 std::size_t(b) * 17];
                        blk[0] = s->data[std::size_t(r * blocks + b)];
                        const std::uint8_t* q = t->data + std::size_t(r * (cols / 2) + b * 16);
                        auto code = [&](int k) { return k % 2 ? q[k / 2] >> 4 : q[k / 2] & 15; };
                        for (int j = 0; j < 16; ++j) blk[1 + j] = std::uint8_t(code(j) | code(j + 16) << 4);
                    }
            }
            w.addTensor("blk." + std::to_string(l) + "." + suffix, {cols, rows, cfg.nRoutedExperts}, type, std::move(out));
        }
    }
    return w.write(path);
}

} // namespace folio::model
