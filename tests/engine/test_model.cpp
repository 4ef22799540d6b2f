// The whole forward pass on the tiny synthetic checkpoint (every layer type: SWA, CSA, HCA; hash
// and biased routing): the fast path against the float64 reference, chunked prefill and decode
// against one-shot prefill, state save/restore, sampling, and errors.
#include "cpu_variant_guard.h"
#include "model_fixture.h"
#include "folio/kernels/thread_pool.h"
#include "model/forward.h"
#include "model/state_io.h"
#include "model/weights.h"
#include "reference/reference_model.h"

#include <cstring>
#include <sstream>

using namespace folio;
using folio::test::randomTokens;

class TestModel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void coversEveryLayerType();
    void smoothPathMatchesReference();
    void matchesFloat64Reference();
    void mtpMatchesReference();
    void chunkedPrefillAndDecodeAgree_data();
    void chunkedPrefillAndDecodeAgree();
    void saveRestoreContinuesExactly_data();
    void saveRestoreContinuesExactly();
    void restoreRefusesBadStreams();
    void deltaChainRestoresExactly();
    void rewindReturnsToTheMark();
    void cancelKeepsFinishedChunks();
    void rejectsBadTokens();
    void sampling();

private:
    std::vector<float> logitsAll(const std::vector<std::int32_t>& tokens, std::int64_t chunk);
    folio::test::TinyModel tiny_;
    std::vector<std::int32_t> long_;
    std::vector<float> oneShot_;
};

void TestModel::initTestCase() {
    FOLIO_SKIP_UNLESS_CPU_VARIANT_RUNS();
    const QString err = tiny_.create();
    QVERIFY2(err.isEmpty(), qPrintable(err));
    long_ = randomTokens(3100, tiny_.cfg.vocabSize, 11);
    oneShot_ = logitsAll(long_, 1 << 20);
    QCOMPARE(oneShot_.size(), long_.size() * std::size_t(tiny_.cfg.vocabSize));
}

std::vector<float> TestModel::logitsAll(const std::vector<std::int32_t>& tokens, std::int64_t chunk) {
    auto seq = tiny_.model->newSequence();
    std::vector<float> logits;
    PrefillOptions o;
    o.chunk = chunk;
    o.allLogits = true;
    const Status st = tiny_.model->prefill(*seq, tokens, o, &logits);
    if (!st.ok()) qWarning("%s", st.error().c_str());
    return logits;
}

void TestModel::coversEveryLayerType() {
    const auto& c = tiny_.cfg;
    bool swa = false, csa = false, hca = false;
    for (int l = 0; l < c.numHiddenLayers; ++l) {
        swa |= c.compressRatio(l) == 0;
        csa |= c.compressRatio(l) == 4;
        hca |= c.compressRatio(l) == 128;
    }
    QVERIFY(swa && csa && hca);
    QVERIFY(c.numHashLayers >= 1 && c.numHashLayers < c.numHiddenLayers);
    // 3100 tokens cross 24 HCA blocks, 775 CSA blocks and the top-k limit many times over.
    QVERIFY(c.indexTopk < 3100 / 4);
    QVERIFY(c.slidingWindow < 3100);
}

