#include "state_io.h"

#include "folio/checksum.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <istream>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace folio::model {

namespace {

constexpr char kMagic[8] = {'F', 'O', 'L', 'I', 'O', 'S', 'E', 'Q'};

class Writer {
public:
    explicit Writer(std::ostream& out) : out_(out) {}
    void bytes(const void* p, std::size_t n) {
        hash_ = checksum64(p, n, hash_);
        out_.write(static_cast<const char*>(p), std::streamsize(n));
    }
    template <typename T> void pod(T v) { bytes(&v, sizeof v); }
    void floats(const std::vector<float>& v) { bytes(v.data(), v.size() * sizeof(float)); }
    std::uint64_t hash() const { return hash_; }

private:
    std::ostream& out_;
    std::uint64_t hash_ = kChecksumSeed;
};

// Maps the pages of a fresh allocation in one call instead of one fault per 4 KiB page as the
// copy first touches them: restoring a state of tens of megabytes and more, the faults cost as much
// as reading the file (perf.md). Best effort: without the call (older kernels) the copy faults.
void prefault(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    constexpr std::size_t kPage = 4096;
    if (bytes < (std::size_t(1) << 20)) return;
    const auto from = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
    const auto to = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kPage - 1);
    if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)bytes;
#endif
}

// Shares the page population of a large restore with a second thread. The compressed entries
// buffers are reserved from the header (their sizes follow from the position) and cut into 8 MiB
// chunks in the order the parser fills them; the parser takes chunks from the front as it reaches
// each buffer, the helper from the back, and they meet where the work balances. On this kind of VM
// a fresh page costs about 1.4 us, so a 128K-token state's 259 MB of pages took longer on one
// thread than reading its file (perf.md). Population does not change contents: a chunk the parser
// writes before the helper gets to it just faults as it would have.
std::atomic<std::size_t> gSharedPopulationMinimum{std::size_t(32) << 20};

class Populator {
public:
    ~Populator() {
        if (helper_.joinable()) helper_.join();
    }
    void add(void* p, std::size_t bytes) {
        const int region = int(regions_.size());
        regions_.push_back(p);
        for (std::size_t off = 0; off < bytes; off += kChunk)
            chunks_.push_back({static_cast<char*>(p) + off, std::min(kChunk, bytes - off), region});
        total_ += bytes;
    }
    void start() {
        back_ = chunks_.size();
        if (chunks_.empty() || total_ < gSharedPopulationMinimum.load()) return;
        helper_ = std::thread([this] {
            for (;;) {
                std::size_t i = 0;
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    if (back_ <= front_) return;
                    i = --back_;
                }
                prefault(chunks_[i].p, chunks_[i].bytes);
            }
        });
    }
    bool active() const { return helper_.joinable(); }
    // The parser is about to fill the buffer at `base`: populate its chunks the helper has not taken.
    void reach(const void* base) {
        const auto r = std::find(regions_.begin(), regions_.end(), base);
        if (r == regions_.end()) return;
        const int region = int(r - regions_.begin());
        for (;;) {
            std::size_t i = 0;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (front_ >= back_ || chunks_[front_].region > region) return;
                i = front_++;
            }
            prefault(chunks_[i].p, chunks_[i].bytes);
        }
    }

private:
    static constexpr std::size_t kChunk = std::size_t(8) << 20;
    struct Chunk {
        char* p;
        std::size_t bytes;
        int region;
    };
    std::vector<void*> regions_;
    std::vector<Chunk> chunks_;
    std::size_t total_ = 0, front_ = 0, back_ = 0;
    std::mutex mutex_;
    std::thread helper_;
};

class Reader {
public:
    Reader(std::istream& in, bool verify) : in_(in), verify_(verify) {}
    void usePages(Populator* pages) { pages_ = pages; }
    bool bytes(void* p, std::size_t n) {
        in_.read(static_cast<char*>(p), std::streamsize(n));
        if (std::size_t(in_.gcount()) != n) return false;
        if (verify_) hash_ = checksum64(p, n, hash_);
        return true;
    }
    template <typename T> bool pod(T* v) { return bytes(v, sizeof *v); }
    bool floats(std::vector<float>& v, std::size_t n) {
        v.clear();
        return appendFloats(v, n);
    }
    // Appends n floats through a small buffer: one pass over the (often fresh, large) vector memory
    // instead of zero-filling it with resize() and then copying over the zeros.
    bool appendFloats(std::vector<float>& v, std::size_t n) {
        const std::size_t start = v.size(), count = n;
        v.reserve(start + n);
        if (pages_ && pages_->active()) pages_->reach(v.data());
        else prefault(v.data() + start, n * sizeof(float));
        float block[4096];
        while (n > 0) {
            const std::size_t k = std::min<std::size_t>(n, 4096);
            in_.read(reinterpret_cast<char*>(block), std::streamsize(k * sizeof(float)));
            if (std::size_t(in_.gcount()) != k * sizeof(float)) return false;
            v.insert(v.end(), block, block + k);
            n -= k;
        }
        // One piece for the checksum, as the writer wrote it.
        if (verify_) hash_ = checksum64(v.data() + start, count * sizeof(float), hash_);
        return true;
    }
    bool verifies() const { return verify_; }
    std::uint64_t hash() const { return hash_; }

private:
    std::istream& in_;
    bool verify_;
    Populator* pages_ = nullptr;
    std::uint64_t hash_ = kChecksumSeed;
};

