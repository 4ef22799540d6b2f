#include "folio/engine.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace folio {

namespace {

// splitmix64: a small, well-mixed generator; the same seed gives the same samples everywhere.
std::uint64_t next(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

} // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params), state_(params.seed) {}

std::int32_t Sampler::sample(std::span<const float> logits) {
    if (logits.empty()) return -1;
    if (params_.temperature <= 0.0f)
        return std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const float mx = *std::max_element(logits.begin(), logits.end());
    std::vector<std::int32_t> idx(logits.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::vector<double> p(logits.size());
    double sum = 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i) sum += (p[i] = std::exp(double(logits[i] - mx) / params_.temperature));
    std::sort(idx.begin(), idx.end(), [&](std::int32_t a, std::int32_t b) {
        return p[std::size_t(a)] > p[std::size_t(b)] || (p[std::size_t(a)] == p[std::size_t(b)] && a < b);
    });
    // Top-p: the smallest prefix of the sorted distribution whose mass reaches topP.
    std::size_t keep = idx.size();
    if (params_.topP < 1.0f) {
        double acc = 0.0;
        for (std::size_t i = 0; i < idx.size(); ++i) {
            acc += p[std::size_t(idx[i])] / sum;
            if (acc >= params_.topP) {
                keep = i + 1;
                break;
            }
        }
    }
    double kept = 0.0;
    for (std::size_t i = 0; i < keep; ++i) kept += p[std::size_t(idx[i])];
    const double u = double(next(state_) >> 11) * 0x1.0p-53 * kept;
    double acc = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
        acc += p[std::size_t(idx[i])];
        if (u < acc) return idx[i];
    }
    return idx[keep - 1];
}

} // namespace folio
