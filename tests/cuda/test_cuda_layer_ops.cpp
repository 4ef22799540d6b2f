// The CUDA ops of attention and MoE layers against the CPU: the compressors (ratio 4 with the
// overlap and ratio 128, fed in uneven chunks so blocks straddle chunk boundaries), the compressed
// entries' post-processing, the lightning indexer's scores and top-k, sparse attention with sinks
// (prefill and decode kernels over window ring, chunk and compressed entries), the MoE router and a
// whole MoE (grouped expert GEMMs) against LayerRunner::moe. Tolerances:
//   compressor without round trips 2e-5 absolute (entries ~ N(0, 1) after the norm; exp and the
//     accumulation may differ in the last bits); with round trips the same, except that up to 1% of
//     values may sit one quantization step away (a last-bit difference flips a rounding);
//   indexer scores 1e-5 x sum_h |w_h| sum_k |q_hk k_k|; top-k exact (the same scores in);
//   attention 3e-5 absolute for |kv| ~ 1 (outputs are convex combinations of the keys);
//   router: the same experts, weights 2e-6 relative (sqrt/softplus ulps);
//   MoE 1e-4 x max|y| without round trips (fp32 sums in another order), 2e-2 x max|y| with them
//     (flipped e4m3 roundings of the SwiGLU outputs).
#include "cuda_test_support.h"
#include "folio/kernels/gemm.h"
#include "model/layer.h"
#include "model/ops.h"
#include "model/rope.h"

#include <QtTest>
#include <memory>
#include <numeric>
#include <random>

using namespace folio;
using namespace folio::test;
using kernels::WeightFormat;

class TestCudaLayerOps : public QObject {
    Q_OBJECT
private slots:
    void compressor_data();
    void compressor();
    void indexerScores();
    void indexerTopK_data();
    void indexerTopK();
    void attention_data();
    void attention();
    void moeRoute_data();
    void moeRoute();
    void moeForward_data();
    void moeForward();
};

#ifdef FOLIO_HAVE_CUDA

namespace {

namespace kc = folio::kernels::cuda;

model::ModelConfig baseConfig() {
    model::ModelConfig c;
    c.qkRopeHeadDim = 64;
    c.ropeTheta = 10000;
    c.compressRopeTheta = 160000;
    c.ropeScaling = {"yarn", 16.0, 65536, 32.0, 1.0};
    c.rmsNormEps = 1e-6;
    return c;
}

model::CompressorState makeState(int ratio, int dim) {
    model::CompressorState c;
    c.ratio = ratio;
    c.dim = dim;
    c.width = (ratio == 4 ? 2 : 1) * dim;
    c.curA.assign(static_cast<std::size_t>(ratio) * c.width, 0.0f);
    c.curG.assign(static_cast<std::size_t>(ratio) * c.width, 0.0f);
    if (ratio == 4) {
        c.prevA.assign(static_cast<std::size_t>(ratio) * c.width, 0.0f);
        c.prevG.assign(static_cast<std::size_t>(ratio) * c.width, 0.0f);
    }
    return c;
}

struct HostWeight {
    std::vector<std::uint8_t> data, scales;
    kernels::WeightMatrix w;
};

HostWeight makeWeight(WeightFormat f, std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
    HostWeight h;
    std::uniform_int_distribution<int> byte(0, 255), sc(120, 124);
    if (f == WeightFormat::BF16) {
        h.data.resize(std::size_t(rows * cols) * 2);
        auto* d = reinterpret_cast<std::uint16_t*>(h.data.data());
        for (const float v : randomFloats(std::size_t(rows * cols), rng, 0.1f)) *d++ = kernels::f32ToBf16(v);
    } else if (f == WeightFormat::FP8Block128) {
        h.data.resize(std::size_t(rows * cols));
        for (auto& b : h.data) {
            do b = std::uint8_t(byte(rng));
            while ((b & 0x7f) == 0x7f);
        }
        h.scales.resize(std::size_t(((rows + 127) / 128) * ((cols + 127) / 128)));
        for (auto& s : h.scales) s = std::uint8_t(sc(rng));
    } else {
        h.data.resize(std::size_t(rows * cols / 2));
        for (auto& b : h.data) b = std::uint8_t(byte(rng));
        h.scales.resize(std::size_t(rows * cols / 32));
        for (auto& s : h.scales) s = std::uint8_t(sc(rng));
    }
    h.w = {f, rows, cols, h.data.data(), h.scales.empty() ? nullptr : h.scales.data()};
    return h;
}

} // namespace

