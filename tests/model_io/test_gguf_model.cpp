// A DeepSeek-V4 model from GGUF: the synthetic checkpoint written in llama.cpp's deepseek4 layout
// opens as a model and gives the safetensors checkpoint's logits (bit for bit with fp8 widened to
// F32; within a stated tolerance with fp8 re-quantized to Q8_0, as llama.cpp's converter does);
// bad files are refused with messages that name the file and what is wrong.
#include "folio/engine.h"
#include "folio/tokenizer.h"
#include "model_io/config.h"
#include "model_io/gguf_model.h"
#include "model_io/safetensors.h"
#include "model_io/synthetic.h"

#include "test_support.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>

using namespace folio;
using namespace folio::model;

namespace {

std::vector<float> lastLogits(const std::string& path, const std::vector<std::int32_t>& tokens, std::string* error,
                              bool exact = false) {
    ModelOptions mo{2, "cpu"};
    mo.exact = exact;
    auto m = Model::open(path, mo);
    if (!m.ok()) {
        *error = m.error();
        return {};
    }
    auto seq = (*m)->newSequence();
    std::vector<float> logits;
    PrefillOptions po;
    po.chunk = 16; // several chunks
    const Status st = (*m)->prefill(*seq, tokens, po, &logits);
    if (!st.ok()) *error = st.error();
    return logits;
}

// A GGUF whose metadata is the tiny model's, with one tensor replaced or a key changed.
QString gguf(const QString& dir, const QString& name, const std::function<void(GgufWriter&)>& fill) {
    GgufWriter w;
    fill(w);
    const QString path = dir + "/" + name;
    return w.write(path.toStdString()).ok() ? path : QString();
}

} // namespace

class TestGgufModel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void configFromMetadata();
    void exactWithF32();
    void closeWithQ8_0();
    void everyWeightTypeRunsExactly();
    void refusesBadFiles();
    void tokenizerFromTheMetadata();

private:
    QTemporaryDir tmp_;
    std::string dir_;
    std::vector<std::int32_t> tokens_;
};

void TestGgufModel::initTestCase() {
    QVERIFY(tmp_.isValid());
    dir_ = tmp_.filePath("tiny").toStdString();
    SyntheticOptions o;
    o.seed = 5;
    QVERIFY(makeSyntheticModel(o, dir_).ok());
    auto cfg = loadConfig(dir_ + "/config.json");
    QVERIFY(cfg.ok());
    auto ck = Checkpoint::open(dir_);
    QVERIFY(ck.ok());
    QFile tj(QString::fromStdString(dir_ + "/tokenizer.json"));
    QVERIFY(tj.open(QIODevice::ReadOnly));
    const std::string tokenizerJson = tj.readAll().toStdString();
    QVERIFY(writeGgufModel(**ck, *cfg, GgufWriteTypes{GgmlType::F32, GgmlType::MXFP4}, dir_ + "/f32.gguf", tokenizerJson).ok());
    QVERIFY(writeGgufModel(**ck, *cfg, GgufWriteTypes{}, dir_ + "/q8_0.gguf", tokenizerJson).ok());
    for (int i = 0; i < 70; ++i) tokens_.push_back(3 + (i * 37) % 500);
}

