// config.json parsing: the real Flash and Pro configs, and malformed ones with their exact errors.
#include "model_io/config.h"
#include "test_support.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using folio::model::ModelConfig;

namespace {

// A valid config in the real format: Flash's values with 4 layers + 1 MTP.
QJsonObject baseConfig() {
    QJsonObject o;
    o["model_type"] = "deepseek_v4";
    o["hidden_size"] = 4096;
    o["num_hidden_layers"] = 4;
    o["num_attention_heads"] = 64;
    o["num_key_value_heads"] = 1;
    o["head_dim"] = 512;
    o["qk_rope_head_dim"] = 64;
    o["q_lora_rank"] = 1024;
    o["o_lora_rank"] = 1024;
    o["o_groups"] = 8;
    o["vocab_size"] = 129280;
    o["moe_intermediate_size"] = 2048;
    o["n_routed_experts"] = 256;
    o["n_shared_experts"] = 1;
    o["num_experts_per_tok"] = 6;
    o["scoring_func"] = "sqrtsoftplus";
    o["topk_method"] = "noaux_tc";
    o["norm_topk_prob"] = true;
    o["routed_scaling_factor"] = 1.5;
    o["num_hash_layers"] = 3;
    o["swiglu_limit"] = 10.0;
    o["num_nextn_predict_layers"] = 1;
    o["sliding_window"] = 128;
    o["compress_ratios"] = QJsonArray{0, 0, 4, 128, 0};
    o["rope_theta"] = 10000;
    o["compress_rope_theta"] = 160000;
    o["rope_scaling"] = QJsonObject{{"type", "yarn"}, {"factor", 16}, {"original_max_position_embeddings", 65536},
                                    {"beta_fast", 32}, {"beta_slow", 1}};
    o["max_position_embeddings"] = 1048576;
    o["index_n_heads"] = 64;
    o["index_head_dim"] = 128;
    o["index_topk"] = 512;
    o["hc_mult"] = 4;
    o["hc_sinkhorn_iters"] = 20;
    o["hc_eps"] = 1e-6;
    o["rms_norm_eps"] = 1e-6;
    o["tie_word_embeddings"] = false;
    o["bos_token_id"] = 0;
    o["eos_token_id"] = 1;
    o["quantization_config"] = QJsonObject{{"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"},
                                           {"scale_fmt", "ue8m0"}, {"weight_block_size", QJsonArray{128, 128}}};
    return o;
}

std::string text(const QJsonObject& o) { return QJsonDocument(o).toJson().toStdString(); }

} // namespace

class TestModelConfig : public QObject {
    Q_OBJECT
private slots:
    void parsesFlashFixture();
    void parsesProFixture();
    void parsesBaseAndDefaults();
    void rejects_data();
    void rejects();
    void missingFileNamesThePath();
};

void TestModelConfig::parsesFlashFixture() {
    FOLIO_REQUIRE_FIXTURE(path, "configs/deepseek-v4-flash.config.json");
    auto r = folio::model::loadConfig(path.toStdString());
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().c_str());
    const ModelConfig& c = *r;
    QCOMPARE(c.modelType, std::string("deepseek_v4"));
    QCOMPARE(c.hiddenSize, 4096);
    QCOMPARE(c.numHiddenLayers, 43);
    QCOMPARE(c.numAttentionHeads, 64);
    QCOMPARE(c.headDim, 512);
    QCOMPARE(c.qkRopeHeadDim, 64);
    QCOMPARE(c.qLoraRank, 1024);
    QCOMPARE(c.oLoraRank, 1024);
    QCOMPARE(c.oGroups, 8);
    QCOMPARE(c.vocabSize, 129280);
    QCOMPARE(c.moeIntermediateSize, 2048);
    QCOMPARE(c.nRoutedExperts, 256);
    QCOMPARE(c.numExpertsPerTok, 6);
    QCOMPARE(c.routedScalingFactor, 1.5);
    QCOMPARE(c.numHashLayers, 3);
    QCOMPARE(c.swigluLimit, 10.0);
    QCOMPARE(c.slidingWindow, 128);
    QCOMPARE(int(c.compressRatios.size()), 44);
    QCOMPARE(c.compressRatio(0), 0);
    QCOMPARE(c.compressRatio(2), 4);
    QCOMPARE(c.compressRatio(3), 128);
    QCOMPARE(c.compressRatio(42), 4);
    QCOMPARE(c.compressRatio(43), 0); // MTP
    QCOMPARE(c.compressRopeTheta, 160000.0);
    QCOMPARE(c.ropeScaling.type, std::string("yarn"));
    QCOMPARE(c.ropeScaling.factor, 16.0);
    QCOMPARE(c.ropeScaling.originalMaxPositionEmbeddings, std::int64_t(65536));
    QCOMPARE(c.indexTopk, 512);
    QCOMPARE(c.hcMult, 4);
    QCOMPARE(c.hcSinkhornIters, 20);
    QCOMPARE(c.quantMethod, std::string("fp8"));
    QCOMPARE(c.scaleFmt, std::string("ue8m0"));
    QCOMPARE(c.weightBlockRows, 128);
    QCOMPARE(c.expertDtype, std::string()); // Flash has no expert_dtype key
    QVERIFY(c.scoringFunc == folio::model::ScoringFunc::SqrtSoftplus);
}