void TestCudaLayerOps::compressor_data() {
    QTest::addColumn<int>("ratio");
    QTest::addColumn<bool>("indexer");
    QTest::addColumn<bool>("quantize");
    for (bool q : {false, true}) {
        const char* tag = q ? ", round trips" : "";
        QTest::newRow(qPrintable(QString("ratio 4 attention%1").arg(tag))) << 4 << false << q;
        QTest::newRow(qPrintable(QString("ratio 4 indexer%1").arg(tag))) << 4 << true << q;
        QTest::newRow(qPrintable(QString("ratio 128 attention%1").arg(tag))) << 128 << false << q;
    }
}

void TestCudaLayerOps::compressor() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(int, ratio);
    QFETCH(bool, indexer);
    QFETCH(bool, quantize);
    std::mt19937 rng(21);
    const model::ModelConfig cfg = baseConfig();
    const model::Rope ropePlain(cfg, false), ropeYarn(cfg, true);
    const model::LayerRunner runner{cfg, nullptr, ropePlain, ropeYarn, quantize};
    const int d = 128, rd = 64, width = (ratio == 4 ? 2 : 1) * d;
    const std::vector<std::int64_t> chunks = {3, 5, 1, 130, 7, 1, 1, 260, 2};
    const std::int64_t total = std::accumulate(chunks.begin(), chunks.end(), std::int64_t(0));
    const std::int64_t capacity = total / ratio;
    const auto ape = randomFloats(std::size_t(ratio * width), rng, 0.5f);
    const auto norm = randomFloats(static_cast<std::size_t>(d), rng, 0.2f);

    model::CompressorState cpu = makeState(ratio, d);
    DeviceArray<float> dApe(ape), dNorm(norm);
    DeviceArray<double> dFreq(ropeYarn.frequencies());
    DeviceArray<float> curA(cpu.curA), curG(cpu.curG), prevA(std::size_t(ratio * width)), prevG(std::size_t(ratio * width));
    DeviceArray<float> entries(std::size_t(capacity * d));
    std::int64_t pos0 = 0;
    for (const std::int64_t n : chunks) {
        auto a = randomFloats(std::size_t(n * width), rng);
        auto g = randomFloats(std::size_t(n * width), rng, 2.0f);
        DeviceArray<float> dA(a), dG(g);
        kc::CompressorParams p;
        p.ratio = ratio;
        p.dim = d;
        p.pos0 = pos0;
        p.n = n;
        p.a = dA.get();
        p.g = dG.get();
        p.ape = dApe.get();
        p.curA = curA.get();
        p.curG = curG.get();
        p.prevA = prevA.get();
        p.prevG = prevG.get();
        p.entries = entries.get();
        p.capacity = capacity;
        FOLIO_CUDA_OK(kc::compressChunk(p, nullptr));
        kc::CompressedEntryParams f;
        f.entries = entries.get();
        f.first = pos0 / ratio;
        f.count = (pos0 + n) / ratio - f.first;
        f.dim = d;
        f.ratio = ratio;
        f.norm = dNorm.get();
        f.eps = float(cfg.rmsNormEps);
        f.freq = dFreq.get();
        f.ropeDim = rd;
        f.indexer = indexer;
        f.quantize = quantize;
        FOLIO_CUDA_OK(kc::finishCompressedEntries(f, nullptr));
        for (auto* arr : {&curA, &curG, &prevA, &prevG, &entries}) QVERIFY2(arr->guardsIntact(), "compressor guards");

        // CPU, as LayerRunner::attention's runCompressor.
        for (std::int64_t t = 0; t < n; ++t)
            for (int i = 0; i < width; ++i) g[std::size_t(t * width + i)] += ape[std::size_t(((pos0 + t) % ratio) * width + i)];
        const std::int64_t before = cpu.count();
        runner.compress(cpu, pos0, a.data(), g.data(), n);
        for (std::int64_t j = before; j < cpu.count(); ++j) {
            float* e = &cpu.entries[std::size_t(j * d)];
            model::rmsNorm(e, norm.data(), d, float(cfg.rmsNormEps), e);
            ropeYarn.apply(e + d - rd, j * ratio);
            if (indexer) {
                model::hadamard(e, d);
                if (quantize) kernels::roundTripE2m1(e, d, 32);
            } else if (quantize) {
                kernels::roundTripE4m3(e, d - rd, 64);
            }
        }
        pos0 += n;
    }
    QCOMPARE(cpu.count(), capacity);
    // Quantized values may sit one step away: e4m3 steps are <= 1/8, e2m1 steps <= 1/2 of the block's max.
    double amax = 0;
    for (float v : cpu.entries) amax = std::max(amax, double(std::fabs(v)));
    const int outliers = quantize ? int(cpu.entries.size() / 100) : 0;
    const double step = quantize ? (indexer ? 0.5 : 0.125) * amax : 0.0;
    QString err = checkClose("entries", entries.download(), toDouble(cpu.entries), 2e-5, 1e-5, nullptr, outliers, step);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    // Carried rows: the valid slots of the incomplete block, and the last complete block (ratio 4).
    const int valid = int(total % ratio);
    const auto gotA = curA.download(), gotG = curG.download();
    std::vector<float> ga(gotA.begin(), gotA.begin() + valid * width), gg(gotG.begin(), gotG.begin() + valid * width);
    err = checkClose("curA", ga, toDouble(std::vector<float>(cpu.curA.begin(), cpu.curA.begin() + valid * width)), 0, 0);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    err = checkClose("curG", gg, toDouble(std::vector<float>(cpu.curG.begin(), cpu.curG.begin() + valid * width)), 1e-6, 1e-6);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    if (ratio == 4) {
        err = checkClose("prevA", prevA.download(), toDouble(cpu.prevA), 0, 0);
        QVERIFY2(err.isEmpty(), qPrintable(err));
        err = checkClose("prevG", prevG.download(), toDouble(cpu.prevG), 1e-6, 1e-6);
        QVERIFY2(err.isEmpty(), qPrintable(err));
    }
}

