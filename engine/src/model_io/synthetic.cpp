// make-model: presets, config.json, the tokenizer, and the sharded, streamed checkpoint.
#include "synthetic.h"

#include "safetensors.h"
#include "synthetic_weights.h"

#include "folio/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include <unistd.h>

namespace folio::model {

namespace {

using ojson = nlohmann::ordered_json;

// What every preset's tokenizer is trained to (before its special tokens); tiny's vocab_size follows
// the tokenizer, the shaped presets keep the real 129280 rows.
constexpr int kTinyTokenizerVocab = 512;
constexpr int kRealVocab = 129280;

// Files that matter are written whole, then renamed into place.
Status writeFileAtomic(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".partial";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) return makeError(tmp + ": cannot create: " + std::strerror(errno));
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                    ::fsync(::fileno(f)) == 0;
    if (std::fclose(f) != 0 || !ok) {
        ::unlink(tmp.c_str());
        return makeError(tmp + ": write failed");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) return makeError(path + ": cannot rename into place");
    return {};
}

// The training text of the tiny models' tokenizer: prose, code, numbers, markup and a little CJK,
// written for this purpose, so that the merges cover the kinds of text Folio reads.
constexpr std::string_view kTokenizerCorpus[] = {
    "The reader opens a whole book at once and keeps every chapter in view. When a question comes, "
    "the model looks back over the text it has already read, finds the passage that matters and "
    "answers in plain words. A good answer names the chapter, quotes the line and says why it fits. "
    "The letters, the diaries and the notes in the margins all belong to the same story; the order "
    "in which they were written is not the order in which they are told.",
    "She walked along the river in the early morning, counting the boats that passed. There were "
    "seven of them before the bells rang, and three more after. Nobody asked her where she was "
    "going, and she did not say. In the evening the wind turned, the rain came, and the town was "
    "quiet again until the lamps were lit one by one along the street.",
    "int main(int argc, char** argv) {\n    std::vector<std::string> args(argv + 1, argv + argc);\n"
    "    for (const std::string& a : args) {\n        if (a == \"--help\") return usage();\n    }\n"
    "    return run(args);\n}\n",
    "def read_config(path):\n    with open(path, encoding=\"utf-8\") as f:\n        config = json.load(f)\n"
    "    if config.get(\"model_type\") != \"deepseek_v4\":\n        raise ValueError(\"unexpected model type\")\n"
    "    return config\n\nclass Cache:\n    def __init__(self, size):\n        self.size = size\n"
    "        self.entries = {}\n",
    "commit 3f9a2c1 Fix the window ring when a chunk crosses a block boundary\n"
    "Author: A. Developer <dev@example.org>\nDate: 2026-03-14 09:26:53\n\n"
    "    The compressor kept the partial block of the previous chunk only for ratio 128; ratio 4 lost\n"
    "    the overlap rows. Tests: 1, 2, 3, 10, 100, 1000, 65536 and 1048576 tokens.\n",
    "| layer | ratio | entries |\n|---|---|---|\n| 0 | 0 | 128 |\n| 2 | 4 | 262144 |\n| 3 | 128 | 8192 |\n"
    "Total: 3.5% of 1,048,576 positions at 0.25 ms per token; 12.5 GB/s; 42 files, 7,301 lines.",
    "<html><head><title>Chapter One</title></head><body><p>It was the first day of spring.</p>"
    "<p>The garden was full of light.</p></body></html>",
    "\xe6\x98\xa5\xe5\xa4\xa9\xe7\x9a\x84\xe7\xac\xac\xe4\xb8\x80\xe5\xa4\xa9\xef\xbc\x8c"
    "\xe8\x8a\xb1\xe5\x9b\xad\xe9\x87\x8c\xe5\x85\x85\xe6\xbb\xa1\xe4\xba\x86\xe5\x85\x89\xe3\x80\x82 "
    "Ein Buch, das man ganz liest. Un livre que l'on lit en entier. Una historia contada dos veces.",
};

// Real values serialise as integers where the real config.json has integers (rope_theta 10000).
ojson num(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return ojson(std::int64_t(v));
    return ojson(v);
}

int realFlashRatio(int layer) { return layer < 2 ? 0 : (layer % 2 == 0 ? 4 : 128); }
int realProRatio(int layer) { return layer < 2 ? 128 : (layer % 2 == 0 ? 4 : 128); }

} // namespace