void TestGgufModel::configFromMetadata() {
    auto fromJson = loadConfig(dir_ + "/config.json");
    auto g = openGgufModel(dir_ + "/q8_0.gguf");
    QVERIFY2(g.ok(), g.ok() ? "" : g.error().c_str());
    const ModelConfig& a = *fromJson;
    const ModelConfig& b = g->config;
    QCOMPARE(b.hiddenSize, a.hiddenSize);
    QCOMPARE(b.numHiddenLayers, a.numHiddenLayers);
    QCOMPARE(b.numAttentionHeads, a.numAttentionHeads);
    QCOMPARE(b.headDim, a.headDim);
    QCOMPARE(b.qkRopeHeadDim, a.qkRopeHeadDim);
    QCOMPARE(b.qLoraRank, a.qLoraRank);
    QCOMPARE(b.oLoraRank, a.oLoraRank);
    QCOMPARE(b.oGroups, a.oGroups);
    QCOMPARE(b.vocabSize, a.vocabSize);
    QCOMPARE(b.nRoutedExperts, a.nRoutedExperts);
    QCOMPARE(b.numExpertsPerTok, a.numExpertsPerTok);
    QCOMPARE(b.moeIntermediateSize, a.moeIntermediateSize);
    QCOMPARE(b.numHashLayers, a.numHashLayers);
    QCOMPARE(b.slidingWindow, a.slidingWindow);
    QCOMPARE(b.indexTopk, a.indexTopk);
    QCOMPARE(b.hcMult, a.hcMult);
    QCOMPARE(b.ropeScaling.type, a.ropeScaling.type);
    QCOMPARE(b.routedScalingFactor, double(float(a.routedScalingFactor)));
    QCOMPARE(std::vector<int>(b.compressRatios.begin(), b.compressRatios.end()),
             std::vector<int>(a.compressRatios.begin(), a.compressRatios.begin() + a.numHiddenLayers));
    QCOMPARE(b.numNextnPredictLayers, 0); // the MTP block is left out, as llama.cpp's converter does
    // The experts of a layer are one MXFP4 tensor in the file, one view per expert here.
    const TensorView* e = g->checkpoint->find("layers.0.ffn.experts.3.w2.weight");
    QVERIFY(e);
    QCOMPARE(e->dtype, DType::MXFP4);
    QCOMPARE(e->shape, (std::vector<std::int64_t>{a.hiddenSize, a.moeIntermediateSize}));
    QCOMPARE(g->checkpoint->find("layers.0.attn.wq_a.weight")->dtype, DType::Q8_0);
    // The model's own tokenizer travels in the file.
    auto fromGguf = Tokenizer::load(dir_ + "/q8_0.gguf");
    QVERIFY2(fromGguf.ok(), fromGguf.ok() ? "" : fromGguf.error().c_str());
    auto fromDir = Tokenizer::load(dir_);
    QVERIFY(fromDir.ok());
    const std::string text = "The quick brown fox, 2024: <think>why?</think> 数字";
    QCOMPARE((*fromGguf)->encodeWithSpecial(text), (*fromDir)->encodeWithSpecial(text));
}

