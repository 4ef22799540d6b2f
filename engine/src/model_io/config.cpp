// config.json of a DeepSeek-V4 checkpoint (deepseek-v4.md section 1): typed reading of every key and
// the structural checks the rest of the engine relies on (shapes derive from these values).
#include "config.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>

namespace folio::model {

namespace {

using nlohmann::json;

// Reads keys of one JSON object and remembers the first error. Every message names the file and the
// key, and shows the offending value.
class Reader {
public:
    Reader(const json& obj, const std::string& source, std::string prefix = {})
        : obj_(obj), source_(source), prefix_(std::move(prefix)) {}

    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    void fail(const std::string& key, const std::string& what) {
        if (error_.empty()) error_ = source_ + ": key '" + prefix_ + key + "': " + what;
    }
    // Takes the first error of a reader of a nested object.
    void adopt(const Reader& nested) {
        if (error_.empty()) error_ = nested.error_;
    }
    static std::string show(const json& v) {
        std::string s = v.dump();
        if (s.size() > 60) s = s.substr(0, 57) + "...";
        return s;
    }

    const json* find(const std::string& key, bool required) {
        const auto it = obj_.find(key);
        if (it == obj_.end() || (it->is_null() && required)) {
            if (required) fail(key, "missing");
            return nullptr;
        }
        return &*it;
    }

    // Integers must be JSON integers (no 4.5, no "4") within [minValue, INT_MAX].
    void integer(const std::string& key, int* out, bool required, long long minValue) {
        std::int64_t x = 0;
        if (!readInteger(key, &x, required, minValue)) return;
        if (x > 0x7fffffffLL) return fail(key, "expected an integer >= " + std::to_string(minValue) + ", got " + std::to_string(x));
        *out = int(x);
    }
    void integer64(const std::string& key, std::int64_t* out, bool required, long long minValue) {
        std::int64_t x = 0;
        if (readInteger(key, &x, required, minValue)) *out = x;
    }
    bool readInteger(const std::string& key, std::int64_t* out, bool required, long long minValue) {
        const json* v = find(key, required);
        if (!v) return false;
        if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<std::uint64_t>() > std::uint64_t(INT64_MAX))) {
            fail(key, "expected an integer, got " + show(*v));
            return false;
        }
        *out = v->get<std::int64_t>();
        if (*out < minValue) {
            fail(key, "expected an integer >= " + std::to_string(minValue) + ", got " + show(*v));
            return false;
        }
        return true;
    }
    // Any JSON number; `positive` rejects 0 and negatives.
    void number(const std::string& key, double* out, bool required, bool positive) {
        const json* v = find(key, required);
        if (!v) return;
        if (!v->is_number()) return fail(key, "expected a number, got " + show(*v));
        const double x = v->get<double>();
        if (!std::isfinite(x) || (positive && !(x > 0.0)))
            return fail(key, std::string("expected a ") + (positive ? "positive " : "") + "finite number, got " + show(*v));
        *out = x;
    }
    void boolean(const std::string& key, bool* out, bool required) {
        const json* v = find(key, required);
        if (!v) return;
        if (!v->is_boolean()) return fail(key, "expected true or false, got " + show(*v));
        *out = v->get<bool>();
    }
    void string(const std::string& key, std::string* out, bool required) {
        const json* v = find(key, required);
        if (!v) return;
        if (!v->is_string()) return fail(key, "expected a string, got " + show(*v));
        *out = v->get<std::string>();
    }

private:
    const json& obj_;
    const std::string& source_;
    std::string prefix_;
    std::string error_;
};

void readRopeScaling(Reader& r, const json& root, const std::string& source, RopeScaling* out) {
    const auto it = root.find("rope_scaling");
    if (it == root.end() || it->is_null()) return; // no scaling
    if (!it->is_object()) return r.fail("rope_scaling", "expected an object or null, got " + Reader::show(*it));
    Reader s(*it, source, "rope_scaling.");
    // HF configs spell the kind "type" (older) or "rope_type" (newer).
    if (it->contains("type")) s.string("type", &out->type, true);
    else s.string("rope_type", &out->type, true);
    if (!s.failed() && out->type != "yarn")
        s.fail("type", "unsupported rope scaling \"" + out->type + "\" (only yarn)");
    s.number("factor", &out->factor, true, true);
    s.integer64("original_max_position_embeddings", &out->originalMaxPositionEmbeddings, true, 1);
    s.number("beta_fast", &out->betaFast, false, true);
    s.number("beta_slow", &out->betaSlow, false, true);
    r.adopt(s);
}

