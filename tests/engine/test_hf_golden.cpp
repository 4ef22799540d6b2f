// The engine against an independent implementation: golden logits of the tiny synthetic checkpoint
// (seed 1) computed by Hugging Face transformers' DeepseekV4ForCausalLM, written by
// tests/engine/golden/make_hf_goldens.py (see the README there). transformers has no quantization
// round trips, so the engine runs its smooth path (Forward with quantize = false).
//
// Tolerance. The goldens are transformers' float64 run; its own float32 run differs from it by a
// relative RMS of at most 1.2e-6 and at most 4.4e-6 absolute (recorded in the file). The engine's
// float32 smooth path measured against the goldens over all 168 golden positions of the 3
// sequences (40, 200, 420 tokens): relative RMS error per position (||engine - golden|| /
// ||golden - mean(golden)||, logits of magnitude up to ~4) at most 1.4e-6, max absolute difference
// 4.9e-6 -- the same as transformers' own float32 rounding. The limits, 1e-5 relative RMS and 5e-5
// absolute, leave ~7x / ~10x room for other compilers and CPUs (summation order, FMA) and still
// catch any real discrepancy (a wrong op, rope, mask or routing gives 1e-4 .. 1).
//
// The sequences were chosen by the script so that every top-k choice (CSA indexer top-k, biased
// MoE routing) has a margin of at least 2e-5: at exact ties (frequent in this tiny model: an index
// score is exactly 0 when all 8 indexer heads' ReLUs are 0) torch.topk and the engine pick
// different entries, both correct; see tests/engine/golden/README.md.
#include "cpu_variant_guard.h"
#include "model_fixture.h"
#include "folio/kernels/thread_pool.h"
#include "model/forward.h"
#include "model/weights.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cmath>

using namespace folio;

namespace {
constexpr double kMaxRelativeRms = 1e-5;
constexpr double kMaxAbs = 5e-5;
const char* kGoldenPath = FOLIO_SOURCE_DIR "/tests/engine/golden/hf_tiny_seed1.json";
const char* kRegenerate = "regenerate the goldens: python3 tests/engine/golden/make_hf_goldens.py "
                          "--folio-cli <build>/bin/folio-cli (see tests/engine/golden/README.md)";
} // namespace

class TestHfGolden : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void checkpointUnchanged();
    void matchesTransformers_data();
    void matchesTransformers();

private:
    folio::test::TinyModel tiny_;
    QJsonObject golden_;
    bool checkpointOk_ = false;
};

void TestHfGolden::initTestCase() {
    FOLIO_SKIP_UNLESS_CPU_VARIANT_RUNS();
    QFile f(kGoldenPath);
    QVERIFY2(f.open(QIODevice::ReadOnly), kGoldenPath);
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &err);
    QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(err.errorString()));
    golden_ = doc.object();
    const QJsonObject ck = golden_["checkpoint"].toObject();
    QCOMPARE(ck["preset"].toString(), QString("tiny"));
    const QString e = tiny_.create(std::uint64_t(ck["seed"].toInt()));
    QVERIFY2(e.isEmpty(), qPrintable(e));
    QCOMPARE(golden_["vocab_size"].toInt(), tiny_.cfg.vocabSize);
    const QJsonObject v = golden_["versions"].toObject();
    qInfo("goldens by transformers %s, torch %s", qPrintable(v["transformers"].toString()),
          qPrintable(v["torch"].toString()));
}

void TestHfGolden::checkpointUnchanged() {
    // The goldens belong to make-model's exact output: if the writer or the preset changed, the
    // comparison would be meaningless.
    const QJsonObject hashes = golden_["checkpoint"].toObject()["shard_sha256"].toObject();
    QDir dir(tiny_.dir.path());
    const QStringList shards = dir.entryList({"*.safetensors"}, QDir::Files, QDir::Name);
    if (shards != hashes.keys())
        QFAIL(qPrintable(QString("make-model now writes shards %1, the goldens have %2: %3")
                             .arg(shards.join(','), hashes.keys().join(','), kRegenerate)));
    for (const QString& name : shards) {
        QFile f(dir.filePath(name));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCryptographicHash h(QCryptographicHash::Sha256);
        QVERIFY(h.addData(&f));
        const QString got = QString::fromLatin1(h.result().toHex());
        if (got != hashes[name].toString())
            QFAIL(qPrintable(QString("%1: sha256 %2, the goldens were made from %3: make-model's output "
                                     "changed; %4")
                                 .arg(name, got, hashes[name].toString(), kRegenerate)));
    }
    checkpointOk_ = true;
}

