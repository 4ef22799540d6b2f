// make-model: the tiny checkpoint loads and validates, covers every layer type, and its fp8 / fp4 /
// bf16 / f32 / int64 bytes decode (with decoders written here, independently of the engine's) to the
// intended values; the shaped presets keep the real dimensions.
#include "folio/tokenizer.h"
#include "model_io/config.h"
#include "model_io/memory_plan.h"
#include "model_io/safetensors.h"
#include "model_io/synthetic.h"
#include "model_io/tensor_spec.h"
#include "test_support.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <set>

using namespace folio::model;

namespace {

// fp8 e4m3fn by its definition: 1 sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is
// subnormal (mantissa / 8 * 2^-6).
double decodeE4m3(std::uint8_t b) {
    const int e = (b >> 3) & 15, m = b & 7;
    const double mag = e == 0 ? m / 8.0 * std::pow(2.0, -6) : (1.0 + m / 8.0) * std::pow(2.0, e - 7);
    return (b & 0x80) ? -mag : mag;
}
const double kE2m1[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
double decodeE2m1(int nibble) { return (nibble & 8 ? -1 : 1) * kE2m1[nibble & 7]; }
double decodeE8m0(std::uint8_t b) { return std::pow(2.0, int(b) - 127); }
double decodeBf16(const std::uint8_t* p) {
    const std::uint32_t bits = std::uint32_t(p[0] | (p[1] << 8)) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}
// The power-of-two block scale the format defines: 2^ceil(log2(max(amax, 1e-4) / fmtMax)).
double expectedScale(double amax, double fmtMax) { return std::pow(2.0, std::ceil(std::log2(std::max(amax, 1e-4) / fmtMax))); }

QByteArray fileHash(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result();
}

} // namespace

class TestSynthetic : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void tinyLoadsAndValidates();
    void tinyCoversEveryLayerType();
    void fp8DecodesToIntendedValues();
    void fp4DecodesToIntendedValues();
    void plainTensorsHoldIntendedValues();
    void hashRoutingIsAValidAssignment();
    void deterministicInTheSeed();
    void shapedPresetsKeepRealDimensions_data();
    void shapedPresetsKeepRealDimensions();

private:
    const TensorView& tensor(const std::string& name);
    QTemporaryDir dir_;
    std::string path_;
    ModelConfig cfg_;
    std::unique_ptr<Checkpoint> ckpt_;
    std::vector<TensorSpec> specs_;
};

void TestSynthetic::initTestCase() {
    QVERIFY(dir_.isValid());
    path_ = dir_.filePath("tiny").toStdString();
    SyntheticOptions o;
    o.preset = SyntheticPreset::Tiny;
    o.seed = 42;
    const folio::Status s = makeSyntheticModel(o, path_);
    QVERIFY2(s.ok(), s.error().c_str());
    auto cfg = loadConfig(path_ + "/config.json");
    QVERIFY2(cfg.ok(), cfg.ok() ? "" : cfg.error().c_str());
    cfg_ = *cfg;
    auto ck = Checkpoint::open(path_);
    QVERIFY2(ck.ok(), ck.ok() ? "" : ck.error().c_str());
    ckpt_ = std::move(*ck);
    specs_ = expectedTensors(cfg_);
}

const TensorView& TestSynthetic::tensor(const std::string& name) {
    const TensorView* t = ckpt_->find(name);
    if (!t) qFatal("missing %s", name.c_str());
    return *t;
}

