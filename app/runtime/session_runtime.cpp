#include "session_runtime.h"

#include "folio/ingest/retrieval_index.h"

#include "app_paths.h"
#include "demo_model.h"
#include "fault.h"
#include "session_files.h"

#include <QDir>
#include <QFileInfo>

#include <algorithm>
#include <chrono>
#include <deque>
#include <sstream>

namespace folio::app {

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr const char* kSystemPrompt =
    "You answer questions about the sources below. Quote and cite them: [path:line] or "
    "[path:first-last] for files, [title p. N] for PDFs, [name hh:mm:ss] for transcripts.\n\n";

// Tokens per second over the last few chunks.
class RecentRate {
public:
    void add(double t, std::int64_t tokens) {
        points_.push_back({t, tokens});
        while (points_.size() > 8) points_.pop_front();
    }
    double rate() const {
        if (points_.size() < 2) return 0;
        const double dt = points_.back().first - points_.front().first;
        return dt > 0 ? double(points_.back().second - points_.front().second) / dt : 0;
    }

private:
    std::deque<std::pair<double, std::int64_t>> points_;
};

} // namespace

// ---- PrefillControl ----

void PrefillControl::pause() { paused_ = true; }

void PrefillControl::resume() {
    {
        std::lock_guard lock(mutex_);
        paused_ = false;
    }
    wake_.notify_all();
}

void PrefillControl::cancel() {
    {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
    }
    wake_.notify_all();
}

void PrefillControl::reset() {
    std::lock_guard lock(mutex_);
    paused_ = false;
    cancelled_ = false;
}

bool PrefillControl::proceed(const std::function<void()>& onPause) {
    if (cancelled_) return false;
    if (!paused_) return true;
    if (onPause) onPause();
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return !paused_ || cancelled_; });
    return !cancelled_;
}

// ---- SessionRuntime ----

SessionRuntime::SessionRuntime(RuntimeOptions options) : options_(std::move(options)) {
    if (options_.chunk <= 0) options_.chunk = kDefaultChunk;
    if (options_.checkpointEvery < kSnapshotAlign) options_.checkpointEvery = kSnapshotAlign;
    options_.checkpointEvery = options_.checkpointEvery / kSnapshotAlign * kSnapshotAlign;
}

SessionRuntime::~SessionRuntime() = default;

const char* SessionRuntime::systemPrompt() { return kSystemPrompt; }

const ModelFacts* SessionRuntime::modelFacts() const { return model_ ? &model_->facts() : nullptr; }

std::vector<std::string> SessionRuntime::takeWarnings() {
    std::vector<std::string> out;
    out.swap(warnings_);
    if (cache_)
        for (const QString& p : cache_->takeProblems()) out.push_back(p.toStdString());
    return out;
}

std::string SessionRuntime::engineDescription() const {
    if (remote_) return remoteModelId_ + " at " + remote_->endpoint().toStdString();
    if (model_) return model_->facts().directory + " (" + std::to_string(model_->facts().layers) + " layers, " +
                       model_->facts().device + ")";
    return "no model";
}

std::string SessionRuntime::modelName() const {
    if (remote_) return remoteModelId_;
    if (options_.demo) return "demo";
    if (model_) return QDir(QString::fromStdString(model_->facts().directory)).dirName().toStdString();
    return {};
}

