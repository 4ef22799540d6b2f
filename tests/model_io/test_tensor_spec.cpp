// The expected tensor layout against the real Flash tensor list, and checkpoint validation.
#include "model_io/config.h"
#include "model_io/safetensors.h"
#include "model_io/synthetic.h"
#include "model_io/tensor_spec.h"
#include "test_support.h"

#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <map>

using namespace folio::model;
using folio::Status;

namespace {

struct Stored {
    std::vector<std::int64_t> shape;
    DType dtype;
    bool operator==(const Stored& o) const { return shape == o.shape && dtype == o.dtype; }
};

// Expands the first {a-b} or {a,b,...,z} group of a name pattern, recursively.
void expandName(const QString& pattern, QStringList* out) {
    const int open = pattern.indexOf('{');
    if (open < 0) {
        out->append(pattern);
        return;
    }
    const int close = pattern.indexOf('}', open);
    const QString body = pattern.mid(open + 1, close - open - 1);
    QList<int> values;
    if (body.contains("...")) { // {2,4,...,42}: first, second, ..., last
        const QStringList parts = body.split(',');
        const int first = parts[0].toInt(), step = parts[1].toInt() - first, last = parts.last().toInt();
        for (int v = first; v <= last; v += step) values.append(v);
    } else if (body.contains('-')) {
        const QStringList parts = body.split('-');
        for (int v = parts[0].toInt(); v <= parts[1].toInt(); ++v) values.append(v);
    } else {
        for (const QString& p : body.split(',')) values.append(p.toInt());
    }
    for (int v : values) expandName(pattern.left(open) + QString::number(v) + pattern.mid(close + 1), out);
}

DType torchDtype(const QString& s) {
    if (s == "bfloat16") return DType::BF16;
    if (s == "float32") return DType::F32;
    if (s == "int64") return DType::I64;
    if (s == "int8") return DType::I8;
    if (s == "float8_e4m3fn") return DType::F8_E4M3;
    if (s == "float8_e8m0fnu") return DType::F8_E8M0;
    qFatal("unknown dtype in the tensor list: %s", qPrintable(s));
}

ModelConfig tinyConfig() {
    SyntheticOptions o;
    o.preset = SyntheticPreset::Tiny;
    auto c = syntheticConfig(o, TokenizerInfo{262, 256, 257});
    return *c;
}

// Writes a checkpoint of zero bytes for `specs` (after `edit` changed them) as model.safetensors.
Status writeZeros(const std::string& dir, const std::vector<TensorSpec>& specs) {
    std::vector<std::pair<TensorDecl, std::string>> tensors;
    for (const TensorSpec& s : specs) {
        std::uint64_t n = 0;
        if (!tensorByteSize(s.dtype, s.shape, &n)) return folio::makeError("bad spec " + s.name);
        tensors.push_back({{s.name, s.dtype, s.shape}, std::string(std::size_t(n), '\0')});
    }
    return writeSafetensors(dir + "/model.safetensors", tensors);
}

TensorSpec* findSpec(std::vector<TensorSpec>& specs, const std::string& name) {
    for (TensorSpec& s : specs)
        if (s.name == name) return &s;
    return nullptr;
}

} // namespace

class TestTensorSpec : public QObject {
    Q_OBJECT
private slots:
    void matchesTheFlashTensorList();
    void countsByLayerType();
    void validates_data();
    void validates();
    void acceptsF4Spelling();
    void detectsFp8Experts();
};

