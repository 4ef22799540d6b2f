#include "weights.h"

#include "folio/kernels/formats.h"
#include "model_io/gguf_model.h"

#include <optional>
#include <sstream>

namespace folio::model {

namespace {

std::string shapeText(const std::vector<std::int64_t>& s) {
    std::ostringstream o;
    o << '[';
    for (std::size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
    o << ']';
    return o.str();
}

class Binder {
public:
    Binder(const ModelConfig& cfg, const TensorLookup& lookup) : cfg_(cfg), lookup_(lookup) {}

    bool failed() const { return !error_.empty(); }
    void fail(const std::string& why) {
        if (!failed()) error_ = why;
    }
    const std::string& error() const { return error_; }

    const TensorView* tensor(const std::string& name) {
        if (failed()) return nullptr;
        const TensorView* t = lookup_(name);
        if (!t) error_ = "tensor " + name + " is missing from the checkpoint";
        return t;
    }

    bool expectShape(const TensorView* t, std::vector<std::int64_t> shape) {
        if (!t || failed()) return false;
        if (t->shape != shape) {
            error_ = "tensor " + t->name + " in " + t->shard + " has shape " + shapeText(t->shape) +
                     ", expected " + shapeText(shape);
            return false;
        }
        return true;
    }

    bool expectDtype(const TensorView* t, std::initializer_list<DType> allowed) {
        if (!t || failed()) return false;
        for (DType d : allowed)
            if (t->dtype == d) return true;
        error_ = "tensor " + t->name + " in " + t->shard + " has dtype " + dtypeName(t->dtype) +
                 ", which this position does not take";
        return false;
    }

    // The values of a tensor of `shape` stored as f32, bf16 or (from GGUF, where llama-quantize
    // also quantizes small 2-D tensors such as the compressors' ape) a block format, as f32.
    std::vector<float> floats(const TensorView* t, const std::vector<std::int64_t>& shape) {
        std::vector<float> out;
        if (!expectShape(t, shape)) return out;
        const std::int64_t n = t->numel(), cols = shape.empty() ? 1 : shape.back(), rows = n / std::max<std::int64_t>(cols, 1);
        kernels::WeightMatrix m{kernels::WeightFormat::F32, rows, cols, t->data, nullptr};
        if (t->dtype == DType::BF16) m.format = kernels::WeightFormat::BF16;
        else if (auto f = ggufWeightFormat(t->dtype)) m.format = *f;
        else if (t->dtype != DType::F32) {
            error_ = "tensor " + t->name + " in " + t->shard + " has dtype " + dtypeName(t->dtype) +
                     ", which this position does not take";
            return out;
        }
        if (const int per = kernels::blockLayout(m.format).values; per > 1 && cols % per != 0) {
            error_ = "tensor " + t->name + ": " + dtypeName(t->dtype) + " needs a last dimension divisible by " + std::to_string(per);
            return out;
        }
        out.resize(std::size_t(n));
        for (std::int64_t r = 0; r < rows; ++r) kernels::dequantizeRow(m, r, 0, cols, out.data() + r * cols);
        return out;
    }

    // A vector of `n` values, as f32.
    std::vector<float> vec(const std::string& name, std::int64_t n) { return floats(tensor(name), {n}); }

    // `prefix` + `suffix` (+ `prefix`.scale) of logical shape [rows, cols].
    WeightMatrix matrix(const std::string& prefix, std::int64_t rows, std::int64_t cols,
                        const std::string& suffix = ".weight") {
        WeightMatrix m;
        m.rows = rows;
        m.cols = cols;
        const TensorView* t = tensor(prefix + suffix);
        if (!t) return m;
        m.data = t->data;
        switch (t->dtype) {
        case DType::F32: m.format = kernels::WeightFormat::F32; expectShape(t, {rows, cols}); break;
        case DType::BF16: m.format = kernels::WeightFormat::BF16; expectShape(t, {rows, cols}); break;
        case DType::F8_E4M3: {
            m.format = kernels::WeightFormat::FP8Block128;
            if (!expectShape(t, {rows, cols})) break;
            const TensorView* s = tensor(prefix + ".scale");
            if (expectShape(s, {(rows + 127) / 128, (cols + 127) / 128}) &&
                expectDtype(s, {DType::F8_E8M0, DType::U8}))
                m.scales = s->data;
            break;
        }
        case DType::I8:
        case DType::U8:
        case DType::F4: {
            m.format = kernels::WeightFormat::FP4Row32;
            if (cols % 32 != 0) {
                error_ = "tensor " + t->name + ": fp4 weights need an input width divisible by 32";
                break;
            }
            if (!expectShape(t, t->dtype == DType::F4 ? std::vector<std::int64_t>{rows, cols}
                                                      : std::vector<std::int64_t>{rows, cols / 2}))
                break;
            const TensorView* s = tensor(prefix + ".scale");
            if (expectShape(s, {rows, cols / 32}) && expectDtype(s, {DType::F8_E8M0, DType::U8}))
                m.scales = s->data;
            break;
        }
        default: {
            const std::optional<kernels::WeightFormat> f = ggufWeightFormat(t->dtype);
            if (!f) {
                error_ = "tensor " + t->name + " in " + t->shard + " has dtype " + dtypeName(t->dtype) +
                         ", not a weight format (F32, BF16, F8_E4M3, packed fp4, or a GGUF type)";
                break;
            }
            m.format = *f;
            if (const int per = kernels::blockLayout(*f).values; cols % per != 0) {
                error_ = "tensor " + t->name + ": " + dtypeName(t->dtype) + " weights need an input width divisible by " +
                         std::to_string(per);
                break;
            }
            expectShape(t, {rows, cols});
        }
        }
        return m;
    }

    HyperConnection hc(const std::string& prefix, std::int64_t mixes, std::int64_t scales) {
        HyperConnection h;
        const std::int64_t D = cfg_.hiddenSize, hcm = cfg_.hcMult;
        // F32 in the official checkpoints; a GGUF may hold it quantized (llama-quantize does).
        const TensorView* fn = tensor(prefix + "_fn");
        if (fn && (fn->dtype == DType::F32 || ggufWeightFormat(fn->dtype))) h.fn = matrix(prefix + "_fn", mixes, hcm * D, "");
        else expectDtype(fn, {DType::F32});
        h.base = vec(prefix + "_base", mixes);
        h.scale = vec(prefix + "_scale", scales);
        return h;
    }

    CompressorWeights compressor(const std::string& prefix, int ratio, int dim) {
        CompressorWeights c;
        c.ratio = ratio;
        c.dim = dim;
        const std::int64_t out = std::int64_t(c.coff()) * dim, D = cfg_.hiddenSize;
        c.ape = floats(tensor(prefix + ".ape"), {ratio, out});
        c.wkv = matrix(prefix + ".wkv", out, D);
        c.wgate = matrix(prefix + ".wgate", out, D);
        c.norm = vec(prefix + ".norm.weight", dim);
        return c;
    }

    AttentionWeights attention(const std::string& p, int ratio, bool allowCompressor) {
        AttentionWeights a;
        a.ratio = allowCompressor ? ratio : 0;
        const std::int64_t D = cfg_.hiddenSize, H = cfg_.numAttentionHeads, hd = cfg_.headDim;
        const std::int64_t G = cfg_.oGroups, ql = cfg_.qLoraRank, ol = cfg_.oLoraRank;
        a.sink = vec(p + ".attn_sink", H);
        a.wqA = matrix(p + ".wq_a", ql, D);
        a.qNorm = vec(p + ".q_norm.weight", ql);
        a.wqB = matrix(p + ".wq_b", H * hd, ql);
        a.wkv = matrix(p + ".wkv", hd, D);
        a.kvNorm = vec(p + ".kv_norm.weight", hd);
        a.woA = matrix(p + ".wo_a", G * ol, H * hd / G);
        a.woB = matrix(p + ".wo_b", D, G * ol);
        if (a.ratio > 0) a.compressor = compressor(p + ".compressor", a.ratio, int(hd));
        if (a.ratio == 4) {
            const std::int64_t ih = cfg_.indexNHeads, id = cfg_.indexHeadDim;
            a.indexer.wqB = matrix(p + ".indexer.wq_b", ih * id, ql);
            a.indexer.weightsProj = matrix(p + ".indexer.weights_proj", ih, D);
            a.indexer.compressor = compressor(p + ".indexer.compressor", 4, int(id));
        }
        return a;
    }

    ExpertWeights expert(const std::string& p, std::int64_t inter) {
        const std::int64_t D = cfg_.hiddenSize;
        return {matrix(p + ".w1", inter, D), matrix(p + ".w2", D, inter), matrix(p + ".w3", inter, D)};
    }

    MoeWeights moe(const std::string& p, bool hashed) {
        MoeWeights m;
        const std::int64_t D = cfg_.hiddenSize, E = cfg_.nRoutedExperts;
        m.gate = matrix(p + ".gate", E, D);
        if (hashed) {
            const TensorView* t = tensor(p + ".gate.tid2eid");
            if (expectShape(t, {cfg_.vocabSize, cfg_.numExpertsPerTok}) && expectDtype(t, {DType::I64, DType::I32})) {
                if (t->dtype == DType::I32) { // GGUF: widened once
                    const auto* v = reinterpret_cast<const std::int32_t*>(t->data);
                    m.tid2eidWidened.assign(v, v + t->numel());
                    m.tid2eid = m.tid2eidWidened.data();
                } else {
                    m.tid2eid = reinterpret_cast<const std::int64_t*>(t->data);
                }
                for (std::int64_t i = 0; i < t->numel(); ++i)
                    if (m.tid2eid[i] < 0 || m.tid2eid[i] >= E) {
                        error_ = "tensor " + t->name + " names expert " + std::to_string(m.tid2eid[i]) +
                                 " at index " + std::to_string(i) + "; there are " + std::to_string(E);
                        break;
                    }
            }
        } else {
            m.bias = vec(p + ".gate.bias", E);
        }
        for (std::int64_t e = 0; e < E && !failed(); ++e)
            m.experts.push_back(expert(p + ".experts." + std::to_string(e), cfg_.moeIntermediateSize));
        m.shared = expert(p + ".shared_experts", std::int64_t(cfg_.moeIntermediateSize) * cfg_.nSharedExperts);
        return m;
    }

    LayerWeights layer(const std::string& p, int ratio, bool hashed, bool allowCompressor) {
        LayerWeights l;
        const std::int64_t D = cfg_.hiddenSize, hcm = cfg_.hcMult;
        l.attnNorm = vec(p + ".attn_norm.weight", D);
        l.ffnNorm = vec(p + ".ffn_norm.weight", D);
        l.hcAttn = hc(p + ".hc_attn", (2 + hcm) * hcm, 3);
        l.hcFfn = hc(p + ".hc_ffn", (2 + hcm) * hcm, 3);
        l.attn = attention(p + ".attn", ratio, allowCompressor);
        l.ffn = moe(p + ".ffn", hashed);
        return l;
    }

private:
    const ModelConfig& cfg_;
    const TensorLookup& lookup_;
    std::string error_;
};

} // namespace

Result<ModelWeights> bindWeights(const ModelConfig& cfg, const TensorLookup& lookup) {
    Binder b(cfg, lookup);
    ModelWeights w;
    const std::int64_t D = cfg.hiddenSize, V = cfg.vocabSize;
    w.embed = b.matrix("embed", V, D);
    if (w.embed.quantized()) b.fail("tensor embed.weight: the embedding must be bf16, f32 or a GGUF type");
    w.head = b.matrix("head", V, D);
    w.norm = b.vec("norm.weight", D);
    w.hcHead = b.hc("hc_head", cfg.hcMult, 1);
    for (int l = 0; l < cfg.numHiddenLayers && !b.failed(); ++l)
        w.layers.push_back(b.layer("layers." + std::to_string(l), cfg.compressRatio(l),
                                   l < cfg.numHashLayers, true));
    for (int m = 0; m < cfg.numNextnPredictLayers && !b.failed(); ++m) {
        const std::string p = "mtp." + std::to_string(m);
        MtpWeights mt;
        mt.eProj = b.matrix(p + ".e_proj", D, D);
        mt.hProj = b.matrix(p + ".h_proj", D, D);
        mt.enorm = b.vec(p + ".enorm.weight", D);
        mt.hnorm = b.vec(p + ".hnorm.weight", D);
        mt.norm = b.vec(p + ".norm.weight", D);
        mt.hcHead = b.hc(p + ".hc_head", cfg.hcMult, 1);
        // The MTP block is window-only whatever its compress_ratios entry says, and biased.
        mt.block = b.layer(p, 0, false, false);
        w.mtp.push_back(std::move(mt));
    }
    if (b.failed()) return makeError(b.error());
    return w;
}

} // namespace folio::model