void writeCompressor(Writer& w, const CompressorState& c, std::int64_t basePos) {
    w.pod<std::int32_t>(c.dim);
    w.pod<std::int32_t>(c.width);
    w.floats(c.curA);
    w.floats(c.curG);
    if (c.ratio == 4) {
        w.floats(c.prevA);
        w.floats(c.prevG);
    }
    w.pod<std::int64_t>(c.count());
    const std::size_t from = std::size_t(basePos / c.ratio) * std::size_t(c.dim);
    w.bytes(c.entries.data() + from, (c.entries.size() - from) * sizeof(float));
}

// `base`: the same compressor at basePos (a delta keeps its first basePos / ratio entries); null
// when rewinding: `c` then gets only the delta's own entries (applyRewind keeps the rest in place).
bool readCompressor(Reader& r, CompressorState& c, std::int64_t pos, std::int64_t basePos, const CompressorState* base,
                    std::string* why) {
    std::int32_t dim = 0, width = 0;
    if (!r.pod(&dim) || !r.pod(&width)) return false;
    if (dim != c.dim || width != c.width) {
        *why = "compressor dimensions differ from the model's";
        return false;
    }
    const std::size_t rows = std::size_t(c.ratio) * std::size_t(c.width);
    if (!r.floats(c.curA, rows) || !r.floats(c.curG, rows)) return false;
    if (c.ratio == 4 && (!r.floats(c.prevA, rows) || !r.floats(c.prevG, rows))) return false;
    std::int64_t count = 0;
    if (!r.pod(&count)) return false;
    if (count != pos / c.ratio) {
        *why = "compressed entry count " + std::to_string(count) + " does not match position " + std::to_string(pos);
        return false;
    }
    const std::size_t kept = std::size_t(basePos / c.ratio) * std::size_t(c.dim);
    const std::size_t total = std::size_t(count) * std::size_t(c.dim);
    c.entries.clear(); // keeps the capacity readState reserved
    if (kept && base) c.entries.assign(base->entries.begin(), base->entries.begin() + std::ptrdiff_t(kept));
    return r.appendFloats(c.entries, total - kept);
}

} // namespace

void setSharedPopulationMinimum(std::size_t bytes) { gSharedPopulationMinimum = bytes; }

Status writeState(const SequenceState& s, std::uint64_t fingerprint, std::ostream& out, std::int64_t basePos) {
    if (basePos < 0 || basePos > s.pos) return makeError("a delta's base position must lie within the sequence");
    Writer w(out);
    w.bytes(kMagic, sizeof kMagic);
    w.pod<std::uint32_t>(kStateFormatVersion);
    w.pod<std::uint64_t>(fingerprint);
    w.pod<std::int64_t>(s.pos);
    w.pod<std::int64_t>(basePos);
    w.pod<std::uint32_t>(std::uint32_t(s.layers.size()));
    for (const LayerState& l : s.layers) {
        w.pod<std::int32_t>(l.ratio);
        w.floats(l.window);
        if (l.ratio > 0) writeCompressor(w, l.compressor, basePos);
        if (l.ratio == 4) writeCompressor(w, l.indexer, basePos);
    }
    w.pod<std::uint32_t>(std::uint32_t(s.mtp.size()));
    for (const LayerState& m : s.mtp) w.floats(m.window);
    const std::uint64_t sum = w.hash();
    out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
    out.flush();
    if (!out) return makeError("writing the sequence state failed (disk full or stream closed?)");
    return {};
}

