// The session runtime: one conversation over one packed context, run by the caller's thread.
//
//   sources (ingest) -> packed context -> prompt ids -> engine state -> questions and answers
//
// The context part of the prompt (BOS, system text, sources) is the same for every question, so it
// is prefilled once: the longest cached prefix (prefix_cache.h) is restored, the rest is prefilled
// in chunks, and snapshots are written on the way (every `checkpointEvery` tokens, so a crash or a
// cancel resumes from the last one) and at the context's last 128-token boundary. The conversation
// lives on in the same engine state: a question appends only its own turn, the answer is decoded
// token by token, and the context is never prefilled again. In thinking mode the question after an
// answer also drops that answer's reasoning from the state (the chat format keeps no earlier
// reasoning): the state goes back to a mark taken at the answer's <Assistant>, and the turn is
// written again without it. Reopening a saved session restores the context from the cache and
// prefills only the saved conversation after it, encoded the same way.
//
// Saved sessions (a name) keep their sources and messages in the session database; a message is
// written in one transaction once its answer is complete, so a crash loses at most the answer being
// generated.
//
// Threads: a SessionRuntime belongs to the thread that uses it. PrefillControl is the only part
// meant for other threads (session.h runs a SessionRuntime on a worker and drives it through one).
#pragma once

#include "folio/engine.h"
#include "folio/ingest/citation_resolver.h"
#include "folio/ingest/count_cache.h"
#include "folio/ingest/packer.h"
#include "folio/ingest/session_store.h"
#include "folio/ingest/source_loader.h"
#include "folio/status.h"
#include "folio/tokenizer.h"
#include "runtime/prefix_cache.h"
#include "runtime/remote_client.h"

#include <QString>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace folio::app {

// Tokens per forward call during prefill. Measured on the tiny model and on flash-shape (2 cores):
// see docs/perf.md, "Prefill chunk size".
inline constexpr std::int64_t kDefaultChunk = 512;

struct RuntimeOptions {
    std::string modelDir;          // a checkpoint directory; empty with `demo`. With `endpoint`, optional:
                                   // its tokenizer.json gives exact counts for the budget
    QString endpoint;              // an OpenAI-compatible server ("http://host:8000/v1"): the remote engine
    std::string remoteModel;       // the model id there; empty: the first the server offers
    QString apiKey;                // empty: FOLIO_API_KEY
    bool demo = false;             // the generated demo model (demo_model.h)
    int threads = 0;               // 0: every hardware thread
    std::string device = "auto";   // "cpu", "cuda" or "auto"
    std::int64_t contextSize = 262144; // capped at the model's maximum
    std::int64_t chunk = 0;            // 0: kDefaultChunk
    std::int64_t checkpointEvery = 4096; // tokens between snapshots (deltas) during a prefill
    std::int64_t answerReserve = 1024;    // context tokens kept free for the conversation
    ChatMode mode = ChatMode::Chat;
    std::string reasoningEffort;        // remote thinking mode: "", "high", "max" (the API's reasoning_effort)
    RemoteDialect dialect = RemoteDialect::Auto; // the remote server's dialect (remote_client.h)
    bool refreshSources = true;         // reopening reads each source again from its location
    QString databasePath;               // empty: sessionDatabasePath()
    QString snapshotDirectory;          // empty: <cache>/snapshots; "-" for no disk tier
    qint64 memoryBudget = qint64(1) << 30;
    qint64 diskBudget = qint64(20) << 30;
};

// Reported after every prefill chunk.
struct PrefillReport {
    std::int64_t done = 0;      // prompt tokens in the state (restored ones included)
    std::int64_t total = 0;     // prompt tokens to reach
    std::int64_t reused = 0;    // tokens restored from the prefix cache
    double recentRate = 0;      // tokens/s over the last few chunks
    double averageRate = 0;     // tokens/s since this prefill started
    double etaSeconds = 0;
    std::string source;         // the document being read ("(manifest)" for the manifest)
    bool paused = false;
};