void readQuantization(Reader& r, const json& root, const std::string& source, ModelConfig* c) {
    const auto it = root.find("quantization_config");
    if (it == root.end() || it->is_null()) return; // unquantized checkpoint: bf16 everywhere
    if (!it->is_object())
        return r.fail("quantization_config", "expected an object, got " + Reader::show(*it));
    Reader q(*it, source, "quantization_config.");
    q.string("quant_method", &c->quantMethod, true);
    if (!q.failed() && c->quantMethod != "fp8")
        q.fail("quant_method", "unsupported value \"" + c->quantMethod + "\" (only fp8)");
    c->quantFmt = "e4m3";
    q.string("fmt", &c->quantFmt, false);
    if (!q.failed() && c->quantFmt != "e4m3") q.fail("fmt", "unsupported value \"" + c->quantFmt + "\" (only e4m3)");
    c->scaleFmt = "ue8m0";
    q.string("scale_fmt", &c->scaleFmt, false);
    if (!q.failed() && c->scaleFmt != "ue8m0")
        q.fail("scale_fmt", "unsupported value \"" + c->scaleFmt + "\" (only ue8m0)");
    if (const json* b = q.find("weight_block_size", false)) {
        if (!b->is_array() || b->size() != 2 || !(*b)[0].is_number_integer() || !(*b)[1].is_number_integer() ||
            (*b)[0].get<long long>() <= 0 || (*b)[1].get<long long>() <= 0 || (*b)[0].get<long long>() > 65536 ||
            (*b)[1].get<long long>() > 65536)
            q.fail("weight_block_size", "expected two positive integers, got " + Reader::show(*b));
        else {
            c->weightBlockRows = (*b)[0].get<int>();
            c->weightBlockCols = (*b)[1].get<int>();
        }
    }
    r.adopt(q); // the message keeps the dotted key: "...: key 'quantization_config.fmt': ..."
}

} // namespace