void TestCudaLayerOps::indexerScores() {
    FOLIO_REQUIRE_CUDA();
    std::mt19937 rng(22);
    const int heads = 64, dim = 128, ratio = 4;
    const std::int64_t n = 6, pos0 = 1000, count = (pos0 + n) / ratio, ld = count + 3;
    const auto q = randomFloats(std::size_t(n * heads * dim), rng);
    const auto w = randomFloats(std::size_t(n * heads), rng);
    const auto keys = randomFloats(std::size_t(count * dim), rng);
    const float wscale = float(1.0 / std::sqrt(double(dim)) / std::sqrt(double(heads)));
    DeviceArray<float> dq(q), dw(w), dk(keys), scores(std::size_t(n * ld));
    kc::IndexerScoreParams p;
    p.q = dq.get();
    p.w = dw.get();
    p.wscale = wscale;
    p.keys = dk.get();
    p.n = n;
    p.pos0 = pos0;
    p.heads = heads;
    p.dim = dim;
    p.ratio = ratio;
    p.scores = scores.get();
    p.ldScores = ld;
    FOLIO_CUDA_OK(kc::indexerScores(p, nullptr));
    FOLIO_GUARDS(scores);
    const auto got = scores.download();
    std::vector<float> gotV;
    std::vector<double> want, scale;
    for (std::int64_t t = 0; t < n; ++t) {
        const std::int64_t visible = (pos0 + t + 1) / ratio;
        for (std::int64_t j = 0; j < visible; ++j) {
            double s = 0, a = 0;
            for (int h = 0; h < heads; ++h) {
                double dot = 0, adot = 0;
                for (int k = 0; k < dim; ++k) {
                    const double pr = double(q[std::size_t((t * heads + h) * dim + k)]) * keys[std::size_t(j * dim + k)];
                    dot += pr;
                    adot += std::fabs(pr);
                }
                const double wh = double(w[std::size_t(t * heads + h)]) * wscale;
                s += wh * std::max(dot, 0.0);
                a += std::fabs(wh) * adot;
            }
            want.push_back(s);
            scale.push_back(a);
            gotV.push_back(got[std::size_t(t * ld + j)]);
        }
    }
    const QString err = checkClose("indexer scores", gotV, want, 1e-7, 1e-5, &scale);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaLayerOps::indexerTopK_data() {
    QTest::addColumn<qint64>("pos0");
    QTest::addColumn<int>("k");
    QTest::newRow("more visible than k, many ties") << qint64(2000) << 64;
    QTest::newRow("fewer visible than k") << qint64(100) << 600;
    QTest::newRow("long context") << qint64(262000) << 512;
}

void TestCudaLayerOps::indexerTopK() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(qint64, pos0);
    QFETCH(int, k);
    std::mt19937 rng(23);
    const int ratio = 4;
    const std::int64_t n = 4, ld = (pos0 + n) / ratio;
    auto scores = randomFloats(std::size_t(n * ld), rng);
    // Coarse values give many ties (broken towards the lower index), zeros of both signs included.
    for (float& s : scores) s = std::round(s * 4.0f) / 4.0f;
    scores[5] = -0.0f;
    DeviceArray<float> dS(scores);
    DeviceArray<std::int32_t> sel(std::size_t(n * k)), counts(static_cast<std::size_t>(n));
    kc::TopKParams p;
    p.scores = dS.get();
    p.ldScores = ld;
    p.n = n;
    p.pos0 = pos0;
    p.ratio = ratio;
    p.k = k;
    p.selected = sel.get();
    p.counts = counts.get();
    FOLIO_CUDA_OK(kc::indexerTopK(p, nullptr));
    FOLIO_GUARDS(sel);
    FOLIO_GUARDS(counts);
    const auto gotSel = sel.download();
    const auto gotCount = counts.download();
    for (std::int64_t t = 0; t < n; ++t) {
        const std::int64_t visible = (pos0 + t + 1) / ratio;
        std::vector<std::int32_t> want;
        if (visible <= k) {
            want.resize(static_cast<std::size_t>(visible));
            std::iota(want.begin(), want.end(), 0);
        } else {
            want = model::topKIndices(&scores[std::size_t(t * ld)], visible, k);
            std::sort(want.begin(), want.end());
        }
        QCOMPARE(gotCount[static_cast<std::size_t>(t)], std::int32_t(want.size()));
        const std::vector<std::int32_t> got(gotSel.begin() + t * k, gotSel.begin() + t * k + std::int64_t(want.size()));
        QCOMPARE(got, want);
    }
}