// Pause, resume and cancel from any thread; the runtime checks it between chunks and between
// answer tokens.
class PrefillControl {
public:
    void pause();
    void resume();
    void cancel(); // also wakes a paused worker
    void reset();  // clears pause and cancel before new work
    bool paused() const { return paused_.load(); }
    bool cancelled() const { return cancelled_.load(); }
    // Blocks while paused (calling `onPause` once when the pause begins); false once cancelled.
    bool proceed(const std::function<void()>& onPause = {});

private:
    std::atomic<bool> paused_{false}, cancelled_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

// What the runtime has done, for progress displays and for the tests that prove the context is
// prefilled once.
struct RuntimeCounters {
    std::int64_t contextTokens = 0;         // prompt tokens of BOS + system + sources
    std::int64_t reusedTokens = 0;          // restored from the prefix cache at the last open
    std::int64_t prefilledTokens = 0;       // tokens sent through prefill since the model opened
    std::int64_t lastQuestionTokens = 0;    // tokens the last question's turn prefilled (thinking mode:
                                            // with the previous answer written again before it)
    std::int64_t decodedTokens = 0;         // answer tokens decoded
    std::int64_t snapshotsWritten = 0;
    std::int64_t snapshotBytes = 0;         // their payload bytes
};

struct Answer {
    std::string text;                        // the answer (after </think> in thinking mode)
    std::string reasoning;                   // thinking mode: what came before </think>
    std::vector<ingest::Citation> citations; // each marked resolved or not, with the reason
    std::int64_t promptTokens = 0;           // the question's turn (as lastQuestionTokens)
    std::int64_t answerTokens = 0;           // every decoded token, reasoning and </think> included
    std::int64_t textTokens = 0;             // those of `text` (what an earlier turn keeps)
    bool stopped = false;                    // stopped by the caller before the end
    double secondsToFirstToken = 0;
};

struct SessionSummary {
    std::string name;                    // empty for an unsaved session
    std::int64_t contextSize = 0;
    std::size_t sources = 0, documents = 0;
    std::size_t contextTokens = 0;       // packed tokens
    bool retrieval = false;
    std::size_t history = 0;             // saved messages
};

class SessionRuntime {
public:
    using ProgressFn = std::function<void(const PrefillReport&)>;
    using TokenFn = std::function<void(const std::string& text)>;
    using WarningFn = std::function<void(const std::string& text)>;

    explicit SessionRuntime(RuntimeOptions options);
    ~SessionRuntime();

    // Loads the tokenizer and the model (or prepares the demo model).
    Status loadModel();
    bool modelLoaded() const { return model_ != nullptr || remote_ != nullptr; }
    bool remote() const { return remote_ != nullptr; }
    // The statistics retrieval ranks with (saved with the session, restored on reopening); null
    // before the first pack of new sources.
    const ingest::RetrievalStatistics* retrievalStatistics() const;
    // What answers: the model's directory and device, or the endpoint and its model id.
    std::string engineDescription() const;
    // The model's short name, saved with new sessions: "demo", the checkpoint's folder name, or
    // the remote model id.
    std::string modelName() const;
    const ModelFacts* modelFacts() const;
    const Tokenizer* tokenizer() const { return tokenizer_.get(); }

    // A new session over `paths`; saved under `name` unless it is empty. A source that cannot be
    // read is reported through `warn` and left out; it is an error only when none can be read.
    Status createSession(const std::string& name, const std::vector<std::string>& paths,
                         const ingest::IngestOptions& ingestOptions, const WarningFn& warn);
    // More sources for the current session (saved with it); the next pack includes them.
    Status addSources(const std::vector<std::string>& paths, const ingest::IngestOptions& ingestOptions,
                      const WarningFn& warn);
    // Files and folders left out by the user: "source/path" prefixes ("repo/tests/", "repo/a.cpp").
    // They show among the left-out files as excluded; the next pack leaves them out.
    void setExcluded(std::vector<std::string> prefixes);
    const std::vector<std::string>& excluded() const { return excluded_; }

    // A saved session: its sources and conversation from the database. With refreshSources, each
    // source whose location still exists is read again (the files on disk are what the user asks
    // about; a repository that moved on by a commit changes only the tail of the context, so only
    // that tail is prefilled); a source that can no longer be read keeps its saved copy, with a
    // warning.
    Status openSession(const std::string& name);
    // Sources that changed on disk since they were saved (after openSession with refreshSources).
    std::size_t refreshedSources() const { return refreshed_; }
    bool hasSession() const { return packed_ != nullptr || !sources_.empty() || saved_.has_value(); }

    // Packs the sources into the context and encodes the prompt's context part. `question` ranks
    // passages when the sources do not fit (retrieval).
    Status pack(const std::string& question = {});
    const ingest::PackedContext* packed() const { return packed_.get(); }