void TestTensorSpec::matchesTheFlashTensorList() {
    FOLIO_REQUIRE_FIXTURE(tsv, "configs/deepseek-v4-flash.tensors.tsv");
    FOLIO_REQUIRE_FIXTURE(configPath, "configs/deepseek-v4-flash.config.json");
    QFile f(tsv);
    QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
    std::map<std::string, Stored> listed;
    int rows = 0;
    while (!f.atEnd()) {
        const QString line = QString::fromUtf8(f.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith('#') || line.startsWith("name\t")) continue;
        const QStringList cols = line.split('\t');
        QCOMPARE(cols.size(), 3);
        ++rows;
        std::vector<std::int64_t> shape;
        for (const QString& d : cols[1].mid(1, cols[1].size() - 2).split(',')) shape.push_back(d.trimmed().toLongLong());
        QStringList names;
        expandName(cols[0], &names);
        for (const QString& n : names) QVERIFY(listed.emplace(n.toStdString(), Stored{shape, torchDtype(cols[2])}).second);
    }
    QCOMPARE(rows, 101);
    QCOMPARE(int(listed.size()), 69187);

    auto cfg = loadConfig(configPath.toStdString());
    QVERIFY(cfg.ok());
    const std::vector<TensorSpec> specs = expectedTensors(*cfg);
    QCOMPARE(int(specs.size()), 69187);
    std::uint64_t bytes = 0;
    for (const TensorSpec& s : specs) {
        const auto it = listed.find(s.name);
        QVERIFY2(it != listed.end(), ("not in the real checkpoint: " + s.name).c_str());
        QVERIFY2(it->second == (Stored{s.shape, s.dtype}),
                 (s.name + ": expected " + shapeToString(it->second.shape) + " " + dtypeName(it->second.dtype) +
                  ", generated " + shapeToString(s.shape) + " " + dtypeName(s.dtype))
                     .c_str());
        bytes += s.bytes();
    }
    // "148.65 GB of tensor data" in the listing's header is GiB.
    QCOMPARE(QString::number(double(bytes) / 1073741824.0, 'f', 2), QString("148.65"));
}

void TestTensorSpec::countsByLayerType() {
    const ModelConfig c = tinyConfig(); // ratios 0,4,128,4,128,4 + MTP 0; 2 hash layers
    const auto specs = expectedTensors(c);
    auto has = [&](const std::string& n) {
        for (const auto& s : specs)
            if (s.name == n) return true;
        return false;
    };
    QVERIFY(!has("layers.0.attn.compressor.ape"));
    QVERIFY(has("layers.1.attn.indexer.wq_b.scale"));
    QVERIFY(has("layers.2.attn.compressor.ape"));
    QVERIFY(!has("layers.2.attn.indexer.wq_b.weight"));
    QVERIFY(has("layers.1.ffn.gate.tid2eid"));
    QVERIFY(!has("layers.1.ffn.gate.bias"));
    QVERIFY(has("layers.2.ffn.gate.bias"));
    QVERIFY(has("mtp.0.ffn.gate.bias"));
    QVERIFY(has("mtp.0.ffn.experts.15.w2.scale"));
    QVERIFY(!has("mtp.0.attn.compressor.ape"));
    // Partial 128-blocks round up: with q_lora 192, wq_a [192, 256] has scale [2, 2] and wq_b
    // [4096, 192] scale [32, 2].
    ModelConfig partial = c;
    partial.qLoraRank = 192;
    for (const auto& s : expectedTensors(partial)) {
        if (s.name == "layers.0.attn.wq_a.scale") QCOMPARE(s.shape, (std::vector<std::int64_t>{2, 2}));
        if (s.name == "layers.0.attn.wq_b.scale") QCOMPARE(s.shape, (std::vector<std::int64_t>{32, 2}));
        if (s.name == "layers.0.ffn.experts.0.w2.weight") QCOMPARE(s.shape, (std::vector<std::int64_t>{256, 64}));
        if (s.name == "layers.0.ffn.experts.0.w2.scale") QCOMPARE(s.shape, (std::vector<std::int64_t>{256, 4}));
    }
}

void TestTensorSpec::validates_data() {
    QTest::addColumn<QString>("edit");
    QTest::addColumn<QString>("message");
    QTest::newRow("complete") << "" << "";
    QTest::newRow("missing") << "drop layers.1.attn.indexer.wq_b.scale"
                             << "tensor 'layers.1.attn.indexer.wq_b.scale' is missing (expected F8_E8M0 [8, 2])";
    QTest::newRow("wrong shape") << "shape layers.3.attn.wkv.weight"
                                 << "tensor 'layers.3.attn.wkv.weight' in model.safetensors: expected F8_E4M3 [512, "
                                    "256], found F8_E4M3 [512, 257]";
    QTest::newRow("wrong dtype") << "dtype mtp.0.e_proj.weight"
                                 << "tensor 'mtp.0.e_proj.weight' in model.safetensors: expected F8_E4M3 [256, 256], "
                                    "found BF16 [256, 256]";
    QTest::newRow("unknown") << "add layers.0.attn.compressor.ape"
                             << "tensor 'layers.0.attn.compressor.ape' in model.safetensors is not part of this "
                                "config's layout";
}

