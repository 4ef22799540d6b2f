#include "folio/ingest/retrieval_index.h"

#include "porter_stemmer.h"

#include <algorithm>
#include <cstring>
#include <array>
#include <cmath>
#include <thread>
#include <unordered_map>

namespace folio::ingest {

namespace {

constexpr double kK1 = 1.2;
enum Field { Path = 0, Names = 1, Text = 2, Words = 3, kFields = 4 };
constexpr std::array<double, kFields> kWeight{2.0, 4.0, 1.0, 0.5};
constexpr std::array<double, kFields> kB{0.3, 0.5, 0.75, 0.75};
constexpr std::size_t kMaxWord = 40; // longer runs are hashes and encoded data

bool wordByte(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

// Splits text into words (runs of letters and digits; '_' and everything else separate) and
// calls fn(word) for each word of 2..kMaxWord bytes.
template <typename Fn> void forEachWord(std::string_view text, Fn&& fn) {
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        if (!wordByte(static_cast<unsigned char>(text[i]))) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < n && wordByte(static_cast<unsigned char>(text[j]))) ++j;
        if (j - i >= 2 && j - i <= kMaxWord) fn(text.substr(i, j - i));
        i = j;
    }
}

std::string lowerStem(std::string_view w) {
    std::string s(w);
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    porterStem(s);
    return s;
}

// Statistics on a grid of 1/16 in log2 (retrieval_index.h).
double quantised(double x) {
    if (x <= 0) return 0;
    return std::exp2(std::round(std::log2(x) * 16.0) / 16.0);
}

void putVarint(std::vector<std::uint8_t>& out, std::uint32_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
}

std::uint32_t getVarint(const std::uint8_t*& p) {
    std::uint32_t v = 0;
    for (int shift = 0;; shift += 7) {
        const std::uint8_t b = *p++;
        v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
}

// One thread's share: a contiguous range of documents and their chunks, with its own dictionary.
// Postings per term: varint(chunk delta), then one varint per field of (tf) for text, names and
// words, in that order; path terms are kept per document.
// Raw lower-case word -> term id, for the index build's hottest lookup (every word of every
// chunk): open addressing over one arena of the words' bytes, no allocation per lookup.
class WordTable {
public:
    static std::uint64_t hash(std::string_view w) {
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (const char c : w) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
        return h ^ (h >> 29);
    }
    // The id of `w`, or nullptr.
    const std::uint32_t* find(std::string_view w, std::uint64_t h) const {
        if (slots_.empty()) return nullptr;
        for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.len == kEmpty) return nullptr;
            if (s.hash == h && s.len == w.size() && std::memcmp(arena_.data() + s.offset, w.data(), w.size()) == 0)
                return &s.id;
        }
    }
    void insert(std::string_view w, std::uint64_t h, std::uint32_t id) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        place(Slot{h, static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(w.size()), id});
        arena_.append(w);
        ++size_;
    }

private:
    static constexpr std::uint32_t kEmpty = 0xffffffffu;
    struct Slot {
        std::uint64_t hash = 0;
        std::uint32_t offset = 0;
        std::uint32_t len = kEmpty;
        std::uint32_t id = 0;
    };
    void place(const Slot& slot) {
        for (std::size_t i = slot.hash & mask_;; i = (i + 1) & mask_)
            if (slots_[i].len == kEmpty) {
                slots_[i] = slot;
                return;
            }
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
        mask_ = slots_.size() - 1;
        for (const Slot& s : old)
            if (s.len != kEmpty) place(s);
    }
    std::vector<Slot> slots_;
    std::string arena_;
    std::size_t mask_ = 0, size_ = 0;
};

struct Shard {
    std::unordered_map<std::string, std::uint32_t> dict; // stemmed term -> local id
    std::vector<std::vector<std::uint8_t>> postings;     // per local id
    std::vector<std::uint32_t> lastChunk;                // per local id, for the deltas
    std::vector<std::uint32_t> df;                       // chunks with the term in a content field
    std::vector<std::vector<std::pair<std::uint32_t, std::uint8_t>>> paths; // (document, tf)
    std::vector<std::uint32_t> pathChunks; // per local id: chunks of the documents in `paths`

