// A client for an OpenAI-compatible server (vLLM, SGLang, `folio-cli serve`): the remote engine of a
// session. Calls block the calling thread (a local event loop runs the network), so a session's
// worker uses it the way it uses the embedded engine.
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

struct RemoteReply {
    std::string text;
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
    explicit RemoteClient(QString endpoint, QString apiKey = {});

    const QString& endpoint() const { return endpoint_; }
    // GET /models: the ids the server offers.
    Status models(std::vector<std::string>* ids);
    // POST /chat/completions with "stream": true; each piece of the answer goes to onDelta as it
    // arrives. keepGoing (optional) is asked between pieces; false ends the request.
    Status chat(const std::string& model, const std::vector<RemoteMessage>& messages, const SamplingParams& sampling,
                std::int64_t maxTokens, const std::function<void(const std::string&)>& onDelta,
                const std::function<bool()>& keepGoing, RemoteReply* reply);

private:
    QString endpoint_;
    QString apiKey_;
};

} // namespace folio::app
