// The MoE of every layer (deepseek-v4.md section 4): sqrt-softplus router in fp32, top-k by
// score + bias (or fixed experts per token id in hash layers), renormalised weights times the
// routed scaling factor, SwiGLU experts with the clamp, plus the shared expert.
#include "folio/kernels/gemm.h"
#include "folio/kernels/thread_pool.h"
#include "layer.h"
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace folio::model {

namespace {

// y[rows, D] (+)= w2 . (silu(min(w1.x, L)) * clamp(w3.x, -L, L) * weight) for the gathered rows.
void runExpert(const ExpertWeights& e, const float* xs, const float* weights, std::int64_t rows,
               float limit, bool quantize, kernels::ThreadPool* pool, float* out) {
    const std::int64_t inter = e.w1.rows;
    std::vector<float> g(std::size_t(rows * inter)), u(std::size_t(rows * inter));
    kernels::gemm(xs, rows, e.w1, g.data(), pool);
    kernels::gemm(xs, rows, e.w3, u.data(), pool);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t i = 0; i < inter; ++i) {
            float gv = g[std::size_t(r * inter + i)], uv = u[std::size_t(r * inter + i)];
            if (limit > 0.0f) {
                gv = std::fmin(gv, limit);
                uv = std::clamp(uv, -limit, limit);
            }
            g[std::size_t(r * inter + i)] = gv * sigmoid(gv) * uv * weights[r];
        }
    if (quantize) kernels::quantizeActivations(g.data(), rows, inter, pool);
    kernels::gemm(g.data(), rows, e.w2, out, pool);
}

} // namespace

void LayerRunner::moe(const MoeWeights& w, const std::int32_t* tokens, const float* x, std::int64_t n,
                      float* y) const {
    const std::int64_t D = cfg.hiddenSize, E = cfg.nRoutedExperts, K = cfg.numExpertsPerTok;
    const float limit = float(cfg.swigluLimit);

    // Router: s = sqrt(softplus(x . gate^T)) in fp32.   [n, E]
    std::vector<float> s(std::size_t(n * E));
    kernels::gemm(x, n, w.gate, s.data(), pool);
    for (float& v : s) v = std::sqrt(softplus(v));

    std::vector<std::vector<std::pair<std::int64_t, float>>> perExpert(static_cast<std::size_t>(E)); // (token, weight)
    std::vector<std::int32_t> order(static_cast<std::size_t>(E));
    for (std::int64_t t = 0; t < n; ++t) {
        const float* st = &s[std::size_t(t * E)];
        std::vector<std::int32_t> sel(static_cast<std::size_t>(K));
        if (w.hashed()) {
            for (std::int64_t k = 0; k < K; ++k) sel[std::size_t(k)] = std::int32_t(w.tid2eid[std::int64_t(tokens[t]) * K + k]);
        } else {
            // Selection by score + bias (the bias only selects; it never weights).
            std::iota(order.begin(), order.end(), 0);
            auto key = [&](std::int32_t e) { return st[e] + w.bias[std::size_t(e)]; };
            std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](std::int32_t a, std::int32_t b) {
                return key(a) > key(b) || (key(a) == key(b) && a < b);
            });
            std::copy(order.begin(), order.begin() + K, sel.begin());
        }
        float sum = 0.0f;
        for (std::int32_t e : sel) sum += st[e];
        // sqrt(softplus) is positive, but it can underflow to 0 for very negative logits: guard.
        const float norm = cfg.normTopkProb ? 1.0f / std::fmax(sum, 1e-20f) : 1.0f;
        for (std::int32_t e : sel)
            perExpert[std::size_t(e)].push_back({t, st[e] * norm * float(cfg.routedScalingFactor)});
    }

    std::fill(y, y + n * D, 0.0f);
    std::vector<float> xs, ws, out;
    for (std::int64_t e = 0; e < E; ++e) {
        const auto& list = perExpert[std::size_t(e)];
        if (list.empty()) continue;
        const std::int64_t rows = std::int64_t(list.size());
        xs.resize(std::size_t(rows * D));
        ws.resize(static_cast<std::size_t>(rows));
        out.resize(std::size_t(rows * D));
        for (std::int64_t r = 0; r < rows; ++r) {
            std::copy(x + list[std::size_t(r)].first * D, x + (list[std::size_t(r)].first + 1) * D, &xs[std::size_t(r * D)]);
            ws[std::size_t(r)] = list[std::size_t(r)].second;
        }
        if (quantize) kernels::quantizeActivations(xs.data(), rows, D, pool);
        runExpert(w.experts[std::size_t(e)], xs.data(), ws.data(), rows, limit, quantize, pool, out.data());
        for (std::int64_t r = 0; r < rows; ++r) {
            float* dst = y + list[std::size_t(r)].first * D;
            const float* src = &out[std::size_t(r * D)];
            for (std::int64_t i = 0; i < D; ++i) dst[i] += src[i];
        }
    }
    // Shared expert: every token, weight 1.
    xs.assign(x, x + n * D);
    ws.assign(std::size_t(n), 1.0f);
    out.resize(std::size_t(n * D));
    if (quantize) kernels::quantizeActivations(xs.data(), n, D, pool);
    runExpert(w.shared, xs.data(), ws.data(), n, limit, quantize, pool, out.data());
    for (std::int64_t i = 0; i < n * D; ++i) y[i] += out[std::size_t(i)];
}

} // namespace folio::model