Status SessionRuntime::loadModel() {
    if (!options_.endpoint.isEmpty()) {
        // The remote engine: the server holds the model; a local tokenizer (optional) makes the
        // budget exact, else it is approximated.
        auto client = std::make_unique<RemoteClient>(options_.endpoint, options_.apiKey, options_.dialect);
        std::vector<std::string> ids;
        if (Status st = client->models(&ids); !st.ok()) return st;
        remoteModelId_ = options_.remoteModel.empty() ? ids.front() : options_.remoteModel;
        if (std::find(ids.begin(), ids.end(), remoteModelId_) == ids.end())
            return makeError(options_.endpoint.toStdString() + " does not serve a model named '" + remoteModelId_ + "'");
        if (!options_.modelDir.empty()) {
            auto tok = Tokenizer::load(options_.modelDir);
            if (!tok.ok()) return makeError(tok.error());
            tokenizer_ = std::move(tok.value());
            corpus_.reset(); // its token counts came from the tokenizer replaced
            modelDir_ = options_.modelDir;
        }
        remote_ = std::move(client);
        return {};
    }
    modelDir_ = options_.modelDir;
    if (options_.demo) {
        QString error;
        const QString path = ensureDemoModel(&error);
        if (path.isEmpty()) return makeError("cannot prepare the demo model: " + error.toStdString());
        modelDir_ = path.toStdString();
    }
    if (modelDir_.empty()) return makeError("no model: choose a checkpoint directory or the demo model");
    auto tok = Tokenizer::load(modelDir_);
    if (!tok.ok()) return makeError(tok.error());
    auto model = Model::open(modelDir_, ModelOptions{options_.threads, options_.device});
    if (!model.ok()) return makeError(model.error());
    tokenizer_ = std::move(tok.value());
    corpus_.reset(); // its token counts came from the tokenizer replaced
    model_ = std::move(model.value());
    options_.contextSize = std::min<std::int64_t>(options_.contextSize, model_->facts().maxPositions);
    QString dir = options_.snapshotDirectory;
    if (dir.isEmpty()) dir = QDir(cacheDirectory()).filePath(QStringLiteral("snapshots"));
    if (dir == QLatin1String("-")) dir.clear();
    cache_ = std::make_unique<PrefixCache>(PrefixCache::Options{dir, options_.memoryBudget, options_.diskBudget});
    return {};
}

Status SessionRuntime::ensureStore() {
    if (store_) return {};
    auto store = std::make_unique<ingest::SessionStore>();
    const QString path = options_.databasePath.isEmpty() ? sessionDatabasePath() : options_.databasePath;
    if (!store->open(path)) return makeError("cannot open the session database " + path.toStdString() + ": " + store->lastError());
    store_ = std::move(store);
    return {};
}

std::vector<ingest::SourceResult> SessionRuntime::loadPaths(const std::vector<std::string>& paths,
                                                           const ingest::IngestOptions& ingestOptions,
                                                           const WarningFn& warn) {
    using namespace folio::ingest;
    std::vector<SourceResult> loaded;
    for (const std::string& path : paths) {
        SourceResult r = loadSource(QString::fromStdString(path), ingestOptions);
        if (!r.error.empty()) {
            if (warn) warn(path + ": " + r.error);
            continue;
        }
        for (const SkippedFile& s : r.skipped)
            if (warn && (s.reason == SkipReason::Encrypted || s.reason == SkipReason::Damaged ||
                         s.reason == SkipReason::Unreadable))
                warn(r.name + ": " + s.path + ": " + skipReasonName(s.reason) + " (" + s.detail + ")");
        loaded.push_back(std::move(r));
    }
    return loaded;
}

Status SessionRuntime::addSources(const std::vector<std::string>& paths, const ingest::IngestOptions& ingestOptions,
                                  const WarningFn& warn) {
    std::vector<ingest::SourceResult> loaded = loadPaths(paths, ingestOptions, warn);
    if (loaded.empty()) return makeError("no source could be read");
    if (saved_) {
        const bool ok = store_->transaction([&] {
            for (const ingest::SourceResult& r : loaded)
                if (!store_->saveSource(saved_->id, r)) return false;
            return true;
        });
        if (!ok) return makeError("cannot save the sources: " + store_->lastError());
    }
    for (auto& r : loaded) sources_.push_back(std::move(r));
    packed_.reset();
    corpus_.reset();
    retrievalStats_.reset(); // other sources: other statistics (the preamble changes anyway)
    forgetRetrievalStatistics();
    return {};
}

void SessionRuntime::setExcluded(std::vector<std::string> prefixes) {
    excluded_ = std::move(prefixes);
    packed_.reset();
    corpus_.reset();
    retrievalStats_.reset();
    forgetRetrievalStatistics();
    if (saved_ && store_ && !store_->setExclusions(saved_->id, excluded_))
        warnings_.push_back("the exclusions could not be saved: " + store_->lastError());
}

