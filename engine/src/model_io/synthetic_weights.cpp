// Synthetic weights: the intended values of every tensor (deterministic per seed, tensor and row) and
// their encoding into the checkpoint's formats: fp8 e4m3 with 128x128 UE8M0 block scales, fp4 e2m1
// packed two per byte with one UE8M0 scale per 32, bf16, f32 and int64.
#include "synthetic_weights.h"

#include "folio/kernels/formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace folio::model {

namespace {

namespace fk = folio::kernels;

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char ch : s) h = (h ^ std::uint8_t(ch)) * 0x100000001b3ull;
    return h;
}

// A generator for one row of one tensor: independent of every other row, so that any row range can
// be produced on its own (streaming, tests).
std::uint64_t rowSeed(std::uint64_t seed, const std::string& name, std::int64_t row) {
    std::uint64_t s = seed ^ fnv1a(name);
    s ^= splitmix64(s) + std::uint64_t(row) * 0xd1b54a32d192ed03ull;
    (void)splitmix64(s);
    return s;
}

// Approximately N(0, 1): the Irwin-Hall sum of four 16-bit uniforms, standardised. Bounded at
// +-3.46, which suits weights that are quantized anyway, and costs one 64-bit draw.
float gaussian(std::uint64_t& state) {
    const std::uint64_t r = splitmix64(state);
    const float sum = float(r & 0xffff) + float((r >> 16) & 0xffff) + float((r >> 32) & 0xffff) + float(r >> 48);
    return (sum / 65535.0f - 2.0f) * 1.7320508f; // variance of 4 U(0,1) is 1/3
}

bool endsWith(const std::string& s, const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

enum class Role { Linear, Embed, Norm, HcFn, HcBase, HcScale, Sink, Ape, GateBias };

Role roleOf(const std::string& name) {
    if (name == "embed.weight") return Role::Embed;
    if (endsWith(name, "_base") && name.find("hc_") != std::string::npos) return Role::HcBase;
    if (endsWith(name, "_fn") && name.find("hc_") != std::string::npos) return Role::HcFn;
    if (endsWith(name, "_scale") && name.find("hc_") != std::string::npos) return Role::HcScale;
    if (endsWith(name, "norm.weight")) return Role::Norm;
    if (endsWith(name, "attn_sink")) return Role::Sink;
    if (endsWith(name, ".ape")) return Role::Ape;
    if (endsWith(name, "gate.bias")) return Role::GateBias;
    return Role::Linear;
}

std::int64_t logicalCols(const TensorSpec& s) {
    if (s.shape.size() < 2) return s.shape.empty() ? 1 : s.shape[0];
    std::int64_t cols = 1;
    for (std::size_t i = 1; i < s.shape.size(); ++i) cols *= s.shape[i];
    return (s.kind == TensorKind::RoutedExpert && s.dtype == DType::I8) ? 2 * cols : cols;
}

std::int64_t logicalRows(const TensorSpec& s) { return s.shape.size() < 2 ? 1 : s.shape[0]; }

} // namespace

void syntheticRows(const TensorSpec& spec, const ModelConfig& cfg, std::uint64_t seed, std::int64_t row0,
                   std::int64_t rows, float* out) {
    const std::int64_t cols = logicalCols(spec);
    const Role role = roleOf(spec.name);
    const int hc = std::max(cfg.hcMult, 1);
    for (std::int64_t r = 0; r < rows; ++r) {
        std::uint64_t st = rowSeed(seed, spec.name, row0 + r);
        float* o = out + r * cols;
        switch (role) {
        case Role::Linear: {
            // ~N(0, 1/fan_in): each output keeps the RMS of its input.
            const float sd = 1.0f / std::sqrt(float(cols));
            for (std::int64_t i = 0; i < cols; ++i) o[i] = gaussian(st) * sd;
            break;
        }
        case Role::Embed:
            for (std::int64_t i = 0; i < cols; ++i) o[i] = gaussian(st);
            break;
        case Role::Norm:
            for (std::int64_t i = 0; i < cols; ++i) o[i] = 1.0f + 0.02f * gaussian(st);
            break;
        case Role::HcFn: {
            // mixes = fn . v / rms(v) come out ~N(0, 0.25): token-dependent, but moderate.
            const float sd = 0.5f / std::sqrt(float(cols));
            for (std::int64_t i = 0; i < cols; ++i) o[i] = gaussian(st) * sd;
            break;
        }
        case Role::HcBase:
            // pre: sigmoid(base) = 1/hc, so x averages the copies; post: 2 sigmoid(0) = 1; comb:
            // +3 on the diagonal, so the Sinkhorn-normalised mix stays near the identity.
            for (std::int64_t i = 0; i < cols; ++i) {
                float b = 0.0f;
                if (i < hc) b = -std::log(float(hc - 1 > 0 ? hc - 1 : 1));
                else if (i >= 2 * hc) b = ((i - 2 * hc) / hc == (i - 2 * hc) % hc) ? 3.0f : 0.0f;
                o[i] = b + 0.05f * gaussian(st);
            }
            break;
        case Role::HcScale:
            for (std::int64_t i = 0; i < cols; ++i) o[i] = 1.0f + 0.05f * gaussian(st);
            break;
        case Role::Sink:
            for (std::int64_t i = 0; i < cols; ++i) o[i] = 0.05f * gaussian(st);
            break;
        case Role::Ape:
            for (std::int64_t i = 0; i < cols; ++i) o[i] = 0.02f * gaussian(st);
            break;
        case Role::GateBias:
            for (std::int64_t i = 0; i < cols; ++i) o[i] = 0.05f * gaussian(st);
            break;
        }
    }
}

