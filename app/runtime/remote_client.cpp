#include "remote_client.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <QUrl>

#include <algorithm>

namespace folio::app {

namespace {

QNetworkRequest makeRequest(const QString& url, const QString& key) {
    QNetworkRequest r{QUrl(url)};
    r.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    if (!key.isEmpty()) r.setRawHeader("Authorization", "Bearer " + key.toUtf8());
    return r;
}

// The server's own error message when the body carries one ({"error":{"message":...}}).
std::string errorOf(QNetworkReply* reply, const QByteArray& body) {
    const QJsonObject o = QJsonDocument::fromJson(body).object();
    const QString message = o.value("error").toObject().value("message").toString();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    std::string out = reply->url().toString().toStdString() + ": ";
    if (status) out += "HTTP " + std::to_string(status) + ": ";
    out += message.isEmpty() ? reply->errorString().toStdString() : message.toStdString();
    return out;
}

} // namespace

const char* remoteDialectName(RemoteDialect d) {
    switch (d) {
    case RemoteDialect::Auto: return "auto";
    case RemoteDialect::OpenAI: return "openai";
    case RemoteDialect::DeepSeek: return "deepseek";
    case RemoteDialect::LlamaCpp: return "llamacpp";
    }
    return "?";
}

bool parseRemoteDialect(const std::string& name, RemoteDialect* out) {
    for (RemoteDialect d : {RemoteDialect::Auto, RemoteDialect::OpenAI, RemoteDialect::DeepSeek, RemoteDialect::LlamaCpp})
        if (name == remoteDialectName(d)) {
            *out = d;
            return true;
        }
    return false;
}

RemoteClient::RemoteClient(QString endpoint, QString apiKey, RemoteDialect dialect)
    : endpoint_(std::move(endpoint)), apiKey_(std::move(apiKey)), dialect_(dialect) {
    while (endpoint_.endsWith(QLatin1Char('/'))) endpoint_.chop(1);
    if (apiKey_.isEmpty()) apiKey_ = qEnvironmentVariable("FOLIO_API_KEY");
    if (apiKey_.isEmpty() && QUrl(endpoint_).host().endsWith(QLatin1String("deepseek.com")))
        apiKey_ = qEnvironmentVariable("DEEPSEEK_API_KEY");
}

RemoteDialect RemoteClient::dialect() {
    if (dialect_ != RemoteDialect::Auto) return dialect_;
    const QUrl url(endpoint_);
    if (url.host() == QLatin1String("deepseek.com") || url.host().endsWith(QLatin1String(".deepseek.com")))
        return dialect_ = RemoteDialect::DeepSeek;
    // llama.cpp's server answers /props at its root (the API is under /v1).
    QUrl props = url;
    QString path = props.path();
    if (path.endsWith(QLatin1String("/v1"))) path.chop(3);
    props.setPath(path + QStringLiteral("/props"));
    QNetworkAccessManager net;
    QNetworkRequest req = makeRequest(props.toString(), apiKey_);
    req.setTransferTimeout(3000);
    QNetworkReply* reply = net.get(req);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    const QJsonObject o = QJsonDocument::fromJson(reply->readAll()).object();
    reply->deleteLater();
    const bool llama = reply->error() == QNetworkReply::NoError &&
                       (o.contains(QStringLiteral("default_generation_settings")) || o.contains(QStringLiteral("build_info")));
    return dialect_ = llama ? RemoteDialect::LlamaCpp : RemoteDialect::OpenAI;
}

Status RemoteClient::models(std::vector<std::string>* ids) {
    QNetworkAccessManager net;
    QNetworkReply* reply = net.get(makeRequest(endpoint_ + QStringLiteral("/models"), apiKey_));
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    const QByteArray body = reply->readAll();
    reply->deleteLater();
    if (reply->error() != QNetworkReply::NoError) return makeError(errorOf(reply, body));
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(body, &perr);
    if (perr.error != QJsonParseError::NoError)
        return makeError(endpoint_.toStdString() + "/models: the answer is not JSON (" + perr.errorString().toStdString() + ")");
    ids->clear();
    for (const QJsonValue& m : doc.object().value("data").toArray()) ids->push_back(m.toObject().value("id").toString().toStdString());
    if (ids->empty()) return makeError(endpoint_.toStdString() + "/models: the server offers no model");
    return {};
}

Status RemoteClient::chat(const std::string& model, const std::vector<RemoteMessage>& messages,
                          const SamplingParams& sampling, std::int64_t maxTokens,
                          const std::function<void(const std::string&)>& onDelta, const std::function<bool()>& keepGoing,
                          RemoteReply* out, const RemoteChatOptions& options) {
    QJsonArray msgs;
    for (const RemoteMessage& m : messages)
        msgs.append(QJsonObject{{"role", QString::fromStdString(m.role)}, {"content", QString::fromStdString(m.content)}});
    QJsonObject body{{"model", QString::fromStdString(model)},
                     {"messages", msgs},
                     {"stream", true},
                     {"stream_options", QJsonObject{{"include_usage", true}}},
                     {"max_tokens", qint64(maxTokens)},
                     {"temperature", double(sampling.temperature)},
                     {"top_p", double(sampling.topP)},
                     {"seed", qint64(sampling.seed & 0x7fffffff)}};
    switch (dialect()) {
    case RemoteDialect::DeepSeek:
        // Thinking is on by default there: say which.
        body.insert("thinking", QJsonObject{{"type", options.thinking ? "enabled" : "disabled"}});
        if (options.thinking && !options.reasoningEffort.empty())
            body.insert("reasoning_effort", QString::fromStdString(options.reasoningEffort));
        break;
    case RemoteDialect::LlamaCpp:
        body.insert("return_progress", true);
        body.insert("cache_prompt", true);
        break;
    default: break;
    }
    const QByteArray payload = QJsonDocument(body).toJson(QJsonDocument::Compact);
    int rateLimited = 0, serverErrors = 0;
    for (;;) {
        RemoteReply r;
        int status = 0, retryAfterMs = -1;
        bool streamed = false;
        Status st = chatOnce(payload, onDelta, keepGoing, options, &r, &status, &retryAfterMs, &streamed);
        if (st.ok()) {
            if (out) *out = std::move(r);
            return {};
        }
        const bool retry = !streamed && ((status == 429 && rateLimited < 3) || (status >= 500 && status < 600 && serverErrors < 1));
        if (!retry) return st;
        (status == 429 ? rateLimited : serverErrors)++;
        // Wait with the event loop running (the caller's thread may serve other sockets), asking
        // keepGoing now and then.
        const int wait = std::min(options.retryDelayCapMs, retryAfterMs >= 0 ? retryAfterMs : 1000);
        QElapsedTimer waited;
        waited.start();
        while (waited.elapsed() < wait) {
            if (keepGoing && !keepGoing()) return st;
            QEventLoop pause;
            QTimer::singleShot(std::min<qint64>(100, wait - waited.elapsed()), &pause, &QEventLoop::quit);
            pause.exec();
        }
    }
}

Status RemoteClient::chatOnce(const QByteArray& payload, const std::function<void(const std::string&)>& onDelta,
                              const std::function<bool()>& keepGoing, const RemoteChatOptions& options, RemoteReply* out,
                              int* status, int* retryAfterMs, bool* streamed) {
    QNetworkAccessManager net;
    QNetworkReply* reply = net.post(makeRequest(endpoint_ + QStringLiteral("/chat/completions"), apiKey_), payload);
    RemoteReply& r = *out;
    QByteArray pending, all;
    bool done = false;
    std::string streamError;
    // Server-sent events: "data: {json}" lines separated by blank lines, "data: [DONE]" at the end.
    auto consume = [&] {
        const QByteArray got = reply->readAll();
        all += got;
        pending += got;
        qsizetype nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
            QByteArray line = pending.left(nl).trimmed();
            pending.remove(0, nl + 1);
            if (!line.startsWith("data:")) continue;
            line = line.mid(5).trimmed();
            if (line == "[DONE]") {
                done = true;
                continue;
            }
            const QJsonObject chunk = QJsonDocument::fromJson(line).object();
            // An error after the status line (llama.cpp's server, folio-cli serve): an event.
            if (chunk.value("error").isObject()) {
                streamError = chunk.value("error").toObject().value("message").toString().toStdString();
                if (streamError.empty()) streamError = "the server reported an error";
                continue;
            }
            const QJsonArray choices = chunk.value("choices").toArray();
            if (!choices.isEmpty()) {
                const QJsonObject c = choices.first().toObject();
                const QJsonObject delta = c.value("delta").toObject();
                const std::string thought = delta.value("reasoning_content").toString().toStdString();
                if (!thought.empty()) {
                    *streamed = true;
                    r.reasoning += thought;
                    ++r.completionTokens;
                    if (options.onReasoning) options.onReasoning(thought);
                }
                const std::string piece = delta.value("content").toString().toStdString();
                if (!piece.empty()) {
                    *streamed = true;
                    r.text += piece;
                    ++r.completionTokens;
                    if (onDelta) onDelta(piece);
                }
                if (c.value("finish_reason").isString()) r.finishReason = c.value("finish_reason").toString().toStdString();
            }
            const QJsonObject progress = chunk.value("prompt_progress").toObject();
            if (!progress.isEmpty() && options.onProgress) {
                RemoteProgress p;
                p.total = progress.value("total").toInteger();
                p.cached = progress.value("cache").toInteger();
                p.processed = progress.value("processed").toInteger();
                p.seconds = progress.value("time_ms").toDouble() / 1000.0;
                options.onProgress(p);
            }
            const QJsonObject usage = chunk.value("usage").toObject();
            if (!usage.isEmpty()) {
                const std::int64_t hit = usage.value("prompt_cache_hit_tokens").toInteger(-1);
                const std::int64_t miss = usage.value("prompt_cache_miss_tokens").toInteger(-1);
                r.promptTokens = usage.value("prompt_tokens").toInteger(hit >= 0 && miss >= 0 ? hit + miss : -1);
                r.completionTokens = usage.value("completion_tokens").toInteger(r.completionTokens);
                r.cachedTokens = hit >= 0 ? hit : usage.value("prompt_tokens_details").toObject().value("cached_tokens").toInteger(-1);
            }
        }
        if (keepGoing && !keepGoing()) {
            r.stopped = true;
            reply->abort();
        }
    };
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::readyRead, &loop, consume);
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    consume();
    reply->deleteLater();
    *status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (!r.stopped && reply->error() != QNetworkReply::NoError) {
        bool ok = false;
        const int seconds = reply->rawHeader("Retry-After").trimmed().toInt(&ok);
        if (ok && seconds >= 0) *retryAfterMs = seconds * 1000;
        const std::string server = errorOf(reply, all);
        switch (*status) {
        case 401:
            return makeError(server + " (the server refused the API key: FOLIO_API_KEY, or DEEPSEEK_API_KEY for the DeepSeek API)");
        case 402: return makeError(server + " (the account has no balance left)");
        case 429:
            return makeError(server + " (rate limited" +
                             (ok ? ", the server asks to wait " + std::to_string(seconds) + " s" : std::string()) +
                             "; retried 3 times)");
        default:
            if (*status >= 500) return makeError(server + " (the server failed; retried once)");
            return makeError(server);
        }
    }
    const std::string where = endpoint_.toStdString() + "/chat/completions";
    if (!streamError.empty()) return makeError(where + ": " + streamError);
    if (!r.stopped && !done && r.finishReason.empty()) return makeError(where + ": the answer ended before it was complete");
    if (!r.stopped && !options.allowEmpty && r.text.empty() && r.reasoning.empty())
        return makeError(where + ": the server sent an empty answer" +
                         (r.finishReason.empty() ? std::string() : " (finish_reason " + r.finishReason + ")"));
    return {};
}

} // namespace folio::app