void TestSynthetic::tinyLoadsAndValidates() {
    const folio::Status s = validateCheckpoint(*ckpt_, cfg_);
    QVERIFY2(s.ok(), s.error().c_str());
    QVERIFY(ckpt_->shardNames().size() >= 3);
    QCOMPARE(ckpt_->size(), specs_.size());
    QCOMPARE(ckpt_->tensorBytes(), planMemory(cfg_).weights.total);
    // The index carries total_size like the real one.
    QFile idx(QString::fromStdString(path_ + "/model.safetensors.index.json"));
    QVERIFY(idx.open(QIODevice::ReadOnly));
    const QJsonObject index = QJsonDocument::fromJson(idx.readAll()).object();
    QCOMPARE(qint64(index["metadata"].toObject()["total_size"].toDouble()), qint64(ckpt_->tensorBytes()));
    // vocab_size covers the tokenizer (vocabulary + added tokens), padded to a multiple of 64.
    QFile tok(QString::fromStdString(path_ + "/tokenizer.json"));
    QVERIFY(tok.open(QIODevice::ReadOnly));
    const QJsonObject t = QJsonDocument::fromJson(tok.readAll()).object();
    int maxId = -1;
    for (const QJsonValue v : t["model"].toObject()["vocab"].toObject()) maxId = std::max(maxId, v.toInt());
    for (const QJsonValue v : t["added_tokens"].toArray()) maxId = std::max(maxId, v.toObject()["id"].toInt());
    QCOMPARE(cfg_.vocabSize, (maxId + 1 + 63) / 64 * 64);
    QVERIFY(maxId + 1 > 256 + 6); // trained merges, not just the byte alphabet
    // The engine's tokenizer loads it and agrees on the ids the config names.
    auto loaded = folio::Tokenizer::load(path_);
    QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().c_str());
    QCOMPARE((*loaded)->vocabSize(), maxId + 1);
    QCOMPARE(int((*loaded)->bosId()), cfg_.bosTokenId);
    QCOMPARE(int((*loaded)->eosId()), cfg_.eosTokenId);
    const std::string text = "The reader opens a book: int main() { return 0; }";
    QCOMPARE((*loaded)->decode((*loaded)->encode(text)), text);
}

void TestSynthetic::tinyCoversEveryLayerType() {
    std::set<int> ratios(cfg_.compressRatios.begin(), cfg_.compressRatios.begin() + cfg_.numHiddenLayers);
    QCOMPARE(ratios, (std::set<int>{0, 4, 128}));
    QVERIFY(cfg_.numHashLayers >= 1);
    QVERIFY(cfg_.numHashLayers < cfg_.numHiddenLayers);
    QCOMPARE(cfg_.numNextnPredictLayers, 1);
    QCOMPARE(cfg_.headDim, 512);
    QCOMPARE(cfg_.qkRopeHeadDim, 64);
    QCOMPARE(cfg_.numAttentionHeads % cfg_.oGroups, 0);
    QCOMPARE(cfg_.slidingWindow, 128);
    QVERIFY(cfg_.indexTopk <= 16);
    // Whole 128x128 blocks everywhere, so that block-size-from-grid dequantizers read it right.
    for (const TensorSpec& s : specs_)
        if (s.dtype == DType::F8_E4M3) QVERIFY2(s.shape[0] % 128 == 0 && s.shape[1] % 128 == 0, s.name.c_str());
    QCOMPARE(cfg_.expertDtype, std::string("fp4"));
}

void TestSynthetic::fp8DecodesToIntendedValues() {
    for (const std::string name : {"layers.0.attn.wq_a.weight", "layers.1.attn.wq_b.weight", "mtp.0.h_proj.weight",
                                   "layers.2.ffn.shared_experts.w2.weight"}) {
        const TensorSpec* spec = nullptr;
        for (const TensorSpec& s : specs_)
            if (s.name == name) spec = &s;
        QVERIFY(spec);
        const TensorView& w = tensor(name);
        const TensorView& sc = tensor(name.substr(0, name.size() - 7) + ".scale");
        QCOMPARE(w.dtype, DType::F8_E4M3);
        QCOMPARE(sc.dtype, DType::F8_E8M0);
        const std::int64_t out = w.dim(0), in = w.dim(1), sCols = sc.dim(1);
        QCOMPARE(sc.dim(0), (out + 127) / 128);
        QCOMPARE(sCols, (in + 127) / 128);
        std::vector<float> v(std::size_t(out * in));
        syntheticRows(*spec, cfg_, 42, 0, out, v.data());
        double sumSq = 0;
        for (std::int64_t bi = 0; bi < sc.dim(0); ++bi)
            for (std::int64_t bj = 0; bj < sCols; ++bj) {
                double amax = 0;
                for (std::int64_t r = bi * 128; r < std::min(out, bi * 128 + 128); ++r)
                    for (std::int64_t c = bj * 128; c < std::min(in, bj * 128 + 128); ++c)
                        amax = std::max(amax, std::fabs(double(v[std::size_t(r * in + c)])));
                const double s = decodeE8m0(sc.data[bi * sCols + bj]);
                QCOMPARE(s, expectedScale(amax, 448.0));
                for (std::int64_t r = bi * 128; r < std::min(out, bi * 128 + 128); ++r)
                    for (std::int64_t c = bj * 128; c < std::min(in, bj * 128 + 128); ++c) {
                        const double want = v[std::size_t(r * in + c)];
                        const double got = decodeE4m3(w.data[r * in + c]) * s;
                        // Half an e4m3 step: 2^-4 relative, or half a subnormal step (2^-10 s).
                        QVERIFY2(std::fabs(got - want) <= std::fabs(want) / 16 + s / 1024 + 1e-12,
                                 qPrintable(QString("%1 [%2,%3]: %4 vs %5").arg(name.c_str()).arg(r).arg(c).arg(got).arg(want)));
                        sumSq += want * want;
                    }
            }
        // ~N(0, 1/fan_in) before quantization.
        const double std = std::sqrt(sumSq / double(out * in));
        QVERIFY2(std::fabs(std * std::sqrt(double(in)) - 1.0) < 0.1, qPrintable(QString::number(std)));
    }
}