    std::uint32_t id(const std::string& term) {
        const auto [it, fresh] = dict.emplace(term, static_cast<std::uint32_t>(postings.size()));
        if (fresh) {
            postings.emplace_back();
            lastChunk.push_back(0);
            df.push_back(0);
            paths.emplace_back();
            pathChunks.push_back(0);
        }
        return it->second;
    }
};

} // namespace

struct RetrievalIndex::Impl {
    std::vector<Shard> shards;
    std::vector<std::uint32_t> chunkDoc;                  // per chunk
    std::vector<std::uint32_t> firstChunk;                // per document, and one past the last
    std::vector<std::array<std::uint32_t, kFields>> len;  // per chunk, per field (path: the doc's)
    std::array<double, kFields> avgLen{};                 // quantised
    double n = 0;                                         // chunks
};

RetrievalIndex::RetrievalIndex(const std::vector<Chunk>& chunks, const std::vector<Document>& docs,
                               const std::vector<std::vector<Definition>>* definitions,
                               int threads)
    : d_(std::make_unique<Impl>()) {
    Impl& m = *d_;
    const std::size_t nChunks = chunks.size(), nDocs = docs.size();
    m.chunkDoc.resize(nChunks);
    m.firstChunk.assign(nDocs + 1, static_cast<std::uint32_t>(nChunks));
    for (std::size_t c = nChunks; c-- > 0;) {
        m.chunkDoc[c] = static_cast<std::uint32_t>(chunks[c].document);
        m.firstChunk[chunks[c].document] = static_cast<std::uint32_t>(c);
    }
    for (std::size_t d = nDocs; d-- > 0;) m.firstChunk[d] = std::min(m.firstChunk[d], m.firstChunk[d + 1]);
    m.len.assign(nChunks, {});

    unsigned t = threads > 0 ? static_cast<unsigned>(threads)
                             : std::max(1u, std::thread::hardware_concurrency());
    t = static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(t, nDocs)));
    // Document ranges of about equal text size.
    std::vector<std::size_t> bounds{0};
    {
        std::size_t total = 0;
        for (const Document& d : docs) total += d.text.size();
        std::size_t acc = 0;
        for (std::size_t d = 0; d < nDocs && bounds.size() < t; ++d) {
            acc += docs[d].text.size();
            if (acc * t >= total * bounds.size()) bounds.push_back(d + 1);
        }
        while (bounds.size() <= t) bounds.push_back(nDocs);
        bounds.back() = nDocs;
    }
    m.shards.resize(t);
    auto build = [&](unsigned s) {
        Shard& sh = m.shards[s];
        std::vector<std::pair<std::uint32_t, std::uint8_t>> hits; // (local id, field)
        WordTable seen;                                           // raw lower-case word -> id
        // Per local id: this chunk's term frequencies, and the ids touched (cleared per chunk).
        std::vector<std::array<std::uint32_t, kFields>> tfOf;
        std::vector<std::uint32_t> touched;
        auto term = [&](std::string_view raw) {
            char key[kMaxWord];
            for (std::size_t i = 0; i < raw.size(); ++i) {
                const char c = raw[i];
                key[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
            }
            const std::string_view lower(key, raw.size());
            const std::uint64_t h = WordTable::hash(lower);
            if (const std::uint32_t* id = seen.find(lower, h)) return *id;
            std::string stem(lower);
            porterStem(stem);
            const std::uint32_t id = sh.id(stem);
            seen.insert(lower, h, id);
            return id;
        };
        for (std::size_t d = bounds[s]; d < bounds[s + 1]; ++d) {
            const Document& doc = docs[d];
            // The path field, per document.
            std::vector<std::uint32_t> pathTerms;
            forEachWord(doc.path, [&](std::string_view w) {
                pathTerms.push_back(term(w));
                if (hasCamelCase(w))
                    for (const std::string& part : identifierWords(w)) pathTerms.push_back(sh.id(lowerStem(part)));
            });
            const std::uint32_t chunksOfDoc = m.firstChunk[d + 1] - m.firstChunk[d];
            std::sort(pathTerms.begin(), pathTerms.end());
            for (std::size_t i = 0; i < pathTerms.size();) {
                std::size_t j = i;
                while (j < pathTerms.size() && pathTerms[j] == pathTerms[i]) ++j;
                sh.paths[pathTerms[i]].emplace_back(static_cast<std::uint32_t>(d),
                                                    static_cast<std::uint8_t>(std::min<std::size_t>(j - i, 255)));
                sh.pathChunks[pathTerms[i]] += chunksOfDoc;
                i = j;
            }
            const auto pathLen = static_cast<std::uint32_t>(pathTerms.size());
            const std::vector<Definition>* defs = definitions ? &(*definitions)[d] : nullptr;
            std::size_t nextDef = 0;
            for (std::uint32_t c = m.firstChunk[d]; c < m.firstChunk[d + 1]; ++c) {
                const Chunk& ch = chunks[c];
                hits.clear();
                forEachWord(std::string_view(doc.text).substr(ch.begin, ch.end - ch.begin),
                            [&](std::string_view w) {
                                hits.emplace_back(term(w), Text);
                                if (hasCamelCase(w))
                                    for (const std::string& part : identifierWords(w))
                                        hits.emplace_back(sh.id(lowerStem(part)), Words);
                            });
                if (defs) {
                    while (nextDef < defs->size() && (*defs)[nextDef].line < ch.firstLine) ++nextDef;
                    for (std::size_t k = nextDef; k < defs->size() && (*defs)[k].line <= ch.lastLine; ++k)
                        for (const std::string& part : identifierWords((*defs)[k].name))
                            if (part.size() <= kMaxWord) // a heading can be a paragraph
                                hits.emplace_back(sh.id(lowerStem(part)), Names);
                }
                auto& l = m.len[c];
                l[Path] = pathLen;
                // Frequencies per term of this chunk, summed in place (each term's postings get
                // one entry per chunk, so the order the terms are visited in changes nothing).
                if (tfOf.size() < sh.postings.size()) tfOf.resize(sh.postings.size(), std::array<std::uint32_t, kFields>{});
                for (const auto& h : hits) {
                    ++l[h.second];
                    auto& tf = tfOf[h.first];
                    if (tf[Text] == 0 && tf[Names] == 0 && tf[Words] == 0 && tf[Path] == 0) touched.push_back(h.first);
                    ++tf[h.second];
                }
                for (const std::uint32_t id : touched) {
                    const std::array<std::uint32_t, kFields> tf = tfOf[id];
                    tfOf[id] = {};
                    auto& p = sh.postings[id];
                    putVarint(p, c - sh.lastChunk[id]);
                    sh.lastChunk[id] = c;
                    putVarint(p, tf[Text]);
                    putVarint(p, tf[Names]);
                    putVarint(p, tf[Words]);
                    ++sh.df[id];
                }
                touched.clear();
            }
        }
        for (auto& p : sh.postings) p.shrink_to_fit();
        sh.lastChunk = {};
    };
    std::vector<std::thread> pool;
    for (unsigned s = 1; s < t; ++s) pool.emplace_back(build, s);
    build(0);
    for (auto& th : pool) th.join();

    std::array<double, kFields> sum{};
    for (const auto& l : m.len)
        for (int f = 0; f < kFields; ++f) sum[f] += l[f];
    m.n = quantised(static_cast<double>(nChunks));
    for (int f = 0; f < kFields; ++f)
        m.avgLen[f] = nChunks ? std::max(1.0, quantised(sum[f] / static_cast<double>(nChunks))) : 1.0;
}