bool parseSyntheticPreset(const std::string& name, SyntheticPreset* out) {
    if (name == "tiny") *out = SyntheticPreset::Tiny;
    else if (name == "flash-shape") *out = SyntheticPreset::FlashShape;
    else if (name == "pro-shape") *out = SyntheticPreset::ProShape;
    else return false;
    return true;
}

Result<TokenizerInfo> writeTokenizer(const std::string& dir, int vocabSize) {
    // A byte-level BPE with DeepSeek's pre-tokenizer, trained on the built-in corpus: 256 byte tokens,
    // up to vocabSize - 256 merges (fewer if the corpus runs out of pairs), then the special tokens.
    const std::vector<std::string_view> corpus(std::begin(kTokenizerCorpus), std::end(kTokenizerCorpus));
    auto text = trainByteLevelBpe(corpus, vocabSize, defaultSpecialTokens());
    if (!text) return makeError("make-model: tokenizer training failed: " + text.error());
    // Read it back through the engine's loader: the ids the config needs come from the tokenizer.
    auto tok = Tokenizer::loadFromString(*text, dir + "/tokenizer.json");
    if (!tok) return makeError("make-model: the trained tokenizer does not load: " + tok.error());
    const TokenizerInfo info{(*tok)->vocabSize(), (*tok)->bosId(), (*tok)->eosId()};
    if (info.bosId < 0 || info.eosId < 0) return makeError("make-model: the trained tokenizer has no BOS or EOS token");
    if (Status s = writeFileAtomic(dir + "/tokenizer.json", *text + "\n"); !s) return makeError(s.error());

    const std::vector<std::string> specials = defaultSpecialTokens();
    const ojson tcfg = {{"add_bos_token", false},          {"add_eos_token", false},
                        {"bos_token", specials[0]},        {"eos_token", specials[1]},
                        {"clean_up_tokenization_spaces", false}, {"model_max_length", 1048576},
                        {"tokenizer_class", "PreTrainedTokenizerFast"}};
    if (Status s = writeFileAtomic(dir + "/tokenizer_config.json", tcfg.dump(2) + "\n"); !s) return makeError(s.error());
    return info;
}

Result<ModelConfig> syntheticConfig(const SyntheticOptions& o, const TokenizerInfo& tok) {
    if (o.layers < 0 || o.experts < 0) return makeError("make-model: --layers and --experts must be positive");
    ModelConfig c;
    c.modelType = "deepseek_v4";
    c.numKeyValueHeads = 1;
    c.headDim = 512;
    c.qkRopeHeadDim = 64;
    c.oLoraRank = 1024;
    c.nSharedExperts = 1;
    c.numExpertsPerTok = 6;
    c.scoringFunc = ScoringFunc::SqrtSoftplus;
    c.topkMethod = "noaux_tc";
    c.normTopkProb = true;
    c.swigluLimit = 10.0;
    c.numNextnPredictLayers = 1;
    c.slidingWindow = 128;
    c.ropeTheta = 10000;
    c.compressRopeTheta = 160000;
    c.ropeScaling = RopeScaling{"yarn", 16, 65536, 32, 1};
    c.maxPositionEmbeddings = 1048576;
    c.indexNHeads = 64;
    c.indexHeadDim = 128;
    c.hcMult = 4;
    c.hcSinkhornIters = 20;
    c.hcEps = 1e-6;
    c.rmsNormEps = 1e-6;
    c.tieWordEmbeddings = false;
    c.bosTokenId = tok.bosId;
    c.eosTokenId = tok.eosId;
    c.quantMethod = "fp8";
    c.quantFmt = "e4m3";
    c.scaleFmt = "ue8m0";
    c.weightBlockRows = c.weightBlockCols = 128;
    c.expertDtype = "fp4";

    const int experts = o.experts > 0 ? o.experts : 16;
    switch (o.preset) {
    case SyntheticPreset::Tiny: {
        // Every structural relation of the real model at small width: head_dim 512 with 64 rope dims,
        // H divisible by o_groups, all three attention types, hash and biased routing, an MTP block,
        // index_topk 8 so that top-k selection excludes entries after a few dozen tokens. Every fp8
        // dimension is a multiple of 128: transformers' dequantizer derives the block size from the
        // scale grid (rows / scale rows), which is wrong for partial blocks, and the tiny model is
        // meant to be loadable there as an independent reference.
        const int L = o.layers > 0 ? o.layers : 6;
        c.hiddenSize = 256;
        c.numHiddenLayers = L;
        c.numAttentionHeads = 8;
        c.qLoraRank = 256;
        c.oLoraRank = 128;
        c.oGroups = 2;
        c.vocabSize = (tok.vocabSize + 63) / 64 * 64;
        c.moeIntermediateSize = 128;
        c.nRoutedExperts = experts;
        c.numExpertsPerTok = std::min(6, experts);
        c.routedScalingFactor = 1.5;
        c.numHashLayers = std::min(2, L - 1);
        c.indexNHeads = 8;
        c.indexTopk = 8;
        for (int l = 0; l < L; ++l) c.compressRatios.push_back(l == 0 ? 0 : (l % 2 == 1 ? 4 : 128));
        break;
    }
    case SyntheticPreset::FlashShape:
    case SyntheticPreset::ProShape: {
        const bool pro = o.preset == SyntheticPreset::ProShape;
        const int realLayers = pro ? 61 : 43;
        const int L = o.layers > 0 ? o.layers : 2;
        c.hiddenSize = pro ? 7168 : 4096;
        c.numHiddenLayers = L;
        c.numAttentionHeads = pro ? 128 : 64;
        c.qLoraRank = pro ? 1536 : 1024;
        c.oGroups = pro ? 16 : 8;
        c.vocabSize = std::max(kRealVocab, (tok.vocabSize + 63) / 64 * 64);
        c.moeIntermediateSize = pro ? 3072 : 2048;
        c.nRoutedExperts = experts;
        c.numExpertsPerTok = std::min(6, experts);
        c.routedScalingFactor = pro ? 2.5 : 1.5;
        c.indexTopk = pro ? 1024 : 512;
        // The last L layers of the real mix (they end ..., 128, 4), so that two layers already hold
        // a CSA and an HCA; at least one layer stays biased-routed.
        c.numHashLayers = std::min(3, std::max(L - 1, 0));
        const int first = std::max(0, realLayers - L);
        for (int l = 0; l < L; ++l)
            c.compressRatios.push_back(pro ? realProRatio(first + l) : realFlashRatio(first + l));
        if (!pro) c.expertDtype.clear(); // Flash's config.json has no expert_dtype key
        break;
    }
    }
    for (int k = 0; k < c.numNextnPredictLayers; ++k) c.compressRatios.push_back(0);
    return c;
}