void TestModel::smoothPathMatchesReference() {
    // With every quantize-dequantize round trip off in both, the fast path and the float64
    // reference compute the same smooth function: they must agree to float32 accuracy at every
    // position (relative RMS error of the logits < 1e-4), over 400 positions that cross CSA top-k
    // selection (index_topk 8 < 100 visible entries), three HCA blocks and the window.
    const int n = 400;
    const model::Checkpoint* ck = tiny_.checkpoint.get();
    reference::ReferenceModel ref(tiny_.cfg, [ck](const std::string& name) { return ck->find(name); }, false);
    auto weights = model::bindWeights(tiny_.cfg, [ck](const std::string& name) { return ck->find(name); });
    QVERIFY(weights.ok());
    kernels::ThreadPool pool(2);
    model::Forward fast(tiny_.cfg, weights.value(), &pool, false);
    model::SequenceState state = model::makeSequenceState(tiny_.cfg);
    std::vector<float> logits;
    fast.run(state, long_.data(), n, true, &logits);
    const int V = tiny_.cfg.vocabSize;
    double worst = 0;
    for (int t = 0; t < n; ++t) {
        const reference::Vec r = ref.step(long_[std::size_t(t)]);
        double mean = 0, var = 0, err = 0;
        for (int i = 0; i < V; ++i) mean += r[std::size_t(i)] / V;
        for (int i = 0; i < V; ++i) {
            var += (r[std::size_t(i)] - mean) * (r[std::size_t(i)] - mean);
            err += (logits[std::size_t(t) * V + i] - r[std::size_t(i)]) * (logits[std::size_t(t) * V + i] - r[std::size_t(i)]);
        }
        const double rel = std::sqrt(err / var);
        worst = std::max(worst, rel);
        if (rel >= 1e-4) QFAIL(qPrintable(QString("position %1: relative RMS error %2").arg(t).arg(rel)));
    }
    qInfo("smooth fast path vs float64 reference over %d positions: worst relative RMS error %.3g", n, worst);
}

void TestModel::matchesFloat64Reference() {
    // With the reference numerics (every quantize-dequantize round trip on) the float32 fast path
    // and the float64 reference agree until a value lands within rounding error of an e4m3/e2m1
    // decision boundary: then the two round to neighbouring codes (one quantum, 1/16 relative for
    // e4m3) and, the tiny random model being chaotic, later positions drift apart. The smooth
    // comparison above checks all the math at 1e-4; this one checks that the quantization steps
    // themselves (block sizes, scales, placement) are the same: a systematic difference shows at
    // the very first positions. We require the first 4 positions and 6 of the first 16 to agree to
    // 1e-4 (measured: the first 5 and 7 of 16, on every CPU variant: since wo_a takes the attention
    // output unquantized, as the official code does, the e4m3 rounding of z before wo_b meets f32
    // against f64 sums and flips sooner than it did; 15 of 16 before that change) and, over 300
    // positions, a mean relative RMS error below 0.15 (measured: 0.08) with the same argmax at >= 75%
    // of positions (measured: 86%).
    const int n = 300;
    const model::Checkpoint* ck = tiny_.checkpoint.get();
    reference::ReferenceModel ref(tiny_.cfg, [ck](const std::string& name) { return ck->find(name); });
    const int V = tiny_.cfg.vocabSize;
    double sumRel = 0, worst = 0;
    int sameArgmax = 0, earlyExact = 0;
    for (int t = 0; t < n; ++t) {
        const reference::Vec r = ref.step(long_[std::size_t(t)]);
        const float* f = &oneShot_[std::size_t(t) * V];
        double mean = 0, var = 0, err = 0;
        for (int i = 0; i < V; ++i) mean += r[std::size_t(i)] / V;
        for (int i = 0; i < V; ++i) {
            var += (r[std::size_t(i)] - mean) * (r[std::size_t(i)] - mean);
            err += (f[i] - r[std::size_t(i)]) * (f[i] - r[std::size_t(i)]);
        }
        QVERIFY2(var > 1e-6, "degenerate logits");
        const double rel = std::sqrt(err / var);
        if (t < 16 && rel < 1e-4) ++earlyExact;
        if (t < 4) QVERIFY2(rel < 1e-4, qPrintable(QString("position %1: relative RMS %2").arg(t).arg(rel)));
        sumRel += rel;
        worst = std::max(worst, rel);
        const int af = int(std::max_element(f, f + V) - f);
        const int ar = int(std::max_element(r.begin(), r.end()) - r.begin());
        sameArgmax += af == ar;
    }
    qInfo("fast vs float64 reference (quantized) over %d positions: %d/16 early positions within 1e-4, mean rel RMS "
          "%.4f, worst %.4f, argmax agree %d/%d",
          n, earlyExact, sumRel / n, worst, sameArgmax, n);
    QVERIFY(earlyExact >= 6);
    QVERIFY(sumRel / n < 0.15);
    QVERIFY(sameArgmax >= int(0.75 * n));
}

