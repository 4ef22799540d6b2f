// The OpenAI-compatible server (`folio-cli serve`, a real process on loopback) and the remote engine
// of a session talking to it: models, plain and streamed completions that agree token for token,
// the server's prefix cache, errors, and a saved session answered remotely.
#include "runtime/remote_client.h"
#include "runtime/session_runtime.h"
#include "test_support.h"

#include <QDateTime>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

using namespace folio;
using namespace folio::app;

namespace {

struct HttpResult {
    int status = 0;
    QByteArray body;
};

HttpResult http(const QString& url, const QByteArray& post = {}) {
    QNetworkAccessManager net;
    QNetworkRequest req{QUrl(url)};
    req.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
    QNetworkReply* reply = post.isNull() ? net.get(req) : net.post(req, post);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    HttpResult r{reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll()};
    reply->deleteLater();
    return r;
}

QByteArray chatBody(const QString& system, const QString& user, bool stream) {
    QJsonArray messages{QJsonObject{{"role", "system"}, {"content", system}}, QJsonObject{{"role", "user"}, {"content", user}}};
    return QJsonDocument(QJsonObject{{"messages", messages}, {"max_tokens", 12}, {"temperature", 0}, {"stream", stream}})
        .toJson(QJsonDocument::Compact);
}

// Starts `folio-cli serve --demo --port 0` and returns its base URL (empty on failure, with the
// server's stderr in *log).
QString startServer(QProcess& server, QByteArray* log) {
    server.setProcessChannelMode(QProcess::SeparateChannels);
    server.start(FOLIO_CLI_PATH, {"serve", "--demo", "--port", "0", "--max-body-kib", "256"});
    if (!server.waitForStarted(10000)) return {};
    // "folio-cli serve: folio-demo on http://127.0.0.1:PORT/v1 (...)"
    QElapsedTimer t;
    t.start();
    const QRegularExpression re("on (http://127\\.0\\.0\\.1:\\d+/v1)");
    while (t.elapsed() < 120000 && server.state() == QProcess::Running) {
        server.waitForReadyRead(500);
        *log += server.readAllStandardError();
        const auto m = re.match(QString::fromUtf8(*log));
        if (m.hasMatch()) return m.captured(1);
    }
    return {};
}

} // namespace

class TestRemote : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();
    void servesModelsAndCompletions();
    void streamedAnswerEqualsThePlainOne();
    void reportsBadRequests();
    void sessionAnsweredByTheServer();
    void promptProgressAndBodyLimit();
    void unreachableServerIsAClearError();
    void damagedSnapshotIsReportedAndRecomputed();

private:
    QProcess server_;
    QString base_;
    QTemporaryDir tmp_;
};

void TestRemote::initTestCase() {
    QByteArray err;
    base_ = startServer(server_, &err);
    QVERIFY2(!base_.isEmpty(), err.constData());
}

void TestRemote::cleanupTestCase() {
    server_.terminate();
    QVERIFY(server_.waitForFinished(10000));
    QCOMPARE(server_.exitCode(), 0);
}

void TestRemote::servesModelsAndCompletions() {
    const HttpResult models = http(base_ + "/models");
    QCOMPARE(models.status, 200);
    const QJsonArray data = QJsonDocument::fromJson(models.body).object().value("data").toArray();
    QCOMPARE(data.size(), 1);
    QCOMPARE(data[0].toObject().value("id").toString(), QStringLiteral("folio-demo"));

    const QString system = QString("You answer about the notes. ") + QString("alpha beta gamma ").repeated(60);
    const HttpResult first = http(base_ + "/chat/completions", chatBody(system, "First?", false));
    QCOMPARE(first.status, 200);
    const QJsonObject o = QJsonDocument::fromJson(first.body).object();
    QCOMPARE(o.value("object").toString(), QStringLiteral("chat.completion"));
    const QJsonObject choice = o.value("choices").toArray().first().toObject();
    QCOMPARE(choice.value("message").toObject().value("role").toString(), QStringLiteral("assistant"));
    QVERIFY(choice.value("finish_reason").toString() == "length" || choice.value("finish_reason").toString() == "stop");
    const QJsonObject usage = o.value("usage").toObject();
    QVERIFY(usage.value("prompt_tokens").toInt() > 128);
    QVERIFY(usage.value("completion_tokens").toInt() > 0);
    QCOMPARE(usage.value("total_tokens").toInt(), usage.value("prompt_tokens").toInt() + usage.value("completion_tokens").toInt());

    // Another question over the same system text: its prefix comes from the server's cache.
    const HttpResult second = http(base_ + "/chat/completions", chatBody(system, "Second?", false));
    QCOMPARE(second.status, 200);
    const QJsonObject u2 = QJsonDocument::fromJson(second.body).object().value("usage").toObject();
    const int cached = u2.value("prompt_tokens_details").toObject().value("cached_tokens").toInt();
    QVERIFY2(cached >= 128 && cached % 128 == 0, second.body.constData());
}

