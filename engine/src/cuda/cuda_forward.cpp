#include "cuda_forward.h"

#include "device_state.h"
#include "device_weights.h"
#include "expert_offload.h"
#include "folio/kernels/cuda_memory.h"
#include "folio/kernels/cuda_ops.h"
#include "folio/kernels/cuda_runtime_probe.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <unistd.h>

namespace folio::model {

namespace kc = folio::kernels::cuda;
using kernels::WeightFormat;

namespace {

std::string gib(std::size_t bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f GiB", double(bytes) / double(std::size_t(1) << 30));
    return b;
}

} // namespace

struct CudaForward::Impl {
    Impl(const ModelConfig& c, const ModelWeights& wt, const CudaForwardOptions& o)
        : cfg(c), w(wt), opt(o) {}

    const ModelConfig& cfg;
    const ModelWeights& w;
    CudaForwardOptions opt;
    std::string description;
    kc::Stream stream;
    kc::BlasContext blas;
    kc::LinearScratch linScratch;
    cuda::DeviceArena arena;
    cuda::DeviceModel dm;
    std::unique_ptr<cuda::ExpertOffload> offload;
    std::mutex mutex;
    std::atomic<std::int64_t> processed{0};

    // Scratch of one run, grown on demand (never shrunk).
    kc::DeviceBuffer tokensBuf, hBuf, xBuf, yBuf, xqBuf, postBuf, combBuf;
    kc::DeviceBuffer qrBuf, qrqBuf, qBuf, kvBuf, aBuf, gBuf, qiBuf, wiBuf, scoresBuf, selBuf,
        selCountBuf, oBuf, zBuf, attnWork;
    kc::DeviceBuffer routerLogits, routeSel, routeWeights, offsetsBuf, rowTokenBuf, rowWeightBuf,
        assignRowBuf;
    kc::DeviceBuffer expG, expU, expH, routedBuf, sharedG, sharedU, sharedH, sharedOut, headX,
        logitsBuf;
    std::vector<std::int32_t> hostOffsets;

    void* s() const { return stream.get(); }

    // A pointer to at least `count` T of `b`. Growing frees the old buffer: the stream is drained
    // first, as queued work may still read it.
    template <typename T> kc::CudaStatus need(kc::DeviceBuffer& b, std::int64_t count, T** p) {
        const std::size_t bytes = std::size_t(std::max<std::int64_t>(count, 1)) * sizeof(T);
        if (b.bytes() < bytes) {
            FOLIO_STATUS_TRY(kc::synchronize(s()));
            FOLIO_STATUS_TRY(b.allocate(bytes + bytes / 4));
        }
        *p = b.as<T>();
        return {};
    }

    // y[n, rows] = x . W^T as kernels::gemm: the caller applies the activation round trip itself
    // (as the CPU path does), so linear() never quantizes again.
    kc::CudaStatus lin(const kc::DeviceWeight& m, const float* x, std::int64_t n, std::int64_t ldx,
                       float* y, std::int64_t ldy) {
        return kc::linear(blas, linScratch, m, 0, m.rows, x, n, ldx, false, y, ldy, s());
    }

    // kernels::quantizeActivations: e4m3 with a UE8M0 scale per 128 columns, per row, in place.
    kc::CudaStatus quantRows(float* x, std::int64_t rows, std::int64_t cols) {
        return kc::roundTripE4m3(x, rows, int(cols), cols, 128, s());
    }

    // A quantized copy of x [rows, cols] when quantizing, else x itself.
    kc::CudaStatus quantizedCopy(const float* x, std::int64_t rows, std::int64_t cols,
                                 kc::DeviceBuffer& buf, const float** out) {
        if (!opt.quantize) {
            *out = x;
            return {};
        }
        float* q = nullptr;
        FOLIO_STATUS_TRY(need(buf, rows * cols, &q));
        FOLIO_STATUS_TRY(kc::copyOnDevice(q, x, std::size_t(rows * cols) * sizeof(float), s()));
        FOLIO_STATUS_TRY(quantRows(q, rows, cols));
        *out = q;
        return {};
    }