void TestCudaLayerOps::attention_data() {
    QTest::addColumn<int>("ratio");
    QTest::addColumn<bool>("select");
    QTest::addColumn<qint64>("n");
    QTest::addColumn<qint64>("pos0");
    QTest::addColumn<int>("heads");
    QTest::addColumn<bool>("decode");
    QTest::newRow("SWA prefill over the ring") << 0 << false << qint64(6) << qint64(300) << 32 << false;
    QTest::newRow("SWA first tokens") << 0 << false << qint64(5) << qint64(0) << 24 << false;
    QTest::newRow("SWA chunk longer than the window") << 0 << false << qint64(140) << qint64(50) << 16 << false;
    QTest::newRow("HCA prefill (ratio 8)") << 8 << false << qint64(4) << qint64(600) << 32 << false;
    QTest::newRow("CSA prefill (selection)") << 4 << true << qint64(3) << qint64(500) << 24 << false;
    QTest::newRow("SWA decode") << 0 << false << qint64(1) << qint64(1000) << 32 << true;
    QTest::newRow("HCA decode (ratio 128)") << 128 << false << qint64(1) << qint64(9000) << 64 << true;
    QTest::newRow("CSA decode, 2 tokens") << 4 << true << qint64(2) << qint64(4000) << 24 << true;
}

