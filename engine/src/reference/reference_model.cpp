#include "reference_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace folio::reference {

using model::DType;
using model::TensorView;

// ---- number formats, written independently of kernels/formats.h --------------------------------

double refE4m3(std::uint8_t b) {
    const int sign = b >> 7, e = (b >> 3) & 15, m = b & 7;
    if (e == 15 && m == 7) return std::nan("");
    const double v = e == 0 ? m * std::pow(2.0, -9) : (1.0 + m / 8.0) * std::pow(2.0, e - 7);
    return sign ? -v : v;
}

double refE2m1(std::uint8_t nibble) {
    static const double table[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    return (nibble & 8 ? -1.0 : 1.0) * table[nibble & 7];
}

namespace {

// Nearest of the non-negative codes 0..count-1 (values increasing with the code); ties go to the
// even code (whose mantissa bit is 0).
double roundToCodes(double x, int count, double (*decode)(std::uint8_t)) {
    const double a = std::fabs(x);
    int best = 0;
    double bestErr = std::fabs(a - decode(0));
    for (int c = 1; c < count; ++c) {
        const double err = std::fabs(a - decode(std::uint8_t(c)));
        if (err < bestErr || (err == bestErr && (c & 1) == 0 && (best & 1) == 1)) {
            best = c;
            bestErr = err;
        }
    }
    const double v = decode(std::uint8_t(best));
    return x < 0 ? -v : v;
}

double bf16(std::uint16_t v) {
    std::uint32_t bits = std::uint32_t(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

double e8m0(std::uint8_t b) { return std::pow(2.0, int(b) - 127); }

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

} // namespace

double refRoundE4m3(double x) { return roundToCodes(std::clamp(x, -448.0, 448.0), 127, refE4m3); }
double refRoundE2m1(double x) { return roundToCodes(std::clamp(x, -6.0, 6.0), 8, refE2m1); }

void refQuantRoundTrip(double* x, std::int64_t n, std::int64_t block, bool fp4) {
    const double fmax = fp4 ? 6.0 : 448.0;
    for (std::int64_t b = 0; b < n; b += block) {
        const std::int64_t e = std::min(n, b + block);
        double amax = 0;
        for (std::int64_t i = b; i < e; ++i) amax = std::max(amax, std::fabs(x[i]));
        const double s = std::pow(2.0, std::ceil(std::log2(std::max(amax, 1e-4) / fmax)));
        for (std::int64_t i = b; i < e; ++i) x[i] = (fp4 ? refRoundE2m1(x[i] / s) : refRoundE4m3(x[i] / s)) * s;
    }
}

// ---- weights -----------------------------------------------------------------------------------

ReferenceModel::ReferenceModel(const model::ModelConfig& cfg, Lookup lookup, bool quantize)
    : cfg_(cfg), lookup_(std::move(lookup)), layers_(std::size_t(cfg.numHiddenLayers + cfg.numNextnPredictLayers)), quantize_(quantize) {}

const ReferenceModel::Matrix& ReferenceModel::mat(const std::string& prefix, std::int64_t rows, std::int64_t cols) {
    auto it = mats_.find(prefix);
    if (it != mats_.end()) return it->second;
    const TensorView* w = lookup_(prefix + ".weight");
    if (!w) w = lookup_(prefix); // hc_*_fn are stored without a .weight suffix
    if (!w) throw std::runtime_error("reference: missing " + prefix);
    Matrix m;
    m.rows = rows;
    m.cols = cols;
    m.v.resize(std::size_t(rows * cols));
    const std::uint8_t* d = w->data;
    if (w->dtype == DType::F32) {
        for (std::int64_t i = 0; i < rows * cols; ++i) m.v[std::size_t(i)] = reinterpret_cast<const float*>(d)[i];
    } else if (w->dtype == DType::BF16) {
        for (std::int64_t i = 0; i < rows * cols; ++i) m.v[std::size_t(i)] = bf16(reinterpret_cast<const std::uint16_t*>(d)[i]);
    } else if (w->dtype == DType::F8_E4M3) {
        const TensorView* s = lookup_(prefix + ".scale");
        const std::int64_t sc = (cols + 127) / 128;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c)
                m.v[std::size_t(r * cols + c)] = refE4m3(d[r * cols + c]) * e8m0(s->data[(r / 128) * sc + c / 128]);
    } else { // packed fp4, low nibble first, one scale per 32 inputs
        const TensorView* s = lookup_(prefix + ".scale");
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) {
                const std::uint8_t byte = d[r * (cols / 2) + c / 2];
                const std::uint8_t nib = c % 2 == 0 ? (byte & 15) : (byte >> 4);
                m.v[std::size_t(r * cols + c)] = refE2m1(nib) * e8m0(s->data[r * (cols / 32) + c / 32]);
            }
    }
    return mats_.emplace(prefix, std::move(m)).first->second;
}

const Vec& ReferenceModel::vec(const std::string& name) {
    auto it = vecs_.find(name);
    if (it != vecs_.end()) return it->second;
    const TensorView* t = lookup_(name);
    if (!t) throw std::runtime_error("reference: missing " + name);
    Vec v(std::size_t(t->numel()));
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] = t->dtype == DType::F32 ? double(reinterpret_cast<const float*>(t->data)[i])
                                      : bf16(reinterpret_cast<const std::uint16_t*>(t->data)[i]);
    return vecs_.emplace(name, std::move(v)).first->second;
}