void TestRemote::streamedAnswerEqualsThePlainOne() {
    const QString system = "Notes: the launch is on Tuesday.";
    const HttpResult plain = http(base_ + "/chat/completions", chatBody(system, "When?", false));
    QCOMPARE(plain.status, 200);
    const QString expected =
        QJsonDocument::fromJson(plain.body).object().value("choices").toArray().first().toObject().value("message").toObject().value("content").toString();

    RemoteClient client(base_);
    std::vector<std::string> pieces;
    RemoteReply reply;
    const Status st = client.chat("folio-demo", {{"system", system.toStdString()}, {"user", "When?"}}, SamplingParams{0.0f, 1.0f, 0},
                                  12, [&](const std::string& p) { pieces.push_back(p); }, {}, &reply);
    QVERIFY2(st.ok(), st.error().c_str());
    QVERIFY(pieces.size() > 1); // it came in pieces
    std::string joined;
    for (const auto& p : pieces) joined += p;
    QCOMPARE(joined, reply.text);
    QCOMPARE(QString::fromStdString(reply.text), expected); // greedy: the same tokens either way
    QVERIFY(reply.promptTokens > 0);
    QVERIFY(!reply.finishReason.empty());

    // Stopping part way ends the request and keeps what arrived.
    int calls = 0;
    RemoteReply partial;
    QVERIFY(client.chat("folio-demo", {{"system", system.toStdString()}, {"user", "When?"}}, SamplingParams{0.0f, 1.0f, 0}, 12,
                        {}, [&] { return ++calls < 3; }, &partial).ok());
    QVERIFY(partial.stopped);
}

void TestRemote::reportsBadRequests() {
    HttpResult r = http(base_ + "/chat/completions", "{not json");
    QCOMPARE(r.status, 400);
    QVERIFY(QJsonDocument::fromJson(r.body).object().value("error").toObject().value("message").toString().contains("not a JSON"));
    r = http(base_ + "/chat/completions", R"({"messages":[]})");
    QCOMPARE(r.status, 400);
    r = http(base_ + "/chat/completions", R"({"messages":[{"role":"wizard","content":"x"}]})");
    QCOMPARE(r.status, 400);
    QVERIFY(r.body.contains("wizard"));
    // The client reports the server's message.
    RemoteClient client(base_);
    const Status st = client.chat("folio-demo", {{"wizard", "x"}}, SamplingParams{}, 4, {}, {}, nullptr);
    QVERIFY(!st.ok());
    QVERIFY2(QString::fromStdString(st.error()).contains("HTTP 400"), st.error().c_str());
    QVERIFY2(QString::fromStdString(st.error()).contains("wizard"), st.error().c_str());
}

void TestRemote::sessionAnsweredByTheServer() {
    QFile notes(tmp_.path() + "/notes.md");
    QVERIFY(notes.open(QIODevice::WriteOnly));
    notes.write("The launch is on Tuesday.\nThe budget is small.\n");
    notes.close();
    RuntimeOptions o;
    o.endpoint = base_;
    o.contextSize = 8192;
    o.answerReserve = 64;
    o.databasePath = tmp_.path() + "/sessions.sqlite";
    {
        SessionRuntime rt(o);
        QVERIFY(rt.loadModel().ok());
        QVERIFY(rt.remote());
        QVERIFY(QString::fromStdString(rt.engineDescription()).contains("folio-demo"));
        QVERIFY(rt.createSession("remote", {notes.fileName().toStdString()}, {}, {}).ok());
        QVERIFY(rt.pack().ok());
        std::vector<PrefillReport> reports;
        QVERIFY(rt.prefillContext([&](const PrefillReport& r) { reports.push_back(r); }, nullptr).ok());
        QVERIFY(rt.contextReady());
        QCOMPARE(reports.back().done, reports.back().total);
        std::string streamed;
        Answer a;
        QVERIFY(rt.ask("When is the launch?", SamplingParams{0.0f, 1.0f, 0}, 10, [&](const std::string& p) { streamed += p; },
                       nullptr, &a)
                    .ok());
        QCOMPARE(streamed, a.text);
        QVERIFY(a.answerTokens > 0);
    }
    // Reopened: the conversation is there, and the server serves the context from its cache.
    SessionRuntime again(o);
    QVERIFY(again.loadModel().ok());
    QVERIFY(again.openSession("remote").ok());
    QCOMPARE(again.history().size(), std::size_t(2));
    QVERIFY(again.pack().ok());
    QVERIFY(again.prefillContext({}, nullptr).ok());
    QVERIFY(again.counters().reusedTokens >= 128);
}

