// The memory plan against deepseek-v4.md section 5 and the real checkpoints' sizes.
#include "model_io/config.h"
#include "model_io/memory_plan.h"
#include "test_support.h"

#include <QtTest>

#include <cmath>

using namespace folio::model;

class TestMemoryPlan : public QObject {
    Q_OBJECT
private slots:
    void matchesTheRealModels_data();
    void matchesTheRealModels();
    void scratchGrowsWithTheChunk();
};

void TestMemoryPlan::matchesTheRealModels_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<double>("weightGiB");   // on disk (the listings say "GB" for GiB)
    QTest::addColumn<double>("kvBf16");      // B/token, window excluded
    QTest::addColumn<double>("kvFp8");
    QTest::addColumn<double>("kv1MBf16GiB");
    QTest::addColumn<double>("kv1MFp8GiB");
    QTest::addColumn<double>("activeB");     // active parameters, billions (model card: ~13 / ~49)
    QTest::addColumn<double>("totalB");      // ~284 / ~1600
    QTest::newRow("flash") << "configs/deepseek-v4-flash.config.json" << 148.65 << 6880.0 << 3850.0 << 6.7 << 3.8
                           << 13.0 << 284.0;
    QTest::newRow("pro") << "configs/deepseek-v4-pro.config.json" << 805.0 << 9848.0 << 5511.0 << 9.6 << 5.4 << 49.0
                         << 1600.0;
}

void TestMemoryPlan::matchesTheRealModels() {
    QFETCH(QString, config);
    QFETCH(double, weightGiB);
    QFETCH(double, kvBf16);
    QFETCH(double, kvFp8);
    QFETCH(double, kv1MBf16GiB);
    QFETCH(double, kv1MFp8GiB);
    QFETCH(double, activeB);
    QFETCH(double, totalB);
    const QString path = folio::test::fixture(config);
    if (path.isEmpty()) QSKIP("shared fixture configs are absent; skipping");
    auto cfg = loadConfig(path.toStdString());
    QVERIFY(cfg.ok());
    const MemoryPlan p = planMemory(*cfg);
    const double gib = double(p.weights.total) / 1073741824.0;
    QVERIFY2(std::fabs(gib / weightGiB - 1.0) < 0.02, qPrintable(QString::number(gib)));
    // Section 5's table, to the byte (the fp8 figures are rounded there).
    QCOMPARE(p.kv.perTokenBf16, kvBf16);
    QVERIFY2(std::fabs(p.kv.perTokenFp8 - kvFp8) < 1.0, qPrintable(QString::number(p.kv.perTokenFp8)));
    const double at1MBf16 = double(kvStateBytes(*cfg, 1 << 20, false)) / 1073741824.0;
    const double at1MFp8 = double(kvStateBytes(*cfg, 1 << 20, true)) / 1073741824.0;
    QVERIFY2(std::fabs(at1MBf16 - kv1MBf16GiB) < 0.05, qPrintable(QString::number(at1MBf16)));
    QVERIFY2(std::fabs(at1MFp8 - kv1MFp8GiB) < 0.05, qPrintable(QString::number(at1MFp8)));
    QCOMPARE(kvStateBytes(*cfg, 1 << 20, false), std::uint64_t(p.kv.perTokenBf16 * (1 << 20)));
    QVERIFY2(std::fabs(double(p.activeParams) / 1e9 / activeB - 1.0) < 0.1, qPrintable(QString::number(p.activeParams)));
    QVERIFY2(std::fabs(double(p.totalParams) / 1e9 / totalB - 1.0) < 0.05, qPrintable(QString::number(p.totalParams)));
    // The kinds add up, and routed experts dominate.
    const WeightBytes& w = p.weights;
    QCOMPARE(w.embedHead + w.attention + w.compressor + w.hcNorm + w.router + w.sharedExperts + w.routedExperts + w.mtp,
             w.total);
    QVERIFY(w.routedExperts > w.total * 9 / 10);
    // Window rings: 128 bf16 entries of 512 dims per layer, MTP included.
    QCOMPARE(p.kv.windowBf16, std::uint64_t(cfg->numHiddenLayers + 1) * 128 * 1024);
}

void TestMemoryPlan::scratchGrowsWithTheChunk() {
    const QString path = folio::test::fixture("configs/deepseek-v4-flash.config.json");
    if (path.isEmpty()) QSKIP("shared fixture configs are absent; skipping");
    auto cfg = loadConfig(path.toStdString());
    QVERIFY(cfg.ok());
    const std::uint64_t a = scratchBytes(*cfg, 512, 262144), b = scratchBytes(*cfg, 2048, 262144);
    QVERIFY(a > 0);
    QVERIFY(b > 3 * a);
    QVERIFY(b < 16ull << 30); // a 2K chunk fits beside the weights
}

QTEST_APPLESS_MAIN(TestMemoryPlan)
#include "test_memory_plan.moc"
