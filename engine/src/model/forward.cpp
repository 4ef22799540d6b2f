#include "forward.h"

#include "folio/kernels/formats.h"
#include "folio/kernels/thread_pool.h"
#include "layer.h"
#include "ops.h"

#include <algorithm>
#include <cmath>

namespace folio::model {

void hcSplit(const float* mixes, const HyperConnection& hc, int hcm, int iters, float eps, HcMix* out) {
    const float* base = hc.base.data();
    const float* scale = hc.scale.data();
    out->pre.resize(static_cast<std::size_t>(hcm));
    for (int i = 0; i < hcm; ++i) out->pre[std::size_t(i)] = sigmoid(mixes[i] * scale[0] + base[i]) + eps;
    if (hc.scale.size() < 3) return; // the head's mix: pre only
    out->post.resize(static_cast<std::size_t>(hcm));
    for (int i = 0; i < hcm; ++i)
        out->post[std::size_t(i)] = 2.0f * sigmoid(mixes[hcm + i] * scale[1] + base[hcm + i]);
    std::vector<float>& c = out->comb;
    c.resize(std::size_t(hcm * hcm));
    for (int i = 0; i < hcm * hcm; ++i) c[std::size_t(i)] = mixes[2 * hcm + i] * scale[2] + base[2 * hcm + i];
    // Row softmax (+eps), then column normalisation; then alternate rows and columns.
    for (int r = 0; r < hcm; ++r) {
        float* row = &c[std::size_t(r * hcm)];
        const float m = *std::max_element(row, row + hcm);
        float s = 0.0f;
        for (int j = 0; j < hcm; ++j) s += (row[j] = std::exp(row[j] - m));
        for (int j = 0; j < hcm; ++j) row[j] = row[j] / s + eps;
    }
    auto normCols = [&] {
        for (int j = 0; j < hcm; ++j) {
            float s = 0.0f;
            for (int r = 0; r < hcm; ++r) s += c[std::size_t(r * hcm + j)];
            for (int r = 0; r < hcm; ++r) c[std::size_t(r * hcm + j)] /= s + eps;
        }
    };
    auto normRows = [&] {
        for (int r = 0; r < hcm; ++r) {
            float s = 0.0f;
            for (int j = 0; j < hcm; ++j) s += c[std::size_t(r * hcm + j)];
            for (int j = 0; j < hcm; ++j) c[std::size_t(r * hcm + j)] /= s + eps;
        }
    };
    normCols();
    for (int it = 1; it < iters; ++it) {
        normRows();
        normCols();
    }
}

Forward::Forward(const ModelConfig& cfg, const ModelWeights& w, kernels::ThreadPool* pool, bool quantize)
    : cfg_(cfg), w_(w), pool_(pool), ropePlain_(cfg, false), ropeCompressed_(cfg, true), quantize_(quantize) {}

void Forward::embed(const std::int32_t* tokens, std::int64_t n, float* h) const {
    const std::int64_t D = cfg_.hiddenSize, hcm = cfg_.hcMult;
    for (std::int64_t t = 0; t < n; ++t) {
        float* dst = h + t * hcm * D;
        kernels::dequantizeRow(w_.embed, tokens[t], 0, D, dst);
        for (std::int64_t c = 1; c < hcm; ++c) std::copy(dst, dst + D, dst + c * D);
    }
}

void Forward::head(const HyperConnection& hc, const std::vector<float>& norm, const float* h, std::int64_t n,
                   float* logits) const {
    const std::int64_t D = cfg_.hiddenSize, hcm = cfg_.hcMult;
    std::vector<float> mixes(std::size_t(n * hcm)), x(std::size_t(n * D));
    kernels::gemm(h, n, hc.fn, mixes.data(), pool_);
    HcMix mix;
    for (std::int64_t t = 0; t < n; ++t) {
        const float* ht = h + t * hcm * D;
        double ss = 0.0;
        for (std::int64_t i = 0; i < hcm * D; ++i) ss += double(ht[i]) * ht[i];
        const float r = float(1.0 / std::sqrt(ss / double(hcm * D) + cfg_.rmsNormEps));
        for (std::int64_t i = 0; i < hcm; ++i) mixes[std::size_t(t * hcm + i)] *= r;
        hcSplit(&mixes[std::size_t(t * hcm)], hc, int(hcm), 0, float(cfg_.hcEps), &mix);
        float* xt = &x[std::size_t(t * D)];
        std::fill(xt, xt + D, 0.0f);
        for (std::int64_t c = 0; c < hcm; ++c)
            for (std::int64_t i = 0; i < D; ++i) xt[i] += mix.pre[std::size_t(c)] * ht[c * D + i];
        rmsNorm(xt, norm.data(), int(D), float(cfg_.rmsNormEps), xt);
    }
    kernels::gemm(x.data(), n, w_.head, logits, pool_);
}

void Forward::run(SequenceState& state, const std::int32_t* tokens, std::int64_t n, bool allPositions,
                  std::vector<float>* logits, std::vector<float>* hidden) const {
    if (n <= 0) return;
    const std::int64_t D = cfg_.hiddenSize, hcm = cfg_.hcMult;
    std::vector<float> h(std::size_t(n * hcm * D));
    embed(tokens, n, h.data());
    LayerRunner runner{cfg_, pool_, ropePlain_, ropeCompressed_, quantize_};
    for (int l = 0; l < cfg_.numHiddenLayers; ++l)
        runner.run(w_.layers[std::size_t(l)], state.layers[std::size_t(l)], state.pos, tokens, n, h.data());
    state.pos += n;
    processed_ += n;
    if (logits) {
        const std::int64_t rows = allPositions ? n : 1;
        logits->assign(std::size_t(rows * cfg_.vocabSize), 0.0f);
        head(w_.hcHead, w_.norm, h.data() + (n - rows) * hcm * D, rows, logits->data());
    }
    if (hidden) *hidden = std::move(h);
}

void Forward::runMtp(SequenceState& state, std::int64_t pos0, const float* hidden, const std::int32_t* nextTokens,
                     std::int64_t n, std::vector<float>* logits) const {
    if (w_.mtp.empty() || state.mtp.empty() || n <= 0) return;
    const MtpWeights& m = w_.mtp.front();
    const std::int64_t D = cfg_.hiddenSize, hcm = cfg_.hcMult;
    const float eps = float(cfg_.rmsNormEps);
    // e = e_proj(enorm(embed(next))), shared by the copies; x_c = e + h_proj(hnorm(h_c)).
    std::vector<float> e(std::size_t(n * D)), ep(std::size_t(n * D));
    std::vector<float> hn(std::size_t(n * hcm * D)), hp(std::size_t(n * hcm * D));
    for (std::int64_t t = 0; t < n; ++t) {
        float* et = &e[std::size_t(t * D)];
        kernels::dequantizeRow(w_.embed, nextTokens[t], 0, D, et);
        rmsNorm(et, m.enorm.data(), int(D), eps, et);
        for (std::int64_t c = 0; c < hcm; ++c)
            rmsNorm(hidden + (t * hcm + c) * D, m.hnorm.data(), int(D), eps, &hn[std::size_t((t * hcm + c) * D)]);
    }
    if (quantize_) {
        kernels::quantizeActivations(e.data(), n, D, pool_);
        kernels::quantizeActivations(hn.data(), n * hcm, D, pool_);
    }
    kernels::gemm(e.data(), n, m.eProj, ep.data(), pool_);
    kernels::gemm(hn.data(), n * hcm, m.hProj, hp.data(), pool_);
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t c = 0; c < hcm; ++c)
            for (std::int64_t i = 0; i < D; ++i) hp[std::size_t((t * hcm + c) * D + i)] += ep[std::size_t(t * D + i)];
    LayerRunner runner{cfg_, pool_, ropePlain_, ropeCompressed_, quantize_};
    runner.run(m.block, state.mtp.front(), pos0, nextTokens, n, hp.data());
    if (logits) {
        logits->assign(std::size_t(n * cfg_.vocabSize), 0.0f);
        head(m.hcHead, m.norm, hp.data(), n, logits->data());
    }
}

} // namespace folio::model