RetrievalIndex::~RetrievalIndex() = default;

std::size_t RetrievalIndex::terms() const {
    std::size_t n = 0;
    for (const Shard& s : d_->shards) n += s.dict.size();
    return n;
}

std::size_t RetrievalIndex::postingBytes() const {
    std::size_t n = 0;
    for (const Shard& s : d_->shards) {
        for (const auto& p : s.postings) n += p.capacity();
        for (const auto& p : s.paths) n += p.capacity() * sizeof(p[0]);
    }
    return n;
}

std::vector<ScoredChunk> RetrievalIndex::rank(std::string_view question,
                                              RetrievalStatistics* statistics) const {
    const Impl& m = *d_;
    RetrievalStatistics own;
    RetrievalStatistics& stats = statistics ? *statistics : own;
    if (stats.chunks == 0) {
        stats.chunks = m.n;
        for (int f = 0; f < kFields; ++f) stats.averageLength[f] = m.avgLen[f];
    }
    const std::size_t nChunks = m.chunkDoc.size();
    std::vector<double> score(nChunks, 0.0);
    std::vector<double> tfw(nChunks, 0.0); // this term's weighted, normalised frequency
    std::vector<std::uint32_t> touched;
    auto norm = [&](std::uint32_t c, int f) {
        return 1.0 - kB[f] + kB[f] * static_cast<double>(m.len[c][f]) / stats.averageLength[f];
    };
    for (const std::string& term : questionTerms(question)) {
        double df = 0;
        std::vector<std::pair<const Shard*, std::uint32_t>> found;
        for (const Shard& s : m.shards)
            if (const auto it = s.dict.find(term); it != s.dict.end()) {
                found.emplace_back(&s, it->second);
                df += s.df[it->second] + s.pathChunks[it->second];
            }
        if (found.empty()) continue;
        if (const auto it = stats.documentFrequency.find(term); it != stats.documentFrequency.end())
            df = it->second;
        else
            stats.documentFrequency.emplace(
                term, df = quantised(std::min(df, static_cast<double>(nChunks))));
        const double idf = std::log(1.0 + std::max(0.0, stats.chunks - df + 0.5) / (df + 0.5));
        touched.clear();
        auto touch = [&](std::uint32_t c) {
            if (tfw[c] == 0.0) touched.push_back(c);
        };
        for (const auto& [s, id] : found) {
            const auto& p = s->postings[id];
            const std::uint8_t* q = p.data();
            const std::uint8_t* end = q + p.size();
            std::uint32_t c = 0;
            while (q < end) {
                c += getVarint(q);
                const std::uint32_t text = getVarint(q), names = getVarint(q), words = getVarint(q);
                const double w = kWeight[Text] * text / norm(c, Text) +
                                 kWeight[Names] * names / norm(c, Names) +
                                 kWeight[Words] * words / norm(c, Words);
                touch(c);
                tfw[c] += w;
            }
            for (const auto& [doc, tf] : s->paths[id])
                for (std::uint32_t c2 = m.firstChunk[doc]; c2 < m.firstChunk[doc + 1]; ++c2) {
                    touch(c2);
                    tfw[c2] += kWeight[Path] * tf / norm(c2, Path);
                }
        }
        for (const std::uint32_t c : touched) {
            score[c] += idf * tfw[c] / (kK1 + tfw[c]);
            tfw[c] = 0.0;
        }
    }
    std::vector<ScoredChunk> out;
    for (std::size_t c = 0; c < nChunks; ++c)
        if (score[c] > 0) out.push_back({c, score[c]});
    std::sort(out.begin(), out.end(), [](const ScoredChunk& a, const ScoredChunk& b) {
        return a.score != b.score ? a.score > b.score : a.chunk < b.chunk;
    });
    return out;
}