Vec ReferenceModel::matvecRows(const std::string& prefix, std::int64_t rows, std::int64_t cols, std::int64_t r0,
                               std::int64_t nr, const Vec& xin, bool quantizeInput) {
    const Matrix& m = mat(prefix, rows, cols);
    Vec x = xin;
    if (quantizeInput && quantize_) refQuantRoundTrip(x.data(), cols, 128, false);
    Vec y(std::size_t(nr), 0.0);
    for (std::int64_t r = 0; r < nr; ++r) {
        double s = 0;
        for (std::int64_t c = 0; c < cols; ++c) s += m.v[std::size_t((r0 + r) * cols + c)] * x[std::size_t(c)];
        y[std::size_t(r)] = s;
    }
    return y;
}

Vec ReferenceModel::matvec(const std::string& prefix, std::int64_t rows, std::int64_t cols, const Vec& x,
                           bool quantizeInput) {
    return matvecRows(prefix, rows, cols, 0, rows, x, quantizeInput);
}

// ---- layer math --------------------------------------------------------------------------------

Vec ReferenceModel::rmsNorm(const Vec& x, const Vec* w) const {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double r = 1.0 / std::sqrt(ss / double(x.size()) + cfg_.rmsNormEps);
    Vec y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * (w ? (*w)[i] : 1.0);
    return y;
}

void ReferenceModel::rope(double* x, std::int64_t pos, bool compressed, bool inverse) const {
    const int d = cfg_.qkRopeHeadDim;
    const double base = compressed ? cfg_.compressRopeTheta : cfg_.ropeTheta;
    const model::RopeScaling& ys = cfg_.ropeScaling;
    const bool yarn = compressed && ys.type == "yarn" && ys.factor > 1.0;
    double low = 0, high = 1;
    if (yarn) {
        const double pi = std::acos(-1.0);
        const double orig = double(ys.originalMaxPositionEmbeddings);
        low = std::max(0.0, std::floor(d * std::log(orig / (ys.betaFast * 2 * pi)) / (2 * std::log(base))));
        high = std::min(double(d - 1), std::ceil(d * std::log(orig / (ys.betaSlow * 2 * pi)) / (2 * std::log(base))));
        if (low == high) high += 0.001;
    }
    for (int i = 0; i < d / 2; ++i) {
        double f = std::pow(base, -2.0 * i / d);
        if (yarn) {
            const double ramp = std::min(1.0, std::max(0.0, (i - low) / (high - low)));
            f = f / ys.factor * ramp + f * (1 - ramp);
        }
        const double a = double(pos) * f * (inverse ? -1.0 : 1.0);
        const double x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * std::cos(a) - x1 * std::sin(a);
        x[2 * i + 1] = x0 * std::sin(a) + x1 * std::cos(a);
    }
}

