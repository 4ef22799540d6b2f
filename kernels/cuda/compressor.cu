// The KV compressors (deepseek-v4.md section 4, LayerRunner::compress): per channel a softmax over
// a block's slots of g (with ape) pools a. Ratio 4 overlaps: an entry pools the previous block's
// channels [0:d] and its own block's channels [d:2d] (8 slots; the first entry has no previous
// half). Rows of blocks that began before the chunk come from the carried state (the incomplete
// block's rows, and for ratio 4 the last complete block's), so chunked prefill equals one pass.
#include "device_common.cuh"
#include "folio/kernels/cuda_ops.h"

namespace folio::kernels::cuda {

namespace {

// The a or g value of position `pos`, column `col` (g includes ape), wherever it lives.
__device__ __forceinline__ float rowValue(const CompressorParams& p, bool gate, std::int64_t pos, int col) {
    const int width = p.ratio == 4 ? 2 * p.dim : p.dim;
    const int slot = int(pos % p.ratio);
    if (pos >= p.pos0) {
        const std::int64_t t = pos - p.pos0;
        if (!gate) return p.a[t * width + col];
        return __fadd_rn(p.g[t * width + col], p.ape[std::int64_t(slot) * width + col]);
    }
    if (pos / p.ratio == p.pos0 / p.ratio) return (gate ? p.curG : p.curA)[std::int64_t(slot) * width + col];
    return (gate ? p.prevG : p.prevA)[std::int64_t(slot) * width + col]; // the previous block (ratio 4)
}

// One thread per (new entry, channel).
__global__ void poolKernel(CompressorParams p, std::int64_t firstEntry, std::int64_t work) {
    const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= work) return;
    const std::int64_t j = firstEntry + idx / p.dim;
    const int k = int(idx % p.dim);
    const int m = p.ratio;
    float num = 0.0f, den = 0.0f;
    if (m == 4) {
        float sc[8], va[8];
        int cnt = 0;
        if (j > 0)
            for (int r = 0; r < 4; ++r) {
                sc[cnt] = rowValue(p, true, (j - 1) * 4 + r, k);
                va[cnt++] = rowValue(p, false, (j - 1) * 4 + r, k);
            }
        for (int r = 0; r < 4; ++r) {
            sc[cnt] = rowValue(p, true, j * 4 + r, p.dim + k);
            va[cnt++] = rowValue(p, false, j * 4 + r, p.dim + k);
        }
        float mx = sc[0];
        for (int i = 1; i < cnt; ++i) mx = fmaxf(mx, sc[i]);
        for (int i = 0; i < cnt; ++i) {
            const float e = expf(__fsub_rn(sc[i], mx));
            den = __fadd_rn(den, e);
            num = __fadd_rn(num, __fmul_rn(e, va[i]));
        }
    } else {
        const std::int64_t p0 = j * m;
        float mx = rowValue(p, true, p0, k);
        for (int r = 1; r < m; ++r) mx = fmaxf(mx, rowValue(p, true, p0 + r, k));
        for (int r = 0; r < m; ++r) {
            const float e = expf(__fsub_rn(rowValue(p, true, p0 + r, k), mx));
            den = __fadd_rn(den, e);
            num = __fadd_rn(num, __fmul_rn(e, rowValue(p, false, p0 + r, k)));
        }
    }
    p.entries[j * p.dim + k] = __fdiv_rn(num, den);
}

// One thread per (slot, column) of the carried rows: after the chunk, cur holds the incomplete
// block's rows and (ratio 4) prev the last complete block's. A thread reads its old cur value before
// writing, so the update is in place without races.
__global__ void carryKernel(CompressorParams p) {
    const int width = p.ratio == 4 ? 2 * p.dim : p.dim;
    const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= std::int64_t(p.ratio) * width) return;
    const int r = int(idx / width), col = int(idx % width);
    const std::int64_t m = p.ratio, end = p.pos0 + p.n, bc = end / m;
    const std::int64_t off = std::int64_t(r) * width + col;
    const float oldA = p.curA[off], oldG = p.curG[off];
    if (m == 4 && bc >= 1 && bc * m > p.pos0) {
        // Block bc-1 completed inside this chunk: it becomes prev.
        const std::int64_t pp = (bc - 1) * m + r;
        p.prevA[off] = pp >= p.pos0 ? rowValue(p, false, pp, col) : oldA;
        p.prevG[off] = pp >= p.pos0 ? rowValue(p, true, pp, col) : oldG;
    }
    const std::int64_t pc = bc * m + r;
    if (pc < end && pc >= p.pos0) {
        p.curA[off] = rowValue(p, false, pc, col);
        p.curG[off] = rowValue(p, true, pc, col);
    }
}

} // namespace

CudaStatus compressChunk(const CompressorParams& p, void* stream) {
    if (p.n <= 0) return {};
    if (p.ratio < 1 || p.dim <= 0 || !p.a || !p.g || !p.ape || !p.curA || !p.curG || !p.entries || p.pos0 < 0 ||
        (p.ratio == 4 && (!p.prevA || !p.prevG)))
        return CudaStatus("compressChunk: bad arguments (need ratio >= 1, dim > 0, a, g, ape, carried rows, entries)");
    const std::int64_t first = p.pos0 / p.ratio, last = (p.pos0 + p.n) / p.ratio;
    if (last > p.capacity)
        return CudaStatus("compressChunk: entry " + std::to_string(last - 1) + " is beyond the capacity " +
                          std::to_string(p.capacity));
    const int threads = 256;
    const std::int64_t work = (last - first) * p.dim;
    if (work > 0) {
        poolKernel<<<detail::blocksFor(work, threads), threads, 0, detail::toStream(stream)>>>(p, first, work);
        FOLIO_CUDA_LAUNCHED(poolKernel);
    }
    // The carry must follow the pool on the same stream: the pool reads the old carried rows.
    const std::int64_t width = std::int64_t(p.ratio == 4 ? 2 : 1) * p.dim;
    carryKernel<<<detail::blocksFor(p.ratio * width, threads), threads, 0, detail::toStream(stream)>>>(p);
    FOLIO_CUDA_LAUNCHED(carryKernel);
    return {};
}

CudaStatus finishCompressedEntries(const CompressedEntryParams& p, void* stream) {
    if (p.count <= 0) return {};
    if (!p.entries || !p.norm || !p.freq || p.dim <= p.ropeDim || p.ratio < 1)
        return CudaStatus("finishCompressedEntries: bad arguments (need entries, norm, freq, dim > ropeDim)");
    float* e = p.entries + p.first * p.dim;
    FOLIO_STATUS_TRY(rmsNorm(e, p.dim, p.norm, p.count, p.dim, p.eps, e, p.dim, stream));
    RopeParams r;
    r.x = e;
    r.rows = p.count;
    r.ld = p.dim;
    r.offset = p.dim - p.ropeDim;
    r.dim = p.ropeDim;
    r.freq = p.freq;
    r.posBase = p.first * p.ratio; // an entry sits at its block's first position
    r.rowsPerPos = 1;
    r.posStep = p.ratio;
    FOLIO_STATUS_TRY(rope(r, stream));
    if (p.indexer) {
        FOLIO_STATUS_TRY(hadamard(e, p.count, p.dim, p.dim, stream));
        if (p.quantize) FOLIO_STATUS_TRY(roundTripE2m1(e, p.count, p.dim, p.dim, 32, stream));
    } else if (p.quantize) {
        FOLIO_STATUS_TRY(roundTripE4m3(e, p.count, p.dim - p.ropeDim, p.dim, 64, stream));
    }
    return {};
}

} // namespace folio::kernels::cuda
