// A deliberately simple DeepSeek-V4 forward pass in float64, one token at a time, written straight
// from deepseek-v4.md section 4. It shares nothing with the fast path beyond the loader (config and
// tensor lookup): its own dequantization, quantization round trips, RoPE, mHC, compressors,
// indexer, attention and MoE. It keeps the whole history and recomputes what it needs: slow and
// obvious on purpose. Used by tests to check the fast path.
#pragma once

#include "model_io/config.h"
#include "model_io/tensor.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace folio::reference {

using Vec = std::vector<double>;

class ReferenceModel {
public:
    using Lookup = std::function<const model::TensorView*(const std::string&)>;
    // quantize = false skips every quantize-dequantize round trip (activations, KV, indexer).
    ReferenceModel(const model::ModelConfig& cfg, Lookup lookup, bool quantize = true);

    // Consumes `token` at the next position and returns that position's logits [vocab].
    Vec step(std::int32_t token);
    std::int64_t position() const { return pos_; }

    // The MTP block (deepseek-v4.md section 4, MTP) at the last consumed position t, given the
    // token at t+1: logits predicting the token at t+2. Call after step() for position t.
    Vec mtpStep(std::int32_t nextToken);

private:
    struct Matrix {
        std::int64_t rows = 0, cols = 0;
        Vec v; // row-major
    };
    struct Layer {
        std::vector<Vec> kv;               // every position's kv [headDim]
        std::vector<Vec> a, g;             // every position's compressor rows (g with ape)
        std::vector<Vec> entries;          // compressed entries
        std::vector<Vec> ia, ig, ientries; // indexer compressor
    };

    const Matrix& mat(const std::string& prefix, std::int64_t rows, std::int64_t cols);
    const Vec& vec(const std::string& name);
    Vec matvec(const std::string& prefix, std::int64_t rows, std::int64_t cols, const Vec& x, bool quantizeInput);
    Vec matvecRows(const std::string& prefix, std::int64_t rows, std::int64_t cols, std::int64_t r0, std::int64_t nr,
                   const Vec& x, bool quantizeInput);

    Vec rmsNorm(const Vec& x, const Vec* w) const;
    void rope(double* x, std::int64_t pos, bool compressed, bool inverse) const;
    Vec hcPre(const std::string& prefix, const std::vector<Vec>& h, Vec* post, std::vector<Vec>* comb, bool head);
    Vec attention(int layer, const std::string& p, int ratio, const Vec& x);
    Vec compressEntry(const std::vector<Vec>& a, const std::vector<Vec>& g, std::int64_t j, int ratio, int d,
                      const std::string& prefix, bool indexer);
    Vec moe(const std::string& p, bool hashed, const Vec& x, std::int32_t token);
    Vec expert(const std::string& p, std::int64_t inter, const Vec& x, double weight);
    // One block (mHC + attention + mHC + MoE) on residual copies h, in place.
    void block(int layerIndex, const std::string& p, int ratio, bool hashed, std::int32_t token, std::vector<Vec>& h);
    Vec headLogits(const std::string& hcPrefix, const std::string& normName, const std::vector<Vec>& h);

    model::ModelConfig cfg_;
    Lookup lookup_;
    std::map<std::string, Matrix> mats_;
    std::map<std::string, Vec> vecs_;
    std::vector<Layer> layers_;
    std::int64_t pos_ = 0;
    std::int64_t curPos_ = 0;       // position the layers are computing
    std::vector<Vec> lastHidden_;   // residual copies after the last layer at position pos_ - 1
    bool quantize_ = true;
};

// The independent number-format helpers of the reference (exposed for tests).
double refE4m3(std::uint8_t b);
double refE2m1(std::uint8_t nibble);
// Nearest e4m3 / e2m1 value by search over all codes, ties to the code with the even mantissa bit.
double refRoundE4m3(double x);
double refRoundE2m1(double x);
void refQuantRoundTrip(double* x, std::int64_t n, std::int64_t block, bool fp4);

} // namespace folio::reference