void TestCudaLayerOps::attention() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(int, ratio);
    QFETCH(bool, select);
    QFETCH(qint64, n);
    QFETCH(qint64, pos0);
    QFETCH(int, heads);
    QFETCH(bool, decode);
    std::mt19937 rng(24);
    const int hd = 512, W = 128, topk = 40;
    const std::int64_t count = ratio > 0 ? (pos0 + n) / ratio : 0;
    const float scale = float(1.0 / std::sqrt(double(hd)));
    const auto q = randomFloats(std::size_t(n * heads * hd), rng);
    const auto kv = randomFloats(std::size_t(n * hd), rng, 0.7f);
    const auto window = randomFloats(std::size_t(W * hd), rng, 0.7f);
    const auto entries = randomFloats(std::size_t(std::max<std::int64_t>(count, 1) * hd), rng, 0.7f);
    const auto sink = randomFloats(static_cast<std::size_t>(heads), rng);
    // CSA: a selection per query of distinct visible entries, ascending.
    std::vector<std::int32_t> selected(std::size_t(n * topk), 0), selCount(static_cast<std::size_t>(n), 0);
    for (std::int64_t t = 0; t < n && select; ++t) {
        const std::int64_t visible = (pos0 + t + 1) / ratio;
        std::vector<std::int32_t> all(static_cast<std::size_t>(visible));
        std::iota(all.begin(), all.end(), 0);
        std::shuffle(all.begin(), all.end(), rng);
        all.resize(std::size_t(std::min<std::int64_t>(visible, topk)));
        std::sort(all.begin(), all.end());
        std::copy(all.begin(), all.end(), selected.begin() + t * topk);
        selCount[static_cast<std::size_t>(t)] = std::int32_t(all.size());
    }
    DeviceArray<float> dq(q), dkv(kv), dwin(window), dent(entries), dsink(sink), out(std::size_t(n * heads * hd));
    DeviceArray<std::int32_t> dsel(selected), dcount(selCount);
    kc::SparseAttentionParams p;
    p.q = dq.get();
    p.kv = dkv.get();
    p.window = dwin.get();
    p.entries = ratio > 0 ? dent.get() : nullptr;
    p.selected = select ? dsel.get() : nullptr;
    p.selectedCount = select ? dcount.get() : nullptr;
    p.selectedLd = select ? topk : 0;
    p.sink = dsink.get();
    p.n = n;
    p.pos0 = pos0;
    p.heads = heads;
    p.headDim = hd;
    p.windowSize = W;
    p.ratio = ratio;
    p.scale = scale;
    p.out = out.get();
    if (decode) {
        DeviceArray<float> work(kc::sparseAttentionDecodeWorkspace(p));
        FOLIO_CUDA_OK(kc::sparseAttentionDecode(p, work.get(), work.size(), nullptr));
        FOLIO_GUARDS(work);
    } else {
        FOLIO_CUDA_OK(kc::sparseAttentionPrefill(p, nullptr));
    }
    FOLIO_GUARDS(out);

    // Reference in double: the CPU attention's index set and softmax with the sink.
    std::vector<double> want;
    for (std::int64_t t = 0; t < n; ++t) {
        const std::int64_t pos = pos0 + t;
        std::vector<const float*> keys;
        for (std::int64_t pp = std::max<std::int64_t>(0, pos - W + 1); pp <= pos; ++pp)
            keys.push_back(pp >= pos0 ? &kv[std::size_t((pp - pos0) * hd)] : &window[std::size_t((pp % W) * hd)]);
        if (select) {
            for (int c = 0; c < selCount[static_cast<std::size_t>(t)]; ++c)
                keys.push_back(&entries[std::size_t(selected[std::size_t(t * topk + c)] * hd)]);
        } else if (ratio > 0) {
            for (std::int64_t j = 0; j < (pos + 1) / ratio; ++j) keys.push_back(&entries[std::size_t(j * hd)]);
        }
        for (int h = 0; h < heads; ++h) {
            const float* qh = &q[std::size_t((t * heads + h) * hd)];
            std::vector<double> s(keys.size());
            double mx = sink[static_cast<std::size_t>(h)];
            for (std::size_t j = 0; j < keys.size(); ++j) {
                double dot = 0;
                for (int k = 0; k < hd; ++k) dot += double(qh[k]) * keys[j][k];
                s[j] = dot * scale;
                mx = std::max(mx, s[j]);
            }
            double den = std::exp(double(sink[static_cast<std::size_t>(h)]) - mx);
            std::vector<double> o(static_cast<std::size_t>(hd), 0.0);
            for (std::size_t j = 0; j < keys.size(); ++j) {
                const double e = std::exp(s[j] - mx);
                den += e;
                for (int k = 0; k < hd; ++k) o[static_cast<std::size_t>(k)] += e * keys[j][k];
            }
            for (double v : o) want.push_back(v / den);
        }
    }
    const QString err = checkClose("attention", out.download(), want, 3e-5, 0.0);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaLayerOps::moeRoute_data() {
    QTest::addColumn<bool>("hashed");
    QTest::addColumn<bool>("normTopk");
    QTest::newRow("score + bias selection") << false << true;
    QTest::newRow("hash routing") << true << true;
    QTest::newRow("unnormalised weights") << false << false;
}