void TestModelConfig::parsesProFixture() {
    FOLIO_REQUIRE_FIXTURE(path, "configs/deepseek-v4-pro.config.json");
    auto r = folio::model::loadConfig(path.toStdString());
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().c_str());
    QCOMPARE(r->hiddenSize, 7168);
    QCOMPARE(r->numHiddenLayers, 61);
    QCOMPARE(r->numAttentionHeads, 128);
    QCOMPARE(r->oGroups, 16);
    QCOMPARE(r->qLoraRank, 1536);
    QCOMPARE(r->nRoutedExperts, 384);
    QCOMPARE(r->moeIntermediateSize, 3072);
    QCOMPARE(r->routedScalingFactor, 2.5);
    QCOMPARE(r->indexTopk, 1024);
    QCOMPARE(int(r->compressRatios.size()), 62);
    QCOMPARE(r->compressRatio(0), 128);
    QCOMPARE(r->expertDtype, std::string("fp4"));
}

void TestModelConfig::parsesBaseAndDefaults() {
    QJsonObject o = baseConfig();
    o.remove("num_key_value_heads");
    o.remove("quantization_config");
    o["rope_scaling"] = QJsonValue::Null;
    auto r = folio::model::parseConfig(text(o), "base.json");
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().c_str());
    QCOMPARE(r->numKeyValueHeads, 1);
    QCOMPARE(r->quantMethod, std::string()); // unquantized
    QCOMPARE(r->ropeScaling.type, std::string());
}