Status SessionRuntime::createSession(const std::string& name, const std::vector<std::string>& paths,
                                     const ingest::IngestOptions& ingestOptions, const WarningFn& warn) {
    using namespace folio::ingest;
    if (!modelLoaded()) return makeError("load a model before creating a session");
    if (!name.empty()) {
        if (auto st = ensureStore(); !st.ok()) return st;
        if (store_->findSession(name)) return makeError("a session named '" + name + "' already exists");
    }
    std::vector<SourceResult> loaded = loadPaths(paths, ingestOptions, warn);
    if (loaded.empty() && !paths.empty()) return makeError("no source could be read");
    if (!name.empty()) {
        SessionInfo info;
        info.name = name;
        info.modelFingerprint = model_ ? std::to_string(model_->facts().fingerprint) : "remote:" + remoteModelId_;
        info.modelName = modelName();
        info.contextSize = options_.contextSize;
        const bool ok = store_->transaction([&] {
            const auto id = store_->createSession(info);
            if (!id) return false;
            for (const SourceResult& r : loaded)
                if (!store_->saveSource(*id, r)) return false;
            info.id = *id;
            return true;
        });
        if (!ok) return makeError("cannot save the session: " + store_->lastError());
        saved_ = info;
    }
    sources_ = std::move(loaded);
    corpus_.reset();
    retrievalStats_.reset(); // a new session ranks with statistics of its own
    history_.clear();
    return {};
}

Status SessionRuntime::openSession(const std::string& name) {
    using namespace folio::ingest;
    if (auto st = ensureStore(); !st.ok()) return st;
    const auto info = store_->findSession(name);
    if (!info) return makeError("no session named '" + name + "'");
    std::vector<SourceResult> sources;
    for (const StoredSource& s : store_->sources(info->id)) {
        SourceResult r;
        r.name = s.name;
        r.location = s.location;
        r.kindName = s.kindName;
        r.description = s.description;
        r.documents = store_->documents(s.id);
        r.skipped = store_->skipped(s.id);
        sources.push_back(std::move(r));
    }
    saved_ = info;
    if (info->contextSize > 0) options_.contextSize = std::min(options_.contextSize, info->contextSize);
    refreshed_ = 0;
    if (options_.refreshSources) {
        // Same documents (path and text, in order) means unchanged: the saved copy stays.
        auto same = [](const SourceResult& a, const SourceResult& b) {
            if (a.documents.size() != b.documents.size()) return false;
            for (std::size_t i = 0; i < a.documents.size(); ++i)
                if (a.documents[i].path != b.documents[i].path || a.documents[i].text != b.documents[i].text ||
                    a.documents[i].changeRank != b.documents[i].changeRank)
                    return false;
            return true;
        };
        for (SourceResult& s : sources) {
            if (s.location.empty() || !QFileInfo::exists(QString::fromStdString(s.location))) {
                warnings_.push_back(s.name + ": " + s.location + " is gone; using the copy saved with the session");
                continue;
            }
            SourceResult fresh = loadSource(QString::fromStdString(s.location), IngestOptions{});
            if (!fresh.error.empty()) {
                warnings_.push_back(s.name + ": " + fresh.error + "; using the copy saved with the session");
                continue;
            }
            if (same(s, fresh)) continue;
            s = std::move(fresh);
            ++refreshed_;
        }
        if (refreshed_) {
            const bool ok = store_->transaction([&] {
                if (!store_->removeSources(info->id)) return false;
                for (const SourceResult& r : sources)
                    if (!store_->saveSource(info->id, r)) return false;
                return true;
            });
            if (!ok) warnings_.push_back("the refreshed sources could not be saved: " + store_->lastError());
        }
    }
    sources_ = std::move(sources);
    corpus_.reset();
    // The statistics it ranked with before: a file changed since then leaves the rest of the
    // selection as it was (packer.h).
    retrievalStats_.reset();
    if (auto saved = store_->retrievalStatistics(info->id); saved && saved->chunks > 0)
        retrievalStats_ = std::make_shared<RetrievalStatistics>(std::move(*saved));
    history_ = store_->messages(info->id);
    excluded_ = store_->exclusions(info->id);
    return {};
}

void SessionRuntime::forgetRetrievalStatistics() {
    if (saved_ && store_ && !store_->saveRetrievalStatistics(saved_->id, ingest::RetrievalStatistics{}))
        warnings_.push_back("the old retrieval statistics could not be cleared: " + store_->lastError());
}

const ingest::RetrievalStatistics* SessionRuntime::retrievalStatistics() const { return retrievalStats_.get(); }