void TestRemote::promptProgressAndBodyLimit() {
    // A body over --max-body-kib (256 here): 413, said why.
    const HttpResult big = http(base_ + "/chat/completions", chatBody(QString(300 * 1024, QLatin1Char('a')), "Hi?", false));
    QCOMPARE(big.status, 413);
    QVERIFY2(big.body.contains("limit"), big.body.constData());
    // The server describes itself at /props as llama.cpp's does, so the client speaks that dialect,
    // asks for return_progress and gets the reading of the prompt as it goes.
    RemoteClient client(base_);
    QCOMPARE(int(client.dialect()), int(RemoteDialect::LlamaCpp));
    // A text no earlier run has cached (the scratch cache directory outlives a run).
    const std::string system = "Progress notes " + std::to_string(QDateTime::currentMSecsSinceEpoch()) + ", read in chunks. " +
                               QString("delta epsilon zeta eta ").repeated(300).toStdString();
    std::vector<RemoteProgress> seen;
    RemoteChatOptions o;
    o.onProgress = [&](const RemoteProgress& p) { seen.push_back(p); };
    RemoteReply reply;
    const Status st = client.chat("folio-demo", {{"system", system}, {"user", "Go on."}}, SamplingParams{0.0f, 1.0f, 0}, 4, {},
                                  {}, &reply, o);
    QVERIFY2(st.ok(), st.ok() ? "" : st.error().c_str());
    QString trace;
    for (const RemoteProgress& p : seen) trace += QStringLiteral("%1/%2 cache %3; ").arg(p.processed).arg(p.total).arg(p.cached);
    QVERIFY2(seen.size() >= 3, qPrintable(trace));
    for (std::size_t i = 0; i < seen.size(); ++i) {
        QCOMPARE(seen[i].total, reply.promptTokens);
        QCOMPARE(seen[i].cached, std::int64_t(0)); // a prompt this server has not seen
        if (i) {
            QVERIFY(seen[i].processed >= seen[i - 1].processed);
            QVERIFY(seen[i].seconds >= seen[i - 1].seconds);
        }
    }
    QCOMPARE(seen.back().processed, seen.back().total);
    QVERIFY(reply.promptTokens > 1000);
}

void TestRemote::unreachableServerIsAClearError() {
    RuntimeOptions o;
    o.endpoint = "http://127.0.0.1:1/v1";
    SessionRuntime rt(o);
    const Status st = rt.loadModel();
    QVERIFY(!st.ok());
    QVERIFY2(QString::fromStdString(st.error()).contains("127.0.0.1:1"), st.error().c_str());
    o.endpoint = base_;
    o.remoteModel = "no-such-model";
    SessionRuntime wrong(o);
    const Status st2 = wrong.loadModel();
    QVERIFY(!st2.ok());
    QVERIFY2(QString::fromStdString(st2.error()).contains("no-such-model"), st2.error().c_str());
}


void TestRemote::damagedSnapshotIsReportedAndRecomputed() {
    // A snapshot this server wrote, damaged on disk, then read by a second server over the same
    // cache directory: it names the file on stderr, deletes it and answers from a fresh prefill.
    const QDir snapshots(qEnvironmentVariable("FOLIO_CACHE_DIR") + "/snapshots");
    QVERIFY2(snapshots.exists(), "the tests run with FOLIO_CACHE_DIR set (tests/CMakeLists.txt)");
    const QStringList before = snapshots.entryList({"*.fsnap"}, QDir::Files);
    // Unique per run: the scratch cache directory outlives a test run.
    const QString system = QString("A text only this run of this test uses: %1. ").arg(QDateTime::currentMSecsSinceEpoch()) +
                           QString("delta epsilon zeta ").repeated(60);
    const HttpResult first = http(base_ + "/chat/completions", chatBody(system, "One?", false));
    QCOMPARE(first.status, 200);
    QStringList written = snapshots.entryList({"*.fsnap"}, QDir::Files);
    for (const QString& f : before) written.removeAll(f);
    QCOMPARE(written.size(), 1);
    const QString path = snapshots.filePath(written.front());
    {
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadWrite));
        const qint64 at = f.size() / 2;
        QVERIFY(f.seek(at));
        char byte = 0;
        QVERIFY(f.getChar(&byte));
        QVERIFY(f.seek(at));
        QVERIFY(f.putChar(char(byte ^ 0x20)));
    }

    QProcess second;
    QByteArray log;
    const QString url = startServer(second, &log);
    QVERIFY2(!url.isEmpty(), log.constData());
    const HttpResult again = http(url + "/chat/completions", chatBody(system, "One?", false));
    QCOMPARE(again.status, 200);
    const QJsonObject usage = QJsonDocument::fromJson(again.body).object().value("usage").toObject();
    QCOMPARE(usage.value("prompt_tokens_details").toObject().value("cached_tokens").toInt(), 0);
    // Recomputed, the same answer as from the undamaged state.
    QCOMPARE(QJsonDocument::fromJson(again.body).object().value("choices").toArray().first().toObject()
                 .value("message").toObject().value("content").toString(),
             QJsonDocument::fromJson(first.body).object().value("choices").toArray().first().toObject()
                 .value("message").toObject().value("content").toString());
    second.terminate();
    QVERIFY(second.waitForFinished(10000));
    log += second.readAllStandardError();
    QVERIFY2(log.contains("snapshot cache: snapshot " + path.toUtf8()), log.constData());
    QVERIFY2(log.contains("unusable"), log.constData());
}

QTEST_MAIN(TestRemote)
#include "test_remote.moc"