    kc::CudaStatus forward(CudaSequenceState& st, const std::int32_t* tokens, std::int64_t n,
                           bool allPositions, std::vector<float>* logits);
    kc::CudaStatus layer(int l, cuda::DeviceLayerState& ls, std::int64_t pos0,
                         const std::int32_t* dTok, std::int64_t n, float* h);
    kc::CudaStatus attention(const cuda::DeviceAttention& a, cuda::DeviceLayerState& ls,
                             std::int64_t pos0, const float* x, std::int64_t n, float* y);
    kc::CudaStatus compressor(const cuda::DeviceCompressor& cw, cuda::DeviceCompressorState& cs,
                              bool indexer, const double* freq, std::int64_t pos0, const float* x,
                              std::int64_t n);
    kc::CudaStatus moe(int l, const cuda::DeviceMoe& m, const std::int32_t* dTok, const float* x,
                       std::int64_t n, float* y);
    kc::CudaStatus head(const float* h, std::int64_t rows, std::vector<float>* logits);
};

kc::CudaStatus CudaForward::Impl::forward(CudaSequenceState& st, const std::int32_t* tokens,
                                          std::int64_t n, bool allPositions,
                                          std::vector<float>* logits) {
    const std::int64_t D = cfg.hiddenSize, hcm = cfg.hcMult, pos0 = st.pos;
    std::int32_t* dTok = nullptr;
    float* h = nullptr;
    FOLIO_STATUS_TRY(need(tokensBuf, n, &dTok));
    FOLIO_STATUS_TRY(need(hBuf, n * hcm * D, &h));
    FOLIO_STATUS_TRY(kc::copyToDevice(dTok, tokens, std::size_t(n) * sizeof(std::int32_t), s()));
    // h: [n, hc, D] residual copies, each the embedding.
    FOLIO_STATUS_TRY(kc::embedTokens(dm.embed, dTok, n, D, int(hcm), h, s()));
    for (int l = 0; l < cfg.numHiddenLayers; ++l)
        FOLIO_STATUS_TRY(layer(l, st.layers[std::size_t(l)], pos0, dTok, n, h));
    st.pos += n;
    processed += n;
    if (logits) {
        const std::int64_t rows = allPositions ? n : 1;
        FOLIO_STATUS_TRY(head(h + (n - rows) * hcm * D, rows, logits));
    } else {
        FOLIO_STATUS_TRY(kc::synchronize(s()));
    }
    return {};
}

kc::CudaStatus CudaForward::Impl::layer(int l, cuda::DeviceLayerState& ls, std::int64_t pos0,
                                        const std::int32_t* dTok, std::int64_t n, float* h) {
    const cuda::DeviceLayer& lw = dm.layers[std::size_t(l)];
    const std::int64_t D = cfg.hiddenSize, hcm = cfg.hcMult;
    float *x = nullptr, *y = nullptr, *post = nullptr, *comb = nullptr;
    FOLIO_STATUS_TRY(need(xBuf, n * D, &x));
    FOLIO_STATUS_TRY(need(yBuf, n * D, &y));
    FOLIO_STATUS_TRY(need(postBuf, n * hcm, &post));
    FOLIO_STATUS_TRY(need(combBuf, n * hcm * hcm, &comb));
    for (int sub = 0; sub < 2; ++sub) {
        const cuda::DeviceHc& hc = sub == 0 ? lw.hcAttn : lw.hcFfn;
        // x = sum_i pre_i h_i, then the sub-layer's norm; post [n, hc], comb [n, hc, hc].
        kc::HcParams p;
        p.h = h;
        p.fn = hc.fn;
        p.base = hc.base;
        p.scale = hc.scale;
        p.n = n;
        p.copies = int(hcm);
        p.dim = int(D);
        p.iters = cfg.hcSinkhornIters;
        p.hcEps = float(cfg.hcEps);
        p.normEps = cfg.rmsNormEps;
        p.head = false;
        p.x = x;
        p.post = post;
        p.comb = comb;
        FOLIO_STATUS_TRY(kc::hcPre(p, s()));
        FOLIO_STATUS_TRY(kc::rmsNorm(x, D, sub == 0 ? lw.attnNorm : lw.ffnNorm, n, int(D),
                             float(cfg.rmsNormEps), x, D, s()));
        if (sub == 0)
            FOLIO_STATUS_TRY(attention(lw.attn, ls, pos0, x, n, y));
        else
            FOLIO_STATUS_TRY(moe(l, lw.ffn, dTok, x, n, y));
        // h'_j = post_j * y + sum_i comb[i][j] * h_i
        FOLIO_STATUS_TRY(kc::hcPost(h, y, post, comb, n, int(hcm), int(D), s()));
    }
    return {};
}

kc::CudaStatus CudaForward::Impl::compressor(const cuda::DeviceCompressor& cw,
                                             cuda::DeviceCompressorState& cs, bool indexer,
                                             const double* freq, std::int64_t pos0, const float* x,
                                             std::int64_t n) {
    const std::int64_t D = cfg.hiddenSize, width = cs.width;
    // At least one entry, so that the ops always get a buffer (entries are read only when visible).
    FOLIO_STATUS_TRY(cuda::reserveEntries(cs, std::max<std::int64_t>(1, (pos0 + n) / cs.ratio), s()));
    float *a = nullptr, *g = nullptr;
    FOLIO_STATUS_TRY(need(aBuf, n * width, &a));
    FOLIO_STATUS_TRY(need(gBuf, n * width, &g));
    // a = wkv . x, g = wgate . x (ape is added by compressChunk)   [n, coff*d]
    FOLIO_STATUS_TRY(lin(cw.wkv, x, n, D, a, width));
    FOLIO_STATUS_TRY(lin(cw.wgate, x, n, D, g, width));
    kc::CompressorParams p;
    p.ratio = cs.ratio;
    p.dim = cs.dim;
    p.pos0 = pos0;
    p.n = n;
    p.a = a;
    p.g = g;
    p.ape = cw.ape;
    p.curA = cs.curA.as<float>();
    p.curG = cs.curG.as<float>();
    p.prevA = cs.ratio == 4 ? cs.prevA.as<float>() : nullptr;
    p.prevG = cs.ratio == 4 ? cs.prevG.as<float>() : nullptr;
    p.entries = cs.entryData();
    p.capacity = cs.capacity;
    FOLIO_STATUS_TRY(kc::compressChunk(p, s()));
    kc::CompressedEntryParams f;
    f.entries = cs.entryData();
    f.first = pos0 / cs.ratio;
    f.count = (pos0 + n) / cs.ratio - f.first;
    if (f.count == 0) return {};
    f.dim = cs.dim;
    f.ratio = cs.ratio;
    f.norm = cw.norm;
    f.eps = float(cfg.rmsNormEps);
    f.freq = freq;
    f.ropeDim = cfg.qkRopeHeadDim;
    f.indexer = indexer;
    f.quantize = opt.quantize;
    return kc::finishCompressedEntries(f, s());
}

kc::CudaStatus CudaForward::Impl::attention(const cuda::DeviceAttention& a,
                                            cuda::DeviceLayerState& ls, std::int64_t pos0,
                                            const float* x, std::int64_t n, float* y) {
    const std::int64_t D = cfg.hiddenSize, H = cfg.numAttentionHeads, hd = cfg.headDim;
    const std::int64_t rd = cfg.qkRopeHeadDim, nope = hd - rd, ql = cfg.qLoraRank;
    const std::int64_t G = cfg.oGroups, ol = cfg.oLoraRank, W = cfg.slidingWindow;
    const float eps = float(cfg.rmsNormEps);
    const double* freq = a.ratio > 0 ? dm.freqCompressed : dm.freqPlain;

    // Queries: qr = RMSNorm_q(wq_a . xq); q = wq_b . qrq, per-head RMS (no weight), rope.
    const float* xq = nullptr;
    FOLIO_STATUS_TRY(quantizedCopy(x, n, D, xqBuf, &xq));
    float *qr = nullptr, *q = nullptr, *kv = nullptr;
    FOLIO_STATUS_TRY(need(qrBuf, n * ql, &qr));
    FOLIO_STATUS_TRY(need(qBuf, n * H * hd, &q));
    FOLIO_STATUS_TRY(need(kvBuf, n * hd, &kv));
    FOLIO_STATUS_TRY(lin(a.wqA, xq, n, D, qr, ql));
    FOLIO_STATUS_TRY(kc::rmsNorm(qr, ql, a.qNorm, n, int(ql), eps, qr, ql, s()));
    const float* qrq = nullptr;
    FOLIO_STATUS_TRY(quantizedCopy(qr, n, ql, qrqBuf, &qrq));
    FOLIO_STATUS_TRY(lin(a.wqB, qrq, n, ql, q, H * hd));
    FOLIO_STATUS_TRY(lin(a.wkv, xq, n, D, kv, hd));
    FOLIO_STATUS_TRY(kc::rmsNorm(q, hd, nullptr, n * H, int(hd), eps, q, hd, s()));
    kc::RopeParams rq;
    rq.x = q;
    rq.rows = n * H;
    rq.ld = hd;
    rq.offset = int(nope);
    rq.dim = int(rd);
    rq.freq = freq;
    rq.posBase = pos0;
    rq.rowsPerPos = H;
    FOLIO_STATUS_TRY(kc::rope(rq, s()));
    // kv = RMSNorm_kv(wkv . xq), rope, e4m3 round trip of the non-rope dims.
    FOLIO_STATUS_TRY(kc::rmsNorm(kv, hd, a.kvNorm, n, int(hd), eps, kv, hd, s()));
    kc::RopeParams rk = rq;
    rk.x = kv;
    rk.rows = n;
    rk.rowsPerPos = 1;
    FOLIO_STATUS_TRY(kc::rope(rk, s()));
    if (opt.quantize) FOLIO_STATUS_TRY(kc::roundTripE4m3(kv, n, int(nope), hd, 64, s()));

    // Compressed entries of the blocks this chunk completes.
    if (a.ratio > 0) FOLIO_STATUS_TRY(compressor(a.compressor, ls.compressor, false, freq, pos0, x, n));

    // CSA: the lightning indexer picks index_topk entries per query.
    const std::int32_t* selected = nullptr;
    const std::int32_t* selCount = nullptr;
    const int topk = cfg.indexTopk;
    if (a.ratio == 4) {
        FOLIO_STATUS_TRY(compressor(a.indexerCompressor, ls.indexer, true, freq, pos0, x, n));
        const std::int64_t ih = cfg.indexNHeads, id = cfg.indexHeadDim;
        float *qi = nullptr, *wi = nullptr;
        FOLIO_STATUS_TRY(need(qiBuf, n * ih * id, &qi));
        FOLIO_STATUS_TRY(need(wiBuf, n * ih, &wi));
        FOLIO_STATUS_TRY(lin(a.indexerWqB, qrq, n, ql, qi, ih * id));
        FOLIO_STATUS_TRY(lin(a.indexerWeightsProj, x, n, D, wi, ih));
        kc::RopeParams ri;
        ri.x = qi;
        ri.rows = n * ih;
        ri.ld = id;
        ri.offset = int(id - rd);
        ri.dim = int(rd);
        ri.freq = freq;
        ri.posBase = pos0;
        ri.rowsPerPos = ih;
        FOLIO_STATUS_TRY(kc::rope(ri, s()));
        FOLIO_STATUS_TRY(kc::hadamard(qi, n * ih, int(id), id, s()));
        if (opt.quantize) FOLIO_STATUS_TRY(kc::roundTripE2m1(qi, n * ih, int(id), id, 32, s()));
        std::int32_t *sel = nullptr, *cnt = nullptr;
        FOLIO_STATUS_TRY(need(selBuf, n * topk, &sel));
        FOLIO_STATUS_TRY(need(selCountBuf, n, &cnt));
        // Scores [rows, visible] per block of queries, at most ~64 MiB at a time.
        const std::int64_t ld = std::max<std::int64_t>(1, (pos0 + n) / 4);
        const std::int64_t block = std::clamp<std::int64_t>((std::int64_t(16) << 20) / ld, 1, n);
        float* scores = nullptr;
        FOLIO_STATUS_TRY(need(scoresBuf, block * ld, &scores));
        const float wscale = float(1.0 / std::sqrt(double(id)) / std::sqrt(double(ih)));
        for (std::int64_t t0 = 0; t0 < n; t0 += block) {
            const std::int64_t tn = std::min(block, n - t0);
            kc::IndexerScoreParams sp;
            sp.q = qi + t0 * ih * id;
            sp.w = wi + t0 * ih;
            sp.wscale = wscale;
            sp.keys = ls.indexer.entryData();
            sp.n = tn;
            sp.pos0 = pos0 + t0;
            sp.heads = int(ih);
            sp.dim = int(id);
            sp.ratio = 4;
            sp.scores = scores;
            sp.ldScores = ld;
            FOLIO_STATUS_TRY(kc::indexerScores(sp, s()));
            kc::TopKParams tp;
            tp.scores = scores;
            tp.ldScores = ld;
            tp.n = tn;
            tp.pos0 = pos0 + t0;
            tp.ratio = 4;
            tp.k = topk;
            tp.selected = sel + t0 * topk;
            tp.counts = cnt + t0;
            FOLIO_STATUS_TRY(kc::indexerTopK(tp, s()));
        }
        selected = sel;
        selCount = cnt;
    }

    // Attention over window + compressed entries, then de-rotation of the rope dims.
    float* o = nullptr;
    FOLIO_STATUS_TRY(need(oBuf, n * H * hd, &o));
    kc::SparseAttentionParams ap;
    ap.q = q;
    ap.kv = kv;
    ap.window = ls.window.as<float>();
    ap.entries = a.ratio > 0 ? ls.compressor.entryData() : nullptr;
    ap.selected = selected;
    ap.selectedCount = selCount;
    ap.selectedLd = selected ? topk : 0;
    ap.sink = a.sink;
    ap.n = n;
    ap.pos0 = pos0;
    ap.heads = int(H);
    ap.headDim = int(hd);
    ap.windowSize = int(W);
    ap.ratio = a.ratio;
    ap.scale = float(1.0 / std::sqrt(double(hd)));
    ap.out = o;
    if (n <= 4) {
        const std::size_t work = kc::sparseAttentionDecodeWorkspace(ap);
        float* ws = nullptr;
        FOLIO_STATUS_TRY(need(attnWork, std::int64_t(work), &ws));
        FOLIO_STATUS_TRY(kc::sparseAttentionDecode(ap, ws, work, s()));
    } else {
        FOLIO_STATUS_TRY(kc::sparseAttentionPrefill(ap, s()));
    }
    kc::RopeParams ro = rq;
    ro.x = o;
    ro.inverse = true;
    FOLIO_STATUS_TRY(kc::rope(ro, s()));
    // The window ring keeps the chunk's last W positions (after attention read the older ones).
    FOLIO_STATUS_TRY(kc::windowStore(kv, n, pos0, int(hd), int(W), ls.window.as<float>(), s()));

    // Grouped output: z_g = wo_a[g] . o_g, y = wo_b . concat(z); o unquantized, as the official
    // code (model::attention says why).
    float* z = nullptr;
    FOLIO_STATUS_TRY(need(zBuf, n * G * ol, &z));
    FOLIO_STATUS_TRY(kc::groupedOutput(blas, linScratch, a.woA, int(G), o, n, false, z, s()));
    if (opt.quantize) FOLIO_STATUS_TRY(quantRows(z, n, G * ol));
    return lin(a.woB, z, n, G * ol, y, D);
}

kc::CudaStatus CudaForward::Impl::moe(int l, const cuda::DeviceMoe& m, const std::int32_t* dTok,
                                      const float* x, std::int64_t n, float* y) {
    const std::int64_t D = cfg.hiddenSize, E = cfg.nRoutedExperts, K = cfg.numExpertsPerTok;
    const std::int64_t inter = cfg.moeIntermediateSize, rows = n * K;
    const std::int64_t sharedInter = w.layers[std::size_t(l)].ffn.shared.w1.rows;
    const float limit = float(cfg.swigluLimit);

    // Router in fp32: logits = x . gate^T [n, E]; selection and weights [n, K].
    float *logits = nullptr, *weights = nullptr, *rowWeight = nullptr;
    std::int32_t *sel = nullptr, *offsets = nullptr, *rowToken = nullptr, *assignRow = nullptr;
    FOLIO_STATUS_TRY(need(routerLogits, n * E, &logits));
    FOLIO_STATUS_TRY(need(routeSel, rows, &sel));
    FOLIO_STATUS_TRY(need(routeWeights, rows, &weights));
    FOLIO_STATUS_TRY(need(offsetsBuf, E + 1, &offsets));
    FOLIO_STATUS_TRY(need(rowTokenBuf, rows, &rowToken));
    FOLIO_STATUS_TRY(need(rowWeightBuf, rows, &rowWeight));
    FOLIO_STATUS_TRY(need(assignRowBuf, rows, &assignRow));
    FOLIO_STATUS_TRY(lin(m.gate, x, n, D, logits, E));
    kc::MoeRouteParams rp;
    rp.logits = logits;
    rp.bias = m.tid2eid ? nullptr : m.bias;
    rp.tid2eid = m.tid2eid;
    rp.tokens = dTok;
    rp.n = n;
    rp.experts = int(E);
    rp.topk = int(K);
    rp.routedScale = float(cfg.routedScalingFactor);
    rp.normTopk = cfg.normTopkProb;
    rp.selected = sel;
    rp.weights = weights;
    FOLIO_STATUS_TRY(kc::moeRoute(rp, s()));
    kc::MoeGroupParams gp;
    gp.selected = sel;
    gp.weights = weights;
    gp.n = n;
    gp.experts = int(E);
    gp.topk = int(K);
    gp.offsets = offsets;
    gp.rowToken = rowToken;
    gp.rowWeight = rowWeight;
    gp.assignRow = assignRow;
    FOLIO_STATUS_TRY(kc::moeGroup(gp, s()));

    const float* xq = nullptr;
    FOLIO_STATUS_TRY(quantizedCopy(x, n, D, xqBuf, &xq));
    float *g = nullptr, *u = nullptr, *hb = nullptr, *routed = nullptr;
    FOLIO_STATUS_TRY(need(expG, rows * inter, &g));
    FOLIO_STATUS_TRY(need(expU, rows * inter, &u));
    FOLIO_STATUS_TRY(need(expH, rows * inter, &hb));
    FOLIO_STATUS_TRY(need(routedBuf, rows * D, &routed));
    // Grouped expert GEMMs over experts [first, first + count) (offsets indexed from `first`).
    auto expert = [&](const float* in, const std::int32_t* source, int first, int count,
                      WeightFormat f, std::int64_t outRows, std::int64_t inCols,
                      const void* const* data, const std::uint8_t* const* scales, float* out) {
        kc::ExpertGemmParams e;
        e.x = in;
        e.ldx = inCols;
        e.rowSource = source;
        e.offsets = offsets + first;
        e.experts = count;
        e.maxRows = n;
        e.format = f;
        e.outRows = outRows;
        e.inCols = inCols;
        e.weightData = data;
        e.weightScales = scales;
        e.y = out;
        e.ldy = outRows;
        return kc::expertGemm(e, s());
    };
    // The experts of [first, first + count) whose grouped rows are [r0, r1): w1/w3, SwiGLU with the
    // routing weight, the round trip, w2.
    auto routedBatch = [&](int first, int count, const cuda::DeviceExpertTables& t, std::int64_t r0,
                           std::int64_t r1) -> kc::CudaStatus {
        FOLIO_STATUS_TRY(expert(xq, rowToken, first, count, m.expertFormatIn, inter, D, t.w1, t.s1, g));
        FOLIO_STATUS_TRY(expert(xq, rowToken, first, count, m.expertFormatIn, inter, D, t.w3, t.s3, u));
        if (r1 > r0) {
            FOLIO_STATUS_TRY(kc::swiglu(g + r0 * inter, u + r0 * inter, rowWeight + r0, r1 - r0, inter,
                                limit, hb + r0 * inter, s()));
            if (opt.quantize) FOLIO_STATUS_TRY(quantRows(hb + r0 * inter, r1 - r0, inter));
        }
        return expert(hb, nullptr, first, count, m.expertFormatOut, D, inter, t.w2, t.s2, routed);
    };
    if (m.resident) {
        FOLIO_STATUS_TRY(routedBatch(0, int(E), m.experts, 0, rows));
    } else {
        // Which experts this chunk needs decides what to copy: fetch the grouping's offsets.
        hostOffsets.resize(std::size_t(E + 1));
        FOLIO_STATUS_TRY(kc::copyToHost(hostOffsets.data(), offsets,
                                hostOffsets.size() * sizeof(std::int32_t), s()));
        std::vector<int> needed;
        for (int e = 0; e < int(E); ++e)
            if (hostOffsets[std::size_t(e + 1)] > hostOffsets[std::size_t(e)]) needed.push_back(e);
        FOLIO_STATUS_TRY(offload->runLayer(
            l, needed, s(), [&](int first, int count, const cuda::DeviceExpertTables& t) {
                return routedBatch(first, count, t, hostOffsets[std::size_t(first)],
                                   hostOffsets[std::size_t(first + count)]);
            }));
    }

    // Shared expert: every token, weight 1.
    float *sg = nullptr, *su = nullptr, *sh = nullptr, *so = nullptr;
    FOLIO_STATUS_TRY(need(sharedG, n * sharedInter, &sg));
    FOLIO_STATUS_TRY(need(sharedU, n * sharedInter, &su));
    FOLIO_STATUS_TRY(need(sharedH, n * sharedInter, &sh));
    FOLIO_STATUS_TRY(need(sharedOut, n * D, &so));
    FOLIO_STATUS_TRY(lin(m.sharedW1, xq, n, D, sg, sharedInter));
    FOLIO_STATUS_TRY(lin(m.sharedW3, xq, n, D, su, sharedInter));
    FOLIO_STATUS_TRY(kc::swiglu(sg, su, nullptr, n, sharedInter, limit, sh, s()));
    if (opt.quantize) FOLIO_STATUS_TRY(quantRows(sh, n, sharedInter));
    FOLIO_STATUS_TRY(lin(m.sharedW2, sh, n, sharedInter, so, D));
    // y = sum of the token's experts in ascending id order, then + shared.
    return kc::moeCombine(routed, sel, assignRow, so, n, int(K), D, y, s());
}

kc::CudaStatus CudaForward::Impl::head(const float* h, std::int64_t rows,
                                       std::vector<float>* logits) {
    const std::int64_t D = cfg.hiddenSize, V = cfg.vocabSize;
    float *x = nullptr, *out = nullptr;
    FOLIO_STATUS_TRY(need(headX, rows * D, &x));
    FOLIO_STATUS_TRY(need(logitsBuf, rows * V, &out));
    kc::HcParams p;
    p.h = h;
    p.fn = dm.hcHead.fn;
    p.base = dm.hcHead.base;
    p.scale = dm.hcHead.scale;
    p.n = rows;
    p.copies = cfg.hcMult;
    p.dim = int(D);
    p.iters = 0;
    p.hcEps = float(cfg.hcEps);
    p.normEps = cfg.rmsNormEps;
    p.head = true;
    p.x = x;
    FOLIO_STATUS_TRY(kc::hcPre(p, s()));
    FOLIO_STATUS_TRY(kc::rmsNorm(x, D, dm.norm, rows, int(D), float(cfg.rmsNormEps), x, D, s()));
    FOLIO_STATUS_TRY(lin(dm.head, x, rows, D, out, V));
    logits->resize(std::size_t(rows * V));
    return kc::copyToHost(logits->data(), out, logits->size() * sizeof(float), s());
}

// ---- CudaForward
// ----------------------------------------------------------------------------------

CudaForward::CudaForward(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudaForward::~CudaForward() {
    if (impl_) (void)kc::synchronize(impl_->s());
}

Result<std::unique_ptr<CudaForward>> CudaForward::create(const ModelConfig& cfg,
                                                         const ModelWeights& w,
                                                         const CudaForwardOptions& options) {
    std::string why;
    const auto devices = kernels::cudaDevices(&why);
    if (options.device < 0 || std::size_t(options.device) >= devices.size())
        return makeError("no CUDA device " + std::to_string(options.device) +
                         (why.empty() ? "" : ": " + why));
    const kernels::CudaDeviceProps& dev = devices[std::size_t(options.device)];
    auto fail = [](const char* what, const kc::CudaStatus& st) {
        return makeError(std::string("CUDA forward pass: ") + what + ": " + st.error());
    };
    if (auto st = kc::selectDevice(options.device); !st) return fail("selecting the device", st);
    auto impl = std::make_unique<Impl>(cfg, w, options);
    if (auto st = impl->stream.create(); !st) return fail("creating a stream", st);
    if (auto st = impl->blas.create(); !st) return fail("creating the cuBLAS handles", st);

    std::size_t freeBytes = 0, totalBytes = 0;
    if (auto st = kc::deviceMemory(&freeBytes, &totalBytes); !st)
        return fail("querying device memory", st);
    const cuda::DeviceWeightSizes sizes = cuda::deviceWeightSizes(cfg, w);
    // Room for the sequence states, the scratch of a chunk and the cuBLAS workspace.
    const std::size_t reserve = std::max<std::size_t>(std::size_t(2) << 30, totalBytes / 10);
    const bool offload =
        options.forceExpertOffload || sizes.rest + sizes.routedExperts + reserve > freeBytes;
    if (offload && sizes.rest + reserve > freeBytes)
        return makeError("CUDA forward pass: the model needs " + gib(sizes.rest) +
                         " on the device without its routed experts, plus " + gib(reserve) +
                         " working memory; " + dev.name + " has " + gib(freeBytes) + " free");
    if (auto st = cuda::uploadModel(cfg, w, !offload, impl->arena, impl->s(), &impl->dm); !st)
        return fail("uploading the weights", st);

    std::string expertsText = "routed experts on the device";
    if (offload) {
        std::size_t expertCount = 0;
        for (const LayerWeights& l : w.layers) expertCount += l.ffn.experts.size();
        const std::size_t perExpert =
            std::max<std::size_t>(1, sizes.routedExperts / std::max<std::size_t>(1, expertCount));
        const std::size_t budget =
            freeBytes > sizes.rest + reserve ? freeBytes - sizes.rest - reserve : 0;
        int slots = int(
            std::clamp<std::size_t>(budget / 2 / perExpert, 1, std::size_t(cfg.nRoutedExperts)));
        if (options.forceExpertOffload)
            slots = std::min(slots, 2); // many small batches: exercises the overlap
        const std::size_t pinnedBudget =
            std::size_t(sysconf(_SC_PHYS_PAGES)) * std::size_t(sysconf(_SC_PAGE_SIZE)) / 2;
        impl->offload = std::make_unique<cuda::ExpertOffload>();
        if (auto st = impl->offload->init(w, slots, pinnedBudget); !st)
            return fail("preparing the expert offload", st);
        expertsText = "routed experts streamed from " +
                      std::string(impl->offload->pinned() ? "pinned" : "pageable") +
                      " host memory (" + std::to_string(slots) + " per batch)";
    }
    impl->description = dev.name + " (sm_" + std::to_string(dev.smMajor) +
                        std::to_string(dev.smMinor) + "), " + gib(dev.totalMemory) + "; weights " +
                        gib(impl->arena.bytes()) + " on the device, " + expertsText;
    return std::unique_ptr<CudaForward>(new CudaForward(std::move(impl)));
}

const std::string& CudaForward::description() const {
    return impl_->description;
}
bool CudaForward::expertsOffloaded() const {
    return impl_->offload != nullptr;
}

Result<std::unique_ptr<CudaSequenceState>> CudaForward::newState() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto st = std::make_unique<CudaSequenceState>();
    if (auto s = cuda::makeDeviceState(impl_->cfg, impl_->s(), st.get()); !s)
        return makeError("CUDA sequence state: " + s.error());
    return st;
}

Status CudaForward::run(CudaSequenceState& s, const std::int32_t* tokens, std::int64_t n,
                        bool allPositions, std::vector<float>* logits) const {
    if (n <= 0) return {};
    std::lock_guard<std::mutex> lock(impl_->mutex);
    // Pieces of at most kMaxPiece tokens: the ops take up to 65535 rows per launch, and the scratch
    // of a piece stays bounded. The result does not depend on the split (chunk invariance).
    constexpr std::int64_t kMaxPiece = 4096;
    if (logits) logits->clear();
    std::vector<float> part;
    for (std::int64_t done = 0; done < n;) {
        const std::int64_t len = std::min(kMaxPiece, n - done);
        const bool want = logits && (allPositions || done + len == n);
        if (auto st = impl_->forward(s, tokens + done, len, allPositions, want ? &part : nullptr);
            !st)
            return makeError("CUDA forward pass at position " + std::to_string(s.pos) + ": " +
                             st.error());
        if (want) {
            if (allPositions)
                logits->insert(logits->end(), part.begin(), part.end());
            else
                logits->swap(part);
        }
        done += len;
    }
    return {};
}

Status CudaForward::download(const CudaSequenceState& d, SequenceState* s) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (auto st = cuda::downloadState(d, s, impl_->s()); !st)
        return makeError("copying the sequence state from the GPU: " + st.error());
    return {};
}

Status CudaForward::upload(const SequenceState& s, CudaSequenceState& d) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (auto st = cuda::uploadState(s, &d, impl_->s()); !st)
        return makeError("copying the sequence state to the GPU: " + st.error());
    return {};
}

Result<std::unique_ptr<CudaSequenceState>> CudaForward::clone(const CudaSequenceState& d) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto st = std::make_unique<CudaSequenceState>();
    if (auto s = cuda::makeDeviceState(impl_->cfg, impl_->s(), st.get()); !s)
        return makeError("CUDA sequence state: " + s.error());
    if (auto s = cuda::cloneState(d, st.get(), impl_->s()); !s)
        return makeError("cloning a CUDA sequence state: " + s.error());
    return st;
}

std::int64_t CudaForward::tokensProcessed() const {
    return impl_->processed;
}

} // namespace folio::model
