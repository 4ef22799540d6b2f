// Ops of the forward pass with hand-computed values: YaRN frequencies and rotations at long
// positions (expected values computed in double by an independent Python script, quoted below),
// Hadamard, Sinkhorn, top-k ties, and the compressor's block and overlap rule.
#include "model/forward.h"
#include "model/layer.h"
#include "model/ops.h"
#include "model/rope.h"

#include "cpu_variant_guard.h"

#include <QtTest>

using namespace folio::model;

namespace {

ModelConfig flashRopeConfig() {
    ModelConfig c;
    c.qkRopeHeadDim = 64;
    c.ropeTheta = 10000;
    c.compressRopeTheta = 160000;
    c.ropeScaling = {"yarn", 16.0, 65536, 32.0, 1.0};
    return c;
}

} // namespace

class TestOps : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { FOLIO_SKIP_UNLESS_CPU_VARIANT_RUNS(); }
    void yarnFrequencies();
    void yarnRotation_data();
    void yarnRotation();
    void plainRopeHasNoYarn();
    void inverseRotationRestores();
    void hadamard();
    void sinkhornIsDoublyStochastic();
    void sinkhornUniform();
    void topKTies();
    void compressorBlocks();
};

void TestOps::yarnFrequencies() {
    // Python: base=160000, d=64, factor=16, orig=65536, beta_fast=32, beta_slow=1 -> low 15, high 25.
    const ModelConfig cfg = flashRopeConfig();
    const auto f = ropeFrequencies(64, 160000.0, &cfg.ropeScaling);
    QCOMPARE(int(f.size()), 32);
    QCOMPARE(f[0], 1.0);
    QVERIFY(qAbs(f[5] - 0.15376456101806876) < 1e-15);    // i < low: unchanged
    QVERIFY(qAbs(f[10] - 0.023643540225079394) < 1e-16);
    QVERIFY(qAbs(f[20] - 0.00029697777826169085) < 1e-18); // inside the ramp
    QVERIFY(qAbs(f[31] - 5.680529036909976e-07) < 1e-20);   // i > high: divided by the factor
}

void TestOps::yarnRotation_data() {
    QTest::addColumn<qint64>("pos");
    QTest::addColumn<int>("pair");
    QTest::addColumn<double>("c");
    QTest::addColumn<double>("s");
    QTest::newRow("0/0") << qint64(0) << 0 << 1.0 << 0.0;
    QTest::newRow("65535/0") << qint64(65535) << 0 << 0.19234401860586398 << 0.9813275592311402;
    QTest::newRow("65535/10") << qint64(65535) << 10 << -0.7811876216251803 << -0.624296323727438;
    QTest::newRow("65535/31") << qint64(65535) << 31 << 0.9993071423394644 << 0.037218748895329355;
    QTest::newRow("262143/0") << qint64(262143) << 0 << -0.6091614905691977 << 0.7930462019375122;
    QTest::newRow("262143/10") << qint64(262143) << 10 << -0.9309682734779218 << 0.36510008734254973;
    QTest::newRow("262143/31") << qint64(262143) << 31 << 0.9889332160294683 << 0.1483613636821021;
    QTest::newRow("1048575/0") << qint64(1048575) << 0 << 0.7880422395289275 << -0.6156211730587509;
    QTest::newRow("1048575/10") << qint64(1048575) << 10 << 0.14623938281590423 << -0.989249231949979;
    QTest::newRow("1048575/31") << qint64(1048575) << 31 << 0.8277861961797078 << 0.5610436822693312;
}

void TestOps::yarnRotation() {
    QFETCH(qint64, pos);
    QFETCH(int, pair);
    QFETCH(double, c);
    QFETCH(double, s);
    const Rope rope(flashRopeConfig(), true);
    std::vector<float> x(64, 0.0f);
    x[std::size_t(2 * pair)] = 1.0f; // (1, 0) rotates to (cos, sin)
    rope.apply(x.data(), pos);
    // float storage of the result: 1e-6; a float angle at 1M would be off by ~0.06 rad.
    QVERIFY2(qAbs(x[std::size_t(2 * pair)] - c) < 1e-6, qPrintable(QString::number(x[std::size_t(2 * pair)])));
    QVERIFY(qAbs(x[std::size_t(2 * pair + 1)] - s) < 1e-6);
}

void TestOps::plainRopeHasNoYarn() {
    const Rope rope(flashRopeConfig(), false);
    QVERIFY(qAbs(rope.frequencies()[1] - 0.7498942093324559) < 1e-15);
    std::vector<float> x(64, 0.0f);
    x[2] = 1.0f;
    rope.apply(x.data(), 65535);
    QVERIFY(qAbs(x[2] - -0.9274996691122175) < 1e-6);
    QVERIFY(qAbs(x[3] - -0.3738239743471881) < 1e-6);
}

void TestOps::inverseRotationRestores() {
    const Rope rope(flashRopeConfig(), true);
    std::vector<float> x(64);
    for (int i = 0; i < 64; ++i) x[std::size_t(i)] = float(i % 7) - 3.0f;
    const auto orig = x;
    rope.apply(x.data(), 777777);
    rope.apply(x.data(), 777777, true);
    for (int i = 0; i < 64; ++i) QVERIFY(qAbs(x[std::size_t(i)] - orig[std::size_t(i)]) < 1e-5);
}