Status SessionRuntime::pack(const std::string& question) {
    using namespace folio::ingest;
    if (!modelLoaded()) return makeError("load a model before packing");
    const Tokenizer* t = tokenizer_.get();
    // A tokenizer without the chat encoding's special tokens fails here, before any prefill.
    if (t) {
        auto probe = encodeChat(*t, {}, {{ChatRole::User, question, {}}}, options_.mode, true);
        if (!probe.ok()) return makeError(probe.error());
    }
    const TokenCounting counting = t ? TokenCounting{[t](std::string_view text) { return t->count(text); },
                                                     t->sourceName(), true}
                                     : approximateTokenCounting();
    std::int64_t conversation = options_.answerReserve + 64;
    for (const Message& m : history_) conversation += std::int64_t(counting.count(m.content)) + 4;
    const std::int64_t reserve =
        conversation + std::int64_t(counting.count(kSystemPrompt)) + std::int64_t(counting.count(question));
    if (reserve >= options_.contextSize)
        return makeError("the context of " + std::to_string(options_.contextSize) +
                         " tokens cannot hold the conversation and an answer");
    // The retrieval statistics stay with the session's sources (packer.h: with them, a changed
    // file leaves the selection before it alone), and are saved with it (below).
    if (!retrievalStats_) retrievalStats_ = std::make_shared<RetrievalStatistics>();
    if (!corpus_) {
        // Framed, counted and (on the first question that needs it) indexed once for all the
        // questions until the sources, the exclusions or the tokenizer change. The packer takes
        // a copy of the sources, without what the user excluded.
        PackOptions po;
        po.statistics = retrievalStats_;
        if (t && countCacheTokenizer_ != t->fingerprint()) {
            std::string error;
            countCache_ = openTokenCountCache(*t, &error);
            countCacheTokenizer_ = t->fingerprint();
            if (!countCache_) warnings_.push_back("counting without the token count cache: " + error);
        }
        po.countCache = t ? countCache_.get() : nullptr;
        std::vector<SourceResult> sources = sources_;
        if (!excluded_.empty())
            for (SourceResult& src : sources) {
                std::vector<Document> kept;
                for (Document& d : src.documents) {
                    const std::string key = src.name + "/" + d.path;
                    const bool out = std::any_of(excluded_.begin(), excluded_.end(),
                                                 [&](const std::string& p) { return key.rfind(p, 0) == 0; });
                    if (out) src.skipped.push_back({d.path, SkipReason::FolioIgnored, "excluded in this session"});
                    else kept.push_back(std::move(d));
                }
                src.documents = std::move(kept);
            }
        corpus_ = std::make_unique<PreparedCorpus>(std::move(sources), counting, po);
    }
    packed_ = std::make_unique<PackedContext>(
        corpus_->pack(question, std::size_t(options_.contextSize - reserve)));
    if (countCache_ && t) {
        std::string error;
        if (!countCache_->save(&error)) warnings_.push_back(error);
    }
    if (saved_ && store_ && retrievalStats_ && retrievalStats_->chunks > 0 &&
        !store_->saveRetrievalStatistics(saved_->id, *retrievalStats_))
        warnings_.push_back("the retrieval statistics could not be saved: " + store_->lastError());
    if (!packed_->warning.empty()) warnings_.push_back(packed_->warning);
    resolver_ = std::make_unique<CitationResolver>(packed_->documents);
    if (remote_) {
        // The server prefills and caches; Folio sends the same system message for every question.
        contextText_ = std::string(kSystemPrompt) + packed_->text();
        counters_.contextTokens = std::int64_t(packed_->totalTokens);
        remoteReady_ = false;
        return {};
    }
    const Tokenizer& tok = *tokenizer_;

    // Context ids segment by segment (packer.h: a segment's ids never depend on its neighbours, so
    // a change in one document leaves every earlier segment's ids, and their cached state, intact).
    std::vector<std::int32_t> ids{tok.bosId()};
    const std::vector<std::int32_t> system = tok.encode(kSystemPrompt);
    ids.insert(ids.end(), system.begin(), system.end());
    marks_.clear();
    std::size_t offset = ids.size();
    for (const PackedSegment& seg : packed_->segments) {
        marks_.push_back({offset, seg.document == PackedSegment::kNoDocument ? std::string("(manifest)")
                                                                             : packed_->documents[seg.document].path});
        const std::vector<std::int32_t> part = tok.encode(seg.text);
        ids.insert(ids.end(), part.begin(), part.end());
        offset += part.size();
    }
    contextLength_ = ids.size();
    // The saved conversation, as the chat encoding writes it (without its BOS). A question always
    // follows it, so every answer in it is an earlier turn, written `</think> answer EOS` in both
    // modes (earlier turns' reasoning is dropped), which is the chat mode's encoding of the turns.
    if (!history_.empty()) {
        std::vector<ChatTurn> turns;
        for (const Message& m : history_)
            turns.push_back({m.role == "assistant" ? ChatRole::Assistant : ChatRole::User, m.content, {}});
        auto enc = encodeChat(tok, {}, turns, ChatMode::Chat, false);
        if (!enc.ok()) return makeError(enc.error());
        ids.insert(ids.end(), enc.value().begin() + 1, enc.value().end());
    }
    prompt_ = std::move(ids);
    counters_.contextTokens = std::int64_t(contextLength_);
    // A state that no longer matches the prompt starts again (from the cache). One that is a
    // proper prefix is kept: the prompt now holds the saved conversation, the open answer's EOS
    // included, so the next prefill writes it and the next question must not.
    if (seq_ && seqTokens_ != prompt_) {
        lastTurnOpen_ = false;
        thinkingTurn_.reset();
        if (seqTokens_.size() > prompt_.size() || !std::equal(seqTokens_.begin(), seqTokens_.end(), prompt_.begin())) {
            seq_.reset();
            seqTokens_.clear();
        }
    }
    return {};
}