// Cross-key checks: every relation that shapes or kernels depend on.
std::string checkConfigConsistency(const ModelConfig& c) {
    if (c.modelType != "deepseek_v4") return "key 'model_type': expected \"deepseek_v4\", got \"" + c.modelType + "\"";
    const std::size_t want = std::size_t(c.numHiddenLayers) + std::size_t(c.numNextnPredictLayers);
    if (c.compressRatios.size() != want)
        return "key 'compress_ratios': has " + std::to_string(c.compressRatios.size()) +
               " entries, expected num_hidden_layers + num_nextn_predict_layers = " + std::to_string(want);
    for (std::size_t i = 0; i < c.compressRatios.size(); ++i) {
        const int r = c.compressRatios[i];
        if (r != 0 && r != 4 && r != 128)
            return "key 'compress_ratios': entry " + std::to_string(i) + " is " + std::to_string(r) +
                   ", expected 0, 4 or 128";
        if (i >= std::size_t(c.numHiddenLayers) && r != 0)
            return "key 'compress_ratios': entry " + std::to_string(i) + " (an MTP layer) is " + std::to_string(r) +
                   ", expected 0 (MTP layers use the window only)";
    }
    if (c.numKeyValueHeads != 1) return "key 'num_key_value_heads': expected 1 (one shared KV), got " + std::to_string(c.numKeyValueHeads);
    if (c.qkRopeHeadDim % 2 != 0) return "key 'qk_rope_head_dim': expected an even number, got " + std::to_string(c.qkRopeHeadDim);
    if (c.headDim <= c.qkRopeHeadDim)
        return "key 'head_dim': " + std::to_string(c.headDim) + " must exceed qk_rope_head_dim " +
               std::to_string(c.qkRopeHeadDim);
    // What the kernels need: the indexer rotates its keys and queries with a Walsh-Hadamard
    // transform (a power of two, at most 1024 for the CUDA kernel), and RoPE turns pairs.
    if (c.indexHeadDim < 2 || c.indexHeadDim > 1024 || (c.indexHeadDim & (c.indexHeadDim - 1)) != 0)
        return "key 'index_head_dim': " + std::to_string(c.indexHeadDim) +
               " is not a power of two in [2, 1024] (the indexer's Hadamard rotation needs one)";
    if (c.qkRopeHeadDim % 2 != 0)
        return "key 'qk_rope_head_dim': " + std::to_string(c.qkRopeHeadDim) + " is odd (RoPE rotates pairs)";
    if (c.indexHeadDim <= c.qkRopeHeadDim)
        return "key 'index_head_dim': " + std::to_string(c.indexHeadDim) + " must exceed qk_rope_head_dim " +
               std::to_string(c.qkRopeHeadDim);
    if (c.numAttentionHeads % c.oGroups != 0)
        return "key 'o_groups': " + std::to_string(c.oGroups) + " does not divide num_attention_heads " +
               std::to_string(c.numAttentionHeads);
    if (c.numExpertsPerTok > c.nRoutedExperts)
        return "key 'num_experts_per_tok': " + std::to_string(c.numExpertsPerTok) + " exceeds n_routed_experts " +
               std::to_string(c.nRoutedExperts);
    if (c.numHashLayers > c.numHiddenLayers)
        return "key 'num_hash_layers': " + std::to_string(c.numHashLayers) + " exceeds num_hidden_layers " +
               std::to_string(c.numHiddenLayers);
    if (c.bosTokenId >= c.vocabSize)
        return "key 'bos_token_id': " + std::to_string(c.bosTokenId) + " is outside vocab_size " + std::to_string(c.vocabSize);
    if (c.eosTokenId >= c.vocabSize)
        return "key 'eos_token_id': " + std::to_string(c.eosTokenId) + " is outside vocab_size " + std::to_string(c.vocabSize);
    if (c.expertDtype != "" && c.expertDtype != "fp4" && c.expertDtype != "fp8")
        return "key 'expert_dtype': expected \"fp4\" or \"fp8\", got \"" + c.expertDtype + "\"";
    // fp4 experts pack two values per byte with one scale per 32 along K (K is D for w1/w3, the
    // intermediate size for w2). Absent expert_dtype means "detect from the tensors", so allow fp4.
    if (c.expertDtype != "fp8" && !c.quantMethod.empty()) {
        if (c.hiddenSize % 32 != 0)
            return "key 'hidden_size': " + std::to_string(c.hiddenSize) + " is not a multiple of 32 (fp4 expert scales)";
        if (c.moeIntermediateSize % 32 != 0)
            return "key 'moe_intermediate_size': " + std::to_string(c.moeIntermediateSize) +
                   " is not a multiple of 32 (fp4 expert scales)";
    }
    if (c.ropeScaling.type == "yarn" && c.ropeScaling.originalMaxPositionEmbeddings > c.maxPositionEmbeddings)
        return "key 'rope_scaling.original_max_position_embeddings': exceeds max_position_embeddings";
    return {};
}

