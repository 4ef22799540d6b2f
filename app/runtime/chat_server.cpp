#include "chat_server.h"

#include "app_paths.h"
#include "demo_model.h"
#include "session_runtime.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QDir>
#include <QHttpServer>
#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>

#include <cstdio>
#include <sstream>

namespace folio::app {

namespace {

QByteArray json(const QJsonObject& o) { return QJsonDocument(o).toJson(QJsonDocument::Compact); }

void sendError(QHttpServerResponder& r, QHttpServerResponder::StatusCode code, const QString& message) {
    QJsonObject err{{"message", message}, {"type", code == QHttpServerResponder::StatusCode::BadRequest
                                                       ? "invalid_request_error"
                                                       : "server_error"}};
    r.write(QJsonDocument(QJsonObject{{"error", err}}), code);
}

} // namespace

ChatServer::ChatServer(ServerOptions options, QObject* parent) : QObject(parent), options_(std::move(options)) {}

ChatServer::~ChatServer() = default;

Status ChatServer::loadModel() {
    std::string dir = options_.modelDir;
    if (options_.demo) {
        QString error;
        const QString path = ensureDemoModel(&error);
        if (path.isEmpty()) return makeError("cannot prepare the demo model: " + error.toStdString());
        dir = path.toStdString();
    }
    if (dir.empty()) return makeError("no model: give --model DIR or --demo");
    auto tok = Tokenizer::load(dir);
    if (!tok.ok()) return makeError(tok.error());
    auto model = Model::open(dir, ModelOptions{options_.threads, options_.device});
    if (!model.ok()) return makeError(model.error());
    tokenizer_ = std::move(tok.value());
    model_ = std::move(model.value());
    name_ = !options_.modelName.empty() ? options_.modelName
            : options_.demo             ? std::string("folio-demo")
                                        : QDir(QString::fromStdString(dir)).dirName().toStdString();
    QString snapshots = options_.snapshotDirectory;
    if (snapshots.isEmpty()) snapshots = QDir(cacheDirectory()).filePath(QStringLiteral("snapshots"));
    if (snapshots == QLatin1String("-")) snapshots.clear();
    cache_ = std::make_unique<PrefixCache>(PrefixCache::Options{snapshots, qint64(1) << 30, qint64(20) << 30});
    return {};
}

Result<quint16> ChatServer::listen(const QHostAddress& address, quint16 port) {
    if (!model_) return makeError("load the model before listening");
    http_ = std::make_unique<QHttpServer>();
    http_->route("/v1/models", QHttpServerRequest::Method::Get, [this] {
        QJsonObject m{{"id", QString::fromStdString(name_)}, {"object", "model"}, {"owned_by", "folio"},
                      {"max_model_len", qint64(model_->facts().maxPositions)}};
        return QHttpServerResponse(QJsonObject{{"object", "list"}, {"data", QJsonArray{m}}});
    });
    http_->route("/props", QHttpServerRequest::Method::Get, [this] {
        return QHttpServerResponse(QJsonObject{
            {"build_info", QStringLiteral("folio-cli serve")},
            {"model_path", QString::fromStdString(name_)},
            {"total_slots", 1},
            {"default_generation_settings", QJsonObject{{"n_ctx", qint64(model_->facts().maxPositions)}}}});
    });
    http_->route("/v1/chat/completions", QHttpServerRequest::Method::Post,
                 [this](const QHttpServerRequest& request, QHttpServerResponder&& responder) { chat(request, responder); });
    const quint16 got = http_->listen(address, port);
    if (got == 0) return makeError("cannot listen on " + address.toString().toStdString() + ":" + std::to_string(port));
    return got;
}

void ChatServer::reportCacheProblems() {
    // A damaged or foreign snapshot is deleted and recomputed; the operator learns which one.
    for (const QString& problem : cache_->takeProblems())
        std::fprintf(stderr, "folio-cli serve: snapshot cache: %s\n", qPrintable(problem));
    std::fflush(stderr);
}

Result<std::int64_t> ChatServer::prefillPrompt(const std::vector<std::int32_t>& ids, std::size_t systemEnd,
                                               std::vector<float>* logits,
                                               const std::function<void(std::int64_t, std::int64_t)>& onProgress) {
    const std::uint64_t fingerprint = model_->facts().fingerprint;
    std::int64_t reused = 0;
    const bool extends = live_ && liveTokens_.size() < ids.size() &&
                         std::equal(liveTokens_.begin(), liveTokens_.end(), ids.begin());
    if (extends) {
        reused = std::int64_t(liveTokens_.size());
    } else {
        live_ = model_->newSequence();
        liveTokens_.clear();
        const std::size_t aligned = systemEnd / std::size_t(kSnapshotAlign) * std::size_t(kSnapshotAlign);
        if (const std::int64_t restored = cache_->restoreLongest(fingerprint, std::span(ids.data(), aligned), *live_)) {
            reused = restored;
            liveTokens_.assign(ids.begin(), ids.begin() + reused);
        } else {
            live_ = model_->newSequence();
        }
        reportCacheProblems();
        // The system part up to its last 128-token boundary, snapshotted (a delta from what was
        // restored) so that the next request over the same context starts from it.
        if (std::size_t(reused) < aligned) {
            PrefillOptions o;
            o.chunk = options_.chunk > 0 ? options_.chunk : kDefaultChunk;
            if (onProgress)
                o.progress = [&, base = reused](const PrefillProgress& p) {
                    onProgress(base + p.done, reused);
                    return true;
                };
            if (auto st = model_->prefill(*live_, std::span(ids.data() + reused, aligned - std::size_t(reused)), o, nullptr);
                !st.ok())
                return makeError(st.error());
            std::ostringstream out;
            if (live_->save(out, reused).ok()) {
                const std::string bytes = out.str();
                cache_->put(fingerprint, std::span(ids.data(), aligned), QByteArray(bytes.data(), qsizetype(bytes.size())),
                            nullptr, reused);
                reportCacheProblems(); // a disk tier that refused it
            }
            liveTokens_.assign(ids.begin(), ids.begin() + std::ptrdiff_t(aligned));
        }
    }
    PrefillOptions o;
    o.chunk = options_.chunk > 0 ? options_.chunk : kDefaultChunk;
    const std::size_t from = liveTokens_.size();
    if (onProgress) {
        onProgress(std::int64_t(from), reused);
        o.progress = [&](const PrefillProgress& p) {
            onProgress(std::int64_t(from) + p.done, reused);
            return true;
        };
    }
    if (auto st = model_->prefill(*live_, std::span(ids.data() + from, ids.size() - from), o, logits); !st.ok()) {
        live_.reset();
        liveTokens_.clear();
        return makeError(st.error());
    }
    liveTokens_ = ids;
    return reused;
}

void ChatServer::chat(const QHttpServerRequest& request, QHttpServerResponder& responder) {
    using Code = QHttpServerResponder::StatusCode;
    if (request.body().size() > options_.maxBodyBytes)
        return sendError(responder, Code::PayloadTooLarge,
                         QStringLiteral("the request body (%1 bytes) is over this server's limit of %2 bytes")
                             .arg(request.body().size())
                             .arg(options_.maxBodyBytes));
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(request.body(), &perr);
    if (perr.error != QJsonParseError::NoError || !doc.isObject())
        return sendError(responder, Code::BadRequest, QStringLiteral("the body is not a JSON object: %1").arg(perr.errorString()));
    const QJsonObject body = doc.object();
    const QJsonArray messages = body.value("messages").toArray();
    if (messages.isEmpty()) return sendError(responder, Code::BadRequest, QStringLiteral("\"messages\" must be a non-empty array"));
    std::string system;
    std::vector<ChatTurn> turns;
    for (const QJsonValue& v : messages) {
        const QJsonObject m = v.toObject();
        const QString role = m.value("role").toString();
        const std::string content = m.value("content").toString().toStdString();
        if (role == QLatin1String("system")) system += content;
        else if (role == QLatin1String("user")) turns.push_back({ChatRole::User, content, {}});
        else if (role == QLatin1String("assistant")) turns.push_back({ChatRole::Assistant, content, {}});
        else return sendError(responder, Code::BadRequest, QStringLiteral("unknown message role \"%1\"").arg(role));
    }
    const bool stream = body.value("stream").toBool(false);
    const std::int64_t maxTokens = body.value("max_tokens").toInteger(body.value("max_completion_tokens").toInteger(1024));
    SamplingParams sampling{float(body.value("temperature").toDouble(1.0)), float(body.value("top_p").toDouble(1.0)),
                            std::uint64_t(body.value("seed").toInteger(0))};
    if (maxTokens <= 0) return sendError(responder, Code::BadRequest, QStringLiteral("\"max_tokens\" must be positive"));

    const Tokenizer& tok = *tokenizer_;
    auto encoded = encodeChat(tok, system, turns, ChatMode::Chat, true);
    if (!encoded.ok()) return sendError(responder, Code::BadRequest, QString::fromStdString(encoded.error()));
    const std::vector<std::int32_t>& ids = encoded.value();
    if (std::int64_t(ids.size()) + maxTokens > model_->facts().maxPositions)
        return sendError(responder, Code::BadRequest,
                         QStringLiteral("the prompt (%1 tokens) and max_tokens exceed the model's %2 positions")
                             .arg(ids.size())
                             .arg(model_->facts().maxPositions));
    const std::int32_t userId = tok.tokenId("<\xef\xbd\x9cUser\xef\xbd\x9c>");
    std::size_t systemEnd = ids.size();
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == userId) {
            systemEnd = i;
            break;
        }

