// The remote engine's dialects against a loopback server of the test's own that replays the
// documented responses of the DeepSeek API (reasoning_content, prompt_cache_hit/miss_tokens, the
// thinking switch, its error codes and Retry-After) and of a llama.cpp server (/props, return_progress
// and prompt_progress, cached_tokens): what the client sends, what it makes of the answers, the
// bounded retries, and a session whose live prefill panel follows the server's prompt progress.
#include "runtime/remote_client.h"
#include "runtime/session_runtime.h"
#include "test_support.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <deque>

using namespace folio;
using namespace folio::app;

namespace {

struct Canned {
    int status = 200;
    QByteArray headers; // extra header lines, each ending in \r\n
    QByteArray body;
};

struct Seen {
    QByteArray method, path;
    QJsonObject body;
};

// HTTP/1.1 on 127.0.0.1: GET /props and GET /v1/models from fixed answers (404 when unset),
// POST /v1/chat/completions from a queue of canned responses (500 when it runs dry). Every request
// is recorded. Served from the test's thread: the client's event loop drives it.
class ReplayServer : public QObject {
public:
    ReplayServer() {
        connect(&server_, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* s = server_.nextPendingConnection()) {
                auto* buffer = new QByteArray;
                connect(s, &QTcpSocket::readyRead, this, [this, s, buffer] {
                    *buffer += s->readAll();
                    const qsizetype end = buffer->indexOf("\r\n\r\n");
                    if (end < 0) return;
                    const QByteArray head = buffer->left(end);
                    qsizetype length = 0;
                    for (const QByteArray& line : head.split('\n'))
                        if (line.toLower().startsWith("content-length:")) length = line.mid(15).trimmed().toLongLong();
                    if (buffer->size() < end + 4 + length) return;
                    const QList<QByteArray> first = head.left(head.indexOf("\r\n")).split(' ');
                    Seen seen{first.value(0), first.value(1), QJsonDocument::fromJson(buffer->mid(end + 4, length)).object()};
                    requests.push_back(seen);
                    buffer->clear();
                    respond(s, seen);
                });
                connect(s, &QTcpSocket::disconnected, s, [s, buffer] {
                    delete buffer;
                    s->deleteLater();
                });
            }
        });
        QVERIFY(server_.listen(QHostAddress::LocalHost, 0));
    }
    QString base() const { return QStringLiteral("http://127.0.0.1:%1/v1").arg(server_.serverPort()); }

    QByteArray props, models;
    std::deque<Canned> chats;
    std::vector<Seen> requests;

    int chatRequests() const {
        int n = 0;
        for (const Seen& s : requests) n += s.path.endsWith("/chat/completions");
        return n;
    }

private:
    void respond(QTcpSocket* s, const Seen& seen) {
        Canned c;
        if (seen.path == "/props") c = props.isEmpty() ? Canned{404, {}, "not found"} : Canned{200, {}, props};
        else if (seen.path == "/v1/models") c = models.isEmpty() ? Canned{404, {}, "not found"} : Canned{200, {}, models};
        else if (seen.path == "/v1/chat/completions" && !chats.empty()) {
            c = chats.front();
            chats.pop_front();
        } else c = Canned{500, {}, R"({"error":{"message":"no canned response left"}})"};
        const bool sse = c.status == 200 && c.body.startsWith("data:");
        QByteArray out = "HTTP/1.1 " + QByteArray::number(c.status) + " X\r\nContent-Type: " +
                         (sse ? "text/event-stream" : "application/json") + "\r\nContent-Length: " +
                         QByteArray::number(c.body.size()) + "\r\nConnection: close\r\n" + c.headers + "\r\n" + c.body;
        s->write(out);
        s->disconnectFromHost();
    }
    QTcpServer server_;
};

QByteArray sse(const QJsonObject& o) { return "data: " + QJsonDocument(o).toJson(QJsonDocument::Compact) + "\n\n"; }
QJsonObject delta(const char* field, const QString& text) {
    return QJsonObject{{"choices", QJsonArray{QJsonObject{{"index", 0}, {"delta", QJsonObject{{field, text}}}}}}};
}
QJsonObject finish(const char* reason) {
    return QJsonObject{{"choices", QJsonArray{QJsonObject{{"index", 0}, {"delta", QJsonObject{}}, {"finish_reason", reason}}}}};
}
const QByteArray kDone = "data: [DONE]\n\n";

