// A client for an OpenAI-compatible server (vLLM, SGLang, a llama.cpp server, the DeepSeek API,
// `folio-cli serve`): the remote engine of a session. Calls block the calling thread (a local event
// loop runs the network), so a session's worker uses it the way it uses the embedded engine.
//
// Dialects, beside plain OpenAI chat completions:
// - DeepSeek API: `thinking` {"type": "enabled"|"disabled"} and `reasoning_effort` sent as its
//   documentation says; `reasoning_content` deltas are the reasoning; usage's
//   prompt_cache_hit_tokens / prompt_cache_miss_tokens are the reused / new prompt tokens.
// - llama.cpp server: `return_progress` and `cache_prompt` sent; `prompt_progress` chunks
//   (total, cache, processed, time_ms) reported while it reads the prompt; `reasoning_content`.
// - vLLM / SGLang (OpenAI): usage.prompt_tokens_details.cached_tokens.
// Errors name what happened: a refused key (401), no balance (402), a rate limit (429: retried, at
// most 3 times, after the server's Retry-After, capped at 30 s, while nothing was streamed yet), a
// server error (5xx: retried once); an answer with no text and no reasoning is an error, never an
// empty reply.
#pragma once

#include "folio/engine.h"
#include "folio/status.h"

#include <QString>

#include <functional>
#include <string>
#include <vector>

namespace folio::app {

struct RemoteMessage {
    std::string role; // "system", "user", "assistant"
    std::string content;
};

enum class RemoteDialect : int { Auto = 0, OpenAI = 1, DeepSeek = 2, LlamaCpp = 3 };
const char* remoteDialectName(RemoteDialect d);
bool parseRemoteDialect(const std::string& name, RemoteDialect* out); // "auto", "openai", "deepseek", "llamacpp"

// What a llama.cpp server reports while it reads the prompt.
struct RemoteProgress {
    std::int64_t total = 0;     // prompt tokens
    std::int64_t cached = 0;    // served from its prompt cache
    std::int64_t processed = 0; // done so far, cached ones included
    double seconds = 0;         // since it started reading
};

struct RemoteChatOptions {
    bool thinking = false;           // the model reasons first (DeepSeek API: thinking enabled)
    std::string reasoningEffort;     // "", "high", "max" (DeepSeek API's reasoning_effort)
    std::function<void(const std::string&)> onReasoning; // reasoning pieces as they arrive
    std::function<void(const RemoteProgress&)> onProgress;
    int retryDelayCapMs = 30000;     // longest wait a Retry-After may ask for (tests shorten it)
    bool allowEmpty = false;         // an answer with no text is not an error (a cache warm-up)
};

struct RemoteReply {
    std::string text;
    std::string reasoning;              // reasoning_content, when the server sends it
    std::int64_t promptTokens = -1;     // from the server's usage, when it reports it
    std::int64_t completionTokens = 0;
    std::int64_t cachedTokens = -1;     // prompt tokens the server's prefix cache served
    std::string finishReason;
    bool stopped = false;               // stopped by the caller
};

class RemoteClient {
public:
    // endpoint: the API root, e.g. "http://gpu-server:8000/v1". apiKey: sent as a bearer token
    // when not empty (else FOLIO_API_KEY from the environment).
    explicit RemoteClient(QString endpoint, QString apiKey = {}, RemoteDialect dialect = RemoteDialect::Auto);

    const QString& endpoint() const { return endpoint_; }
    // The dialect, resolved on first use when Auto: a host under deepseek.com is the DeepSeek API;
    // a server that answers GET /props (at the root, beside /v1) with llama.cpp's fields is a
    // llama.cpp server; anything else plain OpenAI.
    RemoteDialect dialect();
    // GET /models: the ids the server offers.
    Status models(std::vector<std::string>* ids);
    // POST /chat/completions with "stream": true; each piece of the answer goes to onDelta as it
    // arrives. keepGoing (optional) is asked between pieces; false ends the request.
    Status chat(const std::string& model, const std::vector<RemoteMessage>& messages, const SamplingParams& sampling,
                std::int64_t maxTokens, const std::function<void(const std::string&)>& onDelta,
                const std::function<bool()>& keepGoing, RemoteReply* reply, const RemoteChatOptions& options = {});

private:
    // One request: *status the HTTP status, *retryAfterMs the server's Retry-After (-1: none),
    // *streamed whether any of the answer arrived (then it is never sent again).
    Status chatOnce(const QByteArray& body, const std::function<void(const std::string&)>& onDelta,
                    const std::function<bool()>& keepGoing, const RemoteChatOptions& options, RemoteReply* reply,
                    int* status, int* retryAfterMs, bool* streamed);
    QString endpoint_;
    QString apiKey_;
    RemoteDialect dialect_;
};

} // namespace folio::app
