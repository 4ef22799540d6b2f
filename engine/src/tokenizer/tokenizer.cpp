// folio::Tokenizer: loading, encode (untrusted and trusted), count, parallel encode, decode.
#include "folio/tokenizer.h"

#include "encoder.h"
#include "gguf_vocab.h"
#include "loader.h"
#include "model_io/gguf.h"
#include "model_io/gguf_model.h"
#include "model_io/safetensors.h"
#include "pretokenizer.h"
#include "utf8.h"

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace folio {

using tok::Encoder;
using tok::TokenizerData;

Tokenizer::Tokenizer(std::unique_ptr<TokenizerData> d) : d_(std::move(d)) {}
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::load(const std::string& pathToJsonOrDir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path path(pathToJsonOrDir);
    if (model::isGgufPath(pathToJsonOrDir)) { // a GGUF model carries its vocabulary
        auto mapped = model::MappedFile::open(pathToJsonOrDir);
        if (!mapped) return makeError(mapped.error());
        auto g = model::parseGguf((*mapped)->data(), (*mapped)->size(), pathToJsonOrDir);
        if (!g) return makeError(g.error());
        auto text = [&](const char* key) {
            const model::GgufValue* v = g->find(key);
            return v && v->type == model::GgufValueType::String ? v->s : std::string();
        };
        const model::GgufValue* tokens = g->find("tokenizer.ggml.tokens");
        const model::GgufValue* types = g->find("tokenizer.ggml.token_type");
        const model::GgufValue* merges = g->find("tokenizer.ggml.merges");
        auto json = tok::tokenizerJsonFromGguf(text("tokenizer.ggml.model"), text("tokenizer.ggml.pre"),
                                               tokens ? tokens->strings : std::vector<std::string>{},
                                               types ? types->ints : std::vector<std::int64_t>{},
                                               merges ? merges->strings : std::vector<std::string>{}, pathToJsonOrDir);
        if (!json) return makeError(json.error());
        return loadFromString(*json, pathToJsonOrDir);
    }
    if (fs::is_directory(path, ec)) path /= "tokenizer.json";
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(path.string() + ": cannot open (" + std::strerror(errno) + ")");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return makeError(path.string() + ": read error");
    return loadFromString(ss.str(), path.string());
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::loadFromString(std::string_view json,
                                                             const std::string& sourceName) {
    auto d = tok::parseTokenizerJson(json, sourceName);
    if (!d) return makeError(d.error());
    // Two 64-bit FNV-1a lanes with different offsets, the second over the bytes in reverse order:
    // an identifier of the definition, not a defence against crafted collisions.
    std::uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull ^ json.size();
    for (std::size_t i = 0; i < json.size(); ++i) {
        a = (a ^ std::uint8_t(json[i])) * 0x100000001b3ull;
        b = (b ^ std::uint8_t(json[json.size() - 1 - i])) * 0x100000001b3ull;
    }
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
    (*d)->fingerprint = hex;
    return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(d).value()));
}

const std::string& Tokenizer::fingerprint() const { return d_->fingerprint; }

namespace {

// Valid UTF-8 view of `text`, repairing into `storage` only when needed.
std::string_view validText(std::string_view text, std::string& storage) {
    if (tok::isValidUtf8(text)) return text;
    storage = tok::repairUtf8(text);
    return storage;
}

struct Segment {
    std::size_t begin, end;
    int32_t token; // -1: text
};

// Splits [begin, end) at the added tokens of one pass (normalized or not), leftmost-longest.
void matchAdded(const TokenizerData& d, std::string_view s, std::size_t begin, std::size_t end,
                bool normalizedPass, std::vector<Segment>& out) {
    std::size_t gap = begin, p = begin;
    while (p < end) {
        const auto& bucket = d.addedByFirstByte[static_cast<unsigned char>(s[p])];
        const tok::AddedToken* hit = nullptr;
        for (std::uint32_t idx : bucket) {
            if (d.addedNormalized[idx] != normalizedPass) continue;
            const std::string& c = d.added[idx].content;
            if (c.size() <= end - p && std::memcmp(s.data() + p, c.data(), c.size()) == 0) {
                hit = &d.added[idx];
                break; // longest first within a pass
            }
        }
        if (!hit) {
            ++p;
            continue;
        }
        if (gap < p) out.push_back({gap, p, -1});
        out.push_back({p, p + hit->content.size(), hit->id});
        p = gap = p + hit->content.size();
    }
    if (gap < end) out.push_back({gap, end, -1});
}

} // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
    std::string storage;
    const std::string_view t = validText(text, storage);
    std::vector<int32_t> ids;
    ids.reserve(t.size() / 3 + 8);
    Encoder(*d_).encode(t, &ids, nullptr);
    return ids;
}

std::size_t Tokenizer::count(std::string_view text) const {
    std::string storage;
    const std::string_view t = validText(text, storage);
    std::size_t n = 0;
    Encoder(*d_).encode(t, nullptr, &n);
    return n;
}