void TestGgufModel::exactWithF32() {
    // fp8 widened to F32 is the same f32 values the fp8 kernels decode, and fp4 repacked as MXFP4
    // the same codes and scales: the same logits, bit for bit.
    std::string e1, e2;
    const std::vector<float> a = lastLogits(dir_, tokens_, &e1);
    const std::vector<float> b = lastLogits(dir_ + "/f32.gguf", tokens_, &e2);
    QVERIFY2(e1.empty() && e2.empty(), (e1 + e2).c_str());
    QCOMPARE(a.size(), b.size());
    QVERIFY(!a.empty());
    QVERIFY(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    // The same without any quantization round trip (logits --exact): still the same bits, and not
    // the quantized model's.
    const std::vector<float> ea = lastLogits(dir_, tokens_, &e1, true);
    const std::vector<float> eb = lastLogits(dir_ + "/f32.gguf", tokens_, &e2, true);
    QVERIFY2(e1.empty() && e2.empty(), (e1 + e2).c_str());
    QCOMPARE(ea.size(), a.size());
    QVERIFY(std::memcmp(ea.data(), eb.data(), ea.size() * 4) == 0);
    QVERIFY(std::memcmp(ea.data(), a.data(), ea.size() * 4) != 0);
}

void TestGgufModel::closeWithQ8_0() {
    // Q8_0 re-quantizes each e4m3 weight per 32 (about 0.3% per weight); this random model
    // amplifies small changes (its e4m3 activation roundings flip: the CPU variants' summation orders
    // alone move its logits by 2-10% RMS), and the last logits move by 15-22% RMS (measured on the
    // three variants, seed 5). The bound is 35%, and the argmax stays among the top 5; the exact
    // mapping is what exactWithF32 proves.
    std::string e1, e2;
    const std::vector<float> a = lastLogits(dir_, tokens_, &e1);
    const std::vector<float> b = lastLogits(dir_ + "/q8_0.gguf", tokens_, &e2);
    QVERIFY2(e1.empty() && e2.empty(), (e1 + e2).c_str());
    QCOMPARE(a.size(), b.size());
    double d2 = 0, a2 = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        QVERIFY(std::isfinite(b[i]));
        d2 += double(a[i] - b[i]) * (a[i] - b[i]);
        a2 += double(a[i]) * a[i];
    }
    const double rel = std::sqrt(d2 / a2);
    qInfo("Q8_0 GGUF vs safetensors: relative RMS of the last logits %.4f", rel);
    QVERIFY(rel > 0.0); // it is a different model, a little
    QVERIFY2(rel < 0.35, qPrintable(QString::number(rel)));
    const auto top = [](const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
    const std::ptrdiff_t ta = top(a);
    std::vector<float> sorted = b;
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    QVERIFY2(b[std::size_t(ta)] >= sorted[4], "the safetensors argmax is not among the GGUF's top 5");
}

void TestGgufModel::everyWeightTypeRunsExactly() {
    // Each GGUF weight type through the whole model: the tiny checkpoint written with its matrices
    // and experts as TYPE (Folio's quantizers), then that file rewritten with every block widened to
    // F32 (the kernels' own dequantization). The two files hold the same values, so the logits
    // agree bit for bit: the loader, the binder (the embedding, the mHC mixes and the compressors'
    // ape are looked up or dequantized, not just the GEMM weights) and the GEMM read each type as
    // gguf-py does (test_ggml_dequant proves the dequantization). Against the safetensors model,
    // without round trips (--exact), the logits move by what the type's rounding gives (reported).
    QFile tj(QString::fromStdString(dir_ + "/tokenizer.json"));
    QVERIFY(tj.open(QIODevice::ReadOnly));
    const std::string tokenizerJson = tj.readAll().toStdString();
    auto cfg = loadConfig(dir_ + "/config.json");
    auto ck = Checkpoint::open(dir_);
    QVERIFY(cfg.ok() && ck.ok());
    std::string e0;
    const std::vector<float> reference = lastLogits(dir_, tokens_, &e0, true);
    QVERIFY2(e0.empty(), e0.c_str());
    for (GgmlType type : {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q6_K, GgmlType::Q5_K, GgmlType::Q4_K, GgmlType::IQ4_XS,
                          GgmlType::Q3_K, GgmlType::Q2_K}) {
        const std::string name = ggmlTypeTraits(std::uint32_t(type))->name;
        const std::string typed = dir_ + "/typed-" + name + ".gguf", widened = dir_ + "/widened-" + name + ".gguf";
        Status s = writeGgufModel(**ck, *cfg, GgufWriteTypes{type, type}, typed, tokenizerJson);
        QVERIFY2(s.ok(), s.ok() ? "" : s.error().c_str());
        auto g = openGgufModel(typed);
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().c_str());
        // Every K tile of the tiny model is 256 wide or more, so the type is really used.
        QCOMPARE(QString(dtypeName(g->checkpoint->find("layers.1.attn.wq_b.weight")->dtype)), QString::fromStdString(name));
        QCOMPARE(QString(dtypeName(g->checkpoint->find("layers.1.ffn.experts.2.w1.weight")->dtype)), QString::fromStdString(name));
        s = writeGgufModel(*g->checkpoint, g->config, GgufWriteTypes{GgmlType::F32, GgmlType::F32}, widened, tokenizerJson);
        QVERIFY2(s.ok(), s.ok() ? "" : s.error().c_str());
        std::string e1, e2;
        const std::vector<float> a = lastLogits(typed, tokens_, &e1), b = lastLogits(widened, tokens_, &e2);
        QVERIFY2(e1.empty() && e2.empty(), (e1 + e2).c_str());
        QCOMPARE(a.size(), b.size());
        QVERIFY2(std::memcmp(a.data(), b.data(), a.size() * 4) == 0, name.c_str());
        const std::vector<float> x = lastLogits(typed, tokens_, &e1, true);
        QVERIFY2(e1.empty(), e1.c_str());
        double d2 = 0, r2 = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            QVERIFY(std::isfinite(x[i]));
            d2 += double(x[i] - reference[i]) * (x[i] - reference[i]);
            r2 += double(reference[i]) * reference[i];
        }
        qInfo("%s: relative RMS of the last logits against the safetensors model (exact math) %.4f", name.c_str(),
              std::sqrt(d2 / r2));
        // F16 holds every e4m3 and e2m1 value times its power-of-two scale exactly: the same model.
        if (type == GgmlType::F16) QCOMPARE(d2, 0.0);
        else QVERIFY(d2 > 0);
    }
}