std::string configToJson(const ModelConfig& c) {
    ojson j = ojson::object();
    j["architectures"] = {"DeepseekV4ForCausalLM"};
    j["attention_bias"] = false;
    j["attention_dropout"] = 0.0;
    j["bos_token_id"] = c.bosTokenId;
    j["eos_token_id"] = c.eosTokenId;
    if (!c.expertDtype.empty()) j["expert_dtype"] = c.expertDtype;
    j["hc_eps"] = c.hcEps;
    j["hc_mult"] = c.hcMult;
    j["hc_sinkhorn_iters"] = c.hcSinkhornIters;
    j["head_dim"] = c.headDim;
    j["hidden_act"] = "silu";
    j["hidden_size"] = c.hiddenSize;
    j["index_head_dim"] = c.indexHeadDim;
    j["index_n_heads"] = c.indexNHeads;
    j["index_topk"] = c.indexTopk;
    j["initializer_range"] = 0.02;
    j["max_position_embeddings"] = c.maxPositionEmbeddings;
    j["model_type"] = c.modelType;
    j["moe_intermediate_size"] = c.moeIntermediateSize;
    j["n_routed_experts"] = c.nRoutedExperts;
    j["n_shared_experts"] = c.nSharedExperts;
    j["norm_topk_prob"] = c.normTopkProb;
    j["num_attention_heads"] = c.numAttentionHeads;
    j["num_experts_per_tok"] = c.numExpertsPerTok;
    j["num_hidden_layers"] = c.numHiddenLayers;
    j["num_hash_layers"] = c.numHashLayers;
    j["num_key_value_heads"] = c.numKeyValueHeads;
    j["num_nextn_predict_layers"] = c.numNextnPredictLayers;
    j["o_groups"] = c.oGroups;
    j["o_lora_rank"] = c.oLoraRank;
    j["q_lora_rank"] = c.qLoraRank;
    j["qk_rope_head_dim"] = c.qkRopeHeadDim;
    if (!c.quantMethod.empty())
        j["quantization_config"] = {{"activation_scheme", "dynamic"},
                                    {"fmt", c.quantFmt},
                                    {"quant_method", c.quantMethod},
                                    {"scale_fmt", c.scaleFmt},
                                    {"weight_block_size", {c.weightBlockRows, c.weightBlockCols}}};
    j["rms_norm_eps"] = c.rmsNormEps;
    if (!c.ropeScaling.type.empty())
        j["rope_scaling"] = {{"beta_fast", num(c.ropeScaling.betaFast)},
                             {"beta_slow", num(c.ropeScaling.betaSlow)},
                             {"factor", num(c.ropeScaling.factor)},
                             {"original_max_position_embeddings", c.ropeScaling.originalMaxPositionEmbeddings},
                             {"type", c.ropeScaling.type}};
    j["rope_theta"] = num(c.ropeTheta);
    j["routed_scaling_factor"] = c.routedScalingFactor;
    j["scoring_func"] = c.scoringFunc == ScoringFunc::SqrtSoftplus ? "sqrtsoftplus"
                        : c.scoringFunc == ScoringFunc::Softmax    ? "softmax"
                                                                   : "sigmoid";
    j["sliding_window"] = c.slidingWindow;
    j["swiglu_limit"] = c.swigluLimit;
    j["tie_word_embeddings"] = c.tieWordEmbeddings;
    j["topk_method"] = c.topkMethod;
    j["torch_dtype"] = "bfloat16";
    j["transformers_version"] = "4.57.1";
    j["use_cache"] = true;
    j["vocab_size"] = c.vocabSize;
    j["compress_rope_theta"] = num(c.compressRopeTheta);
    j["compress_ratios"] = c.compressRatios;
    return j.dump(2) + "\n";
}