void TestCudaLayerOps::moeRoute() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(bool, hashed);
    QFETCH(bool, normTopk);
    std::mt19937 rng(25);
    const int E = 256, K = 6, vocab = 50;
    const std::int64_t n = 7;
    const float routedScale = 1.5f;
    auto logits = randomFloats(std::size_t(n * E), rng, 2.0f);
    logits[3] = -120.0f; // sqrt(softplus) underflows towards 0 here
    const auto bias = randomFloats(static_cast<std::size_t>(E), rng, 0.3f);
    std::vector<std::int64_t> tid2eid(std::size_t(vocab * K));
    std::uniform_int_distribution<int> ex(0, E - 1);
    for (int v = 0; v < vocab; ++v) {
        std::vector<int> all(static_cast<std::size_t>(E));
        std::iota(all.begin(), all.end(), 0);
        std::shuffle(all.begin(), all.end(), rng);
        for (int k = 0; k < K; ++k) tid2eid[std::size_t(v * K + k)] = all[static_cast<std::size_t>(k)];
    }
    const std::vector<std::int32_t> tokens = {3, 0, 49, 17, 3, 22, 8};
    DeviceArray<float> dl(logits), db(bias), weights(std::size_t(n * K));
    DeviceArray<std::int64_t> dt(tid2eid);
    DeviceArray<std::int32_t> dtok(tokens), sel(std::size_t(n * K));
    kc::MoeRouteParams p;
    p.logits = dl.get();
    p.bias = hashed ? nullptr : db.get();
    p.tid2eid = hashed ? dt.get() : nullptr;
    p.tokens = dtok.get();
    p.n = n;
    p.experts = E;
    p.topk = K;
    p.routedScale = routedScale;
    p.normTopk = normTopk;
    p.selected = sel.get();
    p.weights = weights.get();
    FOLIO_CUDA_OK(kc::moeRoute(p, nullptr));
    FOLIO_GUARDS(sel);
    FOLIO_GUARDS(weights);
    const auto gotSel = sel.download();
    const auto gotW = weights.download();
    // CPU: LayerRunner::moe's router.
    std::vector<double> wantW;
    for (std::int64_t t = 0; t < n; ++t) {
        std::vector<float> s(static_cast<std::size_t>(E));
        for (int e = 0; e < E; ++e) s[static_cast<std::size_t>(e)] = std::sqrt(model::softplus(logits[std::size_t(t * E + e)]));
        std::vector<std::int32_t> order(static_cast<std::size_t>(E)), want(static_cast<std::size_t>(K));
        if (hashed) {
            for (int k = 0; k < K; ++k) want[static_cast<std::size_t>(k)] = std::int32_t(tid2eid[std::size_t(tokens[static_cast<std::size_t>(t)] * K + k)]);
        } else {
            std::iota(order.begin(), order.end(), 0);
            auto key = [&](std::int32_t e) { return s[static_cast<std::size_t>(e)] + bias[static_cast<std::size_t>(e)]; };
            std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](std::int32_t a, std::int32_t b) {
                return key(a) > key(b) || (key(a) == key(b) && a < b);
            });
            std::copy(order.begin(), order.begin() + K, want.begin());
        }
        float sum = 0.0f;
        for (std::int32_t e : want) sum += s[static_cast<std::size_t>(e)];
        const float norm = normTopk ? 1.0f / std::fmax(sum, 1e-20f) : 1.0f;
        for (int k = 0; k < K; ++k) {
            QCOMPARE(gotSel[std::size_t(t * K + k)], want[static_cast<std::size_t>(k)]);
            wantW.push_back(double(s[std::size_t(want[static_cast<std::size_t>(k)])] * norm * routedScale));
        }
    }
    const QString err = checkClose("router weights", gotW, wantW, 1e-30, 2e-6);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaLayerOps::moeForward_data() {
    QTest::addColumn<bool>("quantize");
    QTest::newRow("without round trips") << false;
    QTest::newRow("reference numerics") << true;
}