void syntheticExpertIds(const std::string& name, std::uint64_t seed, std::int64_t row, int topk, int experts,
                        std::int64_t* out) {
    // A partial Fisher-Yates shuffle: `topk` distinct experts.
    std::uint64_t st = rowSeed(seed, name, row);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(experts));
    for (int e = 0; e < experts; ++e) ids[std::size_t(e)] = e;
    for (int k = 0; k < topk && k < experts; ++k) {
        const int j = k + int(splitmix64(st) % std::uint64_t(experts - k));
        std::swap(ids[std::size_t(k)], ids[std::size_t(j)]);
        out[k] = ids[std::size_t(k)];
    }
}

// --- Encoding -----------------------------------------------------------------------------------

Status TensorStreamer::write(const TensorSpec& spec) {
    if (spec.isScale) {
        // The weight that precedes it in the same shard computed it.
        const auto it = pendingScales_.find(spec.name);
        if (it == pendingScales_.end() || it->second.size() != spec.bytes())
            return makeError("synthetic: scale '" + spec.name + "' was not produced with its weight");
        Status s = writer_.append(it->second.data(), it->second.size());
        pendingScales_.erase(it);
        return s;
    }
    if (spec.dtype == DType::I64) return writeExpertIds(spec);
    if (spec.dtype == DType::F8_E4M3) return writeFp8(spec);
    if (spec.dtype == DType::I8) return writeFp4(spec);
    return writePlain(spec);
}

std::string TensorStreamer::scaleName(const TensorSpec& spec) {
    return spec.name.substr(0, spec.name.size() - std::string(".weight").size()) + ".scale";
}

Status TensorStreamer::writePlain(const TensorSpec& spec) {
    const std::int64_t rows = logicalRows(spec), cols = logicalCols(spec);
    const std::int64_t step = std::max<std::int64_t>(1, kChunkValues / std::max<std::int64_t>(cols, 1));
    for (std::int64_t r0 = 0; r0 < rows; r0 += step) {
        const std::int64_t n = std::min(step, rows - r0);
        values_.resize(std::size_t(n * cols));
        syntheticRows(spec, cfg_, seed_, r0, n, values_.data());
        if (spec.dtype == DType::BF16) {
            bytes_.resize(values_.size() * 2);
            for (std::size_t i = 0; i < values_.size(); ++i) {
                const std::uint16_t b = fk::f32ToBf16(values_[i]);
                std::memcpy(&bytes_[2 * i], &b, 2); // little-endian host
            }
        } else if (spec.dtype == DType::F32) {
            bytes_.resize(values_.size() * 4);
            std::memcpy(bytes_.data(), values_.data(), bytes_.size());
        } else {
            return makeError("synthetic: no encoder for " + std::string(dtypeName(spec.dtype)) + " tensor '" +
                             spec.name + "'");
        }
        if (Status s = writer_.append(bytes_.data(), bytes_.size()); !s) return s;
    }
    return {};
}