void TestSynthetic::fp4DecodesToIntendedValues() {
    for (const std::string name : {"layers.0.ffn.experts.3.w1.weight", "layers.4.ffn.experts.15.w2.weight",
                                   "mtp.0.ffn.experts.0.w3.weight"}) {
        const TensorSpec* spec = nullptr;
        for (const TensorSpec& s : specs_)
            if (s.name == name) spec = &s;
        QVERIFY(spec);
        const TensorView& w = tensor(name);
        const TensorView& sc = tensor(name.substr(0, name.size() - 7) + ".scale");
        QCOMPARE(w.dtype, DType::I8);
        const std::int64_t out = w.dim(0), in = 2 * w.dim(1);
        QCOMPARE(sc.dim(1), in / 32);
        std::vector<float> v(std::size_t(out * in));
        syntheticRows(*spec, cfg_, 42, 0, out, v.data());
        for (std::int64_t r = 0; r < out; ++r)
            for (std::int64_t g = 0; g < in / 32; ++g) {
                double amax = 0;
                for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(double(v[std::size_t(r * in + g * 32 + i)])));
                const double s = decodeE8m0(sc.data[r * (in / 32) + g]);
                QCOMPARE(s, expectedScale(amax, 6.0));
                for (int i = 0; i < 32; ++i) {
                    const std::int64_t k = g * 32 + i;
                    const std::uint8_t byte = w.data[(r * in + k) / 2];
                    const int nibble = (k % 2 == 0) ? (byte & 15) : (byte >> 4); // low nibble = even element
                    const double got = decodeE2m1(nibble) * s, want = v[std::size_t(r * in + k)];
                    double best = 1e30;
                    for (double q : kE2m1) best = std::min({best, std::fabs(q * s - want), std::fabs(-q * s - want)});
                    QVERIFY2(std::fabs(got - want) <= best + 1e-9,
                             qPrintable(QString("%1 [%2,%3]: %4 vs %5").arg(name.c_str()).arg(r).arg(k).arg(got).arg(want)));
                }
            }
    }
}

void TestSynthetic::plainTensorsHoldIntendedValues() {
    for (const TensorSpec& spec : specs_) {
        if (spec.dtype != DType::BF16 && spec.dtype != DType::F32) continue;
        if (spec.layer > 1 && !spec.mtp) continue; // a sample: top level, layers 0-1, MTP
        const TensorView& t = tensor(spec.name);
        const std::int64_t n = t.numel();
        std::vector<float> v(static_cast<std::size_t>(n));
        syntheticRows(spec, cfg_, 42, 0, spec.shape.size() < 2 ? 1 : spec.shape[0], v.data());
        for (std::int64_t i = 0; i < n; ++i) {
            double got;
            if (t.dtype == DType::F32) {
                float f;
                std::memcpy(&f, t.data + 4 * i, 4);
                got = f;
            } else {
                got = decodeBf16(t.data + 2 * i);
            }
            const double tol = t.dtype == DType::F32 ? 0.0 : std::fabs(double(v[std::size_t(i)])) / 256;
            QVERIFY2(std::fabs(got - v[std::size_t(i)]) <= tol, spec.name.c_str());
        }
    }
    // Scaled for realistic activations: norms ~1, sinks ~0, mHC pre-mix ~1/hc, comb near identity.
    auto f32 = [&](const std::string& name, int i) {
        float f;
        std::memcpy(&f, tensor(name).data + 4 * i, 4);
        return double(f);
    };
    QVERIFY(std::fabs(decodeBf16(tensor("layers.0.attn_norm.weight").data) - 1.0) < 0.2);
    QVERIFY(std::fabs(f32("layers.0.attn.attn_sink", 0)) < 0.3);
    const double pre = 1.0 / (1.0 + std::exp(-f32("layers.0.hc_attn_base", 0)));
    QVERIFY(std::fabs(pre - 0.25) < 0.05);
    QVERIFY(f32("layers.0.hc_attn_base", 8) > f32("layers.0.hc_attn_base", 9) + 2); // comb diagonal
}

