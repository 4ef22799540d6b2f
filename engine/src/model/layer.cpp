#include "layer.h"

#include "folio/kernels/gemm.h"
#include "forward.h"
#include "ops.h"

#include <cmath>

namespace folio::model {

void LayerRunner::run(const LayerWeights& w, LayerState& s, std::int64_t pos0, const std::int32_t* tokens,
                      std::int64_t n, float* h) const {
    const std::int64_t D = cfg.hiddenSize, hcm = cfg.hcMult, mixN = (2 + hcm) * hcm;
    std::vector<float> mixes(std::size_t(n * mixN)), x(std::size_t(n * D)), y(std::size_t(n * D));
    std::vector<HcMix> mix(static_cast<std::size_t>(n));
    for (int sub = 0; sub < 2; ++sub) {
        const HyperConnection& hc = sub == 0 ? w.hcAttn : w.hcFfn;
        const std::vector<float>& norm = sub == 0 ? w.attnNorm : w.ffnNorm;
        // mixes = (fn . flatten(h)) * rsqrt(mean(h^2) + eps)   [n, (2+hc)*hc]
        kernels::gemm(h, n, hc.fn, mixes.data(), pool);
        for (std::int64_t t = 0; t < n; ++t) {
            const float* ht = h + t * hcm * D;
            double ss = 0.0;
            for (std::int64_t i = 0; i < hcm * D; ++i) ss += double(ht[i]) * ht[i];
            const float r = float(1.0 / std::sqrt(ss / double(hcm * D) + cfg.rmsNormEps));
            float* m = &mixes[std::size_t(t * mixN)];
            for (std::int64_t i = 0; i < mixN; ++i) m[i] *= r;
            hcSplit(m, hc, int(hcm), cfg.hcSinkhornIters, float(cfg.hcEps), &mix[std::size_t(t)]);
            float* xt = &x[std::size_t(t * D)];
            std::fill(xt, xt + D, 0.0f);
            for (std::int64_t c = 0; c < hcm; ++c) {
                const float p = mix[std::size_t(t)].pre[std::size_t(c)];
                for (std::int64_t i = 0; i < D; ++i) xt[i] += p * ht[c * D + i];
            }
            rmsNorm(xt, norm.data(), int(D), float(cfg.rmsNormEps), xt);
        }
        if (sub == 0) attention(w.attn, s, pos0, x.data(), n, y.data());
        else moe(w.ffn, tokens, x.data(), n, y.data());
        // h'_j = post_j * y + sum_i comb[i][j] * h_i
        std::vector<float> old(std::size_t(hcm * D));
        for (std::int64_t t = 0; t < n; ++t) {
            float* ht = h + t * hcm * D;
            std::copy(ht, ht + hcm * D, old.begin());
            const HcMix& m = mix[std::size_t(t)];
            const float* yt = &y[std::size_t(t * D)];
            for (std::int64_t j = 0; j < hcm; ++j) {
                float* dst = ht + j * D;
                const float post = m.post[std::size_t(j)];
                for (std::int64_t i = 0; i < D; ++i) dst[i] = post * yt[i];
                for (std::int64_t i = 0; i < hcm; ++i) {
                    const float c = m.comb[std::size_t(i * hcm + j)];
                    const float* src = &old[std::size_t(i * D)];
                    for (std::int64_t k = 0; k < D; ++k) dst[k] += c * src[k];
                }
            }
        }
    }
}

void LayerRunner::compress(CompressorState& c, std::int64_t pos0, const float* a, const float* g,
                           std::int64_t n) const {
    const int m = c.ratio, d = c.dim, wdt = c.width;
    for (std::int64_t t = 0; t < n; ++t) {
        const std::int64_t pos = pos0 + t;
        const int slot = int(pos % m);
        std::copy(a + t * wdt, a + (t + 1) * wdt, c.curA.begin() + std::ptrdiff_t(slot) * wdt);
        std::copy(g + t * wdt, g + (t + 1) * wdt, c.curG.begin() + std::ptrdiff_t(slot) * wdt);
        if (slot != m - 1) continue;
        // Block j = pos / m is complete: pool each channel with a softmax over the block's slots.
        const std::int64_t j = pos / m;
        std::vector<float> entry(static_cast<std::size_t>(d));
        if (m == 4) {
            // Overlap: slots 0..3 are the previous block's channels [0:d] (absent for j = 0), slots
            // 4..7 the current block's channels [d:2d].
            for (int k = 0; k < d; ++k) {
                float sc[8], va[8];
                int cnt = 0;
                if (j > 0)
                    for (int r = 0; r < 4; ++r) {
                        sc[cnt] = c.prevG[std::size_t(r * wdt + k)];
                        va[cnt++] = c.prevA[std::size_t(r * wdt + k)];
                    }
                for (int r = 0; r < 4; ++r) {
                    sc[cnt] = c.curG[std::size_t(r * wdt + d + k)];
                    va[cnt++] = c.curA[std::size_t(r * wdt + d + k)];
                }
                float mx = sc[0];
                for (int i = 1; i < cnt; ++i) mx = std::fmax(mx, sc[i]);
                float den = 0.0f, num = 0.0f;
                for (int i = 0; i < cnt; ++i) {
                    const float e = std::exp(sc[i] - mx);
                    den += e;
                    num += e * va[i];
                }
                entry[std::size_t(k)] = num / den;
            }
            c.prevA.swap(c.curA);
            c.prevG.swap(c.curG);
        } else {
            for (int k = 0; k < d; ++k) {
                float mx = c.curG[std::size_t(k)];
                for (int r = 1; r < m; ++r) mx = std::fmax(mx, c.curG[std::size_t(r * wdt + k)]);
                float den = 0.0f, num = 0.0f;
                for (int r = 0; r < m; ++r) {
                    const float e = std::exp(c.curG[std::size_t(r * wdt + k)] - mx);
                    den += e;
                    num += e * c.curA[std::size_t(r * wdt + k)];
                }
                entry[std::size_t(k)] = num / den;
            }
        }
        c.entries.insert(c.entries.end(), entry.begin(), entry.end());
    }
}

} // namespace folio::model