void TestTensorSpec::validates() {
    QFETCH(QString, edit);
    QFETCH(QString, message);
    const ModelConfig c = tinyConfig();
    std::vector<TensorSpec> specs = expectedTensors(c);
    const QStringList parts = edit.split(' ');
    const std::string target = parts.size() > 1 ? parts[1].toStdString() : "";
    if (parts[0] == "drop") specs.erase(specs.begin() + (findSpec(specs, target) - specs.data()));
    if (parts[0] == "shape") findSpec(specs, target)->shape.back() += 1;
    if (parts[0] == "dtype") findSpec(specs, target)->dtype = DType::BF16;
    if (parts[0] == "add") specs.push_back(TensorSpec{target, {4, 1024}, DType::F32});
    QTemporaryDir dir;
    QVERIFY(writeZeros(dir.path().toStdString(), specs).ok());
    auto ck = Checkpoint::open(dir.path().toStdString());
    QVERIFY2(ck.ok(), ck.ok() ? "" : ck.error().c_str());
    const folio::Status s = validateCheckpoint(**ck, c);
    if (message.isEmpty()) {
        QVERIFY2(s.ok(), s.error().c_str());
        return;
    }
    QVERIFY(!s.ok());
    QVERIFY2(QString::fromStdString(s.error()).contains(message), s.error().c_str());
    QVERIFY2(QString::fromStdString(s.error()).startsWith(dir.path() + ": checkpoint does not match config.json ("),
             s.error().c_str());
}

void TestTensorSpec::acceptsF4Spelling() {
    // Newer writers store packed fp4 as F4 with the logical shape.
    const ModelConfig c = tinyConfig();
    std::vector<TensorSpec> specs = expectedTensors(c);
    for (TensorSpec& s : specs)
        if (s.kind == TensorKind::RoutedExpert && s.dtype == DType::I8 && s.name.rfind("layers.1.", 0) == 0) {
            s.dtype = DType::F4;
            s.shape.back() *= 2;
        }
    QTemporaryDir dir;
    QVERIFY(writeZeros(dir.path().toStdString(), specs).ok());
    auto ck = Checkpoint::open(dir.path().toStdString());
    QVERIFY(ck.ok());
    const folio::Status s = validateCheckpoint(**ck, c);
    QVERIFY2(s.ok(), s.error().c_str());
}

void TestTensorSpec::detectsFp8Experts() {
    ModelConfig c = tinyConfig();
    c.expertDtype = "fp8";
    const std::vector<TensorSpec> fp8 = expectedTensors(c);
    for (const TensorSpec& s : fp8)
        if (s.name == "layers.0.ffn.experts.0.w1.scale") QCOMPARE(s.shape, (std::vector<std::int64_t>{1, 2}));
    QTemporaryDir dir;
    QVERIFY(writeZeros(dir.path().toStdString(), fp8).ok());
    auto ck = Checkpoint::open(dir.path().toStdString());
    QVERIFY(ck.ok());
    QVERIFY(validateCheckpoint(**ck, c).ok());
    QCOMPARE(detectExpertFormat(**ck, c), ExpertFormat::Fp8);
    // Without expert_dtype (as Flash) the format is read from the tensors.
    c.expertDtype.clear();
    QVERIFY(validateCheckpoint(**ck, c).ok());
    // A config that says fp4 over fp8 tensors is refused.
    c.expertDtype = "fp4";
    const folio::Status s = validateCheckpoint(**ck, c);
    QVERIFY(!s.ok());
    QVERIFY2(QString::fromStdString(s.error()).contains("expert_dtype \"fp4\" but layers.0.ffn.experts.0.w1.weight is F8_E4M3"),
             s.error().c_str());
}

QTEST_APPLESS_MAIN(TestTensorSpec)
#include "test_tensor_spec.moc"