bool SessionRuntime::contextReady() const {
    if (remote_) return remoteReady_;
    return seq_ && !prompt_.empty() && seqTokens_.size() >= prompt_.size() &&
           std::equal(prompt_.begin(), prompt_.end(), seqTokens_.begin());
}

std::string SessionRuntime::sourceAt(std::size_t position) const {
    std::string name;
    for (const auto& m : marks_) {
        if (m.first > position) break;
        name = m.second;
    }
    return name;
}

bool SessionRuntime::snapshot(std::size_t upto, std::size_t base) {
    if (!cache_ || upto == 0 || upto % std::size_t(kSnapshotAlign) != 0 || seqTokens_.size() != upto) return false;
    std::ostringstream out;
    if (!seq_->save(out, std::int64_t(base)).ok()) return false;
    const std::string bytes = out.str();
    // Kept in memory even when the disk tier refuses it, so the chain stays usable in this process;
    // the refusal reaches the user once, through the cache's problems (takeWarnings).
    cache_->put(model_->facts().fingerprint, std::span(seqTokens_.data(), upto),
                QByteArray(bytes.data(), qsizetype(bytes.size())), nullptr, std::int64_t(base));
    ++counters_.snapshotsWritten;
    counters_.snapshotBytes += std::int64_t(bytes.size());
    return true;
}

Status SessionRuntime::prefillSpan(std::span<const std::int32_t> ids, const ProgressFn& progress,
                                   PrefillControl* control, std::vector<float>* logits, std::int64_t total) {
    if (ids.empty()) return {};
    const std::int64_t start = std::int64_t(seqTokens_.size());
    RecentRate recent;
    recent.add(now(), start);
    PrefillOptions opt;
    opt.chunk = options_.chunk;
    PrefillReport report;
    report.total = total;
    report.reused = counters_.reusedTokens;
    auto publish = [&](std::int64_t done) {
        if (!progress) return;
        report.done = done;
        const double t = now();
        const double elapsed = std::max(t - prefillStart_, 1e-9);
        report.averageRate = double(done - prefillFrom_) / elapsed;
        report.recentRate = recent.rate() > 0 ? recent.rate() : report.averageRate;
        report.etaSeconds = report.recentRate > 0 ? double(total - done) / report.recentRate : 0;
        report.source = sourceAt(std::size_t(done));
        progress(report);
    };
    const std::int64_t basePrefilled = counters_.prefilledTokens;
    opt.progress = [&](const PrefillProgress& p) {
        const std::int64_t done = start + p.done;
        counters_.prefilledTokens = basePrefilled + p.done;
        recent.add(now(), done);
        publish(done);
        if (!control) return true;
        return control->proceed([&] {
            report.paused = true;
            publish(done);
            report.paused = false;
        });
    };
    const std::int64_t before = model_->tokensProcessed();
    Status st = model_->prefill(*seq_, ids, opt, logits);
    // The state holds every finished chunk, also after a cancel.
    const std::int64_t fed = seq_->position() - start;
    seqTokens_.insert(seqTokens_.end(), ids.begin(), ids.begin() + fed);
    counters_.prefilledTokens = basePrefilled + (model_->tokensProcessed() - before);
    return st;
}

