// folio-cli model-info and make-model end to end.
#include "model_io/gguf.h"
#include "test_support.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using folio::test::runCli;

namespace {
QJsonObject jsonLine(const QByteArray& out) { return QJsonDocument::fromJson(out.trimmed()).object(); }
} // namespace

class TestModelInfoCli : public QObject {
    Q_OBJECT
private slots:
    void fixtureConfigs_data();
    void fixtureConfigs();
    void humanSummary();
    void makeTinyThenInfo();
    void reportsAnInvalidCheckpoint();
    void describesAGgufFile();
    void usageErrors_data();
    void usageErrors();
};

void TestModelInfoCli::fixtureConfigs_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<double>("weightGiB");
    QTest::addColumn<double>("kvPerToken");
    QTest::addColumn<double>("kvPerTokenFp8");
    QTest::newRow("flash") << "configs/deepseek-v4-flash.config.json" << 148.65 << 6880.0 << 3850.25;
    QTest::newRow("pro") << "configs/deepseek-v4-pro.config.json" << 805.0 << 9848.0 << 5511.4375;
}

void TestModelInfoCli::fixtureConfigs() {
    QFETCH(QString, config);
    QFETCH(double, weightGiB);
    QFETCH(double, kvPerToken);
    QFETCH(double, kvPerTokenFp8);
    const QString path = folio::test::fixture(config);
    if (path.isEmpty()) QSKIP("shared fixture configs are absent; skipping");
    const auto r = runCli({"model-info", path, "--json"});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject o = jsonLine(r.out);
    QVERIFY2(!o.isEmpty(), r.out.constData());
    QVERIFY(std::fabs(o["weight_bytes"].toDouble() / 1073741824.0 / weightGiB - 1.0) < 0.02);
    QCOMPARE(o["kv_bytes_per_token"].toDouble(), kvPerToken);
    QVERIFY(std::fabs(o["kv_bytes_per_token_fp8"].toDouble() - kvPerTokenFp8) < 0.01); // printed to 6 digits
    QCOMPARE(o["kv_bytes_at_256k"].toDouble(), kvPerToken * 262144);
    QCOMPARE(o["kv_bytes_at_1m"].toDouble(), kvPerToken * 1048576);
    const QJsonObject kinds = o["weight_bytes_by_kind"].toObject();
    double sum = 0;
    for (const char* k : {"embed_head", "attention", "compressor_indexer", "mhc_norms", "router", "shared_experts",
                             "routed_experts", "mtp"}) {
        QVERIFY2(kinds.contains(QLatin1String(k)), k);
        sum += kinds[QLatin1String(k)].toDouble();
    }
    QCOMPARE(sum, o["weight_bytes"].toDouble());
    QVERIFY(o["active_params"].toDouble() > 1e10);
    QVERIFY(!o.contains("checkpoint_valid")); // a bare config: nothing to validate
}

void TestModelInfoCli::humanSummary() {
    const QString path = folio::test::fixture("configs/deepseek-v4-flash.config.json");
    if (path.isEmpty()) QSKIP("shared fixture configs are absent; skipping");
    const auto r = runCli({"model-info", path});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains("2 SWA, 21 CSA (ratio 4), 20 HCA (ratio 128)"), r.out.constData());
    QVERIFY2(r.out.contains("148.65 GiB"), r.out.constData());
    QVERIFY2(r.out.contains("6880.00 B/token (bf16 entries), 3850.25 B/token (fp8 entries)"), r.out.constData());
}

