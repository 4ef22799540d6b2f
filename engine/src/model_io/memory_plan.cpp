// Memory plan: weight bytes from the expected tensor list (so it agrees with a real checkpoint byte
// for byte), KV state from the layer mix, scratch from the shapes of one chunk's activations.
#include "memory_plan.h"

#include "tensor_spec.h"

#include <algorithm>

namespace folio::model {

namespace {

std::uint64_t roundUp(std::uint64_t v, std::uint64_t m) { return (v + m - 1) / m * m; }

// One compressed attention entry in the fp8 layout: dims [0, hd - rope) as e4m3 with one UE8M0 scale
// per 64 (the KV round trip's block), the rope dims as bf16, padded to 8 bytes: 448 + 128 + 7 -> 584.
std::uint64_t fp8EntryBytes(const ModelConfig& c) {
    const std::uint64_t nope = std::uint64_t(c.headDim - c.qkRopeHeadDim);
    return roundUp(nope + 2 * std::uint64_t(c.qkRopeHeadDim) + (nope + 63) / 64, 8);
}

// One indexer entry in fp8: index_head_dim e4m3 plus one f32 scale per 128: 128 + 4 -> 132.
std::uint64_t fp8IndexerEntryBytes(const ModelConfig& c) {
    const std::uint64_t d = std::uint64_t(c.indexHeadDim);
    return d + 4 * ((d + 127) / 128);
}

} // namespace

MemoryPlan planMemory(const ModelConfig& cfg) {
    MemoryPlan p;
    const std::vector<TensorSpec> specs = expectedTensors(cfg);
    std::uint64_t routedParams = 0;
    for (const TensorSpec& s : specs) {
        const std::uint64_t b = s.bytes();
        p.weights.total += b;
        p.totalParams += s.params();
        if (s.mtp) {
            p.weights.mtp += b;
            p.mtpParams += s.params();
            continue;
        }
        switch (s.kind) {
        case TensorKind::EmbedHead: p.weights.embedHead += b; break;
        case TensorKind::Attention: p.weights.attention += b; break;
        case TensorKind::Compressor: p.weights.compressor += b; break;
        case TensorKind::HcNorm: p.weights.hcNorm += b; break;
        case TensorKind::Router: p.weights.router += b; break;
        case TensorKind::SharedExpert: p.weights.sharedExperts += b; break;
        case TensorKind::RoutedExpert:
            p.weights.routedExperts += b;
            routedParams += s.params();
            break;
        case TensorKind::MtpProj: p.weights.mtp += b; break;
        }
    }
    // Per token the main model runs every dense tensor and num_experts_per_tok of the routed experts.
    const std::uint64_t mainParams = p.totalParams - p.mtpParams;
    p.activeParams = mainParams - routedParams +
                     routedParams / std::uint64_t(cfg.nRoutedExperts) * std::uint64_t(cfg.numExpertsPerTok);

    const double hd = cfg.headDim, dI = cfg.indexHeadDim;
    for (int l = 0; l < cfg.numHiddenLayers; ++l) {
        const int m = cfg.compressRatio(l);
        if (m == 0) {
            ++p.swaLayers;
            continue;
        }
        (m == 4 ? p.csaLayers : p.hcaLayers) += 1;
        p.kv.perTokenBf16 += 2.0 * hd / m;
        p.kv.perTokenFp8 += double(fp8EntryBytes(cfg)) / m;
        // Carried compressor rows: a and g for the partial block (two blocks with ratio 4's overlap),
        // f32, of width 2d (ratio 4) or d.
        const std::uint64_t blocks = m == 4 ? 2 : 1, width = (m == 4 ? 2 : 1) * std::uint64_t(hd);
        p.kv.carriedRows += blocks * std::uint64_t(m) * 2 * width * 4;
        if (m == 4) {
            p.kv.perTokenBf16 += 2.0 * dI / m;
            p.kv.perTokenFp8 += double(fp8IndexerEntryBytes(cfg)) / m;
            p.kv.carriedRows += 2 * std::uint64_t(m) * 2 * (2 * std::uint64_t(dI)) * 4;
        }
    }
    // Window rings: every layer, MTP included (speculative decoding keeps its window too).
    const std::uint64_t layers = std::uint64_t(cfg.numHiddenLayers + cfg.numNextnPredictLayers);
    p.kv.windowBf16 = layers * std::uint64_t(cfg.slidingWindow) * 2 * std::uint64_t(cfg.headDim);
    p.kv.windowFp8 = layers * std::uint64_t(cfg.slidingWindow) * fp8EntryBytes(cfg);
    return p;
}

std::uint64_t kvStateBytes(const ModelConfig& cfg, std::int64_t tokens, bool fp8Entries) {
    std::uint64_t total = 0;
    for (int l = 0; l < cfg.numHiddenLayers; ++l) {
        const int m = cfg.compressRatio(l);
        if (m == 0) continue;
        const std::uint64_t entries = std::uint64_t(tokens / m);
        total += entries * (fp8Entries ? fp8EntryBytes(cfg) : 2 * std::uint64_t(cfg.headDim));
        if (m == 4) total += entries * (fp8Entries ? fp8IndexerEntryBytes(cfg) : 2 * std::uint64_t(cfg.indexHeadDim));
    }
    return total;
}

std::uint64_t scratchBytes(const ModelConfig& cfg, std::int64_t chunkTokens, std::int64_t contextTokens) {
    const std::uint64_t T = std::uint64_t(std::max<std::int64_t>(chunkTokens, 1));
    const std::uint64_t ctx = std::uint64_t(std::max<std::int64_t>(contextTokens, chunkTokens));
    const std::uint64_t D = cfg.hiddenSize, H = cfg.numAttentionHeads, hd = cfg.headDim;
    const std::uint64_t f = 4; // f32
    std::uint64_t perToken = 0;
    perToken += 2 * std::uint64_t(cfg.hcMult) * D * f;            // h and h' [hc, D]
    perToken += 2 * D * f;                                       // x and the sub-layer output
    perToken += (std::uint64_t(cfg.qLoraRank) + 2 * H * hd) * f; // qr, q [H, hd], o [H, hd]
    perToken += std::uint64_t(cfg.oGroups) * std::uint64_t(cfg.oLoraRank) * f; // z
    perToken += std::uint64_t(cfg.indexNHeads) * std::uint64_t(cfg.indexHeadDim) * f; // qI
    perToken += 4 * std::uint64_t(cfg.headDim) * f;              // compressor a, g (2d each)
    perToken += std::uint64_t(cfg.nRoutedExperts) * f;           // router scores
    const std::uint64_t experts = std::uint64_t(cfg.numExpertsPerTok + cfg.nSharedExperts);
    perToken += experts * 2 * std::uint64_t(cfg.moeIntermediateSize) * f; // gate and up per expert
    // Attention scores of the widest layer: CSA attends window + top-k, HCA window + every visible
    // entry; the indexer scores every visible ratio-4 entry (summed over its heads).
    std::uint64_t widest = 0;
    bool hasCsa = false;
    for (int l = 0; l < cfg.numHiddenLayers; ++l) {
        const int m = cfg.compressRatio(l);
        std::uint64_t keys = std::uint64_t(cfg.slidingWindow) + T;
        if (m == 4) {
            keys += std::uint64_t(cfg.indexTopk);
            hasCsa = true;
        } else if (m > 0) {
            keys += ctx / std::uint64_t(m);
        }
        widest = std::max(widest, keys);
    }
    perToken += H * widest * f;
    if (hasCsa) perToken += ctx / 4 * f;
    return T * perToken + std::uint64_t(cfg.vocabSize) * f; // logits of the last token
}

} // namespace folio::model