// The DeepSeek API's stream in thinking mode, as its documentation shows it.
QByteArray deepSeekStream() {
    return sse(delta("reasoning_content", "Let me ")) + sse(delta("reasoning_content", "think.")) +
           sse(delta("content", "The answer")) + sse(delta("content", " is 42.")) + sse(finish("stop")) +
           sse(QJsonObject{{"choices", QJsonArray{}},
                             {"usage", QJsonObject{{"prompt_tokens", 130}, {"completion_tokens", 6}, {"total_tokens", 136},
                                                   {"prompt_cache_hit_tokens", 128}, {"prompt_cache_miss_tokens", 2}}}}) +
           kDone;
}

QByteArray apiError(const char* message) {
    return QJsonDocument(QJsonObject{{"error", QJsonObject{{"message", message}, {"type", "invalid_request_error"}}}})
        .toJson(QJsonDocument::Compact);
}

std::vector<RemoteMessage> someMessages() { return {{"system", "The notes."}, {"user", "What is the answer?"}}; }

} // namespace

class TestRemoteDialects : public QObject {
    Q_OBJECT
private slots:
    void deepSeekReasoningAndCacheFigures() {
        ReplayServer server;
        server.chats.push_back({200, {}, deepSeekStream()});
        server.chats.push_back({200, {}, sse(delta("content", "Hi.")) + sse(finish("stop")) + kDone});
        RemoteClient client(server.base(), "sk-test", RemoteDialect::DeepSeek);
        RemoteChatOptions o;
        o.thinking = true;
        o.reasoningEffort = "max";
        std::vector<std::string> thoughts, pieces;
        o.onReasoning = [&](const std::string& p) { thoughts.push_back(p); };
        RemoteReply reply;
        const Status st = client.chat("deepseek-v4-flash", someMessages(), SamplingParams{1.0f, 1.0f, 0}, 100,
                                      [&](const std::string& p) { pieces.push_back(p); }, {}, &reply, o);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().c_str());
        QCOMPARE(reply.reasoning, std::string("Let me think."));
        QCOMPARE(reply.text, std::string("The answer is 42."));
        QCOMPARE(thoughts.size(), std::size_t(2));
        QCOMPARE(pieces.size(), std::size_t(2));
        QCOMPARE(reply.promptTokens, std::int64_t(130));
        QCOMPARE(reply.cachedTokens, std::int64_t(128)); // prompt_cache_hit_tokens: the reused part
        QCOMPARE(reply.completionTokens, std::int64_t(6));
        // What was sent: the thinking switch and the effort as the API documents them.
        const QJsonObject sent = server.requests.back().body;
        QCOMPARE(sent.value("thinking").toObject().value("type").toString(), QStringLiteral("enabled"));
        QCOMPARE(sent.value("reasoning_effort").toString(), QStringLiteral("max"));
        QVERIFY(!sent.contains("return_progress"));
        QCOMPARE(sent.value("model").toString(), QStringLiteral("deepseek-v4-flash"));
        // Chat mode says so explicitly (thinking is on by default there), without an effort.
        RemoteChatOptions chat;
        QVERIFY(client.chat("deepseek-v4-flash", someMessages(), {}, 10, {}, {}, &reply, chat).ok());
        QCOMPARE(server.requests.back().body.value("thinking").toObject().value("type").toString(), QStringLiteral("disabled"));
        QVERIFY(!server.requests.back().body.contains("reasoning_effort"));
        QCOMPARE(reply.cachedTokens, std::int64_t(-1)); // no usage: unknown, not zero
    }

    void errorsAreNamedAndRateLimitsRetried() {
        ReplayServer server;
        RemoteClient client(server.base(), "sk-bad", RemoteDialect::DeepSeek);
        RemoteChatOptions o;
        o.retryDelayCapMs = 1500;
        RemoteReply reply;
        auto ask = [&] { return client.chat("m", someMessages(), {}, 10, {}, {}, &reply, o); };
        // 401: the key, named as such.
        server.chats.push_back({401, {}, apiError("Authentication Fails (no such user)")});
        Status st = ask();
        QVERIFY(!st.ok());
        QVERIFY2(QString::fromStdString(st.error()).contains("HTTP 401"), st.error().c_str());
        QVERIFY2(QString::fromStdString(st.error()).contains("Authentication Fails"), st.error().c_str());
        QVERIFY2(QString::fromStdString(st.error()).contains("API key"), st.error().c_str());
        QCOMPARE(server.chatRequests(), 1); // never retried
        // 402: the balance.
        server.chats.push_back({402, {}, apiError("Insufficient Balance")});
        st = ask();
        QVERIFY2(!st.ok() && QString::fromStdString(st.error()).contains("no balance"), st.error().c_str());
        QCOMPARE(server.chatRequests(), 2);
        // 429 with Retry-After: waited for, then answered.
        server.chats.push_back({429, "Retry-After: 1\r\n", apiError("Rate Limit Reached")});
        server.chats.push_back({200, {}, deepSeekStream()});
        QElapsedTimer t;
        t.start();
        st = ask();
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().c_str());
        QVERIFY2(t.elapsed() >= 900, qPrintable(QString::number(t.elapsed())));
        QCOMPARE(reply.text, std::string("The answer is 42."));
        QCOMPARE(server.chatRequests(), 4);
        // 429 four times: three retries, then the error says why.
        for (int i = 0; i < 4; ++i) server.chats.push_back({429, "Retry-After: 0\r\n", apiError("Rate Limit Reached")});
        st = ask();
        QVERIFY(!st.ok());
        QVERIFY2(QString::fromStdString(st.error()).contains("rate limited") && QString::fromStdString(st.error()).contains("retried 3 times"),
                 st.error().c_str());
        QCOMPARE(server.chatRequests(), 8);
        // 5xx: one retry.
        server.chats.push_back({503, {}, apiError("Server overloaded")});
        server.chats.push_back({500, {}, apiError("Server Error")});
        st = ask();
        QVERIFY2(!st.ok() && QString::fromStdString(st.error()).contains("HTTP 500") &&
                     QString::fromStdString(st.error()).contains("the server failed"),
                 st.error().c_str());
        QCOMPARE(server.chatRequests(), 10);
        // An answer with nothing in it is an error, not a silent empty reply.
        server.chats.push_back({200, {}, sse(finish("stop")) + kDone});
        st = ask();
        QVERIFY2(!st.ok() && QString::fromStdString(st.error()).contains("empty answer"), st.error().c_str());
    }

    void llamaCppProgressAndCache() {
        ReplayServer server;
        server.props = R"({"default_generation_settings":{"n_ctx":8192},"build_info":"b1-test","total_slots":1})";
        QJsonObject p1{{"choices", QJsonArray{QJsonObject{{"index", 0}, {"delta", QJsonObject{}}}}},
                       {"prompt_progress", QJsonObject{{"total", 1000}, {"cache", 200}, {"processed", 600}, {"time_ms", 400}}}};
        QJsonObject p2{{"choices", QJsonArray{QJsonObject{{"index", 0}, {"delta", QJsonObject{}}}}},
                       {"prompt_progress", QJsonObject{{"total", 1000}, {"cache", 200}, {"processed", 1000}, {"time_ms", 800}}}};
        const QByteArray stream =
            sse(p1) + sse(p2) + sse(delta("content", "OK")) + sse(finish("length")) +
            sse(QJsonObject{{"choices", QJsonArray{}},
                              {"usage", QJsonObject{{"prompt_tokens", 1000}, {"completion_tokens", 1},
                                                    {"prompt_tokens_details", QJsonObject{{"cached_tokens", 200}}}}}}) +
            kDone;
        server.chats.push_back({200, {}, stream});
        RemoteClient client(server.base());
        QCOMPARE(int(client.dialect()), int(RemoteDialect::LlamaCpp)); // from /props
        std::vector<RemoteProgress> seen;
        RemoteChatOptions o;
        o.onProgress = [&](const RemoteProgress& p) { seen.push_back(p); };
        RemoteReply reply;
        QVERIFY(client.chat("gemma", someMessages(), {}, 1, {}, {}, &reply, o).ok());
        QCOMPARE(seen.size(), std::size_t(2));
        QCOMPARE(seen[0].total, std::int64_t(1000));
        QCOMPARE(seen[0].cached, std::int64_t(200));
        QCOMPARE(seen[0].processed, std::int64_t(600));
        QCOMPARE(seen[0].seconds, 0.4);
        QCOMPARE(seen[1].processed, std::int64_t(1000));
        QCOMPARE(reply.cachedTokens, std::int64_t(200));
        const QJsonObject sent = server.requests.back().body;
        QCOMPARE(sent.value("return_progress").toBool(), true);
        QCOMPARE(sent.value("cache_prompt").toBool(), true);
        QVERIFY(!sent.contains("thinking"));
        // A server without /props is plain OpenAI: nothing llama.cpp-specific is sent.
        ReplayServer plain;
        plain.chats.push_back({200, {}, sse(delta("content", "OK")) + sse(finish("stop")) + kDone});
        RemoteClient openai(plain.base());
        QCOMPARE(int(openai.dialect()), int(RemoteDialect::OpenAI));
        QVERIFY(openai.chat("m", someMessages(), {}, 1, {}, {}, &reply, {}).ok());
        QVERIFY(!plain.requests.back().body.contains("return_progress"));
        QVERIFY(!plain.requests.back().body.contains("thinking"));
    }

    void sessionPrefillFollowsTheServer() {
        QTemporaryDir tmp;
        QFile notes(tmp.path() + "/notes.md");
        QVERIFY(notes.open(QIODevice::WriteOnly));
        notes.write("The launch is on Tuesday.\nThe budget is small.\n");
        notes.close();
        ReplayServer server;
        server.props = R"({"default_generation_settings":{"n_ctx":8192},"build_info":"b1-test"})";
        server.models = R"({"object":"list","data":[{"id":"gemma-3-270m","object":"model"}]})";
        auto progress = [](int processed, int ms) {
            return sse(QJsonObject{{"choices", QJsonArray{QJsonObject{{"index", 0}, {"delta", QJsonObject{}}}}},
                                     {"prompt_progress", QJsonObject{{"total", 400}, {"cache", 100}, {"processed", processed},
                                                                     {"time_ms", ms}}}});
        };
        // The warm-up over the context, then the question (reasoning first, as llama.cpp streams it).
        server.chats.push_back({200, {}, progress(250, 150) + progress(400, 300) + sse(delta("content", "OK")) +
                                             sse(finish("length")) + kDone});
        server.chats.push_back({200, {}, sse(delta("reasoning_content", "Tuesday, per the notes.")) +
                                             sse(delta("content", "On Tuesday.")) + sse(finish("stop")) + kDone});
        RuntimeOptions o;
        o.endpoint = server.base();
        o.contextSize = 8192;
        o.answerReserve = 64;
        o.mode = ChatMode::Thinking;
        o.databasePath = tmp.path() + "/sessions.sqlite";
        o.snapshotDirectory = "-";
        SessionRuntime rt(o);
        QVERIFY(rt.loadModel().ok());
        QVERIFY(QString::fromStdString(rt.engineDescription()).contains("gemma-3-270m"));
        QVERIFY(rt.createSession("remote", {notes.fileName().toStdString()}, {}, {}).ok());
        QVERIFY(rt.pack().ok());
        std::vector<PrefillReport> reports;
        const Status st = rt.prefillContext([&](const PrefillReport& r) { reports.push_back(r); }, nullptr);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().c_str());
        // First the "sent" line, then the server's own progress (done, total, reused, rate, ETA).
        QVERIFY(reports.size() >= 3);
        const PrefillReport& mid = reports[1];
        QCOMPARE(mid.done, std::int64_t(250));
        QCOMPARE(mid.total, std::int64_t(400));
        QCOMPARE(mid.reused, std::int64_t(100));
        QCOMPARE(mid.recentRate, 1000.0);                    // (250 - 100) tokens in 0.15 s
        QVERIFY(std::abs(mid.etaSeconds - 0.15) < 1e-9);     // 150 tokens left at 1000 tok/s
        QCOMPARE(reports.back().done, reports.back().total);
        std::string streamed;
        Answer a;
        QVERIFY(rt.ask("When is the launch?", SamplingParams{0.6f, 1.0f, 0}, 50, [&](const std::string& p) { streamed += p; },
                       nullptr, &a)
                    .ok());
        QCOMPARE(a.reasoning, std::string("Tuesday, per the notes."));
        QCOMPARE(a.text, std::string("On Tuesday."));
        QCOMPARE(streamed, std::string("Tuesday, per the notes.\n</think>\nOn Tuesday."));
        // The saved conversation keeps the reasoning with the answer.
        SessionRuntime again(o);
        QVERIFY(again.loadModel().ok());
        QVERIFY(again.openSession("remote").ok());
        QCOMPARE(again.history().size(), std::size_t(2));
        QCOMPARE(again.history()[1].reasoning, std::string("Tuesday, per the notes."));
    }
};

QTEST_GUILESS_MAIN(TestRemoteDialects)
#include "test_remote_dialects.moc"