    const QString id = QStringLiteral("chatcmpl-%1").arg(++served_);
    const qint64 created = QDateTime::currentSecsSinceEpoch();
    const QString model = QString::fromStdString(name_);
    QTcpSocket* socket = responder.socket();
    auto startStream = [&] {
        responder.writeStatusLine(Code::Ok);
        responder.writeHeader("Content-Type", "text/event-stream");
        responder.writeHeader("Cache-Control", "no-cache");
        responder.writeHeader("Connection", "close");
        responder.writeBody("\r\n", 2);
    };
    // return_progress: the stream starts before the prompt is read, and reports the reading.
    const bool progress = stream && body.value("return_progress").toBool(false);
    std::function<void(std::int64_t, std::int64_t)> onProgress;
    QElapsedTimer reading;
    if (progress) {
        startStream();
        reading.start();
        onProgress = [&](std::int64_t processed, std::int64_t cached) {
            const QJsonObject choice{{"index", 0}, {"delta", QJsonObject{}}, {"finish_reason", QJsonValue::Null}};
            const QJsonObject chunk{{"id", id},
                                    {"object", "chat.completion.chunk"},
                                    {"created", created},
                                    {"model", model},
                                    {"choices", QJsonArray{choice}},
                                    {"prompt_progress", QJsonObject{{"total", qint64(ids.size())},
                                                                    {"cache", qint64(cached)},
                                                                    {"processed", qint64(processed)},
                                                                    {"time_ms", reading.elapsed()}}}};
            responder.writeBody("data: " + json(chunk) + "\n\n");
            socket->flush();
        };
    }
    std::vector<float> logits;
    auto reused = prefillPrompt(ids, systemEnd, &logits, onProgress);
    if (!reused.ok()) {
        if (!progress) return sendError(responder, Code::InternalServerError, QString::fromStdString(reused.error()));
        // The status line is out: the error goes as an event, as llama.cpp's server sends it.
        const QJsonObject error{{"error", QJsonObject{{"message", QString::fromStdString(reused.error())},
                                                      {"type", "server_error"}, {"code", 500}}}};
        responder.writeBody("data: " + json(error) + "\n\n");
        socket->flush();
        socket->disconnectFromHost();
        return;
    }
    if (stream && !progress) startStream();
    auto sendChunk = [&](const QJsonObject& delta, const QJsonValue& finish) {
        QJsonObject choice{{"index", 0}, {"delta", delta}, {"finish_reason", finish}};
        const QJsonObject chunk{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                                {"choices", QJsonArray{choice}}};
        const QByteArray line = "data: " + json(chunk) + "\n\n";
        responder.writeBody(line);
        socket->flush();
    };
    if (stream) sendChunk(QJsonObject{{"role", "assistant"}, {"content", ""}}, QJsonValue::Null);

