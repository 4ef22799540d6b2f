#include "ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace folio::model {

void rmsNorm(const float* x, const float* w, int n, float eps, float* y) {
    double ss = 0.0;
    for (int i = 0; i < n; ++i) ss += double(x[i]) * x[i];
    const float r = float(1.0 / std::sqrt(ss / n + eps));
    if (w)
        for (int i = 0; i < n; ++i) y[i] = x[i] * r * w[i];
    else
        for (int i = 0; i < n; ++i) y[i] = x[i] * r;
}

void hadamard(float* x, int n) {
    for (int h = 1; h < n; h *= 2)
        for (int i = 0; i < n; i += 2 * h)
            for (int j = i; j < i + h; ++j) {
                const float a = x[j], b = x[j + h];
                x[j] = a + b;
                x[j + h] = a - b;
            }
    const float s = float(1.0 / std::sqrt(double(n)));
    for (int i = 0; i < n; ++i) x[i] *= s;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// log(1 + e^x) without overflow or needless underflow.
float softplus(float x) { return std::fmax(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }

std::vector<std::int32_t> topKIndices(const float* scores, std::int64_t count, std::int64_t k) {
    std::vector<std::int32_t> idx(static_cast<std::size_t>(count));
    std::iota(idx.begin(), idx.end(), 0);
    auto better = [&](std::int32_t a, std::int32_t b) {
        return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    };
    if (count > k) {
        std::nth_element(idx.begin(), idx.begin() + k, idx.end(), better);
        idx.resize(static_cast<std::size_t>(k));
    }
    std::sort(idx.begin(), idx.end(), better);
    return idx;
}

} // namespace folio::model