void TestModel::mtpMatchesReference() {
    // The MTP block (window-only, its own experts and head mix, shared embedding and head) in smooth
    // mode against the reference at 1e-4, over 200 positions (past the 128-entry window), and
    // chunked MTP against one-shot, bit for bit.
    const int n = 200;
    QVERIFY(tiny_.cfg.numNextnPredictLayers == 1);
    const model::Checkpoint* ck = tiny_.checkpoint.get();
    auto lookup = [ck](const std::string& name) { return ck->find(name); };
    reference::ReferenceModel ref(tiny_.cfg, lookup, false);
    auto weights = model::bindWeights(tiny_.cfg, lookup);
    QVERIFY(weights.ok());
    kernels::ThreadPool pool(2);
    model::Forward fast(tiny_.cfg, weights.value(), &pool, false);
    model::SequenceState state = model::makeSequenceState(tiny_.cfg);
    std::vector<float> hidden, mtp;
    fast.run(state, long_.data(), n, false, nullptr, &hidden);
    fast.runMtp(state, 0, hidden.data(), long_.data() + 1, n, &mtp);
    const int V = tiny_.cfg.vocabSize;
    for (int t = 0; t < n; ++t) {
        (void)ref.step(long_[std::size_t(t)]);
        const reference::Vec r = ref.mtpStep(long_[std::size_t(t + 1)]);
        double mean = 0, var = 0, err = 0;
        for (int i = 0; i < V; ++i) mean += r[std::size_t(i)] / V;
        for (int i = 0; i < V; ++i) {
            var += (r[std::size_t(i)] - mean) * (r[std::size_t(i)] - mean);
            err += (mtp[std::size_t(t) * V + i] - r[std::size_t(i)]) * (mtp[std::size_t(t) * V + i] - r[std::size_t(i)]);
        }
        if (std::sqrt(err / var) >= 1e-4) QFAIL(qPrintable(QString("MTP position %1: rel RMS %2").arg(t).arg(std::sqrt(err / var))));
    }
    // Chunked: 3 chunks of the same 200 positions give the same MTP logits.
    model::Forward fastQ(tiny_.cfg, weights.value(), &pool, true);
    model::SequenceState a = model::makeSequenceState(tiny_.cfg), b = model::makeSequenceState(tiny_.cfg);
    std::vector<float> ha, la, all;
    fastQ.run(a, long_.data(), n, false, nullptr, &ha);
    fastQ.runMtp(a, 0, ha.data(), long_.data() + 1, n, &la);
    for (int c0 = 0; c0 < n; c0 += 70) {
        const int len = std::min(70, n - c0);
        std::vector<float> hb, lb;
        fastQ.run(b, long_.data() + c0, len, false, nullptr, &hb);
        fastQ.runMtp(b, c0, hb.data(), long_.data() + c0 + 1, len, &lb);
        all.insert(all.end(), lb.begin(), lb.end());
    }
    QCOMPARE(all.size(), la.size());
    for (std::size_t i = 0; i < la.size(); ++i)
        if (all[i] != la[i]) QFAIL(qPrintable(QString("chunked MTP differs at position %1").arg(i / std::size_t(V))));
}

void TestModel::chunkedPrefillAndDecodeAgree_data() {
    QTest::addColumn<qint64>("chunk");
    for (qint64 c : {1, 3, 64, 127, 128, 129, 1000, 4096}) QTest::newRow(qPrintable(QString::number(c))) << c;
}

void TestModel::chunkedPrefillAndDecodeAgree() {
    // Every op computes each token's values in the same order whatever the chunk, so the logits are
    // bit-identical: any difference is a state-handling bug (window ring, compressor rows, overlap).
    QFETCH(qint64, chunk);
    const std::vector<float> got = logitsAll(long_, chunk);
    QCOMPARE(got.size(), oneShot_.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != oneShot_[i])
            QFAIL(qPrintable(QString("position %1 differs: %2 vs %3").arg(i / std::size_t(tiny_.cfg.vocabSize)).arg(got[i]).arg(oneShot_[i])));
}

