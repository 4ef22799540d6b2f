// A session for a user interface: SessionRuntime on a worker thread, driven by calls that return at
// once and reporting through signals (queued to the receivers' threads). Opening, ingesting,
// prefilling and answering never block the caller; pause, resume and cancel act between prefill
// chunks and between answer tokens.
//
//   Session s(options);
//   connect(&s, &Session::progress, bar, ...);
//   s.create("notes", {"/src/repo"});   // loads the model, ingests, packs, prefills
//   s.ask("Where is X handled?", {...}); // token()... then answered()
#pragma once

#include "runtime/session_runtime.h"

#include <QObject>
#include <QStringList>
#include <QThread>

#include <functional>
#include <memory>
#include <mutex>

namespace folio::app {

class Session : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Loading, Prefilling, Paused, Ready, Answering, Cancelled, Failed };
    Q_ENUM(State)

    explicit Session(RuntimeOptions options, QObject* parent = nullptr);
    ~Session() override; // cancels what runs and joins the worker

    // Cancels what runs and lets the worker end without waiting for it; stopped() follows once it
    // has, after which destroying the session does not block. For a window switching sessions.
    void stopAsync();

    // A new session over `paths` (saved under `name` unless empty), or a saved one; both load the
    // model if needed, pack, and prefill (restoring the longest cached prefix).
    void create(const QString& name, const QStringList& paths);
    void open(const QString& name);
    // Adds sources, or changes what is excluded, then packs and prefills again (only the tail after
    // the first changed document goes through the engine; the rest comes from the prefix cache).
    void addSources(const QStringList& paths);
    void setExcluded(const QStringList& prefixes);
    // Continues a cancelled prefill from the last finished chunk.
    void prefill();
    void ask(const QString& question, const SamplingParams& sampling, int maxTokens, bool thinking = false);

    void pause();
    void resume();
    void cancel(); // stops a prefill (resumable with prefill()) or ends an answer early

    State state() const;
    RuntimeCounters counters() const;
    SessionSummary summary() const;
    // The packed context of the last pack (copied on the worker; for budget views).
    std::shared_ptr<const ingest::PackedContext> packedContext() const;
    QString modelDescription() const;
    // What the user left out ("source/path" prefixes), as of the last pack.
    QStringList excluded() const;

signals:
    void stateChanged(folio::app::Session::State state);
    void warning(const QString& message);
    void failed(const QString& message);
    void packed(const folio::app::SessionSummary& summary);
    // A saved session's conversation, once it is read (before its prefill starts).
    void conversationLoaded(const std::vector<folio::ingest::Message>& messages);
    void progress(const folio::app::PrefillReport& report);
    // Reading a repository's files: so far, in all, and files per second (from a reading thread).
    void scanProgress(qint64 files, qint64 total, double filesPerSecond);
    void prefillFinished(qint64 tokens, qint64 reused);
    void token(const QString& text);
    void answered(const folio::app::Answer& answer);
    void stopped();

private:
    void post(std::function<void()> job);
    ingest::IngestOptions scanOptions(); // the ingest options, reporting scanProgress
    void setState(State s);
    bool prepare(); // on the worker: model loaded, packed; false after failed()
    void runPrefill();
    void publishWarnings();

    std::unique_ptr<SessionRuntime> runtime_; // used on the worker thread only
    QThread thread_;
    QObject* worker_ = nullptr;               // lives in thread_; jobs run in its context
    PrefillControl control_;
    mutable std::mutex mutex_;                // guards the copies below
    State state_ = State::Idle;
    RuntimeCounters counters_;
    SessionSummary summary_;
    std::shared_ptr<const ingest::PackedContext> packed_;
    QString modelDescription_;
    QStringList excluded_;
};

} // namespace folio::app

Q_DECLARE_METATYPE(folio::app::PrefillReport)
Q_DECLARE_METATYPE(folio::app::SessionSummary)
Q_DECLARE_METATYPE(folio::app::Answer)
Q_DECLARE_METATYPE(std::vector<folio::ingest::Message>)
