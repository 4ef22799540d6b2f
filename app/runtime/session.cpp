#include "session.h"

#include <QMetaObject>
#include <chrono>
#include <memory>

namespace folio::app {

Session::Session(RuntimeOptions options, QObject* parent)
    : QObject(parent), runtime_(std::make_unique<SessionRuntime>(std::move(options))) {
    qRegisterMetaType<PrefillReport>();
    qRegisterMetaType<SessionSummary>();
    qRegisterMetaType<Answer>();
    qRegisterMetaType<std::vector<ingest::Message>>();
    qRegisterMetaType<Session::State>();
    thread_.setObjectName(QStringLiteral("folio-session"));
    worker_ = new QObject;
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(&thread_, &QThread::finished, this, &Session::stopped);
    thread_.start();
}

Session::~Session() {
    control_.cancel();
    thread_.quit();
    thread_.wait();
    // The runtime may only be destroyed once the worker has stopped using it.
    runtime_.reset();
}

void Session::stopAsync() {
    control_.cancel();
    thread_.quit();
}

void Session::post(std::function<void()> job) {
    QMetaObject::invokeMethod(worker_, std::move(job), Qt::QueuedConnection);
}

void Session::setState(State s) {
    {
        std::lock_guard lock(mutex_);
        if (state_ == s) return;
        state_ = s;
    }
    emit stateChanged(s);
}

Session::State Session::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

RuntimeCounters Session::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

SessionSummary Session::summary() const {
    std::lock_guard lock(mutex_);
    return summary_;
}

std::shared_ptr<const ingest::PackedContext> Session::packedContext() const {
    std::lock_guard lock(mutex_);
    return packed_;
}

QStringList Session::excluded() const {
    std::lock_guard lock(mutex_);
    return excluded_;
}

QString Session::modelDescription() const {
    std::lock_guard lock(mutex_);
    return modelDescription_;
}

void Session::publishWarnings() {
    for (const std::string& w : runtime_->takeWarnings()) emit warning(QString::fromStdString(w));
    std::lock_guard lock(mutex_);
    counters_ = runtime_->counters();
}

bool Session::prepare() {
    if (!runtime_->modelLoaded()) {
        setState(State::Loading);
        if (Status st = runtime_->loadModel(); !st.ok()) {
            setState(State::Failed);
            emit failed(QString::fromStdString(st.error()));
            return false;
        }
        std::lock_guard lock(mutex_);
        modelDescription_ = QString::fromStdString(runtime_->engineDescription());
    }
    return true;
}

void Session::runPrefill() {
    if (!runtime_->packed()) {
        if (Status st = runtime_->pack(); !st.ok()) {
            setState(State::Failed);
            emit failed(QString::fromStdString(st.error()));
            return;
        }
        const SessionSummary s = runtime_->summary();
        {
            std::lock_guard lock(mutex_);
            summary_ = s;
            packed_ = std::make_shared<const ingest::PackedContext>(*runtime_->packed());
            excluded_.clear();
            for (const std::string& e : runtime_->excluded()) excluded_ << QString::fromStdString(e);
        }
        emit packed(s);
    }
    setState(State::Prefilling);
    auto onProgress = [this](const PrefillReport& r) {
        setState(r.paused ? State::Paused : State::Prefilling);
        {
            std::lock_guard lock(mutex_);
            counters_ = runtime_->counters();
        }
        emit progress(r);
    };
    const Status st = runtime_->prefillContext(onProgress, &control_);
    publishWarnings();
    if (!st.ok()) {
        if (control_.cancelled()) {
            setState(State::Cancelled);
        } else {
            setState(State::Failed);
            emit failed(QString::fromStdString(st.error()));
        }
        return;
    }
    setState(State::Ready);
    const RuntimeCounters c = runtime_->counters();
    emit prefillFinished(c.contextTokens, c.reusedTokens);
}

ingest::IngestOptions Session::scanOptions() {
    ingest::IngestOptions o;
    // Repositories report as their files are read; the rate is over the whole scan so far.
    // Each repository counts from 0 again: the clock restarts with it.
    struct Clock {
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        std::size_t last = 0;
    };
    auto clock = std::make_shared<Clock>();
    o.git.progress = [this, clock](std::size_t read, std::size_t total) {
        const auto now = std::chrono::steady_clock::now();
        if (read < clock->last) clock->start = now;
        clock->last = read;
        const double seconds = std::chrono::duration<double>(now - clock->start).count();
        emit scanProgress(qint64(read), qint64(total), seconds > 0 ? double(read) / seconds : 0.0);
    };
    return o;
}

void Session::create(const QString& name, const QStringList& paths) {
    control_.reset();
    std::vector<std::string> list;
    for (const QString& p : paths) list.push_back(p.toStdString());
    post([this, name = name.toStdString(), list] {
        if (!prepare()) return;
        auto warn = [this](const std::string& w) { emit warning(QString::fromStdString(w)); };
        if (Status st = runtime_->createSession(name, list, scanOptions(), warn); !st.ok()) {
            setState(State::Failed);
            emit failed(QString::fromStdString(st.error()));
            return;
        }
        runPrefill();
    });
}

void Session::open(const QString& name) {
    control_.reset();
    post([this, name = name.toStdString()] {
        if (!prepare()) return;
        if (Status st = runtime_->openSession(name); !st.ok()) {
            setState(State::Failed);
            emit failed(QString::fromStdString(st.error()));
            return;
        }
        emit conversationLoaded(runtime_->history());
        publishWarnings();
        runPrefill();
    });
}

void Session::addSources(const QStringList& paths) {
    control_.reset();
    std::vector<std::string> list;
    for (const QString& p : paths) list.push_back(p.toStdString());
    post([this, list] {
        if (!prepare()) return;
        auto warn = [this](const std::string& w) { emit warning(QString::fromStdString(w)); };
        if (Status st = runtime_->addSources(list, scanOptions(), warn); !st.ok()) {
            emit failed(QString::fromStdString(st.error()));
            if (!runtime_->contextReady()) return;
        }
        runPrefill();
    });
}

void Session::setExcluded(const QStringList& prefixes) {
    control_.reset();
    std::vector<std::string> list;
    for (const QString& p : prefixes) list.push_back(p.toStdString());
    post([this, list] {
        runtime_->setExcluded(list);
        if (runtime_->hasSession()) runPrefill();
    });
}

void Session::prefill() {
    control_.reset();
    post([this] {
        if (!runtime_->hasSession()) {
            emit failed(QStringLiteral("no session to prefill"));
            return;
        }
        runPrefill();
    });
}

void Session::ask(const QString& question, const SamplingParams& sampling, int maxTokens, bool thinking) {
    control_.reset();
    post([this, q = question.toStdString(), sampling, maxTokens, thinking] {
        runtime_->setMode(thinking ? ChatMode::Thinking : ChatMode::Chat);
        if (!runtime_->contextReady()) {
            emit failed(QStringLiteral("the context is not prefilled yet"));
            return;
        }
        setState(State::Answering);
        Answer answer;
        auto onToken = [this](const std::string& text) { emit token(QString::fromStdString(text)); };
        const Status st = runtime_->ask(q, sampling, maxTokens, onToken, &control_, &answer);
        publishWarnings();
        setState(State::Ready);
        if (!st.ok()) {
            emit failed(QString::fromStdString(st.error()));
            return;
        }
        emit answered(answer);
    });
}

void Session::pause() { control_.pause(); }

void Session::resume() {
    control_.resume();
    if (state() == State::Paused) setState(State::Prefilling);
}

void Session::cancel() { control_.cancel(); }

} // namespace folio::app