Vec ReferenceModel::hcPre(const std::string& p, const std::vector<Vec>& h, Vec* post, std::vector<Vec>* comb,
                          bool head) {
    const int hc = cfg_.hcMult;
    const std::int64_t D = cfg_.hiddenSize;
    Vec v;
    for (const Vec& c : h) v.insert(v.end(), c.begin(), c.end());
    const std::int64_t nm = head ? hc : (2 + hc) * hc;
    Vec mixes = matvec(p + "_fn", nm, hc * D, v, false);
    double ss = 0;
    for (double a : v) ss += a * a;
    const double r = 1.0 / std::sqrt(ss / double(v.size()) + cfg_.rmsNormEps);
    for (double& m : mixes) m *= r;
    const Vec& base = vec(p + "_base");
    const Vec& scale = vec(p + "_scale");
    Vec x(std::size_t(D), 0.0);
    for (int i = 0; i < hc; ++i) {
        const double pre = sigmoid(mixes[std::size_t(i)] * scale[0] + base[std::size_t(i)]) + cfg_.hcEps;
        for (std::int64_t k = 0; k < D; ++k) x[std::size_t(k)] += pre * h[std::size_t(i)][std::size_t(k)];
    }
    if (head) return x;
    post->assign(std::size_t(hc), 0);
    for (int i = 0; i < hc; ++i)
        (*post)[std::size_t(i)] = 2 * sigmoid(mixes[std::size_t(hc + i)] * scale[1] + base[std::size_t(hc + i)]);
    std::vector<Vec> C(static_cast<std::size_t>(hc), Vec(static_cast<std::size_t>(hc)));
    for (int i = 0; i < hc; ++i) {
        double mx = -1e300;
        for (int j = 0; j < hc; ++j) {
            C[std::size_t(i)][std::size_t(j)] = mixes[std::size_t(2 * hc + i * hc + j)] * scale[2] + base[std::size_t(2 * hc + i * hc + j)];
            mx = std::max(mx, C[std::size_t(i)][std::size_t(j)]);
        }
        double s = 0;
        for (int j = 0; j < hc; ++j) s += std::exp(C[std::size_t(i)][std::size_t(j)] - mx);
        for (int j = 0; j < hc; ++j) C[std::size_t(i)][std::size_t(j)] = std::exp(C[std::size_t(i)][std::size_t(j)] - mx) / s + cfg_.hcEps;
    }
    auto cols = [&] {
        for (int j = 0; j < hc; ++j) {
            double s = 0;
            for (int i = 0; i < hc; ++i) s += C[std::size_t(i)][std::size_t(j)];
            for (int i = 0; i < hc; ++i) C[std::size_t(i)][std::size_t(j)] /= s + cfg_.hcEps;
        }
    };
    auto rows = [&] {
        for (int i = 0; i < hc; ++i) {
            double s = 0;
            for (int j = 0; j < hc; ++j) s += C[std::size_t(i)][std::size_t(j)];
            for (int j = 0; j < hc; ++j) C[std::size_t(i)][std::size_t(j)] /= s + cfg_.hcEps;
        }
    };
    cols();
    for (int it = 1; it < cfg_.hcSinkhornIters; ++it) {
        rows();
        cols();
    }
    *comb = C;
    return x;
}

Vec ReferenceModel::compressEntry(const std::vector<Vec>& a, const std::vector<Vec>& g, std::int64_t j, int ratio,
                                  int d, const std::string& p, bool indexer) {
    Vec c(static_cast<std::size_t>(d));
    for (int k = 0; k < d; ++k) {
        std::vector<std::pair<double, double>> slots; // (score, value)
        if (ratio == 4) {
            if (j > 0)
                for (std::int64_t t = 4 * (j - 1); t < 4 * j; ++t) slots.push_back({g[std::size_t(t)][std::size_t(k)], a[std::size_t(t)][std::size_t(k)]});
            for (std::int64_t t = 4 * j; t < 4 * j + 4; ++t) slots.push_back({g[std::size_t(t)][std::size_t(d + k)], a[std::size_t(t)][std::size_t(d + k)]});
        } else {
            for (std::int64_t t = j * ratio; t < (j + 1) * ratio; ++t) slots.push_back({g[std::size_t(t)][std::size_t(k)], a[std::size_t(t)][std::size_t(k)]});
        }
        double mx = -1e300;
        for (auto& s : slots) mx = std::max(mx, s.first);
        double num = 0, den = 0;
        for (auto& s : slots) {
            num += std::exp(s.first - mx) * s.second;
            den += std::exp(s.first - mx);
        }
        c[std::size_t(k)] = num / den;
    }
    c = rmsNorm(c, &vec(p + ".norm.weight"));
    const int rd = cfg_.qkRopeHeadDim;
    rope(c.data() + d - rd, j * ratio, true, false);
    if (indexer) {
        Vec hd(std::size_t(d), 0.0); // Hadamard as a dense matrix: H[i][k] = (-1)^popcount(i & k) / sqrt(d)
        for (int i = 0; i < d; ++i)
            for (int k = 0; k < d; ++k) hd[std::size_t(i)] += (__builtin_popcount(unsigned(i & k)) % 2 ? -1.0 : 1.0) * c[std::size_t(k)];
        for (double& v : hd) v /= std::sqrt(double(d));
        if (quantize_) refQuantRoundTrip(hd.data(), d, 32, true);
        return hd;
    }
    if (quantize_) refQuantRoundTrip(c.data(), d - rd, 64, false);
    return c;
}

} // namespace folio::reference
