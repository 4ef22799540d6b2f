#include "remote_client.h"

#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QUrl>

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

RemoteClient::RemoteClient(QString endpoint, QString apiKey) : endpoint_(std::move(endpoint)), apiKey_(std::move(apiKey)) {
    while (endpoint_.endsWith(QLatin1Char('/'))) endpoint_.chop(1);
    if (apiKey_.isEmpty()) apiKey_ = qEnvironmentVariable("FOLIO_API_KEY");
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
                          RemoteReply* out) {
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
    QNetworkAccessManager net;
    QNetworkReply* reply = net.post(makeRequest(endpoint_ + QStringLiteral("/chat/completions"), apiKey_),
                                    QJsonDocument(body).toJson(QJsonDocument::Compact));
    RemoteReply r;
    QByteArray pending, all;
    bool done = false;
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
            const QJsonArray choices = chunk.value("choices").toArray();
            if (!choices.isEmpty()) {
                const QJsonObject c = choices.first().toObject();
                const std::string piece = c.value("delta").toObject().value("content").toString().toStdString();
                if (!piece.empty()) {
                    r.text += piece;
                    ++r.completionTokens;
                    if (onDelta) onDelta(piece);
                }
                if (c.value("finish_reason").isString()) r.finishReason = c.value("finish_reason").toString().toStdString();
            }
            const QJsonObject usage = chunk.value("usage").toObject();
            if (!usage.isEmpty()) {
                r.promptTokens = usage.value("prompt_tokens").toInteger(-1);
                r.completionTokens = usage.value("completion_tokens").toInteger(r.completionTokens);
                r.cachedTokens = usage.value("prompt_tokens_details").toObject().value("cached_tokens").toInteger(-1);
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
    if (!r.stopped && reply->error() != QNetworkReply::NoError) return makeError(errorOf(reply, all));
    if (!r.stopped && !done && r.finishReason.empty())
        return makeError(endpoint_.toStdString() + "/chat/completions: the answer ended before it was complete");
    if (out) *out = std::move(r);
    return {};
}

} // namespace folio::app