void TestModelInfoCli::makeTinyThenInfo() {
    QTemporaryDir dir;
    const QString out = dir.filePath("tiny");
    const auto m = runCli({"make-model", "--preset", "tiny", "--seed", "1", "--out", out});
    QVERIFY2(m.exitCode == 0, m.err.constData());
    const auto r = runCli({"model-info", out, "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = jsonLine(r.out);
    QCOMPARE(o["checkpoint_valid"].toBool(), true);
    QCOMPARE(o["checkpoint_bytes"].toDouble(), o["weight_bytes"].toDouble());
    QVERIFY(o["checkpoint_shards"].toInt() >= 3);
    QCOMPARE(o["csa_layers"].toInt(), 3);
    QCOMPARE(o["hca_layers"].toInt(), 2);
    QCOMPARE(o["swa_layers"].toInt(), 1);
}

void TestModelInfoCli::describesAGgufFile() {
    using folio::model::GgmlType;
    QTemporaryDir tmp;
    auto write = [&](const QString& name, const std::string& arch) {
        folio::model::GgufWriter w;
        w.addString("general.architecture", arch);
        w.addString("general.name", "test");
        w.addTensor("a.weight", {64, 3}, GgmlType::Q8_0, std::vector<std::uint8_t>(6 * 34, 1));
        w.addTensor("b.weight", {64, 2}, GgmlType::Q8_0, std::vector<std::uint8_t>(4 * 34, 1));
        w.addTensor("e.weight", {32, 4}, GgmlType::MXFP4, std::vector<std::uint8_t>(4 * 17, 2));
        w.addTensor("n.weight", {5}, GgmlType::F32, std::vector<std::uint8_t>(20, 3));
        const QString path = tmp.filePath(name);
        const folio::Status st = w.write(path.toStdString());
        return st.ok() ? path : QString();
    };
    const QString ds = write("ds.gguf", "deepseek4");
    QVERIFY(!ds.isEmpty());
    // Described from its header; its metadata holds no model, so it fails as one (exit 1).
    auto r = runCli({"model-info", ds, "--json"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("metadata key 'deepseek4.embedding_length' is missing"), r.err.constData());
    const QJsonObject o = jsonLine(r.out);
    QCOMPARE(o["format"].toString(), QString("gguf"));
    QCOMPARE(o["architecture"].toString(), QString("deepseek4"));
    QCOMPARE(o["tensor_count"].toInt(), 4);
    QCOMPARE(o["weight_bytes"].toInteger(), qint64(10 * 34 + 68 + 20));
    const QJsonObject types = o["bytes_by_type"].toObject();
    QCOMPARE(types["Q8_0"].toObject()["tensors"].toInt(), 2);
    QCOMPARE(types["Q8_0"].toObject()["bytes"].toInteger(), qint64(10 * 34));
    QCOMPARE(types["MXFP4"].toObject()["bytes"].toInteger(), qint64(68));
    QVERIFY(o["deepseek_v4"].toBool());
    QVERIFY(o["config_error"].toString().contains("metadata key 'deepseek4.embedding_length' is missing"));

    // A whole model (make-model --gguf): its memory plan is the folder's.
    const QString model = tmp.filePath("tiny");
    auto made = runCli({"make-model", "--preset", "tiny", "--seed", "4", "--out", model, "--gguf", "q8_0"});
    QVERIFY2(made.exitCode == 0, made.err.constData());
    auto fromGguf = runCli({"model-info", model + "/model-q8_0.gguf", "--json"});
    QVERIFY2(fromGguf.exitCode == 0, fromGguf.err.constData());
    auto fromDir = runCli({"model-info", model, "--json"});
    QVERIFY2(fromDir.exitCode == 0, fromDir.err.constData());
    const QJsonObject g = jsonLine(fromGguf.out), d = jsonLine(fromDir.out);
    QCOMPARE(g["kv_bytes_at_256k"].toInteger(), d["kv_bytes_at_256k"].toInteger());
    QCOMPARE(g["kv_bytes_at_1m"].toInteger(), d["kv_bytes_at_1m"].toInteger());
    QCOMPARE(g["num_hidden_layers"].toInt(), d["num_hidden_layers"].toInt());
    QVERIFY(g["ram_bytes"].toInteger() > 0);
    QVERIFY(g["fits_ram_at_256k"].toBool());
    QCOMPARE(g["bytes_by_type"].toObject()["MXFP4"].toObject()["tensors"].toInt(), 3 * d["num_hidden_layers"].toInt());

    // Another architecture: described, then refused as a model.
    const QString gemma = write("gemma.gguf", "gemma3");
    r = runCli({"model-info", gemma});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.out.contains("architecture gemma3"));
    QVERIFY2(r.err.contains("architecture gemma3 is not DeepSeek-V4"), r.err.constData());

    // A damaged file: the parser's message, naming the file.
    QFile f(ds);
    QVERIFY(f.open(QIODevice::ReadWrite));
    f.seek(4);
    const char v2[4] = {2, 0, 0, 0};
    f.write(v2, 4);
    f.close();
    r = runCli({"model-info", ds});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("ds.gguf: GGUF version 2 is not supported"), r.err.constData());
}

void TestModelInfoCli::reportsAnInvalidCheckpoint() {
    QTemporaryDir dir;
    const QString out = dir.filePath("tiny");
    QCOMPARE(runCli({"make-model", "--preset", "tiny", "--seed", "1", "--out", out, "--layers", "3"}).exitCode, 0);
    // Truncate the last shard.
    const QString shard = out + "/model-00003-of-00003.safetensors";
    QVERIFY(QFile::resize(shard, QFileInfo(shard).size() - 100));
    const auto r = runCli({"model-info", out});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("model-00003-of-00003.safetensors: tensor '"), r.err.constData());
    QVERIFY2(r.err.contains("run past the end of the data region"), r.err.constData());
}

void TestModelInfoCli::usageErrors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    QTest::newRow("no dir") << QStringList{"model-info"} << 2 << "expects one DIR";
    QTest::newRow("missing config") << QStringList{"model-info", "/nonexistent"} << 1
                                    << "/nonexistent: cannot open";
    QTest::newRow("bad preset") << QStringList{"make-model", "--preset", "huge", "--seed", "1", "--out", "/tmp/x"} << 2
                                << "--preset must be tiny, flash-shape or pro-shape";
    QTest::newRow("no out") << QStringList{"make-model", "--preset", "tiny", "--seed", "1"} << 2 << "--out DIR is required";
    QTest::newRow("no seed") << QStringList{"make-model", "--preset", "tiny", "--out", "/tmp/x"} << 2
                             << "--seed S is required";
}

void TestModelInfoCli::usageErrors() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, message);
    const auto r = runCli(args);
    QCOMPARE(r.exitCode, code);
    QVERIFY2(r.err.contains(message.toUtf8()), r.err.constData());
}

QTEST_APPLESS_MAIN(TestModelInfoCli)
#include "test_model_info_cli.moc"