void TestCudaLayerOps::moeForward() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(bool, quantize);
    std::mt19937 rng(26);
    model::ModelConfig cfg = baseConfig();
    cfg.hiddenSize = 256;
    cfg.nRoutedExperts = 8;
    cfg.numExpertsPerTok = 2;
    cfg.moeIntermediateSize = 128;
    cfg.swigluLimit = 10.0;
    cfg.normTopkProb = true;
    cfg.routedScalingFactor = 1.5;
    const int D = cfg.hiddenSize, E = cfg.nRoutedExperts, K = cfg.numExpertsPerTok, inter = cfg.moeIntermediateSize;
    const std::int64_t n = 9;

    // Weights: bf16 gate, fp4 routed experts, fp8 shared expert.
    std::vector<HostWeight> hostW;
    hostW.reserve(std::size_t(3 * E + 4));
    model::MoeWeights mw;
    hostW.push_back(makeWeight(WeightFormat::BF16, E, D, rng));
    mw.gate = hostW.back().w;
    mw.bias = randomFloats(static_cast<std::size_t>(E), rng, 0.1f);
    mw.experts.resize(static_cast<std::size_t>(E));
    for (int e = 0; e < E; ++e) {
        hostW.push_back(makeWeight(WeightFormat::FP4Row32, inter, D, rng));
        mw.experts[static_cast<std::size_t>(e)].w1 = hostW.back().w;
        hostW.push_back(makeWeight(WeightFormat::FP4Row32, inter, D, rng));
        mw.experts[static_cast<std::size_t>(e)].w3 = hostW.back().w;
        hostW.push_back(makeWeight(WeightFormat::FP4Row32, D, inter, rng));
        mw.experts[static_cast<std::size_t>(e)].w2 = hostW.back().w;
    }
    hostW.push_back(makeWeight(WeightFormat::FP8Block128, inter, D, rng));
    mw.shared.w1 = hostW.back().w;
    hostW.push_back(makeWeight(WeightFormat::FP8Block128, inter, D, rng));
    mw.shared.w3 = hostW.back().w;
    hostW.push_back(makeWeight(WeightFormat::FP8Block128, D, inter, rng));
    mw.shared.w2 = hostW.back().w;
    const auto x = randomFloats(std::size_t(n * D), rng, 3.0f); // large enough for the clamp to act
    const std::vector<std::int32_t> tokens(static_cast<std::size_t>(n), 0);

    const model::Rope rp(cfg, false), rc(cfg, true);
    const model::LayerRunner runner{cfg, nullptr, rp, rc, quantize};
    std::vector<float> want(std::size_t(n * D));
    runner.moe(mw, tokens.data(), x.data(), n, want.data());

    // Device copies of every weight, and per-expert pointer tables.
    std::vector<std::unique_ptr<DeviceArray<std::uint8_t>>> keep;
    auto upload = [&](const HostWeight& h, const void** data, const std::uint8_t** scales) {
        keep.push_back(std::make_unique<DeviceArray<std::uint8_t>>(h.data));
        *data = keep.back()->get();
        keep.push_back(std::make_unique<DeviceArray<std::uint8_t>>(h.scales.empty() ? std::vector<std::uint8_t>{0} : h.scales));
        *scales = keep.back()->get();
    };
    const void* gateData = nullptr;
    const std::uint8_t* unused = nullptr;
    upload(hostW[0], &gateData, &unused);
    std::vector<const void*> w1(static_cast<std::size_t>(E)), w3(static_cast<std::size_t>(E)), w2(static_cast<std::size_t>(E)), s1d(1), s3d(1), s2d(1);
    std::vector<const std::uint8_t*> s1(static_cast<std::size_t>(E)), s3(static_cast<std::size_t>(E)), s2(static_cast<std::size_t>(E)), sh1(1), sh3(1), sh2(1);
    for (int e = 0; e < E; ++e) {
        upload(hostW[std::size_t(1 + 3 * e)], &w1[static_cast<std::size_t>(e)], &s1[static_cast<std::size_t>(e)]);
        upload(hostW[std::size_t(2 + 3 * e)], &w3[static_cast<std::size_t>(e)], &s3[static_cast<std::size_t>(e)]);
        upload(hostW[std::size_t(3 + 3 * e)], &w2[static_cast<std::size_t>(e)], &s2[static_cast<std::size_t>(e)]);
    }
    upload(hostW[std::size_t(1 + 3 * E)], &s1d[0], &sh1[0]);
    upload(hostW[std::size_t(2 + 3 * E)], &s3d[0], &sh3[0]);
    upload(hostW[std::size_t(3 + 3 * E)], &s2d[0], &sh2[0]);
    DeviceArray<const void*> dW1(w1), dW3(w3), dW2(w2), dS1d(s1d), dS3d(s3d), dS2d(s2d);
    DeviceArray<const std::uint8_t*> dS1(s1), dS3(s3), dS2(s2), dSh1(sh1), dSh3(sh3), dSh2(sh2);

    const std::int64_t rows = n * K;
    DeviceArray<float> dx(x), logits(std::size_t(n * E)), bias(mw.bias), weights(static_cast<std::size_t>(rows));
    DeviceArray<std::int32_t> sel(static_cast<std::size_t>(rows)), offsets(std::size_t(E + 1)), rowToken(static_cast<std::size_t>(rows)),
        assignRow(static_cast<std::size_t>(rows)), sharedOffsets(std::vector<std::int32_t>{0, std::int32_t(n)});
    DeviceArray<float> rowWeight(static_cast<std::size_t>(rows)), g(std::size_t(rows * inter)), u(std::size_t(rows * inter)),
        h(std::size_t(rows * inter)), routed(std::size_t(rows * D)), gs(std::size_t(n * inter)), us(std::size_t(n * inter)),
        hs(std::size_t(n * inter)), sharedOut(std::size_t(n * D)), y(std::size_t(n * D)), xq(x);

    FOLIO_CUDA_OK(kc::gemmF32Bf16(dx.get(), n, D, static_cast<const std::uint16_t*>(gateData), E, D, logits.get(), E, nullptr));
    kc::MoeRouteParams rp2;
    rp2.logits = logits.get();
    rp2.bias = bias.get();
    rp2.n = n;
    rp2.experts = E;
    rp2.topk = K;
    rp2.routedScale = float(cfg.routedScalingFactor);
    rp2.normTopk = cfg.normTopkProb;
    rp2.selected = sel.get();
    rp2.weights = weights.get();
    FOLIO_CUDA_OK(kc::moeRoute(rp2, nullptr));
    kc::MoeGroupParams gp;
    gp.selected = sel.get();
    gp.weights = weights.get();
    gp.n = n;
    gp.experts = E;
    gp.topk = K;
    gp.offsets = offsets.get();
    gp.rowToken = rowToken.get();
    gp.rowWeight = rowWeight.get();
    gp.assignRow = assignRow.get();
    FOLIO_CUDA_OK(kc::moeGroup(gp, nullptr));
    if (quantize) FOLIO_CUDA_OK(kc::roundTripE4m3(xq.get(), n, D, D, 128, nullptr));

    auto expert = [&](const float* in, const std::int32_t* source, const std::int32_t* offs, int experts,
                      std::int64_t maxRows, WeightFormat f, std::int64_t outRows, std::int64_t inCols,
                      const void* const* data, const std::uint8_t* const* scales, float* out) {
        kc::ExpertGemmParams e;
        e.x = in;
        e.ldx = inCols;
        e.rowSource = source;
        e.offsets = offs;
        e.experts = experts;
        e.maxRows = maxRows;
        e.format = f;
        e.outRows = outRows;
        e.inCols = inCols;
        e.weightData = data;
        e.weightScales = scales;
        e.y = out;
        e.ldy = outRows;
        return kc::expertGemm(e, nullptr);
    };
    const float limit = float(cfg.swigluLimit);
    FOLIO_CUDA_OK(expert(xq.get(), rowToken.get(), offsets.get(), E, n, WeightFormat::FP4Row32, inter, D, dW1.get(), dS1.get(), g.get()));
    FOLIO_CUDA_OK(expert(xq.get(), rowToken.get(), offsets.get(), E, n, WeightFormat::FP4Row32, inter, D, dW3.get(), dS3.get(), u.get()));
    FOLIO_CUDA_OK(kc::swiglu(g.get(), u.get(), rowWeight.get(), rows, inter, limit, h.get(), nullptr));
    if (quantize) FOLIO_CUDA_OK(kc::roundTripE4m3(h.get(), rows, inter, inter, 128, nullptr));
    FOLIO_CUDA_OK(expert(h.get(), nullptr, offsets.get(), E, n, WeightFormat::FP4Row32, D, inter, dW2.get(), dS2.get(), routed.get()));
    FOLIO_CUDA_OK(expert(xq.get(), nullptr, sharedOffsets.get(), 1, n, WeightFormat::FP8Block128, inter, D, dS1d.get(), dSh1.get(), gs.get()));
    FOLIO_CUDA_OK(expert(xq.get(), nullptr, sharedOffsets.get(), 1, n, WeightFormat::FP8Block128, inter, D, dS3d.get(), dSh3.get(), us.get()));
    FOLIO_CUDA_OK(kc::swiglu(gs.get(), us.get(), nullptr, n, inter, limit, hs.get(), nullptr));
    if (quantize) FOLIO_CUDA_OK(kc::roundTripE4m3(hs.get(), n, inter, inter, 128, nullptr));
    FOLIO_CUDA_OK(expert(hs.get(), nullptr, sharedOffsets.get(), 1, n, WeightFormat::FP8Block128, D, inter, dS2d.get(), dSh2.get(), sharedOut.get()));
    FOLIO_CUDA_OK(kc::moeCombine(routed.get(), sel.get(), assignRow.get(), sharedOut.get(), n, K, D, y.get(), nullptr));
    for (auto* arr : {&logits, &weights, &rowWeight, &g, &u, &h, &routed, &gs, &us, &hs, &sharedOut, &y, &xq})
        QVERIFY2(arr->guardsIntact(), "MoE guards");
    for (auto* arr : {&sel, &offsets, &rowToken, &assignRow}) QVERIFY2(arr->guardsIntact(), "MoE index guards");

    double ymax = 0;
    for (float v : want) ymax = std::max(ymax, double(std::fabs(v)));
    const QString err = checkClose("moe", y.download(), toDouble(want), (quantize ? 2e-2 : 1e-4) * ymax, 0.0);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

#else // no CUDA backend in this build

#define FOLIO_SKIP_ALL(fn) void TestCudaLayerOps::fn() { FOLIO_REQUIRE_CUDA(); }
FOLIO_SKIP_ALL(compressor_data)
FOLIO_SKIP_ALL(compressor)
FOLIO_SKIP_ALL(indexerScores)
FOLIO_SKIP_ALL(indexerTopK_data)
FOLIO_SKIP_ALL(indexerTopK)
FOLIO_SKIP_ALL(attention_data)
FOLIO_SKIP_ALL(attention)
FOLIO_SKIP_ALL(moeRoute_data)
FOLIO_SKIP_ALL(moeRoute)
FOLIO_SKIP_ALL(moeForward_data)
FOLIO_SKIP_ALL(moeForward)

#endif

QTEST_GUILESS_MAIN(TestCudaLayerOps)
#include "test_cuda_layer_ops.moc"
