#include "device_weights.h"

#include "model/rope.h"

namespace folio::model::cuda {

namespace {

constexpr std::size_t kAlign = 256;

std::size_t aligned(std::size_t b) {
    return (b + kAlign - 1) / kAlign * kAlign;
}

class Uploader {
public:
    Uploader(DeviceArena& arena, void* stream) : arena_(arena), stream_(stream) {}

    kc::CudaStatus floats(const std::vector<float>& v, const float** out) {
        *out = nullptr;
        if (v.empty()) return {};
        void* p = nullptr;
        FOLIO_STATUS_TRY(arena_.upload(v.data(), v.size() * sizeof(float), &p, stream_));
        *out = static_cast<const float*>(p);
        return {};
    }

    kc::CudaStatus matrix(const kernels::WeightMatrix& m, kc::DeviceWeight* out) {
        *out = kc::DeviceWeight{m.format, m.rows, m.cols, nullptr, nullptr};
        if (!m.data) return {};
        if (kernels::blockLayout(m.format).values)
            return kc::CudaStatus(std::string("the CUDA backend does not run GGUF ") + kernels::weightFormatName(m.format) +
                                  " weights yet (the CPU does)");
        void* d = nullptr;
        FOLIO_STATUS_TRY(arena_.upload(m.data, weightDataBytes(m), &d, stream_));
        out->data = d;
        if (m.scales) {
            void* s = nullptr;
            FOLIO_STATUS_TRY(arena_.upload(m.scales, weightScaleBytes(m), &s, stream_));
            out->scales = static_cast<const std::uint8_t*>(s);
        }
        return {};
    }

    kc::CudaStatus hc(const HyperConnection& h, DeviceHc* out) {
        if (h.fn.format != kernels::WeightFormat::F32)
            return kc::CudaStatus(std::string("the CUDA backend takes the hyper-connection mixes as F32 only, not ") +
                                  kernels::weightFormatName(h.fn.format));
        const float* fn = nullptr;
        void* p = nullptr;
        FOLIO_STATUS_TRY(arena_.upload(h.fn.data, weightDataBytes(h.fn), &p, stream_));
        fn = static_cast<const float*>(p);
        out->fn = fn;
        FOLIO_STATUS_TRY(floats(h.base, &out->base));
        return floats(h.scale, &out->scale);
    }

    kc::CudaStatus compressor(const CompressorWeights& c, DeviceCompressor* out) {
        out->ratio = c.ratio;
        out->dim = c.dim;
        FOLIO_STATUS_TRY(floats(c.ape, &out->ape));
        FOLIO_STATUS_TRY(matrix(c.wkv, &out->wkv));
        FOLIO_STATUS_TRY(matrix(c.wgate, &out->wgate));
        return floats(c.norm, &out->norm);
    }