Result<SequenceState> readState(const ModelConfig& cfg, std::uint64_t fingerprint, std::istream& in,
                                const SequenceState* base, bool verifyChecksum, bool rewinding) {
    Reader r(in, verifyChecksum);
    const Error truncated = makeError("sequence state is truncated");
    char magic[8];
    if (!r.bytes(magic, 8)) return truncated;
    if (std::memcmp(magic, kMagic, 8) != 0) return makeError("not a Folio sequence state (bad magic)");
    std::uint32_t version = 0;
    std::uint64_t fp = 0;
    std::int64_t pos = 0, basePos = 0;
    std::uint32_t layers = 0;
    if (!r.pod(&version)) return truncated;
    if (version != kStateFormatVersion)
        return makeError("sequence state format version " + std::to_string(version) + ", this build reads " +
                         std::to_string(kStateFormatVersion));
    if (!r.pod(&fp) || !r.pod(&pos) || !r.pod(&basePos) || !r.pod(&layers)) return truncated;
    if (fp != fingerprint) return makeError("sequence state was saved by another model (fingerprint differs)");
    SequenceState s = makeSequenceState(cfg);
    Populator pages; // after the state: its helper is joined before the state's buffers are freed
    r.usePages(&pages);
    if (pos < 0 || basePos < 0 || basePos > pos || layers != s.layers.size())
        return makeError("sequence state header does not match the model");
    // Sizes follow from the position: bound it before anything is allocated for it.
    if (pos > cfg.maxPositionEmbeddings)
        return makeError("sequence state position " + std::to_string(pos) + " is beyond the model's " +
                         std::to_string(cfg.maxPositionEmbeddings));
    if (rewinding && base && pos > base->pos)
        return makeError("the mark at position " + std::to_string(pos) + " is ahead of the sequence at " +
                         std::to_string(base->pos) + ", which has not reached that position");
    if (basePos > 0 && (!base || (rewinding ? base->pos < basePos : base->pos != basePos) ||
                        base->layers.size() != s.layers.size()))
        return makeError("sequence state is a delta from position " + std::to_string(basePos) +
                         (rewinding ? ", and the sequence it applies to has not reached that position"
                                    : ", and the sequence it applies to is not at that position"));
    s.pos = pos;
    // Sizes follow from the position: reserve the compressed entries now and populate their pages
    // on two threads while the parser fills them.
    for (LayerState& l : s.layers) {
        for (CompressorState* c : {&l.compressor, &l.indexer}) {
            if (l.ratio <= 0 || (c == &l.indexer && l.ratio != 4)) continue;
            const std::size_t kept = rewinding ? std::size_t(basePos / c->ratio) * std::size_t(c->dim) : 0;
            const std::size_t total = std::size_t(pos / c->ratio) * std::size_t(c->dim) - kept;
            c->entries.reserve(total);
            pages.add(c->entries.data(), total * sizeof(float));
        }
    }
    pages.start();
    for (LayerState& l : s.layers) {
        std::int32_t ratio = 0;
        if (!r.pod(&ratio)) return truncated;
        if (ratio != l.ratio) return makeError("sequence state layer types differ from the model's");
        if (!r.floats(l.window, l.window.size())) return truncated;
        std::string why;
        const LayerState* b = basePos > 0 && !rewinding ? &base->layers[std::size_t(&l - s.layers.data())] : nullptr;
        if (l.ratio > 0 && !readCompressor(r, l.compressor, pos, basePos, b ? &b->compressor : nullptr, &why))
            return why.empty() ? truncated : makeError(why);
        if (l.ratio == 4 && !readCompressor(r, l.indexer, pos, basePos, b ? &b->indexer : nullptr, &why))
            return why.empty() ? truncated : makeError(why);
    }
    std::uint32_t mtpLayers = 0;
    if (!r.pod(&mtpLayers)) return truncated;
    if (mtpLayers != s.mtp.size()) return makeError("sequence state MTP blocks differ from the model's");
    for (LayerState& m : s.mtp)
        if (!r.floats(m.window, m.window.size())) return truncated;
    const std::uint64_t expect = r.hash();
    std::uint64_t sum = 0;
    in.read(reinterpret_cast<char*>(&sum), sizeof sum);
    if (in.gcount() != sizeof sum) return truncated;
    if (r.verifies() && sum != expect) return makeError("sequence state checksum mismatch (corrupt data)");
    return s;
}

void applyRewind(SequenceState& into, SequenceState&& mark) {
    // Entries are append-only: the first ones of `into` are those before the mark's base position.
    auto keep = [](CompressorState& to, CompressorState& from, std::int64_t pos) {
        const std::size_t kept = std::size_t(pos / to.ratio - from.count()) * std::size_t(to.dim);
        to.entries.resize(kept);
        to.entries.insert(to.entries.end(), from.entries.begin(), from.entries.end());
        to.curA = std::move(from.curA);
        to.curG = std::move(from.curG);
        to.prevA = std::move(from.prevA);
        to.prevG = std::move(from.prevG);
    };
    for (std::size_t i = 0; i < into.layers.size(); ++i) {
        LayerState& to = into.layers[i];
        LayerState& from = mark.layers[i];
        to.window = std::move(from.window);
        if (to.ratio > 0) keep(to.compressor, from.compressor, mark.pos);
        if (to.ratio == 4) keep(to.indexer, from.indexer, mark.pos);
    }
    into.mtp = std::move(mark.mtp);
    into.pos = mark.pos;
}

} // namespace folio::model
