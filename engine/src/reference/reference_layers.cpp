// The reference's attention, MoE and token step (see reference_model.h).
#include "reference_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace folio::reference {

namespace {

double bf16v(std::uint16_t v) {
    std::uint32_t bits = std::uint32_t(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

Vec hadamardDense(const Vec& x) {
    const int d = int(x.size());
    Vec y(x.size(), 0.0);
    for (int i = 0; i < d; ++i)
        for (int k = 0; k < d; ++k) y[std::size_t(i)] += (__builtin_popcount(unsigned(i & k)) % 2 ? -1.0 : 1.0) * x[std::size_t(k)];
    for (double& v : y) v /= std::sqrt(double(d));
    return y;
}

// Indices of the k largest values, ties to the lower index.
std::vector<std::int64_t> topk(const Vec& s, std::int64_t k) {
    std::vector<std::int64_t> idx(s.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::int64_t a, std::int64_t b) { return s[std::size_t(a)] > s[std::size_t(b)]; });
    if (std::int64_t(idx.size()) > k) idx.resize(static_cast<std::size_t>(k));
    return idx;
}

} // namespace

Vec ReferenceModel::attention(int l, const std::string& p, int ratio, const Vec& x) {
    const std::int64_t D = cfg_.hiddenSize, H = cfg_.numAttentionHeads, hd = cfg_.headDim, rd = cfg_.qkRopeHeadDim;
    const std::int64_t nope = hd - rd, ql = cfg_.qLoraRank, G = cfg_.oGroups, ol = cfg_.oLoraRank, W = cfg_.slidingWindow;
    const bool compressed = ratio > 0;
    Layer& L = layers_[std::size_t(l)];
    const std::int64_t pos = curPos_;

    const Vec qr = rmsNorm(matvec(p + ".wq_a", ql, D, x, true), &vec(p + ".q_norm.weight"));
    Vec q = matvec(p + ".wq_b", H * hd, ql, qr, true);
    for (std::int64_t h = 0; h < H; ++h) {
        Vec head(q.begin() + h * hd, q.begin() + (h + 1) * hd);
        head = rmsNorm(head, nullptr);
        rope(head.data() + nope, pos, compressed, false);
        std::copy(head.begin(), head.end(), q.begin() + h * hd);
    }
    Vec kv = rmsNorm(matvec(p + ".wkv", hd, D, x, true), &vec(p + ".kv_norm.weight"));
    rope(kv.data() + nope, pos, compressed, false);
    if (quantize_) refQuantRoundTrip(kv.data(), nope, 64, false);
    L.kv.push_back(kv);

    auto compressorStep = [&](const std::string& cp, int d, std::vector<Vec>& A, std::vector<Vec>& Gs,
                              std::vector<Vec>& E, bool indexer) {
        const std::int64_t width = (ratio == 4 ? 2 : 1) * d;
        A.push_back(matvec(cp + ".wkv", width, D, x, false));
        Vec g = matvec(cp + ".wgate", width, D, x, false);
        const Vec& ape = vec(cp + ".ape");
        for (std::int64_t i = 0; i < width; ++i) g[std::size_t(i)] += ape[std::size_t((pos % ratio) * width + i)];
        Gs.push_back(g);
        if ((pos + 1) % ratio == 0) E.push_back(compressEntry(A, Gs, pos / ratio, ratio, d, cp, indexer));
    };
    if (ratio > 0) compressorStep(p + ".compressor", int(hd), L.a, L.g, L.entries, false);

    std::vector<std::int64_t> chosen;
    if (ratio == 4) {
        compressorStep(p + ".indexer.compressor", cfg_.indexHeadDim, L.ia, L.ig, L.ientries, true);
        const std::int64_t ih = cfg_.indexNHeads, id = cfg_.indexHeadDim;
        const std::int64_t visible = (pos + 1) / 4;
        Vec qi = matvec(p + ".indexer.wq_b", ih * id, ql, qr, true);
        Vec w = matvec(p + ".indexer.weights_proj", ih, D, x, false);
        Vec score(std::size_t(visible), 0.0);
        for (std::int64_t h = 0; h < ih; ++h) {
            Vec qh(qi.begin() + h * id, qi.begin() + (h + 1) * id);
            rope(qh.data() + id - rd, pos, true, false);
            qh = hadamardDense(qh);
            if (quantize_) refQuantRoundTrip(qh.data(), id, 32, true);
            const double wh = w[std::size_t(h)] / std::sqrt(double(id)) / std::sqrt(double(ih));
            for (std::int64_t j = 0; j < visible; ++j) {
                double dot = 0;
                for (std::int64_t k = 0; k < id; ++k) dot += qh[std::size_t(k)] * L.ientries[std::size_t(j)][std::size_t(k)];
                score[std::size_t(j)] += wh * std::max(dot, 0.0);
            }
        }
        chosen = topk(score, cfg_.indexTopk);
    } else if (ratio > 0) {
        for (std::int64_t j = 0; j < (pos + 1) / ratio; ++j) chosen.push_back(j);
    }

    std::vector<const Vec*> keys;
    for (std::int64_t t = std::max<std::int64_t>(0, pos - W + 1); t <= pos; ++t) keys.push_back(&L.kv[std::size_t(t)]);
    for (std::int64_t j : chosen) keys.push_back(&L.entries[std::size_t(j)]);

    const Vec& sink = vec(p + ".attn_sink");
    Vec o(std::size_t(H * hd), 0.0);
    for (std::int64_t h = 0; h < H; ++h) {
        Vec s(keys.size());
        double mx = sink[std::size_t(h)];
        for (std::size_t j = 0; j < keys.size(); ++j) {
            double dot = 0;
            for (std::int64_t k = 0; k < hd; ++k) dot += q[std::size_t(h * hd + k)] * (*keys[j])[std::size_t(k)];
            s[j] = dot / std::sqrt(double(hd));
            mx = std::max(mx, s[j]);
        }
        double den = std::exp(sink[std::size_t(h)] - mx);
        for (std::size_t j = 0; j < keys.size(); ++j) den += std::exp(s[j] - mx);
        double* oh = &o[std::size_t(h * hd)];
        for (std::size_t j = 0; j < keys.size(); ++j) {
            const double pj = std::exp(s[j] - mx) / den;
            for (std::int64_t k = 0; k < hd; ++k) oh[k] += pj * (*keys[j])[std::size_t(k)];
        }
        rope(oh + nope, pos, compressed, true);
    }
    const std::int64_t gin = H * hd / G;
    Vec z;
    for (std::int64_t g = 0; g < G; ++g) {
        Vec og(o.begin() + g * gin, o.begin() + (g + 1) * gin);
        Vec zg = matvecRows(p + ".wo_a", G * ol, gin, g * ol, ol, og, false); // wo_a: bf16 in the official code
        z.insert(z.end(), zg.begin(), zg.end());
    }
    return matvec(p + ".wo_b", D, G * ol, z, true);
}

Vec ReferenceModel::expert(const std::string& p, std::int64_t inter, const Vec& x, double weight) {
    const std::int64_t D = cfg_.hiddenSize;
    const double L = cfg_.swigluLimit;
    Vec g = matvec(p + ".w1", inter, D, x, true);
    Vec u = matvec(p + ".w3", inter, D, x, true);
    Vec hmid(static_cast<std::size_t>(inter));
    for (std::int64_t i = 0; i < inter; ++i) {
        double gv = g[std::size_t(i)], uv = u[std::size_t(i)];
        if (L > 0) {
            gv = std::min(gv, L);
            uv = std::min(std::max(uv, -L), L);
        }
        hmid[std::size_t(i)] = gv / (1 + std::exp(-gv)) * uv * weight;
    }
    return matvec(p + ".w2", D, inter, hmid, true);
}

Vec ReferenceModel::moe(const std::string& p, bool hashed, const Vec& x, std::int32_t token) {
    const std::int64_t D = cfg_.hiddenSize, E = cfg_.nRoutedExperts, K = cfg_.numExpertsPerTok;
    const Vec logits = matvec(p + ".gate", E, D, x, false);
    Vec s(static_cast<std::size_t>(E));
    for (std::int64_t e = 0; e < E; ++e) {
        const double z = logits[std::size_t(e)];
        s[std::size_t(e)] = std::sqrt(z > 30 ? z : std::log1p(std::exp(z)));
    }
    std::vector<std::int64_t> sel;
    if (hashed) {
        const model::TensorView* t = lookup_(p + ".gate.tid2eid");
        for (std::int64_t k = 0; k < K; ++k) sel.push_back(reinterpret_cast<const std::int64_t*>(t->data)[std::int64_t(token) * K + k]);
    } else {
        const Vec& bias = vec(p + ".gate.bias");
        Vec biased(s);
        for (std::int64_t e = 0; e < E; ++e) biased[std::size_t(e)] += bias[std::size_t(e)];
        sel = topk(biased, K);
    }
    double sum = 0;
    for (auto e : sel) sum += s[std::size_t(e)];
    Vec out(std::size_t(D), 0.0);
    for (auto e : sel) {
        const double w = (cfg_.normTopkProb ? s[std::size_t(e)] / sum : s[std::size_t(e)]) * cfg_.routedScalingFactor;
        const Vec y = expert(p + ".experts." + std::to_string(e), cfg_.moeIntermediateSize, x, w);
        for (std::int64_t i = 0; i < D; ++i) out[std::size_t(i)] += y[std::size_t(i)];
    }
    const Vec y = expert(p + ".shared_experts", std::int64_t(cfg_.moeIntermediateSize) * cfg_.nSharedExperts, x, 1.0);
    for (std::int64_t i = 0; i < D; ++i) out[std::size_t(i)] += y[std::size_t(i)];
    return out;
}

void ReferenceModel::block(int l, const std::string& p, int ratio, bool hashed, std::int32_t token, std::vector<Vec>& h) {
    const std::int64_t D = cfg_.hiddenSize;
    const int hc = cfg_.hcMult;
    for (int sub = 0; sub < 2; ++sub) {
        Vec post;
        std::vector<Vec> comb;
        const Vec x = hcPre(p + (sub == 0 ? ".hc_attn" : ".hc_ffn"), h, &post, &comb, false);
        const Vec xn = rmsNorm(x, &vec(p + (sub == 0 ? ".attn_norm.weight" : ".ffn_norm.weight")));
        const Vec y = sub == 0 ? attention(l, p + ".attn", ratio, xn) : moe(p + ".ffn", hashed, xn, token);
        std::vector<Vec> nh(static_cast<std::size_t>(hc), Vec(static_cast<std::size_t>(D), 0.0));
        for (int j = 0; j < hc; ++j)
            for (std::int64_t k = 0; k < D; ++k) {
                double v = post[std::size_t(j)] * y[std::size_t(k)];
                for (int i = 0; i < hc; ++i) v += comb[std::size_t(i)][std::size_t(j)] * h[std::size_t(i)][std::size_t(k)];
                nh[std::size_t(j)][std::size_t(k)] = v;
            }
        h = std::move(nh);
    }
}

Vec ReferenceModel::headLogits(const std::string& hcPrefix, const std::string& normName, const std::vector<Vec>& h) {
    const Vec x = hcPre(hcPrefix, h, nullptr, nullptr, true);
    const Vec xn = rmsNorm(x, &vec(normName));
    return matvec("head", cfg_.vocabSize, cfg_.hiddenSize, xn, false);
}

Vec ReferenceModel::step(std::int32_t token) {
    const std::int64_t D = cfg_.hiddenSize;
    const int hc = cfg_.hcMult;
    const model::TensorView* emb = lookup_("embed.weight");
    Vec e(static_cast<std::size_t>(D));
    for (std::int64_t i = 0; i < D; ++i) e[std::size_t(i)] = bf16v(reinterpret_cast<const std::uint16_t*>(emb->data)[std::int64_t(token) * D + i]);
    std::vector<Vec> h(static_cast<std::size_t>(hc), e);
    curPos_ = pos_;
    for (int l = 0; l < cfg_.numHiddenLayers; ++l)
        block(l, "layers." + std::to_string(l), cfg_.compressRatio(l), l < cfg_.numHashLayers, token, h);
    lastHidden_ = h;
    ++pos_;
    return headLogits("hc_head", "norm.weight", h);
}

Vec ReferenceModel::mtpStep(std::int32_t nextToken) {
    const std::int64_t D = cfg_.hiddenSize;
    const std::string p = "mtp.0";
    const model::TensorView* emb = lookup_("embed.weight");
    Vec e(static_cast<std::size_t>(D));
    for (std::int64_t i = 0; i < D; ++i) e[std::size_t(i)] = bf16v(reinterpret_cast<const std::uint16_t*>(emb->data)[std::int64_t(nextToken) * D + i]);
    const Vec ep = matvec(p + ".e_proj", D, D, rmsNorm(e, &vec(p + ".enorm.weight")), true);
    std::vector<Vec> h;
    for (const Vec& c : lastHidden_) {
        Vec x = matvec(p + ".h_proj", D, D, rmsNorm(c, &vec(p + ".hnorm.weight")), true);
        for (std::int64_t i = 0; i < D; ++i) x[std::size_t(i)] += ep[std::size_t(i)];
        h.push_back(x);
    }
    curPos_ = pos_ - 1;
    block(cfg_.numHiddenLayers, p, 0, false, nextToken, h);
    return headLogits(p + ".hc_head", p + ".norm.weight", h);
}

} // namespace folio::reference