void TestModelConfig::rejects_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QJsonValue>("value"); // Undefined: remove the key
    QTest::addColumn<QString>("message");
    const QJsonValue remove(QJsonValue::Undefined);
    QTest::newRow("string int") << "hidden_size" << QJsonValue("4096")
                                << "bad.json: key 'hidden_size': expected an integer, got \"4096\"";
    QTest::newRow("negative") << "hidden_size" << QJsonValue(-1)
                              << "bad.json: key 'hidden_size': expected an integer >= 1, got -1";
    QTest::newRow("fractional") << "num_attention_heads" << QJsonValue(64.5)
                                << "bad.json: key 'num_attention_heads': expected an integer, got 64.5";
    QTest::newRow("missing") << "head_dim" << remove << "bad.json: key 'head_dim': missing";
    QTest::newRow("model type") << "model_type" << QJsonValue("deepseek_v3")
                                << "bad.json: key 'model_type': expected \"deepseek_v4\", got \"deepseek_v3\"";
    QTest::newRow("ratios length") << "compress_ratios" << QJsonValue(QJsonArray{0, 0, 4, 128})
                                   << "bad.json: key 'compress_ratios': has 4 entries, expected num_hidden_layers + "
                                      "num_nextn_predict_layers = 5";
    QTest::newRow("ratio value") << "compress_ratios" << QJsonValue(QJsonArray{0, 0, 8, 128, 0})
                                 << "bad.json: key 'compress_ratios': entry 2 is 8, expected 0, 4 or 128";
    QTest::newRow("ratio type") << "compress_ratios" << QJsonValue(QJsonArray{0, "4", 4, 128, 0})
                                << "bad.json: key 'compress_ratios': entry 1 is \"4\", expected 0, 4 or 128";
    QTest::newRow("mtp ratio") << "compress_ratios" << QJsonValue(QJsonArray{0, 0, 4, 128, 4})
                               << "bad.json: key 'compress_ratios': entry 4 (an MTP layer) is 4, expected 0 (MTP "
                                  "layers use the window only)";
    QTest::newRow("head dim") << "head_dim" << QJsonValue(64)
                              << "bad.json: key 'head_dim': 64 must exceed qk_rope_head_dim 64";
    // 96 was accepted and then overran the Hadamard rotation's buffer (double free, rc 134).
    QTest::newRow("index head dim") << "index_head_dim" << QJsonValue(96)
                                    << "bad.json: key 'index_head_dim': 96 is not a power of two in [2, 1024] (the "
                                       "indexer's Hadamard rotation needs one)";
    QTest::newRow("groups") << "o_groups" << QJsonValue(7)
                            << "bad.json: key 'o_groups': 7 does not divide num_attention_heads 64";
    QTest::newRow("topk") << "num_experts_per_tok" << QJsonValue(300)
                          << "bad.json: key 'num_experts_per_tok': 300 exceeds n_routed_experts 256";
    QTest::newRow("kv heads") << "num_key_value_heads" << QJsonValue(2)
                              << "bad.json: key 'num_key_value_heads': expected 1 (one shared KV), got 2";
    QTest::newRow("hash layers") << "num_hash_layers" << QJsonValue(5)
                                 << "bad.json: key 'num_hash_layers': 5 exceeds num_hidden_layers 4";
    QTest::newRow("eps") << "hc_eps" << QJsonValue(0)
                         << "bad.json: key 'hc_eps': expected a positive finite number, got 0";
    QTest::newRow("bool") << "norm_topk_prob" << QJsonValue(1)
                          << "bad.json: key 'norm_topk_prob': expected true or false, got 1";
    QTest::newRow("scoring") << "scoring_func" << QJsonValue("relu")
                             << "bad.json: key 'scoring_func': expected sqrtsoftplus, softmax or sigmoid, got \"relu\"";
    QTest::newRow("expert dtype") << "expert_dtype" << QJsonValue("int4")
                                  << "bad.json: key 'expert_dtype': expected \"fp4\" or \"fp8\", got \"int4\"";
    QTest::newRow("bos") << "bos_token_id" << QJsonValue(129280)
                         << "bad.json: key 'bos_token_id': 129280 is outside vocab_size 129280";
    QTest::newRow("rope factor")
        << "rope_scaling"
        << QJsonValue(QJsonObject{{"type", "yarn"}, {"factor", "x"}, {"original_max_position_embeddings", 65536}})
        << "bad.json: key 'rope_scaling.factor': expected a number, got \"x\"";
    QTest::newRow("rope type") << "rope_scaling"
                               << QJsonValue(QJsonObject{{"type", "linear"}, {"factor", 2},
                                                         {"original_max_position_embeddings", 65536}})
                               << "bad.json: key 'rope_scaling.type': unsupported rope scaling \"linear\" (only yarn)";
    QTest::newRow("quant fmt") << "quantization_config"
                               << QJsonValue(QJsonObject{{"quant_method", "fp8"}, {"fmt", "e5m2"}})
                               << "bad.json: key 'quantization_config.fmt': unsupported value \"e5m2\" (only e4m3)";
    QTest::newRow("block size") << "quantization_config"
                                << QJsonValue(QJsonObject{{"quant_method", "fp8"}, {"weight_block_size", QJsonArray{128}}})
                                << "bad.json: key 'quantization_config.weight_block_size': expected two positive "
                                   "integers, got [128]";
    QTest::newRow("fp4 width") << "moe_intermediate_size" << QJsonValue(2047)
                               << "bad.json: key 'moe_intermediate_size': 2047 is not a multiple of 32 (fp4 expert "
                                  "scales)";
}

void TestModelConfig::rejects() {
    QFETCH(QString, key);
    QFETCH(QJsonValue, value);
    QFETCH(QString, message);
    QJsonObject o = baseConfig();
    if (value.isUndefined()) o.remove(key);
    else o[key] = value;
    auto r = folio::model::parseConfig(text(o), "bad.json");
    QVERIFY(!r.ok());
    QCOMPARE(QString::fromStdString(r.error()), message);
}

void TestModelConfig::missingFileNamesThePath() {
    auto r = folio::model::loadConfig("/nonexistent/config.json");
    QVERIFY(!r.ok());
    QCOMPARE(QString::fromStdString(r.error()), QString("/nonexistent/config.json: cannot open"));
    auto j = folio::model::parseConfig("{\"hidden_size\": ", "x.json");
    QCOMPARE(QString::fromStdString(j.error()), QString("x.json: not valid JSON"));
    auto a = folio::model::parseConfig("[1, 2]", "x.json");
    QCOMPARE(QString::fromStdString(a.error()), QString("x.json: expected a JSON object at the top level"));
}

QTEST_APPLESS_MAIN(TestModelConfig)
#include "test_model_config.moc"
