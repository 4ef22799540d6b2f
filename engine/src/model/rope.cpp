#include "rope.h"

#include <algorithm>
#include <cmath>

namespace folio::model {

std::vector<double> ropeFrequencies(int dim, double base, const RopeScaling* yarn) {
    std::vector<double> f(std::size_t(dim / 2));
    for (int i = 0; i < dim / 2; ++i) f[std::size_t(i)] = std::pow(base, -2.0 * i / dim);
    if (!yarn || yarn->type != "yarn" || yarn->factor <= 1.0) return f;
    const double orig = double(yarn->originalMaxPositionEmbeddings);
    const double pi = 3.14159265358979323846;
    // Dimension index at which a frequency completes `rotations` turns over the original context.
    auto correction = [&](double rotations) {
        return dim * std::log(orig / (rotations * 2.0 * pi)) / (2.0 * std::log(base));
    };
    double low = std::floor(correction(yarn->betaFast));
    double high = std::ceil(correction(yarn->betaSlow));
    low = std::max(low, 0.0);
    high = std::min(high, double(dim - 1));
    if (high == low) high += 0.001;
    for (int i = 0; i < dim / 2; ++i) {
        const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
        f[std::size_t(i)] = f[std::size_t(i)] / yarn->factor * ramp + f[std::size_t(i)] * (1.0 - ramp);
    }
    return f;
}

Rope::Rope(const ModelConfig& cfg, bool compressed) : dim_(cfg.qkRopeHeadDim) {
    freq_ = compressed ? ropeFrequencies(dim_, cfg.compressRopeTheta, &cfg.ropeScaling)
                       : ropeFrequencies(dim_, cfg.ropeTheta, nullptr);
}

void Rope::apply(float* x, std::int64_t pos, bool inverse) const {
    const double p = double(pos);
    for (int i = 0; i < dim_ / 2; ++i) {
        const double a = p * freq_[std::size_t(i)];
        const float c = float(std::cos(a));
        const float s = inverse ? -float(std::sin(a)) : float(std::sin(a));
        const float x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * c - x1 * s;
        x[2 * i + 1] = x0 * s + x1 * c;
    }
}

} // namespace folio::model