    // A device array of the host pointers in `v`.
    template <typename T> kc::CudaStatus table(const std::vector<T>& v, const T** out) {
        void* p = nullptr;
        FOLIO_STATUS_TRY(arena_.upload(v.data(), v.size() * sizeof(T), &p, stream_));
        *out = static_cast<const T*>(p);
        return {};
    }

private:
    DeviceArena& arena_;
    void* stream_;
};

} // namespace

kc::CudaStatus DeviceArena::allocate(std::size_t bytes, void** out) {
    bytes = aligned(std::max<std::size_t>(bytes, 1));
    if (blocks_.empty() || used_ + bytes > blocks_.back().bytes()) {
        kc::DeviceBuffer b;
        FOLIO_STATUS_TRY(b.allocate(std::max(bytes, blockBytes_)));
        blocks_.push_back(std::move(b));
        used_ = 0;
        total_ += blocks_.back().bytes();
    }
    *out = static_cast<char*>(blocks_.back().data()) + used_;
    used_ += bytes;
    return {};
}

kc::CudaStatus DeviceArena::upload(const void* src, std::size_t bytes, void** out, void* stream) {
    FOLIO_STATUS_TRY(allocate(bytes, out));
    return kc::copyToDevice(*out, src, bytes, stream);
}

std::size_t weightDataBytes(const kernels::WeightMatrix& m) {
    return std::size_t(kernels::weightDataBytes(m.format, m.rows, m.cols));
}

std::size_t weightScaleBytes(const kernels::WeightMatrix& m) {
    return std::size_t(kernels::weightScaleBytes(m.format, m.rows, m.cols));
}

DeviceWeightSizes deviceWeightSizes(const ModelConfig& cfg, const ModelWeights& w) {
    DeviceWeightSizes s;
    auto m = [](const kernels::WeightMatrix& x) {
        return aligned(weightDataBytes(x)) + aligned(weightScaleBytes(x));
    };
    s.rest += std::size_t(cfg.vocabSize) * std::size_t(cfg.hiddenSize) * 2 + m(w.head);
    for (const LayerWeights& l : w.layers) {
        for (const auto* x :
             {&l.hcAttn.fn, &l.hcFfn.fn, &l.attn.wqA, &l.attn.wqB, &l.attn.wkv, &l.attn.woA,
              &l.attn.woB, &l.ffn.gate, &l.ffn.shared.w1, &l.ffn.shared.w2, &l.ffn.shared.w3,
              &l.attn.compressor.wkv, &l.attn.compressor.wgate, &l.attn.indexer.wqB,
              &l.attn.indexer.weightsProj, &l.attn.indexer.compressor.wkv,
              &l.attn.indexer.compressor.wgate})
            s.rest += m(*x);
        if (l.ffn.tid2eid)
            s.rest += aligned(std::size_t(cfg.vocabSize) * std::size_t(cfg.numExpertsPerTok) * 8);
        for (const ExpertWeights& e : l.ffn.experts) s.routedExperts += m(e.w1) + m(e.w2) + m(e.w3);
    }
    return s;
}

kc::CudaStatus uploadModel(const ModelConfig& cfg, const ModelWeights& w, bool residentExperts,
                           DeviceArena& arena, void* stream, DeviceModel* out) {
    Uploader up(arena, stream);
    const std::size_t V = std::size_t(cfg.vocabSize), D = std::size_t(cfg.hiddenSize);
    void* p = nullptr;
    if (w.embed.format != kernels::WeightFormat::BF16)
        return kc::CudaStatus(std::string("the CUDA backend takes a bf16 embedding only, not ") +
                              kernels::weightFormatName(w.embed.format));
    FOLIO_STATUS_TRY(arena.upload(w.embed.data, V * D * 2, &p, stream));
    out->embed = static_cast<const std::uint16_t*>(p);
    FOLIO_STATUS_TRY(up.matrix(w.head, &out->head));
    FOLIO_STATUS_TRY(up.floats(w.norm, &out->norm));
    FOLIO_STATUS_TRY(up.hc(w.hcHead, &out->hcHead));
    const Rope plain(cfg, false), compressed(cfg, true);
    FOLIO_STATUS_TRY(arena.upload(plain.frequencies().data(), plain.frequencies().size() * sizeof(double),
                          &p, stream));
    out->freqPlain = static_cast<const double*>(p);
    FOLIO_STATUS_TRY(arena.upload(compressed.frequencies().data(),
                          compressed.frequencies().size() * sizeof(double), &p, stream));
    out->freqCompressed = static_cast<const double*>(p);

    out->layers.resize(w.layers.size());
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        const LayerWeights& lw = w.layers[l];
        DeviceLayer& d = out->layers[l];
        FOLIO_STATUS_TRY(up.floats(lw.attnNorm, &d.attnNorm));
        FOLIO_STATUS_TRY(up.floats(lw.ffnNorm, &d.ffnNorm));
        FOLIO_STATUS_TRY(up.hc(lw.hcAttn, &d.hcAttn));
        FOLIO_STATUS_TRY(up.hc(lw.hcFfn, &d.hcFfn));

        const AttentionWeights& a = lw.attn;
        DeviceAttention& da = d.attn;
        da.ratio = a.ratio;
        FOLIO_STATUS_TRY(up.floats(a.sink, &da.sink));
        FOLIO_STATUS_TRY(up.matrix(a.wqA, &da.wqA));
        FOLIO_STATUS_TRY(up.matrix(a.wqB, &da.wqB));
        FOLIO_STATUS_TRY(up.matrix(a.wkv, &da.wkv));
        FOLIO_STATUS_TRY(up.matrix(a.woA, &da.woA));
        FOLIO_STATUS_TRY(up.matrix(a.woB, &da.woB));
        FOLIO_STATUS_TRY(up.floats(a.qNorm, &da.qNorm));
        FOLIO_STATUS_TRY(up.floats(a.kvNorm, &da.kvNorm));
        if (a.ratio > 0) FOLIO_STATUS_TRY(up.compressor(a.compressor, &da.compressor));
        if (a.ratio == 4) {
            FOLIO_STATUS_TRY(up.matrix(a.indexer.wqB, &da.indexerWqB));
            FOLIO_STATUS_TRY(up.matrix(a.indexer.weightsProj, &da.indexerWeightsProj));
            FOLIO_STATUS_TRY(up.compressor(a.indexer.compressor, &da.indexerCompressor));
        }

        const MoeWeights& m = lw.ffn;
        DeviceMoe& dm = d.ffn;
        FOLIO_STATUS_TRY(up.matrix(m.gate, &dm.gate));
        FOLIO_STATUS_TRY(up.floats(m.bias, &dm.bias));
        if (m.tid2eid) {
            FOLIO_STATUS_TRY(
                arena.upload(m.tid2eid, V * std::size_t(cfg.numExpertsPerTok) * 8, &p, stream));
            dm.tid2eid = static_cast<const std::int64_t*>(p);
        }
        FOLIO_STATUS_TRY(up.matrix(m.shared.w1, &dm.sharedW1));
        FOLIO_STATUS_TRY(up.matrix(m.shared.w2, &dm.sharedW2));
        FOLIO_STATUS_TRY(up.matrix(m.shared.w3, &dm.sharedW3));
        if (!m.experts.empty()) {
            dm.expertFormatIn = m.experts.front().w1.format;
            dm.expertFormatOut = m.experts.front().w2.format;
        }
        dm.resident = residentExperts;
        if (!residentExperts) continue;
        const std::size_t E = m.experts.size();
        std::vector<const void*> w1(E), w2(E), w3(E);
        std::vector<const std::uint8_t*> s1(E), s2(E), s3(E);
        for (std::size_t e = 0; e < E; ++e) {
            kc::DeviceWeight x;
            FOLIO_STATUS_TRY(up.matrix(m.experts[e].w1, &x));
            w1[e] = x.data;
            s1[e] = x.scales;
            FOLIO_STATUS_TRY(up.matrix(m.experts[e].w2, &x));
            w2[e] = x.data;
            s2[e] = x.scales;
            FOLIO_STATUS_TRY(up.matrix(m.experts[e].w3, &x));
            w3[e] = x.data;
            s3[e] = x.scales;
        }
        FOLIO_STATUS_TRY(up.table(w1, &dm.experts.w1));
        FOLIO_STATUS_TRY(up.table(w2, &dm.experts.w2));
        FOLIO_STATUS_TRY(up.table(w3, &dm.experts.w3));
        FOLIO_STATUS_TRY(up.table(s1, &dm.experts.s1));
        FOLIO_STATUS_TRY(up.table(s2, &dm.experts.s2));
        FOLIO_STATUS_TRY(up.table(s3, &dm.experts.s3));
    }
    return kc::synchronize(stream);
}

} // namespace folio::model::cuda