Result<ModelConfig> parseConfig(const std::string& jsonText, const std::string& source) {
    const json root = json::parse(jsonText, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return makeError(source + ": not valid JSON");
    if (!root.is_object()) return makeError(source + ": expected a JSON object at the top level");

    ModelConfig c;
    Reader r(root, source);
    r.string("model_type", &c.modelType, true);
    r.integer("hidden_size", &c.hiddenSize, true, 1);
    r.integer("num_hidden_layers", &c.numHiddenLayers, true, 1);
    r.integer("num_attention_heads", &c.numAttentionHeads, true, 1);
    r.integer("num_key_value_heads", &c.numKeyValueHeads, false, 1);
    r.integer("head_dim", &c.headDim, true, 1);
    r.integer("qk_rope_head_dim", &c.qkRopeHeadDim, true, 2);
    r.integer("q_lora_rank", &c.qLoraRank, true, 1);
    r.integer("o_lora_rank", &c.oLoraRank, true, 1);
    r.integer("o_groups", &c.oGroups, true, 1);
    r.integer("vocab_size", &c.vocabSize, true, 1);
    r.integer("moe_intermediate_size", &c.moeIntermediateSize, true, 1);
    r.integer("n_routed_experts", &c.nRoutedExperts, true, 1);
    r.integer("n_shared_experts", &c.nSharedExperts, true, 0);
    r.integer("num_experts_per_tok", &c.numExpertsPerTok, true, 1);

    std::string scoring = "sqrtsoftplus";
    r.string("scoring_func", &scoring, false);
    if (scoring == "sqrtsoftplus") c.scoringFunc = ScoringFunc::SqrtSoftplus;
    else if (scoring == "softmax") c.scoringFunc = ScoringFunc::Softmax;
    else if (scoring == "sigmoid") c.scoringFunc = ScoringFunc::Sigmoid;
    else r.fail("scoring_func", "expected sqrtsoftplus, softmax or sigmoid, got \"" + scoring + "\"");
    c.topkMethod = "noaux_tc";
    r.string("topk_method", &c.topkMethod, false);
    if (c.topkMethod != "noaux_tc" && c.topkMethod != "greedy")
        r.fail("topk_method", "expected noaux_tc or greedy, got \"" + c.topkMethod + "\"");
    r.boolean("norm_topk_prob", &c.normTopkProb, false);
    r.number("routed_scaling_factor", &c.routedScalingFactor, true, true);
    r.integer("num_hash_layers", &c.numHashLayers, false, 0);
    r.number("swiglu_limit", &c.swigluLimit, false, false);
    if (c.swigluLimit < 0) r.fail("swiglu_limit", "expected >= 0, got " + std::to_string(c.swigluLimit));
    r.integer("num_nextn_predict_layers", &c.numNextnPredictLayers, false, 0);
    r.integer("sliding_window", &c.slidingWindow, true, 1);

    if (const json* cr = r.find("compress_ratios", true)) {
        if (!cr->is_array()) r.fail("compress_ratios", "expected an array of integers, got " + Reader::show(*cr));
        else
            for (std::size_t i = 0; i < cr->size(); ++i) {
                const json& e = (*cr)[i];
                if (!e.is_number_integer() || e.get<long long>() < 0 || e.get<long long>() > 1 << 20) {
                    r.fail("compress_ratios", "entry " + std::to_string(i) + " is " + Reader::show(e) +
                                                  ", expected 0, 4 or 128");
                    break;
                }
                c.compressRatios.push_back(e.get<int>());
            }
    }
    r.number("rope_theta", &c.ropeTheta, true, true);
    c.compressRopeTheta = c.ropeTheta;
    r.number("compress_rope_theta", &c.compressRopeTheta, false, true);
    readRopeScaling(r, root, source, &c.ropeScaling);
    r.integer64("max_position_embeddings", &c.maxPositionEmbeddings, true, 1);
    r.integer("index_n_heads", &c.indexNHeads, true, 1);
    r.integer("index_head_dim", &c.indexHeadDim, true, 1);
    r.integer("index_topk", &c.indexTopk, true, 1);
    r.integer("hc_mult", &c.hcMult, true, 1);
    r.integer("hc_sinkhorn_iters", &c.hcSinkhornIters, true, 1);
    r.number("hc_eps", &c.hcEps, true, true);
    r.number("rms_norm_eps", &c.rmsNormEps, true, true);
    r.boolean("tie_word_embeddings", &c.tieWordEmbeddings, false);
    r.integer("bos_token_id", &c.bosTokenId, false, 0);
    r.integer("eos_token_id", &c.eosTokenId, false, 0);
    readQuantization(r, root, source, &c);
    r.string("expert_dtype", &c.expertDtype, false);

    if (r.failed()) return makeError(r.error());
    if (const std::string e = checkConfigConsistency(c); !e.empty()) return makeError(source + ": " + e);
    return c;
}

Result<ModelConfig> loadConfig(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(path + ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return makeError(path + ": read error");
    return parseConfig(text.str(), path);
}

} // namespace folio::model