    // Brings the engine state to the end of the context and the saved conversation: restores the
    // longest cached prefix, prefills the rest. A cancel returns "cancelled"; calling it again
    // continues from where it stopped (the state keeps every finished chunk).
    Status prefillContext(const ProgressFn& progress, PrefillControl* control);
    bool contextReady() const;

    // Appends the question's turn, streams the answer through `onToken`, saves both messages. A
    // cancel through `control` stops the answer (kept and saved as it is, marked stopped).
    Status ask(const std::string& question, const SamplingParams& sampling, std::int64_t maxTokens,
               const TokenFn& onToken, PrefillControl* control, Answer* answer);

    // Chat or thinking mode for the questions from now on (the cached context does not depend on it).
    void setMode(ChatMode mode) { options_.mode = mode; }
    ChatMode mode() const { return options_.mode; }

    const RuntimeCounters& counters() const { return counters_; }
    SessionSummary summary() const;
    const std::vector<ingest::Message>& history() const { return history_; }
    // Problems met on the way that did not stop the work (an unwritable cache directory...).
    std::vector<std::string> takeWarnings();

    // The system text before the sources (how to cite).
    static const char* systemPrompt();

private:
    Status ensureStore();
    std::vector<ingest::SourceResult> loadPaths(const std::vector<std::string>& paths,
                                                const ingest::IngestOptions& ingestOptions, const WarningFn& warn);
    // Saves the state (at `upto` tokens) as a delta from the snapshot at `base` (0: a full state).
    bool snapshot(std::size_t upto, std::size_t base);
    std::string sourceAt(std::size_t position) const;
    Status askRemote(const std::string& question, const SamplingParams& sampling, std::int64_t maxTokens,
                     const TokenFn& onToken, PrefillControl* control, Answer* answer);
    Status prefillSpan(std::span<const std::int32_t> ids, const ProgressFn& progress, PrefillControl* control,
                       std::vector<float>* logits, std::int64_t total);

    RuntimeOptions options_;
    std::string modelDir_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<RemoteClient> remote_;
    std::string remoteModelId_;
    bool remoteReady_ = false;
    std::string contextText_;            // remote: the system message (how to cite, then the sources)
    std::unique_ptr<PrefixCache> cache_;
    std::unique_ptr<ingest::SessionStore> store_;
    std::optional<ingest::SessionInfo> saved_;
    std::vector<ingest::SourceResult> sources_;
    std::vector<ingest::Message> history_;
    std::vector<std::string> excluded_;
    std::size_t refreshed_ = 0;
    std::unique_ptr<ingest::PackedContext> packed_;
    std::shared_ptr<ingest::RetrievalStatistics> retrievalStats_; // kept across packs (packer.h), saved
    void forgetRetrievalStatistics(); // the saved session's: cleared when its sources change
    // Exact counts kept between runs (count_cache.h), for the loaded tokenizer; null when none or
    // when the cache file cannot be opened (a warning says so).
    std::unique_ptr<ingest::TokenCountCache> countCache_;
    std::string countCacheTokenizer_;
    std::unique_ptr<ingest::PreparedCorpus> corpus_; // the sources prepared for packing, reused
    std::unique_ptr<ingest::CitationResolver> resolver_;
    std::vector<std::int32_t> prompt_;   // the ids the state should reach: context + conversation
    std::size_t contextLength_ = 0;      // ids of BOS + system + sources
    std::vector<std::pair<std::size_t, std::string>> marks_; // where each packed segment starts
    std::unique_ptr<Sequence> seq_;
    std::vector<std::int32_t> seqTokens_; // exactly what the state holds
    bool lastTurnOpen_ = false;           // the state ends with an answer not yet closed by EOS
    // A thinking-mode turn in the state: earlier turns' reasoning is dropped from the prompt
    // (deepseek-v4.md section 7), so the next question first takes the state back to just after
    // that turn's <Assistant> and writes the turn as `</think> answer EOS`.
    struct ThinkingTurn {
        std::size_t position = 0;           // just after <Assistant>
        std::string mark;                   // Sequence::save(out, position): the fixed-size parts
        std::vector<std::int32_t> answer;   // the ids sampled after </think>
    };
    std::optional<ThinkingTurn> thinkingTurn_;
    std::vector<float> logits_;           // after the last token of seqTokens_
    RuntimeCounters counters_;
    std::vector<std::string> warnings_;
    double prefillStart_ = 0;
    std::int64_t prefillFrom_ = 0; // state length when this prefill started
};

} // namespace folio::app