std::vector<int32_t> Tokenizer::encodeWithSpecial(std::string_view text) const {
    std::string storage;
    const std::string_view t = validText(text, storage);
    std::vector<Segment> first, segs;
    matchAdded(*d_, t, 0, t.size(), false, first);
    for (const Segment& s : first) {
        if (s.token >= 0)
            segs.push_back(s);
        else
            matchAdded(*d_, t, s.begin, s.end, true, segs);
    }
    std::vector<int32_t> ids;
    Encoder enc(*d_);
    for (const Segment& s : segs) {
        if (s.token >= 0)
            ids.push_back(s.token);
        else
            enc.encode(t.substr(s.begin, s.end - s.begin), &ids, nullptr);
    }
    return ids;
}

std::vector<int32_t> Tokenizer::encodeParallel(std::string_view text, int threads) const {
    std::string storage;
    const std::string_view t = validText(text, storage);
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    constexpr std::size_t kMinPerThread = std::size_t(1) << 16;
    threads = static_cast<int>(std::min<std::size_t>(
        static_cast<std::size_t>(threads), std::max<std::size_t>(1, t.size() / kMinPerThread)));
    if (threads <= 1) {
        std::vector<int32_t> ids;
        Encoder(*d_).encode(t, &ids, nullptr);
        return ids;
    }
    // Cut points: the first safe boundary after each equal share (a share without one merges into
    // the next).
    std::vector<std::size_t> cuts{0};
    for (int i = 1; i < threads; ++i) {
        const std::size_t target =
            t.size() * static_cast<std::size_t>(i) / static_cast<std::size_t>(threads);
        if (target <= cuts.back()) continue;
        const std::size_t c = tok::nextSafeBoundary(t, target, t.size());
        if (c > cuts.back() && c < t.size()) cuts.push_back(c);
    }
    cuts.push_back(t.size());
    const std::size_t parts = cuts.size() - 1;
    // Warm a word cache on samples spread over the text, and give every thread a copy: otherwise
    // each thread runs BPE again on the same frequent words, which costs most with many threads.
    Encoder warm(*d_);
    constexpr std::size_t kSamples = 32, kSampleBytes = 2048;
    for (std::size_t k = 0; k < kSamples; ++k) {
        const std::size_t from = tok::nextSafeBoundary(t, t.size() * k / kSamples, t.size());
        const std::size_t to =
            tok::nextSafeBoundary(t, std::min(t.size(), from + kSampleBytes), t.size());
        std::size_t ignored = 0;
        if (from < to) warm.encode(t.substr(from, to - from), nullptr, &ignored);
    }
    std::vector<std::vector<int32_t>> out(parts);
    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < parts; ++i)
        pool.emplace_back([&, i] {
            Encoder(*d_, warm).encode(t.substr(cuts[i], cuts[i + 1] - cuts[i]), &out[i], nullptr);
        });
    Encoder(*d_, warm).encode(t.substr(0, cuts[1]), &out[0], nullptr);
    for (auto& th : pool) th.join();
    std::size_t total = 0;
    for (const auto& v : out) total += v.size();
    std::vector<int32_t> ids;
    ids.reserve(total);
    for (const auto& v : out) ids.insert(ids.end(), v.begin(), v.end());
    return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
    std::string bytes;
    for (int32_t id : ids)
        if (id >= 0 && id < d_->vocabSize() && d_->idKind[id] != 0) bytes += d_->idBytes[id];
    if (tok::isValidUtf8(bytes)) return bytes;
    return tok::repairUtf8(bytes);
}

std::string Tokenizer::tokenBytes(int32_t id) const {
    if (id < 0 || id >= d_->vocabSize()) return {};
    return d_->idBytes[id];
}

int32_t Tokenizer::tokenId(std::string_view content) const {
    auto it = d_->textToId.find(std::string(content));
    return it == d_->textToId.end() ? -1 : it->second;
}

std::string Tokenizer::tokenText(int32_t id) const {
    if (id < 0 || id >= d_->vocabSize()) return {};
    return d_->idText[id];
}

bool Tokenizer::isAddedToken(int32_t id) const {
    return id >= 0 && id < d_->vocabSize() && d_->idKind[id] >= 2;
}
bool Tokenizer::isSpecialToken(int32_t id) const {
    return id >= 0 && id < d_->vocabSize() && d_->idKind[id] == 3;
}
int Tokenizer::vocabSize() const {
    return d_->vocabSize();
}
int32_t Tokenizer::bosId() const {
    return d_->bos;
}
int32_t Tokenizer::eosId() const {
    return d_->eos;
}
const std::string& Tokenizer::sourceName() const {
    return d_->sourceName;
}

// ---- StreamDecoder ----

std::string StreamDecoder::push(int32_t id) {
    if (tok_.isAddedToken(id)) return {};
    pending_ += tok_.tokenBytes(id);
    const std::size_t keep = tok::completePrefixLength(pending_);
    std::string ready = pending_.substr(0, keep);
    pending_.erase(0, keep);
    return tok::isValidUtf8(ready) ? ready : tok::repairUtf8(ready);
}

std::string StreamDecoder::finish() {
    std::string rest = tok::repairUtf8(pending_);
    pending_.clear();
    return rest;
}

} // namespace folio