void TestSynthetic::hashRoutingIsAValidAssignment() {
    for (int l = 0; l < cfg_.numHashLayers; ++l) {
        const TensorView& t = tensor("layers." + std::to_string(l) + ".ffn.gate.tid2eid");
        QCOMPARE(t.dtype, DType::I64);
        QCOMPARE(t.shape, (std::vector<std::int64_t>{cfg_.vocabSize, cfg_.numExpertsPerTok}));
        std::set<std::int64_t> used;
        for (std::int64_t r = 0; r < t.dim(0); ++r) {
            std::set<std::int64_t> row;
            for (std::int64_t k = 0; k < t.dim(1); ++k) {
                std::int64_t e;
                std::memcpy(&e, t.data + 8 * (r * t.dim(1) + k), 8);
                QVERIFY(e >= 0 && e < cfg_.nRoutedExperts);
                row.insert(e);
                used.insert(e);
            }
            QCOMPARE(std::int64_t(row.size()), t.dim(1)); // distinct experts per token
        }
        QCOMPARE(int(used.size()), cfg_.nRoutedExperts);
    }
}

void TestSynthetic::deterministicInTheSeed() {
    SyntheticOptions o;
    o.preset = SyntheticPreset::Tiny;
    o.seed = 42;
    const std::string again = dir_.filePath("again").toStdString(), other = dir_.filePath("other").toStdString();
    QVERIFY(makeSyntheticModel(o, again).ok());
    o.seed = 43;
    QVERIFY(makeSyntheticModel(o, other).ok());
    const QStringList shards = QDir(QString::fromStdString(path_)).entryList({"*.safetensors"});
    QVERIFY(shards.size() >= 3);
    for (const QString& s : shards) {
        const QByteArray a = fileHash(QString::fromStdString(path_) + "/" + s);
        QCOMPARE(fileHash(QString::fromStdString(again) + "/" + s), a);
        QVERIFY(fileHash(QString::fromStdString(other) + "/" + s) != a);
    }
}

void TestSynthetic::shapedPresetsKeepRealDimensions_data() {
    QTest::addColumn<int>("preset");
    QTest::addColumn<int>("layers");
    QTest::addColumn<int>("hidden");
    QTest::addColumn<QList<int>>("ratios");
    QTest::newRow("flash default") << int(SyntheticPreset::FlashShape) << 0 << 4096 << QList<int>{128, 4, 0};
    QTest::newRow("flash 4") << int(SyntheticPreset::FlashShape) << 4 << 4096 << QList<int>{128, 4, 128, 4, 0};
    QTest::newRow("pro default") << int(SyntheticPreset::ProShape) << 0 << 7168 << QList<int>{128, 4, 0};
    QTest::newRow("tiny 3") << int(SyntheticPreset::Tiny) << 3 << 256 << QList<int>{0, 4, 128, 0};
}

void TestSynthetic::shapedPresetsKeepRealDimensions() {
    QFETCH(int, preset);
    QFETCH(int, layers);
    QFETCH(int, hidden);
    QFETCH(QList<int>, ratios);
    SyntheticOptions o;
    o.preset = SyntheticPreset(preset);
    o.layers = layers;
    auto c = syntheticConfig(o, TokenizerInfo{262, 256, 257});
    QVERIFY(c.ok());
    QCOMPARE(c->hiddenSize, hidden);
    QCOMPARE(QList<int>(c->compressRatios.begin(), c->compressRatios.end()), ratios);
    QVERIFY(c->numHashLayers >= 1);
    QCOMPARE(c->nRoutedExperts, 16);
    // The JSON round trip goes through the real parser's checks.
    auto parsed = parseConfig(configToJson(*c), "preset.json");
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : parsed.error().c_str());
    QCOMPARE(parsed->compressRatios, c->compressRatios);
    if (preset != int(SyntheticPreset::Tiny)) QCOMPARE(parsed->vocabSize, 129280);
}

QTEST_APPLESS_MAIN(TestSynthetic)
#include "test_synthetic.moc"
