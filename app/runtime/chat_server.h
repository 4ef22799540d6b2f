// An OpenAI-compatible HTTP server over the embedded engine (`folio-cli serve`), so that other
// tools, and Folio itself on another machine, can use a model this machine runs.
//
//   GET  /v1/models             the model, as {"object":"list","data":[{"id":...}]}
//   POST /v1/chat/completions   {"messages":[{"role","content"}], "stream", "max_tokens",
//                               "temperature", "top_p", "seed"}; with "stream": true the answer
//                               comes as server-sent events ("data: {chunk}" ... "data: [DONE]");
//                               with "return_progress": true as well, chunks carrying
//                               "prompt_progress" {total, cache, processed, time_ms} (llama.cpp's
//                               shape) while the prompt is read
//   GET  /props                 a llama.cpp-style description (build_info, context length), so
//                               that clients that speak llama.cpp's dialect ask for the progress
// A body over maxBodyBytes is refused with 413.
//
// Prompt reuse, as in a session: the state of the last request continues when the next prompt
// extends it (a conversation), and otherwise the longest cached prefix is restored from the prefix
// cache; the system part (a Folio context) is snapshotted at its last 128-token boundary. The
// response's usage reports it as prompt_tokens_details.cached_tokens. Requests are served one at a
// time, in order (one engine state).
#pragma once

#include "folio/engine.h"
#include "folio/status.h"
#include "folio/tokenizer.h"
#include "runtime/prefix_cache.h"

#include <QHostAddress>
#include <QObject>

#include <functional>
#include <memory>
#include <string>
#include <vector>

class QHttpServer;
class QHttpServerRequest;
class QHttpServerResponder;

namespace folio::app {

struct ServerOptions {
    std::string modelDir; // empty with demo
    bool demo = false;
    int threads = 0;
    std::string device = "auto";
    std::int64_t chunk = 0;     // 0: the session default
    QString snapshotDirectory;  // empty: <cache>/snapshots; "-": memory only
    std::string modelName;      // the id /v1/models reports; empty: the directory's name
    qint64 maxBodyBytes = qint64(64) << 20; // larger requests get 413 (a 1M-token context is ~5 MB)
};

class ChatServer : public QObject {
    Q_OBJECT
public:
    explicit ChatServer(ServerOptions options, QObject* parent = nullptr);
    ~ChatServer() override;

    Status loadModel();
    // Listens on address:port (0: any free port); returns the port, or an error.
    Result<quint16> listen(const QHostAddress& address, quint16 port);
    const std::string& modelName() const { return name_; }
    std::int64_t requestsServed() const { return served_; }

private:
    void chat(const QHttpServerRequest& request, QHttpServerResponder& responder);
    // Brings the state to ids[0:n): continues the live state or restores the longest cached prefix,
    // prefills the rest (snapshotting the system part). Returns the tokens reused.
    // `onProgress(processed, cached)` after each chunk (processed counts the cached tokens too).
    Result<std::int64_t> prefillPrompt(const std::vector<std::int32_t>& ids, std::size_t systemEnd,
                                       std::vector<float>* logits,
                                       const std::function<void(std::int64_t, std::int64_t)>& onProgress = {});
    // Writes the prefix cache's problem reports (damaged files deleted, a full disk) to stderr.
    void reportCacheProblems();

    ServerOptions options_;
    std::string name_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<PrefixCache> cache_;
    std::unique_ptr<QHttpServer> http_;
    std::unique_ptr<Sequence> live_;          // the state after the last request
    std::vector<std::int32_t> liveTokens_;    // exactly what it holds
    std::int64_t served_ = 0;
};

} // namespace folio::app