Status SessionRuntime::prefillContext(const ProgressFn& progress, PrefillControl* control) {
    if (remote_) {
        // The server prefills: one request over the context warms its prefix cache, so the first
        // question's answer starts as fast as the later ones.
        if (!packed_) return makeError("pack the sources before prefilling");
        if (remoteReady_) return {};
        PrefillReport r;
        r.total = counters_.contextTokens;
        r.source = "(sent to " + remote_->endpoint().toStdString() + ")";
        if (progress) progress(r);
        std::vector<RemoteMessage> messages{{"system", contextText_}, {"user", "Reply with OK."}};
        RemoteReply reply;
        auto keepGoing = [control] { return !control || control->proceed(); };
        RemoteChatOptions ro;
        ro.allowEmpty = true; // one token, which may be one the stream does not show
        // A llama.cpp server reports its reading of the prompt: the live panel follows it.
        ro.onProgress = [&](const RemoteProgress& p) {
            PrefillReport live = r;
            live.total = p.total;
            live.done = p.processed;
            live.reused = p.cached;
            const double newTokens = double(p.processed - p.cached);
            live.averageRate = live.recentRate = p.seconds > 0 ? newTokens / p.seconds : 0;
            live.etaSeconds = live.averageRate > 0 ? double(p.total - p.processed) / live.averageRate : 0;
            if (progress) progress(live);
        };
        if (Status st = remote_->chat(remoteModelId_, messages, SamplingParams{0.0f, 1.0f, 0}, 1, {}, keepGoing, &reply, ro);
            !st.ok())
            return st;
        if (reply.stopped) return makeError("cancelled");
        if (reply.promptTokens > 0) counters_.contextTokens = reply.promptTokens;
        counters_.reusedTokens = std::max<std::int64_t>(0, reply.cachedTokens);
        remoteReady_ = true;
        r.done = r.total = counters_.contextTokens;
        r.reused = counters_.reusedTokens;
        if (progress) progress(r);
        return {};
    }
    if (!model_) return makeError("no model is loaded");
    if (prompt_.empty()) return makeError("pack the sources before prefilling");
    if (contextReady()) return {};
    const std::uint64_t fingerprint = model_->facts().fingerprint;
    const std::size_t aligned = contextLength_ / std::size_t(kSnapshotAlign) * std::size_t(kSnapshotAlign);
    if (!seq_) {
        seq_ = model_->newSequence();
        seqTokens_.clear();
        lastTurnOpen_ = false;
        thinkingTurn_.reset();
        counters_.reusedTokens = 0;
        // Reading a snapshot from disk and restoring it overlap (prefix_cache.h).
        if (const std::int64_t restored = cache_->restoreLongest(fingerprint, std::span(prompt_.data(), aligned), *seq_)) {
            seqTokens_.assign(prompt_.begin(), prompt_.begin() + restored);
            counters_.reusedTokens = restored;
        } else {
            seq_ = model_->newSequence(); // a chain that failed part way may have left a partial state
        }
    }
    prefillStart_ = now();
    prefillFrom_ = std::int64_t(seqTokens_.size());
    const std::int64_t total = std::int64_t(prompt_.size());
    if (progress) {
        PrefillReport first;
        first.done = std::int64_t(seqTokens_.size());
        first.total = total;
        first.reused = counters_.reusedTokens;
        first.source = sourceAt(seqTokens_.size());
        progress(first);
    }
    // Up to the context's last 128-token boundary, with a snapshot every checkpointEvery tokens.
    // Each checkpoint is a delta from the one before (or from the restored prefix): the chain costs
    // about one state on disk, and a later context that differs from this one at some point
    // restores every checkpoint before that point.
    const std::size_t every = std::size_t(options_.checkpointEvery);
    std::size_t base = seqTokens_.size() % std::size_t(kSnapshotAlign) == 0 ? seqTokens_.size() : 0;
    while (seqTokens_.size() < aligned) {
        const std::size_t from = seqTokens_.size();
        const std::size_t to = std::min(aligned, (from / every + 1) * every);
        Status st = prefillSpan(std::span(prompt_.data() + from, to - from), progress, control, nullptr, total);
        const std::size_t at = seqTokens_.size();
        if (at % std::size_t(kSnapshotAlign) == 0 && at > from && snapshot(at, base)) base = at;
        if (!st.ok()) return st;
    }
    const std::size_t from = seqTokens_.size();
    return prefillSpan(std::span(prompt_.data() + from, prompt_.size() - from), progress, control, &logits_, total);
}