// Sets the size from which a restore shares its page population with a second thread, for one
// scope (an early QVERIFY return included).
struct SharedPopulation {
    explicit SharedPopulation(std::size_t minimum) { folio::model::setSharedPopulationMinimum(minimum); }
    ~SharedPopulation() { folio::model::setSharedPopulationMinimum(std::size_t(32) << 20); }
};

void TestModel::saveRestoreContinuesExactly_data() {
    QTest::addColumn<int>("at");
    QTest::addColumn<bool>("sharedPages"); // populate the state's pages on a second thread as well
    for (int at : {1, 4, 127, 128, 130, 257, 1001}) QTest::newRow(qPrintable(QString::number(at))) << at << false;
    for (int at : {130, 1001}) QTest::newRow(qPrintable(QString("%1 shared pages").arg(at))) << at << true;
}

void TestModel::saveRestoreContinuesExactly() {
    QFETCH(int, at);
    QFETCH(bool, sharedPages);
    const SharedPopulation pages(sharedPages ? 0 : std::size_t(32) << 20);
    const int V = tiny_.cfg.vocabSize;
    const int total = 1300;
    auto seq = tiny_.model->newSequence();
    QVERIFY(tiny_.model->prefill(*seq, std::span(long_.data(), std::size_t(at)), PrefillOptions{}, nullptr).ok());
    std::stringstream stream;
    QVERIFY(seq->save(stream).ok());
    auto restored = tiny_.model->newSequence();
    const Status st = restored->restore(stream);
    QVERIFY2(st.ok(), st.error().c_str());
    QCOMPARE(restored->position(), qint64(at));
    std::vector<float> logits;
    PrefillOptions o;
    o.allLogits = true;
    o.chunk = 200;
    QVERIFY(tiny_.model->prefill(*restored, std::span(long_.data() + at, std::size_t(total - at)), o, &logits).ok());
    for (int t = at; t < total; ++t)
        for (int i = 0; i < V; ++i)
            if (logits[std::size_t(t - at) * V + i] != oneShot_[std::size_t(t) * V + i])
                QFAIL(qPrintable(QString("restored at %1: position %2 differs").arg(at).arg(t)));
}

void TestModel::restoreRefusesBadStreams() {
    auto seq = tiny_.model->newSequence();
    QVERIFY(tiny_.model->prefill(*seq, std::span(long_.data(), 300), PrefillOptions{}, nullptr).ok());
    std::stringstream s;
    QVERIFY(seq->save(s).ok());
    const std::string good = s.str();

    auto check = [&](std::string bytes, const char* expect) {
        std::stringstream in(bytes);
        auto fresh = tiny_.model->newSequence();
        const Status st = fresh->restore(in);
        QVERIFY2(!st.ok(), expect);
        QVERIFY2(QString::fromStdString(st.error()).contains(expect), st.error().c_str());
        QCOMPARE(fresh->position(), qint64(0)); // nothing half-restored
    };
    check(good.substr(0, good.size() / 2), "truncated");
    std::string flipped = good;
    flipped[good.size() / 2] ^= 0x40;
    check(flipped, "checksum");
    check("NOTFOLIO" + good.substr(8), "bad magic");
    // A position past the model's limit is refused before anything is sized from it (the header
    // is read before the checksum can be known).
    std::string far = good;
    const std::int64_t beyond = tiny_.cfg.maxPositionEmbeddings + 1;
    std::memcpy(far.data() + 20, &beyond, 8);
    check(far, "beyond the model's");
    // A caller that has verified the bytes itself (the prefix cache, against its file's checksum)
    // skips the state's own checksum; truncation and structure are still checked.
    {
        std::stringstream in(good.substr(0, good.size() - 100));
        auto fresh = tiny_.model->newSequence();
        const Status st = fresh->restore(in, StateCheck::Trusted);
        QVERIFY(!st.ok());
        QVERIFY2(QString::fromStdString(st.error()).contains("truncated"), st.error().c_str());
        auto again = tiny_.model->newSequence();
        QVERIFY(again->restore(std::span(good.data(), good.size()), StateCheck::Trusted).ok());
        QCOMPARE(again->position(), qint64(300));
    }

    folio::test::TinyModel other;
    QVERIFY(other.create(2).isEmpty());
    std::stringstream in(good);
    auto foreign = other.model->newSequence();
    const Status st = foreign->restore(in);
    QVERIFY(!st.ok());
    QVERIFY(QString::fromStdString(st.error()).contains("another model"));
}

