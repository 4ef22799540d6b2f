// DeepSeek-V4 configuration, read from a checkpoint's config.json (deepseek-v4.md section 1).
// Every value comes from the file; nothing is hard-coded to Flash or Pro.
#pragma once

#include "folio/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace folio::model {

enum class ScoringFunc : int { SqrtSoftplus = 0, Softmax = 1, Sigmoid = 2 };

struct RopeScaling {
    std::string type;             // "yarn" or "" (none)
    double factor = 1.0;
    std::int64_t originalMaxPositionEmbeddings = 0;
    double betaFast = 32.0;
    double betaSlow = 1.0;
};

struct ModelConfig {
    std::string modelType;        // "deepseek_v4"
    int hiddenSize = 0;           // D
    int numHiddenLayers = 0;
    int numAttentionHeads = 0;    // H
    int numKeyValueHeads = 1;
    int headDim = 0;              // 512
    int qkRopeHeadDim = 0;        // 64 (the LAST dims of each head)
    int qLoraRank = 0;
    int oLoraRank = 0;
    int oGroups = 0;              // G
    int vocabSize = 0;
    int moeIntermediateSize = 0;
    int nRoutedExperts = 0;
    int nSharedExperts = 0;
    int numExpertsPerTok = 0;
    ScoringFunc scoringFunc = ScoringFunc::SqrtSoftplus;
    std::string topkMethod;       // "noaux_tc"
    bool normTopkProb = true;
    double routedScalingFactor = 1.0;
    int numHashLayers = 0;
    double swigluLimit = 0.0;     // 0 = no clamp
    int numNextnPredictLayers = 0;
    int slidingWindow = 0;
    std::vector<int> compressRatios; // size numHiddenLayers + numNextnPredictLayers
    double ropeTheta = 10000.0;
    double compressRopeTheta = 10000.0;
    RopeScaling ropeScaling;
    std::int64_t maxPositionEmbeddings = 0;
    int indexNHeads = 0;
    int indexHeadDim = 0;
    int indexTopk = 0;
    int hcMult = 0;
    int hcSinkhornIters = 0;
    double hcEps = 0.0;
    double rmsNormEps = 1e-6;
    bool tieWordEmbeddings = false;
    int bosTokenId = 0;
    int eosTokenId = 1;
    // quantization_config
    std::string quantMethod;      // "fp8" or "" when unquantized
    std::string quantFmt;         // "e4m3"
    std::string scaleFmt;         // "ue8m0"
    int weightBlockRows = 128;
    int weightBlockCols = 128;
    std::string expertDtype;      // "fp4", "fp8" or "" (detected from the tensors when absent)

    // Attention type of layer `l` (l == numHiddenLayers is the first MTP layer): 0 SWA, 4 CSA,
    // 128 HCA, as compress_ratios says.
    int compressRatio(int layer) const {
        return layer < int(compressRatios.size()) ? compressRatios[std::size_t(layer)] : 0;
    }
};

// Parses config.json text; errors name the key and what was wrong with it. `source` names the file
// in messages.
Result<ModelConfig> parseConfig(const std::string& jsonText, const std::string& source);
Result<ModelConfig> loadConfig(const std::string& path);

// The cross-key checks parseConfig makes (what shapes and kernels depend on), for a config from
// elsewhere (a GGUF file's metadata): empty when consistent, else a message naming the key.
std::string checkConfigConsistency(const ModelConfig& c);

} // namespace folio::model