bool isQuestionStopWord(std::string_view word) {
    static constexpr std::array<std::string_view, 48> kStop{
        "a",     "an",    "and",    "are",   "as",    "at",    "be",    "by",    "can",   "do",
        "does",  "did",   "for",    "from",  "has",   "have",  "how",   "in",    "into",  "is",
        "it",    "its",   "of",     "on",    "or",    "that",  "the",   "their", "then",  "there",
        "this",  "to",    "was",    "what",  "when",  "where", "which", "while", "who",   "why",
        "with",  "would", "should", "could", "will",  "we",    "you",   "i"};
    std::string lower(word);
    for (char& c : lower)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return std::find(kStop.begin(), kStop.end(), lower) != kStop.end();
}

std::vector<std::string> questionTerms(std::string_view question) {
    std::vector<std::string> terms;
    auto add = [&](std::string t) {
        if (t.size() >= 2 && std::find(terms.begin(), terms.end(), t) == terms.end())
            terms.push_back(std::move(t));
    };
    // Underscores split words here as in the index, so "pick_next_task" asks for its parts.
    forEachWord(question, [&](std::string_view w) {
        if (isQuestionStopWord(w)) return;
        add(lowerStem(w));
        if (hasCamelCase(w))
            for (const std::string& part : identifierWords(w)) add(lowerStem(part));
    });
    return terms;
}

} // namespace folio::ingest