Status SessionRuntime::ask(const std::string& question, const SamplingParams& sampling, std::int64_t maxTokens,
                           const TokenFn& onToken, PrefillControl* control, Answer* answer) {
    if (!contextReady()) return makeError("the context is not prefilled yet");
    if (remote_) return askRemote(question, sampling, maxTokens, onToken, control, answer);
    const Tokenizer& tok = *tokenizer_;
    const double t0 = now();
    // The question's turn: the previous answer closed, then <User> question <Assistant> and
    // </think> (chat) or <think> (thinking). An answer is closed with EOS; a thinking-mode answer
    // is written again as an earlier turn, `</think> answer EOS`, after the state goes back to its
    // <Assistant> (the chat format keeps no earlier reasoning).
    auto turn = encodeChat(tok, {}, {{ChatRole::User, question, {}}}, options_.mode, true);
    if (!turn.ok()) return makeError(turn.error());
    // Thinking mode: the turn ends with <think>; what comes before </think> is the reasoning.
    const std::int32_t endThink = tok.tokenId("</think>");
    std::vector<std::int32_t> ids;
    std::size_t from = seqTokens_.size();
    if (thinkingTurn_) {
        from = thinkingTurn_->position;
        ids.push_back(endThink);
        ids.insert(ids.end(), thinkingTurn_->answer.begin(), thinkingTurn_->answer.end());
    }
    if (lastTurnOpen_) ids.push_back(tok.eosId()); // also set whenever there is a thinking turn
    ids.insert(ids.end(), turn.value().begin() + 1, turn.value().end());
    auto full = [&] { return std::int64_t(from + ids.size()) >= options_.contextSize; };
    const Error filled = makeError("the conversation has filled the context of " + std::to_string(options_.contextSize) + " tokens");
    if (full()) return filled;
    if (thinkingTurn_) {
        if (auto st = seq_->rewind(std::span(thinkingTurn_->mark.data(), thinkingTurn_->mark.size())); st.ok()) {
            seqTokens_.resize(from);
        } else {
            // Go on with the reasoning in the state rather than refuse every later question.
            warnings_.push_back("the previous answer's reasoning could not be dropped from the model's context: " +
                                st.error());
            ids.erase(ids.begin(), ids.begin() + std::ptrdiff_t(1 + thinkingTurn_->answer.size()));
            from = seqTokens_.size();
            thinkingTurn_.reset();
            if (full()) return filled;
        }
    }
    // A failure part way: with a mark, the next question goes back to it again (the state is at or
    // past it); without one, an EOS already in the state must not be written twice.
    auto failed = [&](Status st) {
        if (!thinkingTurn_ && seqTokens_.size() > from) lastTurnOpen_ = false;
        return st;
    };
    const std::int64_t before = counters_.prefilledTokens;
    const std::int64_t total = std::int64_t(from + ids.size());
    const bool thinking = options_.mode == ChatMode::Thinking;
    std::optional<ThinkingTurn> mark;
    if (thinking) {
        // Up to <Assistant>, a mark, then <think>: the next question comes back to the mark.
        const auto upToAssistant = std::span(ids.data(), ids.size() - 1);
        if (auto st = prefillSpan(upToAssistant, {}, nullptr, nullptr, total); !st.ok()) return failed(st);
        std::ostringstream out;
        if (auto st = seq_->save(out, seq_->position()); !st.ok()) return failed(st);
        mark = ThinkingTurn{seqTokens_.size(), out.str(), {}};
        if (auto st = prefillSpan(std::span(ids.data() + ids.size() - 1, 1), {}, nullptr, &logits_, total); !st.ok())
            return failed(st);
    } else if (auto st = prefillSpan(ids, {}, nullptr, &logits_, total); !st.ok()) {
        return failed(st);
    }
    counters_.lastQuestionTokens = counters_.prefilledTokens - before;
    lastTurnOpen_ = true;

    Answer a;
    a.promptTokens = std::int64_t(ids.size());
    Sampler sampler(sampling);
    StreamDecoder stream(tok);
    bool reasoning = thinking;
    const std::int64_t room = options_.contextSize - std::int64_t(seqTokens_.size()) - 1;
    for (std::int64_t i = 0; i < std::min(maxTokens, room); ++i) {
        if (control && !control->proceed()) {
            a.stopped = true;
            break;
        }
        const std::int32_t next = sampler.sample(logits_);
        if (i == 0) a.secondsToFirstToken = now() - t0;
        if (next == tok.eosId()) break;
        if (reasoning && next == endThink) {
            const std::string rest = stream.finish();
            a.reasoning += rest;
            if (onToken && !rest.empty()) onToken(rest);
            if (onToken) onToken("\n</think>\n");
            reasoning = false;
        } else {
            const std::string text = stream.push(next);
            (reasoning ? a.reasoning : a.text) += text;
            if (onToken && !text.empty()) onToken(text);
            if (!reasoning) ++a.textTokens;
            if (mark && !reasoning) mark->answer.push_back(next);
        }
        ++a.answerTokens;
        if (auto st = model_->decode(*seq_, next, &logits_); !st.ok()) return st;
        seqTokens_.push_back(next);
        ++counters_.decodedTokens;
    }
    const std::string rest = stream.finish();
    (reasoning ? a.reasoning : a.text) += rest;
    if (onToken && !rest.empty()) onToken(rest);
    thinkingTurn_ = std::move(mark);
    if (resolver_) a.citations = resolver_->scan(a.text);

    history_.push_back({0, "user", question, std::int64_t(tok.count(question)), {}});
    history_.push_back({0, "assistant", a.text, a.answerTokens, {}, a.reasoning});
    if (saved_) {
        const bool ok = store_->transaction([&] {
            if (!store_->addMessage(saved_->id, "user", question, history_[history_.size() - 2].tokens)) return false;
            faultPoint("db-write");
            return store_->addMessage(saved_->id, "assistant", a.text, a.answerTokens, a.reasoning).has_value();
        });
        if (!ok) return makeError("the answer could not be saved in the session: " + store_->lastError());
    }
    if (answer) *answer = std::move(a);
    return {};
}