void TestGgufModel::refusesBadFiles() {
    const QString d = tmp_.path();
    // Another architecture.
    QString p = gguf(d, "gemma.gguf", [](GgufWriter& w) { w.addString("general.architecture", "gemma3"); });
    auto r = openGgufModel(p.toStdString());
    QVERIFY(!r.ok());
    QVERIFY2(QString::fromStdString(r.error()).contains("architecture gemma3 is not DeepSeek-V4"), r.error().c_str());
    std::string err;
    QVERIFY(lastLogits(p.toStdString(), tokens_, &err).empty());
    QVERIFY2(QString::fromStdString(err).contains("gemma.gguf: architecture gemma3"), err.c_str());

    // A missing key names itself.
    p = gguf(d, "nokey.gguf", [](GgufWriter& w) { w.addString("general.architecture", "deepseek4"); });
    r = openGgufModel(p.toStdString());
    QVERIFY(!r.ok());
    QVERIFY2(QString::fromStdString(r.error()).contains("nokey.gguf: metadata key 'deepseek4.embedding_length' is missing"),
             r.error().c_str());

    // A tensor type Folio does not run: named with the supported list, at load.
    auto cfg = loadConfig(dir_ + "/config.json");
    auto ck = Checkpoint::open(dir_);
    QVERIFY(writeGgufModel(**ck, *cfg, GgufWriteTypes{}, (d + "/k.gguf").toStdString()).ok());
    {
        QFile f(d + "/k.gguf");
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray all = f.readAll();
        f.close();
        auto g = parseGguf(reinterpret_cast<const std::uint8_t*>(all.constData()), std::size_t(all.size()), "k.gguf");
        QVERIFY(g.ok());
        // Rewrite the type id of blk.0.attn_q_a.weight (Q8_0 -> Q4_K) in place: the 4 bytes before
        // its 8-byte offset in the tensor info.
        const QByteArray name = "blk.0.attn_q_a.weight";
        const qsizetype at = all.indexOf(name);
        QVERIFY(at > 0);
        QByteArray bad = all;
        const qsizetype typeAt = at + name.size() + 4 + 2 * 8; // n_dims, two dims
        const std::uint32_t iq2xxs = 16; // 66 bytes per 256: the data still fits
        std::memcpy(bad.data() + typeAt, &iq2xxs, 4);
        QFile o(d + "/iq2.gguf");
        QVERIFY(o.open(QIODevice::WriteOnly));
        o.write(bad);
    }
    r = openGgufModel((d + "/iq2.gguf").toStdString());
    QVERIFY(!r.ok());
    const QString msg = QString::fromStdString(r.error());
    // The tiny model's rows are 256 wide, a whole IQ2_XXS block: the header parses, the type is refused.
    QCOMPARE(msg, QString("iq2.gguf: tensor blk.0.attn_q_a.weight has type IQ2_XXS, which Folio does not run yet "
                          "(supported: F32, F16, BF16, I32, I8, Q8_0, MXFP4, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS)"));

    // A split file whose second part is missing.
    QVERIFY(QFile::copy(QString::fromStdString(dir_ + "/q8_0.gguf"), d + "/m-00001-of-00002.gguf"));
    r = openGgufModel((d + "/m-00001-of-00002.gguf").toStdString());
    QVERIFY(!r.ok());
    QVERIFY2(QString::fromStdString(r.error()).contains("part 2 of 2 (m-00002-of-00002.gguf) is missing"), r.error().c_str());

    // Metadata that does not match the tensors: the binder names the tensor and both shapes.
    {
        // The tiny model's file with embedding_length doubled.
        QFile f(QString::fromStdString(dir_ + "/q8_0.gguf"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QByteArray all = f.readAll();
        const QByteArray key = "deepseek4.embedding_length";
        const qsizetype at = all.indexOf(key);
        QVERIFY(at > 0);
        std::uint32_t v = 0;
        std::memcpy(&v, all.constData() + at + key.size() + 4, 4);
        v *= 2;
        std::memcpy(all.data() + at + key.size() + 4, &v, 4);
        QFile o(d + "/shape.gguf");
        QVERIFY(o.open(QIODevice::WriteOnly));
        o.write(all);
    }
    QVERIFY(lastLogits((d + "/shape.gguf").toStdString(), tokens_, &err).empty());
    QVERIFY2(QString::fromStdString(err).contains("has shape") && QString::fromStdString(err).contains("expected"), err.c_str());
}

void TestGgufModel::tokenizerFromTheMetadata() {
    // DeepSeek's tokenizer.json written into GGUF metadata the way llama.cpp's converter writes it
    // (tokens by id, token types, merges, pre-tokenizer "deepseek-v3"), read back: the same ids for
    // the same text, special tokens included.
    const QString fixtures = folio::test::fixturesDir();
    if (fixtures.isEmpty()) QSKIP("../shared/fixtures is not there");
    QFile f(fixtures + "/tokenizer/deepseek-v3/tokenizer.json");
    if (!f.open(QIODevice::ReadOnly)) QSKIP("no DeepSeek tokenizer among the fixtures");
    const QJsonObject root = QJsonDocument::fromJson(f.readAll()).object();
    const QJsonObject vocab = root["model"].toObject()["vocab"].toObject();
    std::map<int, std::pair<std::string, int>> byId; // id -> text, llama.cpp token type
    for (auto it = vocab.begin(); it != vocab.end(); ++it) byId[it.value().toInt()] = {it.key().toStdString(), 1};
    for (const QJsonValue& a : root["added_tokens"].toArray()) {
        const QJsonObject o = a.toObject();
        byId[o["id"].toInt()] = {o["content"].toString().toStdString(), o["special"].toBool() ? 3 : 4};
    }
    std::vector<std::string> tokens, merges;
    std::vector<std::int32_t> types;
    for (int id = 0; id <= byId.rbegin()->first; ++id) {
        auto it = byId.find(id);
        tokens.push_back(it != byId.end() ? it->second.first : "[PAD" + std::to_string(id) + "]");
        types.push_back(it != byId.end() ? it->second.second : 5);
    }
    for (const QJsonValue& m : root["model"].toObject()["merges"].toArray()) {
        if (m.isString()) merges.push_back(m.toString().toStdString());
        else merges.push_back(m.toArray()[0].toString().toStdString() + " " + m.toArray()[1].toString().toStdString());
    }
    GgufWriter w;
    w.addString("general.architecture", "deepseek4");
    w.addString("tokenizer.ggml.model", "gpt2");
    w.addString("tokenizer.ggml.pre", "deepseek-v3");
    w.addStringArray("tokenizer.ggml.tokens", tokens);
    w.addI32Array("tokenizer.ggml.token_type", types);
    w.addStringArray("tokenizer.ggml.merges", merges);
    const std::string path = tmp_.filePath("vocab.gguf").toStdString();
    QVERIFY(w.write(path).ok());

    auto fromGguf = Tokenizer::load(path);
    QVERIFY2(fromGguf.ok(), fromGguf.ok() ? "" : fromGguf.error().c_str());
    auto fromJson = Tokenizer::load((fixtures + "/tokenizer/deepseek-v3").toStdString());
    QVERIFY(fromJson.ok());
    QFile book(fixtures + "/books/pride_and_prejudice.txt");
    QVERIFY(book.open(QIODevice::ReadOnly));
    const std::string text = book.read(200000).toStdString() +
                             " 12345 数字 日本語テキスト <｜begin▁of▁sentence｜>x<｜User｜>hi<｜Assistant｜><think>";
    const auto a = (*fromJson)->encodeWithSpecial(text), b = (*fromGguf)->encodeWithSpecial(text);
    QVERIFY(a.size() > 10000);
    QCOMPARE(b, a);
    QCOMPARE((*fromGguf)->encode(text), (*fromJson)->encode(text));
    QCOMPARE((*fromGguf)->decode(b), (*fromJson)->decode(a));

    // Another pre-tokenizer is named, not guessed.
    GgufWriter other;
    other.addString("tokenizer.ggml.model", "gpt2");
    other.addString("tokenizer.ggml.pre", "llama-bpe");
    other.addStringArray("tokenizer.ggml.tokens", {"a"});
    const std::string otherPath = tmp_.filePath("llama.gguf").toStdString();
    QVERIFY(other.write(otherPath).ok());
    auto refused = Tokenizer::load(otherPath);
    QVERIFY(!refused.ok());
    QVERIFY2(QString::fromStdString(refused.error()).contains("tokenizer.ggml.pre is \"llama-bpe\""), refused.error().c_str());
}

QTEST_APPLESS_MAIN(TestGgufModel)
#include "test_gguf_model.moc"