void TestModel::deltaChainRestoresExactly() {
    // Full state at 384, deltas 384 -> 770 -> 1001 (not 128-aligned on purpose: any position works),
    // restored in order on a fresh sequence: the continuation is bit-identical to one-shot prefill.
    const int V = tiny_.cfg.vocabSize;
    const int total = 1300;
    const int cuts[] = {384, 770, 1001};
    auto seq = tiny_.model->newSequence();
    std::vector<std::string> streams;
    std::size_t fullSize = 0;
    int prev = 0;
    for (int cut : cuts) {
        QVERIFY(tiny_.model->prefill(*seq, std::span(long_.data() + prev, std::size_t(cut - prev)), PrefillOptions{}, nullptr).ok());
        std::stringstream s;
        QVERIFY(seq->save(s, prev).ok());
        streams.push_back(s.str());
        std::stringstream whole;
        QVERIFY(seq->save(whole).ok());
        fullSize = whole.str().size();
        prev = cut;
    }
    // A delta holds the entries made since its base, not the whole state again.
    QVERIFY(streams[2].size() < fullSize);

    auto restored = tiny_.model->newSequence();
    // A delta cannot apply to a sequence that is not at its base.
    {
        std::stringstream in(streams[1]);
        const Status st = restored->restore(in);
        QVERIFY(!st.ok());
        QVERIFY2(QString::fromStdString(st.error()).contains("delta from position 384"), st.error().c_str());
        QCOMPARE(restored->position(), qint64(0));
    }
    {
        const SharedPopulation pages(0); // the deltas through the two-thread page population
        for (const std::string& bytes : streams) {
            const Status st = restored->restore(std::span(bytes.data(), bytes.size()));
            QVERIFY2(st.ok(), st.error().c_str());
        }
    }
    QCOMPARE(restored->position(), qint64(1001));
    std::vector<float> logits;
    PrefillOptions o;
    o.allLogits = true;
    QVERIFY(tiny_.model->prefill(*restored, std::span(long_.data() + 1001, std::size_t(total - 1001)), o, &logits).ok());
    for (int t = 1001; t < total; ++t)
        for (int i = 0; i < V; ++i)
            if (logits[std::size_t(t - 1001) * V + i] != oneShot_[std::size_t(t) * V + i])
                QFAIL(qPrintable(QString("delta chain: position %1 differs").arg(t)));
}