    Sampler sampler(sampling);
    StreamDecoder decoder(tok);
    std::string text;
    std::int64_t generated = 0;
    QString finish = QStringLiteral("length");
    for (; generated < maxTokens; ++generated) {
        const std::int32_t next = sampler.sample(logits);
        if (next == tok.eosId()) {
            finish = QStringLiteral("stop");
            break;
        }
        const std::string piece = decoder.push(next);
        text += piece;
        if (stream && !piece.empty()) sendChunk(QJsonObject{{"content", QString::fromStdString(piece)}}, QJsonValue::Null);
        if (auto st = model_->decode(*live_, next, &logits); !st.ok()) {
            live_.reset();
            liveTokens_.clear();
            break;
        }
        liveTokens_.push_back(next);
        // A client that went away stops the generation.
        if (stream && socket->state() != QAbstractSocket::ConnectedState) break;
    }
    const std::string rest = decoder.finish();
    text += rest;
    const QJsonObject usage{{"prompt_tokens", qint64(ids.size())},
                            {"completion_tokens", qint64(generated)},
                            {"total_tokens", qint64(ids.size()) + qint64(generated)},
                            {"prompt_tokens_details", QJsonObject{{"cached_tokens", qint64(reused.value())}}}};
    if (stream) {
        if (!rest.empty()) sendChunk(QJsonObject{{"content", QString::fromStdString(rest)}}, QJsonValue::Null);
        QJsonObject choice{{"index", 0}, {"delta", QJsonObject{}}, {"finish_reason", finish}};
        const QJsonObject last{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                               {"choices", QJsonArray{choice}}, {"usage", usage}};
        responder.writeBody("data: " + json(last) + "\n\ndata: [DONE]\n\n");
        socket->flush();
        socket->disconnectFromHost();
        return;
    }
    QJsonObject message{{"role", "assistant"}, {"content", QString::fromStdString(text)}};
    QJsonObject choice{{"index", 0}, {"message", message}, {"finish_reason", finish}};
    responder.write(QJsonDocument(QJsonObject{{"id", id},
                                              {"object", "chat.completion"},
                                              {"created", created},
                                              {"model", model},
                                              {"choices", QJsonArray{choice}},
                                              {"usage", usage}}));
}

} // namespace folio::app