Status makeSyntheticModel(const SyntheticOptions& options, const std::string& dir,
                          const std::function<void(const std::string&)>& progress) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return makeError(dir + ": cannot create directory: " + ec.message());

    auto tok = writeTokenizer(dir, kTinyTokenizerVocab); // every preset: its rows past it are unused
    if (!tok) return makeError(tok.error());
    auto made = syntheticConfig(options, *tok);
    if (!made) return makeError(made.error());
    // The config goes through the same parser as a real one: a preset that breaks a rule fails here.
    const std::string configText = configToJson(*made);
    auto cfg = parseConfig(configText, dir + "/config.json");
    if (!cfg) return makeError("make-model produced an invalid config: " + cfg.error());

    const std::vector<TensorSpec> specs = expectedTensors(*cfg);
    std::uint64_t total = 0;
    for (const TensorSpec& s : specs) total += s.bytes();
    int shards = options.shards;
    if (shards <= 0) shards = std::max<int>(3, int((total + (4ull << 30) - 1) / (4ull << 30)));
    shards = std::min<int>(shards, int(specs.size()));

    // Cut the tensor list into `shards` runs of about equal bytes, never between a weight and its
    // scale (the scale is produced with the weight).
    std::vector<std::size_t> cuts{0};
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const int k = int(cuts.size());
        if (k < shards && i > cuts.back() && !specs[i].isScale && acc >= total / std::uint64_t(shards) * std::uint64_t(k))
            cuts.push_back(i);
        acc += specs[i].bytes();
    }
    cuts.push_back(specs.size());
    const int n = int(cuts.size()) - 1;

    ojson weightMap = ojson::object();
    for (int k = 0; k < n; ++k) {
        char name[64];
        std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k + 1, n);
        std::vector<TensorDecl> decls;
        for (std::size_t i = cuts[std::size_t(k)]; i < cuts[std::size_t(k) + 1]; ++i) {
            decls.push_back({specs[i].name, specs[i].dtype, specs[i].shape});
            weightMap[specs[i].name] = name;
        }
        auto writer = SafetensorsWriter::create(dir + "/" + name, std::move(decls), {{"format", "pt"}});
        if (!writer) return makeError(writer.error());
        TensorStreamer streamer(**writer, *cfg, options.seed);
        for (std::size_t i = cuts[std::size_t(k)]; i < cuts[std::size_t(k) + 1]; ++i)
            if (Status s = streamer.write(specs[i]); !s) return s;
        if (Status s = (*writer)->finish(); !s) return s;
        if (progress) progress(std::string("wrote ") + name);
    }
    const ojson index = {{"metadata", {{"total_size", total}}}, {"weight_map", weightMap}};
    if (Status s = writeFileAtomic(dir + "/model.safetensors.index.json", index.dump(2) + "\n"); !s) return s;
    return writeFileAtomic(dir + "/config.json", configText);
}

} // namespace folio::model