void TestModel::rewindReturnsToTheMark() {
    // A mark saved at `at`, then other tokens appended (a different continuation, as a reasoning
    // turn that is later dropped from the prompt), then a rewind: continuing with the original
    // tokens gives the one-shot logits bit for bit. The positions cover a full 128-token window,
    // blocks of both compression ratios cut in the middle, and a decode step after the mark.
    const int V = tiny_.cfg.vocabSize;
    const int total = 1300;
    for (int at : {1, 130, 513, 1001}) {
        auto seq = tiny_.model->newSequence();
        QVERIFY(tiny_.model->prefill(*seq, std::span(long_.data(), std::size_t(at)), PrefillOptions{}, nullptr).ok());
        std::stringstream markStream, whole;
        QVERIFY(seq->save(markStream, at).ok());
        QVERIFY(seq->save(whole).ok());
        const std::string mark = markStream.str();
        if (at > 128) QVERIFY(mark.size() < whole.str().size()); // no compressed entries in a mark
        // 250 other tokens: more than a window, past several compressed blocks.
        QVERIFY(tiny_.model->prefill(*seq, std::span(long_.data() + 7, 250), PrefillOptions{}, nullptr).ok());
        std::vector<float> scratch;
        QVERIFY(tiny_.model->decode(*seq, long_[3], &scratch).ok());
        const Status st = seq->rewind(std::span(mark.data(), mark.size()));
        QVERIFY2(st.ok(), st.error().c_str());
        QCOMPARE(seq->position(), qint64(at));
        std::vector<float> logits;
        PrefillOptions o;
        o.allLogits = true;
        o.chunk = 300;
        QVERIFY(tiny_.model->prefill(*seq, std::span(long_.data() + at, std::size_t(total - at)), o, &logits).ok());
        for (int t = at; t < total; ++t)
            for (int i = 0; i < V; ++i)
                if (logits[std::size_t(t - at) * V + i] != oneShot_[std::size_t(t) * V + i])
                    QFAIL(qPrintable(QString("rewound to %1: position %2 differs").arg(at).arg(t)));
    }
    // A mark ahead of the sequence is refused, and the sequence stays as it was.
    auto ahead = tiny_.model->newSequence();
    QVERIFY(tiny_.model->prefill(*ahead, std::span(long_.data(), 600), PrefillOptions{}, nullptr).ok());
    std::stringstream markStream;
    QVERIFY(ahead->save(markStream, 600).ok());
    const std::string mark = markStream.str();
    auto behind = tiny_.model->newSequence();
    QVERIFY(tiny_.model->prefill(*behind, std::span(long_.data(), 400), PrefillOptions{}, nullptr).ok());
    const Status st = behind->rewind(std::span(mark.data(), mark.size()));
    QVERIFY(!st.ok());
    QVERIFY2(QString::fromStdString(st.error()).contains("has not reached"), st.error().c_str());
    QCOMPARE(behind->position(), qint64(400));
}

void TestModel::cancelKeepsFinishedChunks() {
    auto seq = tiny_.model->newSequence();
    PrefillOptions o;
    o.chunk = 100;
    int calls = 0;
    o.progress = [&](const PrefillProgress& p) {
        ++calls;
        return p.done < 300;
    };
    const Status st = tiny_.model->prefill(*seq, std::span(long_.data(), 1000), o, nullptr);
    QVERIFY(!st.ok());
    QCOMPARE(QString::fromStdString(st.error()), QString("cancelled"));
    QCOMPARE(seq->position(), qint64(300));
    QCOMPARE(calls, 3);
}

void TestModel::rejectsBadTokens() {
    auto seq = tiny_.model->newSequence();
    const std::vector<std::int32_t> bad = {5, tiny_.cfg.vocabSize};
    const Status st = tiny_.model->prefill(*seq, bad, PrefillOptions{}, nullptr);
    QVERIFY(!st.ok());
    QVERIFY(QString::fromStdString(st.error()).contains("outside the vocabulary"));
    QCOMPARE(seq->position(), qint64(0));
}

void TestModel::sampling() {
    const std::vector<float> logits = {0.1f, 2.0f, 1.9f, -1.0f, 2.0f};
    Sampler greedy({0.0f, 1.0f, 0});
    QCOMPARE(greedy.sample(logits), 1); // first maximum
    Sampler a({1.0f, 1.0f, 42}), b({1.0f, 1.0f, 42});
    std::vector<int> counts(5, 0);
    for (int i = 0; i < 2000; ++i) {
        const int x = a.sample(logits);
        QCOMPARE(b.sample(logits), x); // same seed, same draws
        ++counts[std::size_t(x)];
    }
    QVERIFY(counts[3] > 0 && counts[3] < 100); // p(3) = 0.018
    // top_p 0.5 keeps only the two (tied) best tokens: 1 and 4.
    Sampler top({1.0f, 0.5f, 7});
    for (int i = 0; i < 500; ++i) {
        const int x = top.sample(logits);
        QVERIFY(x == 1 || x == 4);
    }
}

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