void TestHfGolden::matchesTransformers_data() {
    QTest::addColumn<int>("index");
    const QJsonArray seqs = golden_["sequences"].toArray();
    for (int i = 0; i < seqs.size(); ++i) {
        const int n = int(seqs[i].toObject()["tokens"].toArray().size());
        QTest::newRow(qPrintable(QString("%1 tokens").arg(n))) << i;
    }
}

void TestHfGolden::matchesTransformers() {
    QFETCH(int, index);
    if (!checkpointOk_) QSKIP("the checkpoint is not the one the goldens were made from (see checkpointUnchanged)");
    const QJsonObject seq = golden_["sequences"].toArray()[index].toObject();
    std::vector<std::int32_t> tokens;
    for (const QJsonValue t : seq["tokens"].toArray()) tokens.push_back(std::int32_t(t.toInt()));
    const QJsonArray positions = seq["positions"].toArray();
    const QJsonArray rows = seq["logits"].toArray();
    QCOMPARE(rows.size(), positions.size());

    const model::Checkpoint* ck = tiny_.checkpoint.get();
    auto weights = model::bindWeights(tiny_.cfg, [ck](const std::string& name) { return ck->find(name); });
    QVERIFY2(weights.ok(), weights.ok() ? "" : weights.error().c_str());
    kernels::ThreadPool pool(2);
    const model::Forward forward(tiny_.cfg, weights.value(), &pool, /*quantize=*/false);
    model::SequenceState state = model::makeSequenceState(tiny_.cfg);
    std::vector<float> logits;
    forward.run(state, tokens.data(), std::int64_t(tokens.size()), true, &logits);
    const int V = tiny_.cfg.vocabSize;
    QCOMPARE(logits.size(), tokens.size() * std::size_t(V));

    double worstRel = 0, worstAbs = 0;
    for (int k = 0; k < positions.size(); ++k) {
        const int t = positions[k].toInt();
        QVERIFY(t >= 0 && std::size_t(t) < tokens.size());
        const QJsonArray g = rows[k].toArray();
        QCOMPARE(int(g.size()), V);
        double mean = 0;
        for (int i = 0; i < V; ++i) mean += g[i].toDouble() / V;
        double var = 0, err = 0, maxAbs = 0;
        for (int i = 0; i < V; ++i) {
            const double r = g[i].toDouble();
            const double d = double(logits[std::size_t(t) * std::size_t(V) + std::size_t(i)]) - r;
            var += (r - mean) * (r - mean);
            err += d * d;
            maxAbs = std::max(maxAbs, std::abs(d));
        }
        const double rel = std::sqrt(err / var);
        worstRel = std::max(worstRel, rel);
        worstAbs = std::max(worstAbs, maxAbs);
        if (!(rel < kMaxRelativeRms) || !(maxAbs < kMaxAbs))
            QFAIL(qPrintable(QString("position %1: relative RMS error %2 (limit %3), max abs diff %4 (limit %5)")
                                 .arg(t)
                                 .arg(rel)
                                 .arg(kMaxRelativeRms)
                                 .arg(maxAbs)
                                 .arg(kMaxAbs)));
    }
    qInfo("%lld tokens, %lld golden positions: worst relative RMS error %.3g, max abs diff %.3g",
          static_cast<long long>(tokens.size()), static_cast<long long>(positions.size()), worstRel, worstAbs);
}

QTEST_GUILESS_MAIN(TestHfGolden)
#include "test_hf_golden.moc"
