// Attention of every layer type (deepseek-v4.md section 4): shared 512-d KV (K = V) over the
// window plus compressed entries (CSA: top-k by the lightning indexer; HCA: all visible), a
// per-head sink in the softmax denominator, de-rotation, and the grouped low-rank output.
#include "folio/kernels/formats.h"
#include "folio/kernels/gemm.h"
#include "folio/kernels/thread_pool.h"
#include "folio/kernels/vec_ops.h"
#include "layer.h"
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace folio::model {

namespace {

void parallel(kernels::ThreadPool* pool, std::int64_t n, const std::function<void(std::int64_t, int)>& fn) {
    if (pool) pool->parallelFor(n, fn);
    else
        for (std::int64_t i = 0; i < n; ++i) fn(i, 0);
}

} // namespace

void LayerRunner::attention(const AttentionWeights& w, LayerState& s, std::int64_t pos0, const float* x,
                            std::int64_t n, float* y) const {
    const std::int64_t D = cfg.hiddenSize, H = cfg.numAttentionHeads, hd = cfg.headDim;
    const std::int64_t rd = cfg.qkRopeHeadDim, nope = hd - rd, ql = cfg.qLoraRank;
    const std::int64_t G = cfg.oGroups, ol = cfg.oLoraRank, W = cfg.slidingWindow;
    const float eps = float(cfg.rmsNormEps);
    const Rope& rope = w.ratio > 0 ? ropeCompressed : ropePlain;

    // Queries: qr = RMSNorm_q(wq_a . x); q = wq_b . qr, per-head RMS (no weight), rope.
    std::vector<float> xq(x, x + n * D);
    if (quantize) kernels::quantizeActivations(xq.data(), n, D, pool);
    std::vector<float> qr(std::size_t(n * ql)), q(std::size_t(n * H * hd)), kv(std::size_t(n * hd));
    kernels::gemm(xq.data(), n, w.wqA, qr.data(), pool);
    for (std::int64_t t = 0; t < n; ++t) rmsNorm(&qr[std::size_t(t * ql)], w.qNorm.data(), int(ql), eps, &qr[std::size_t(t * ql)]);
    std::vector<float> qrq = qr;
    if (quantize) kernels::quantizeActivations(qrq.data(), n, ql, pool);
    kernels::gemm(qrq.data(), n, w.wqB, q.data(), pool);
    kernels::gemm(xq.data(), n, w.wkv, kv.data(), pool);
    parallel(pool, n, [&](std::int64_t t, int) {
        for (std::int64_t h = 0; h < H; ++h) {
            float* qh = &q[std::size_t((t * H + h) * hd)];
            rmsNorm(qh, nullptr, int(hd), eps, qh);
            rope.apply(qh + nope, pos0 + t);
        }
        float* kt = &kv[std::size_t(t * hd)];
        rmsNorm(kt, w.kvNorm.data(), int(hd), eps, kt);
        rope.apply(kt + nope, pos0 + t);
        if (quantize) kernels::roundTripE4m3(kt, int(nope), 64);
    });

    // Compressed entries of blocks completed in this chunk.
    auto runCompressor = [&](const CompressorWeights& cw, CompressorState& cs, bool indexer) {
        const std::int64_t width = cs.width, d = cs.dim;
        std::vector<float> a(std::size_t(n * width)), g(std::size_t(n * width));
        kernels::gemm(x, n, cw.wkv, a.data(), pool);
        kernels::gemm(x, n, cw.wgate, g.data(), pool);
        for (std::int64_t t = 0; t < n; ++t) {
            const float* ape = &cw.ape[std::size_t(((pos0 + t) % cw.ratio) * width)];
            for (std::int64_t i = 0; i < width; ++i) g[std::size_t(t * width + i)] += ape[i];
        }
        const std::int64_t before = cs.count();
        compress(cs, pos0, a.data(), g.data(), n);
        for (std::int64_t j = before; j < cs.count(); ++j) {
            float* e = &cs.entries[std::size_t(j * d)];
            rmsNorm(e, cw.norm.data(), int(d), eps, e);
            rope.apply(e + d - rd, j * cw.ratio);
            if (indexer) {
                hadamard(e, int(d));
                if (quantize) kernels::roundTripE2m1(e, int(d), 32);
            } else if (quantize) {
                kernels::roundTripE4m3(e, int(d - rd), 64);
            }
        }
    };
    if (w.ratio > 0) runCompressor(w.compressor, s.compressor, false);

    // CSA: the lightning indexer picks index_topk compressed entries per query.
    std::vector<std::vector<std::int32_t>> selected(static_cast<std::size_t>(n));
    if (w.ratio == 4) {
        runCompressor(w.indexer.compressor, s.indexer, true);
        const std::int64_t ih = cfg.indexNHeads, id = cfg.indexHeadDim;
        std::vector<float> qi(std::size_t(n * ih * id)), wi(std::size_t(n * ih));
        kernels::gemm(qrq.data(), n, w.indexer.wqB, qi.data(), pool);
        kernels::gemm(x, n, w.indexer.weightsProj, wi.data(), pool);
        const float wscale = float(1.0 / std::sqrt(double(id)) / std::sqrt(double(ih)));
        parallel(pool, n, [&](std::int64_t t, int) {
            const std::int64_t visible = (pos0 + t + 1) / 4;
            for (std::int64_t h = 0; h < ih; ++h) {
                float* qh = &qi[std::size_t((t * ih + h) * id)];
                rope.apply(qh + id - rd, pos0 + t);
                hadamard(qh, int(id));
                if (quantize) kernels::roundTripE2m1(qh, int(id), 32);
            }
            std::vector<std::int32_t>& sel = selected[std::size_t(t)];
            if (visible <= cfg.indexTopk) {
                sel.resize(static_cast<std::size_t>(visible));
                std::iota(sel.begin(), sel.end(), 0);
                return;
            }
            std::vector<float> score(std::size_t(visible), 0.0f);
            for (std::int64_t j = 0; j < visible; ++j) {
                const float* kj = &s.indexer.entries[std::size_t(j * id)];
                float acc = 0.0f;
                for (std::int64_t h = 0; h < ih; ++h) {
                    const float* qh = &qi[std::size_t((t * ih + h) * id)];
                    const float dot = kernels::dot(qh, kj, id);
                    acc += wi[std::size_t(t * ih + h)] * wscale * std::fmax(dot, 0.0f);
                }
                score[std::size_t(j)] = acc;
            }
            sel = topKIndices(score.data(), visible, cfg.indexTopk);
            std::sort(sel.begin(), sel.end());
        });
    }

    // Attention per (token, head) over window + compressed entries.
    std::vector<float> o(std::size_t(n * H * hd));
    const float scale = float(1.0 / std::sqrt(double(hd)));
    parallel(pool, n * H, [&](std::int64_t task, int) {
        const std::int64_t t = task / H, h = task % H, pos = pos0 + t;
        std::vector<const float*> keys;
        keys.reserve(std::size_t(W + cfg.indexTopk));
        for (std::int64_t p = std::max<std::int64_t>(0, pos - W + 1); p <= pos; ++p)
            keys.push_back(p >= pos0 ? &kv[std::size_t((p - pos0) * hd)] : &s.window[std::size_t((p % W) * hd)]);
        if (w.ratio == 4) {
            for (std::int32_t j : selected[std::size_t(t)]) keys.push_back(&s.compressor.entries[std::size_t(j * hd)]);
        } else if (w.ratio > 0) {
            const std::int64_t visible = (pos + 1) / w.ratio;
            for (std::int64_t j = 0; j < visible; ++j) keys.push_back(&s.compressor.entries[std::size_t(j * hd)]);
        }
        const float* qh = &q[std::size_t((t * H + h) * hd)];
        std::vector<float> sc(keys.size());
        float mx = w.sink[std::size_t(h)];
        for (std::size_t j = 0; j < keys.size(); ++j) {
            sc[j] = kernels::dot(qh, keys[j], hd) * scale;
            mx = std::fmax(mx, sc[j]);
        }
        float den = std::exp(w.sink[std::size_t(h)] - mx);
        float* oh = &o[std::size_t((t * H + h) * hd)];
        std::fill(oh, oh + hd, 0.0f);
        for (std::size_t j = 0; j < keys.size(); ++j) {
            const float e = std::exp(sc[j] - mx);
            den += e;
            kernels::axpy(e, keys[j], oh, hd);
        }
        const float inv = 1.0f / den;
        for (std::int64_t k = 0; k < hd; ++k) oh[k] *= inv;
        rope.apply(oh + nope, pos, /*inverse=*/true);
    });

    // Window ring: the chunk's last W positions.
    for (std::int64_t t = std::max<std::int64_t>(0, n - W); t < n; ++t)
        std::copy(&kv[std::size_t(t * hd)], &kv[std::size_t((t + 1) * hd)], &s.window[std::size_t(((pos0 + t) % W) * hd)]);

    // Grouped output: z_g = wo_a[g] . o_g, out = wo_b . concat(z). As DeepSeek's inference code:
    // wo_a is a bf16 weight there (convert.py dequantizes the fp8 one) applied to the attention
    // output as it is, so no e4m3 round trip of o here; z goes through one before the fp8 wo_b.
    const std::int64_t groupIn = H * hd / G;
    std::vector<float> z(std::size_t(n * G * ol));
    for (std::int64_t g = 0; g < G; ++g)
        kernels::gemm(o.data() + g * groupIn, n, H * hd, w.woA, g * ol, ol, z.data() + g * ol, G * ol, pool);
    if (quantize) kernels::quantizeActivations(z.data(), n, G * ol, pool);
    kernels::gemm(z.data(), n, w.woB, y, pool);
}

} // namespace folio::model