Status TensorStreamer::writeExpertIds(const TensorSpec& spec) {
    const std::int64_t rows = spec.shape[0], topk = spec.shape[1];
    std::vector<std::int64_t> ids(static_cast<std::size_t>(topk));
    bytes_.clear();
    for (std::int64_t r = 0; r < rows; ++r) {
        syntheticExpertIds(spec.name, seed_, r, int(topk), cfg_.nRoutedExperts, ids.data());
        const auto* p = reinterpret_cast<const std::uint8_t*>(ids.data());
        bytes_.insert(bytes_.end(), p, p + ids.size() * 8);
        if (bytes_.size() >= std::size_t(kChunkValues) || r + 1 == rows) {
            if (Status s = writer_.append(bytes_.data(), bytes_.size()); !s) return s;
            bytes_.clear();
        }
    }
    return {};
}

// fp8 e4m3 [out, in], one UE8M0 scale per (128 x 128) block: scale = 2^ceil(log2(amax / 448)).
// Generated one block row at a time.
Status TensorStreamer::writeFp8(const TensorSpec& spec) {
    const std::int64_t out = spec.shape[0], in = spec.shape[1];
    const std::int64_t br = cfg_.weightBlockRows, bc = cfg_.weightBlockCols;
    const std::int64_t sCols = (in + bc - 1) / bc;
    std::vector<std::uint8_t>& scales = pendingScales_[scaleName(spec)];
    scales.assign(std::size_t(((out + br - 1) / br) * sCols), 0);
    for (std::int64_t r0 = 0; r0 < out; r0 += br) {
        const std::int64_t n = std::min(br, out - r0);
        values_.resize(std::size_t(n * in));
        syntheticRows(spec, cfg_, seed_, r0, n, values_.data());
        bytes_.resize(values_.size());
        for (std::int64_t cb = 0; cb < sCols; ++cb) {
            const std::int64_t c0 = cb * bc, c1 = std::min(in, c0 + bc);
            float amax = 0.0f;
            for (std::int64_t r = 0; r < n; ++r)
                for (std::int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(values_[std::size_t(r * in + c)]));
            const float s = fk::ue8m0Scale(amax, 448.0f);
            const float inv = 1.0f / s; // exact: a power of two
            scales[std::size_t((r0 / br) * sCols + cb)] = fk::f32ToE8m0(s);
            for (std::int64_t r = 0; r < n; ++r)
                for (std::int64_t c = c0; c < c1; ++c)
                    bytes_[std::size_t(r * in + c)] = fk::f32ToE4m3(values_[std::size_t(r * in + c)] * inv);
        }
        if (Status s = writer_.append(bytes_.data(), bytes_.size()); !s) return s;
    }
    return {};
}

// fp4 e2m1 [out, in] stored as I8 [out, in/2] (low nibble = even element), one UE8M0 scale per 32
// along `in`: scale = 2^ceil(log2(amax / 6)).
Status TensorStreamer::writeFp4(const TensorSpec& spec) {
    const std::int64_t out = spec.shape[0], in = 2 * spec.shape[1];
    const std::int64_t groups = in / 32;
    std::vector<std::uint8_t>& scales = pendingScales_[scaleName(spec)];
    scales.assign(std::size_t(out * groups), 0);
    const std::int64_t step = std::max<std::int64_t>(1, kChunkValues / in);
    for (std::int64_t r0 = 0; r0 < out; r0 += step) {
        const std::int64_t n = std::min(step, out - r0);
        values_.resize(std::size_t(n * in));
        syntheticRows(spec, cfg_, seed_, r0, n, values_.data());
        bytes_.resize(values_.size() / 2);
        for (std::int64_t r = 0; r < n; ++r)
            for (std::int64_t g = 0; g < groups; ++g) {
                const float* v = &values_[std::size_t(r * in + g * 32)];
                float amax = 0.0f;
                for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(v[i]));
                const float s = fk::ue8m0Scale(amax, 6.0f);
                const float inv = 1.0f / s;
                scales[std::size_t((r0 + r) * groups + g)] = fk::f32ToE8m0(s);
                std::uint8_t* b = &bytes_[std::size_t((r * in + g * 32) / 2)];
                for (int i = 0; i < 32; i += 2)
                    b[i / 2] = std::uint8_t(fk::f32ToE2m1(v[i] * inv) | (fk::f32ToE2m1(v[i + 1] * inv) << 4));
            }
        if (Status s = writer_.append(bytes_.data(), bytes_.size()); !s) return s;
    }
    return {};
}

} // namespace folio::model