void TestOps::hadamard() {
    float x[4] = {1, 2, 3, 4};
    folio::model::hadamard(x, 4);
    const float expected[4] = {5, -1, -2, 0}; // H4/2 . [1,2,3,4]
    for (int i = 0; i < 4; ++i) QCOMPARE(x[i], expected[i]);
    std::vector<float> y(128);
    for (int i = 0; i < 128; ++i) y[std::size_t(i)] = float((i * 37) % 11) - 5.0f;
    const auto orig = y;
    folio::model::hadamard(y.data(), 128);
    folio::model::hadamard(y.data(), 128); // orthonormal and symmetric: H.H = I
    for (int i = 0; i < 128; ++i) QVERIFY(qAbs(y[std::size_t(i)] - orig[std::size_t(i)]) < 1e-4);
}

void TestOps::sinkhornIsDoublyStochastic() {
    HyperConnection hc;
    hc.base.assign(24, 0.0f);
    hc.scale = {1.0f, 1.0f, 1.0f};
    std::vector<float> mixes(24);
    for (int i = 0; i < 24; ++i) mixes[std::size_t(i)] = float((i * 7) % 5) - 2.0f;
    HcMix m;
    hcSplit(mixes.data(), hc, 4, 20, 1e-6f, &m);
    for (int i = 0; i < 4; ++i) {
        float rs = 0, cs = 0;
        for (int j = 0; j < 4; ++j) {
            rs += m.comb[std::size_t(i * 4 + j)];
            cs += m.comb[std::size_t(j * 4 + i)];
        }
        QVERIFY2(qAbs(rs - 1.0f) < 1e-3, qPrintable(QString::number(rs)));
        QVERIFY(qAbs(cs - 1.0f) < 1e-5); // the last step normalises columns
    }
    // pre = sigmoid(mix) + eps, post = 2 sigmoid(mix)
    QVERIFY(qAbs(m.pre[0] - (1.0f / (1.0f + std::exp(2.0f)) + 1e-6f)) < 1e-7);
    QVERIFY(qAbs(m.post[0] - 2.0f / (1.0f + std::exp(-mixes[4]))) < 1e-6);
}

void TestOps::sinkhornUniform() {
    HyperConnection hc;
    hc.base.assign(24, 0.0f);
    hc.scale = {1.0f, 1.0f, 1.0f};
    std::vector<float> mixes(24, 0.0f);
    HcMix m;
    hcSplit(mixes.data(), hc, 4, 20, 1e-6f, &m);
    for (float c : m.comb) QVERIFY(qAbs(c - 0.25f) < 1e-6);
    for (float p : m.pre) QVERIFY(qAbs(p - 0.500001f) < 1e-7);
    for (float p : m.post) QCOMPARE(p, 1.0f);
}

void TestOps::topKTies() {
    const float s[6] = {1, 3, 3, 2, 3, 0};
    QCOMPARE(topKIndices(s, 6, 2), (std::vector<std::int32_t>{1, 2}));
    QCOMPARE(topKIndices(s, 6, 4), (std::vector<std::int32_t>{1, 2, 4, 3}));
    QCOMPARE(topKIndices(s, 3, 5), (std::vector<std::int32_t>{1, 2, 0}));
}

void TestOps::compressorBlocks() {
    // An entry appears only once its block completes; ratio 4 pools 8 slots (the previous block's
    // first half and the current block's second half), ratio 128 the block alone.
    ModelConfig cfg;
    Rope r;
    LayerRunner runner{cfg, nullptr, r, r};
    CompressorState c;
    c.ratio = 4;
    c.dim = 1;
    c.width = 2;
    c.curA.assign(8, 0);
    c.curG.assign(8, 0);
    c.prevA.assign(8, 0);
    c.prevG.assign(8, 0);
    // Equal scores everywhere: the entry is the mean of the pooled values.
    std::vector<float> a, g(2 * 11, 0.0f);
    for (int t = 0; t < 11; ++t) {
        a.push_back(float(t));       // channel [0:d] (used by the next block)
        a.push_back(float(100 + t)); // channel [d:2d] (used by this block)
    }
    runner.compress(c, 0, a.data(), g.data(), 3);
    QCOMPARE(c.count(), 0); // positions 0..2: block 0 incomplete
    runner.compress(c, 3, a.data() + 6, g.data() + 6, 1);
    QCOMPARE(c.count(), 1);
    QCOMPARE(c.entries[0], (100 + 101 + 102 + 103) / 4.0f); // j = 0: no previous half
    runner.compress(c, 4, a.data() + 8, g.data() + 8, 7);     // positions 4..10
    QCOMPARE(c.count(), 2);                                   // block 1 done at 7; 8..10 pending
    QCOMPARE(c.entries[1], (0 + 1 + 2 + 3 + 104 + 105 + 106 + 107) / 8.0f);
    // Visibility (entry j serves query t iff j < (t + 1) / ratio) is checked through the whole
    // model: tests/engine/test_model.cpp compares every position against the float64 reference.
}

QTEST_APPLESS_MAIN(TestOps)
#include "test_ops.moc"