Status SessionRuntime::askRemote(const std::string& question, const SamplingParams& sampling, std::int64_t maxTokens,
                                 const TokenFn& onToken, PrefillControl* control, Answer* answer) {
    const double t0 = now();
    std::vector<RemoteMessage> messages{{"system", contextText_}};
    for (const ingest::Message& m : history_) messages.push_back({m.role, m.content});
    messages.push_back({"user", question});
    Answer a;
    bool first = true, reasoned = false;
    // Streamed as the embedded engine streams a thinking-mode answer: the reasoning, a
    // "</think>" line, the answer.
    auto onDelta = [&](const std::string& piece) {
        if (first) a.secondsToFirstToken = now() - t0;
        first = false;
        if (reasoned) {
            reasoned = false;
            if (onToken) onToken("\n</think>\n");
        }
        if (onToken) onToken(piece);
    };
    RemoteChatOptions ro;
    ro.thinking = options_.mode == ChatMode::Thinking;
    ro.reasoningEffort = options_.reasoningEffort;
    ro.onReasoning = [&](const std::string& piece) {
        if (first) a.secondsToFirstToken = now() - t0;
        first = false;
        reasoned = true;
        if (onToken) onToken(piece);
    };
    auto keepGoing = [control] { return !control || control->proceed(); };
    RemoteReply reply;
    if (Status st = remote_->chat(remoteModelId_, messages, sampling, maxTokens, onDelta, keepGoing, &reply, ro); !st.ok())
        return st;
    a.text = reply.text;
    a.reasoning = reply.reasoning;
    if (reply.cachedTokens >= 0) counters_.reusedTokens = reply.cachedTokens;
    a.stopped = reply.stopped;
    a.answerTokens = reply.completionTokens;
    a.promptTokens = reply.promptTokens;
    counters_.decodedTokens += reply.completionTokens;
    if (resolver_) a.citations = resolver_->scan(a.text);
    history_.push_back({0, "user", question, -1, {}});
    history_.push_back({0, "assistant", a.text, a.answerTokens, {}});
    if (saved_) {
        const bool ok = store_->transaction([&] {
            if (!store_->addMessage(saved_->id, "user", question)) return false;
            faultPoint("db-write");
            return store_->addMessage(saved_->id, "assistant", a.text, a.answerTokens, a.reasoning).has_value();
        });
        if (!ok) return makeError("the answer could not be saved in the session: " + store_->lastError());
    }
    if (answer) *answer = std::move(a);
    return {};
}

SessionSummary SessionRuntime::summary() const {
    SessionSummary s;
    if (saved_) s.name = saved_->name;
    s.contextSize = options_.contextSize;
    s.sources = sources_.size();
    for (const auto& src : sources_) s.documents += src.documents.size();
    if (packed_) {
        s.contextTokens = packed_->totalTokens;
        s.retrieval = packed_->retrieval;
    }
    s.history = history_.size();
    return s;
}

} // namespace folio::app
