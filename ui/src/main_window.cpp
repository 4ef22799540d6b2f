#include "folio/main_window.h"

#include "budget_chart.h"
#include "chat_view.h"
#include "model_dialog.h"
#include "prefill_panel.h"
#include "session_list_model.h"
#include "source_tree_model.h"
#include "source_viewer.h"

#include "folio/backend.h"
#include "folio/ingest/session_store.h"
#include "runtime/session.h"
#include "runtime/session_export.h"
#include "runtime/session_files.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTreeView>
#include <QVBoxLayout>
#include <QFutureWatcher>
#include <QtConcurrent>

#include <map>

namespace folio::ui {

namespace {

double nowSeconds() { return double(QDateTime::currentMSecsSinceEpoch()) / 1000.0; }

} // namespace

MainWindow::MainWindow(WindowOptions options, QWidget* parent) : QMainWindow(parent), options_(std::move(options)) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("Folio"));
    setAcceptDrops(true);

    // Left: saved sessions.
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    sessionModel_ = new SessionListModel(databasePath(), this);
    sessions_ = new QTableView(left);
    sessions_->setObjectName(QStringLiteral("sessionList"));
    sessions_->setModel(sessionModel_);
    sessions_->setSelectionBehavior(QAbstractItemView::SelectRows);
    sessions_->setSelectionMode(QAbstractItemView::SingleSelection);
    sessions_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    sessions_->verticalHeader()->hide();
    sessions_->horizontalHeader()->setStretchLastSection(true);
    sessions_->setMinimumWidth(260);
    leftLayout->addWidget(sessions_, 1);
    auto* sessionButtons = new QHBoxLayout;
    auto button = [&](const QString& text, const char* name, auto slot) {
        auto* b = new QPushButton(text, left);
        b->setObjectName(QLatin1String(name));
        connect(b, &QPushButton::clicked, this, slot);
        sessionButtons->addWidget(b);
        return b;
    };
    button(tr("New"), "newSessionButton", [this] { newSession(); });
    button(tr("Rename"), "renameSessionButton", [this] { renameSession(); });
    button(tr("Delete"), "deleteSessionButton", [this] { deleteSession(); });
    button(tr("Export"), "exportSessionButton", [this] { exportSession(); });
    leftLayout->addLayout(sessionButtons);
    // After every refresh, the open session's row is the selected one.
    connect(sessionModel_, &SessionListModel::refreshed, this, [this] {
        const int row = sessionModel_->rowOf(sessionName_);
        if (row >= 0) sessions_->selectRow(row);
    });
    connect(sessions_, &QTableView::activated, this, [this](const QModelIndex& i) {
        if (const auto* row = sessionModel_->rowAt(i.row())) openSession(row->name);
    });

    // Centre: sources, budget, chat.
    auto* centre = new QWidget(this);
    auto* centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(0, 0, 0, 0);
    error_ = new QLabel(centre);
    error_->setObjectName(QStringLiteral("errorBanner"));
    error_->setWordWrap(true);
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->setStyleSheet(QStringLiteral("QLabel { background: #fdecea; color: #8a1c12; padding: 6px; border-radius: 3px; }"));
    error_->hide();
    centreLayout->addWidget(error_);
    tabs_ = new QTabWidget(centre);
    tabs_->setObjectName(QStringLiteral("mainTabs"));

    auto* sourcesPage = new QWidget;
    sourcesPage->setObjectName(QStringLiteral("sourcesPage"));
    auto* sourcesLayout = new QVBoxLayout(sourcesPage);
    auto* addRow = new QHBoxLayout;
    auto* addRepo = new QPushButton(tr("Add repository or folder..."), sourcesPage);
    addRepo->setObjectName(QStringLiteral("addRepositoryButton"));
    auto* addFile = new QPushButton(tr("Add PDFs, transcripts or text..."), sourcesPage);
    addFile->setObjectName(QStringLiteral("addFilesButton"));
    connect(addRepo, &QPushButton::clicked, this, &MainWindow::addRepositoryOrFolder);
    connect(addFile, &QPushButton::clicked, this, &MainWindow::addFiles);
    addRow->addWidget(addRepo);
    addRow->addWidget(addFile);
    addRow->addStretch(1);
    sourcesLayout->addLayout(addRow);
    auto* sourcesSplit = new QSplitter(Qt::Vertical, sourcesPage);
    treeModel_ = new SourceTreeModel(this);
    tree_ = new QTreeView(sourcesSplit);
    tree_->setObjectName(QStringLiteral("sourceTree"));
    tree_->setModel(treeModel_);
    tree_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    tree_->header()->setStretchLastSection(false);
    connect(treeModel_, &SourceTreeModel::exclusionRequested, this, &MainWindow::setExcluded);
    connect(tree_, &QTreeView::activated, this, [this](const QModelIndex& i) {
        const int doc = treeModel_->data(i, SourceTreeModel::DocumentRole).toInt();
        const auto packed = session_ ? session_->packedContext() : nullptr;
        if (!packed || doc < 0 || doc >= int(packed->documents.size())) return;
        const auto& d = packed->documents[std::size_t(doc)];
        viewer_->showDocument(d, QString::fromStdString(packed->sources[packed->documentSource[std::size_t(doc)]].location));
        revealViewer();
    });
    leftOut_ = new QTableWidget(0, 3, sourcesSplit);
    leftOut_->setObjectName(QStringLiteral("leftOutList"));
    leftOut_->setHorizontalHeaderLabels({tr("Left out"), tr("Reason"), tr("Detail")});
    leftOut_->horizontalHeader()->setStretchLastSection(true);
    leftOut_->verticalHeader()->hide();
    leftOut_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    leftOut_->setToolTip(tr("Double-click a file you excluded to include it again."));
    connect(leftOut_, &QTableWidget::cellActivated, this, [this](int row, int) {
        // Excluded by itself or through a folder: including it again lifts that exclusion.
        const QString key = leftOut_->item(row, 0)->data(Qt::UserRole).toString();
        for (const QString& prefix : QStringList(excluded_))
            if (key.startsWith(prefix)) setExcluded(prefix, false);
    });
    sourcesSplit->setStretchFactor(0, 3);
    sourcesSplit->setStretchFactor(1, 1);
    sourcesLayout->addWidget(sourcesSplit, 1);
    tabs_->addTab(sourcesPage, tr("&Sources"));

    auto* budgetPage = new QWidget;
    budgetPage->setObjectName(QStringLiteral("budgetPage"));
    auto* budgetLayout = new QVBoxLayout(budgetPage);
    budgetSummary_ = new QLabel(tr("Add sources to see how much of the context they take."), budgetPage);
    budgetSummary_->setObjectName(QStringLiteral("budgetSummary"));
    budgetSummary_->setWordWrap(true);
    budget_ = new BudgetChart(budgetPage);
    budgetLayout->addWidget(budgetSummary_);
    budgetLayout->addWidget(budget_, 1);
    tabs_->addTab(budgetPage, tr("&Budget"));

    chat_ = new ChatView;
    connect(chat_, &ChatView::askRequested, this, [this](const QString& q, bool thinking) { ask(q, thinking); });
    connect(chat_, &ChatView::stopRequested, this, [this] {
        if (session_) session_->cancel();
    });
    connect(chat_, &ChatView::citationActivated, this, &MainWindow::openCitation);
    tabs_->addTab(chat_, tr("&Chat"));
    centreLayout->addWidget(tabs_, 1);

    viewer_ = new SourceViewer(this);
    viewer_->hide();

    splitter_ = new QSplitter(this);
    splitter_->setObjectName(QStringLiteral("mainSplitter"));
    splitter_->addWidget(left);
    splitter_->addWidget(centre);
    splitter_->addWidget(viewer_);
    splitter_->setStretchFactor(1, 2);
    splitter_->setStretchFactor(2, 1);

    prefill_ = new PrefillPanel(this);
    connect(prefill_, &PrefillPanel::pauseRequested, this, [this] {
        if (session_) session_->pause();
    });
    connect(prefill_, &PrefillPanel::resumeRequested, this, [this] {
        if (session_) session_->resume();
    });
    connect(prefill_, &PrefillPanel::cancelRequested, this, [this] {
        if (session_) session_->cancel();
    });
    connect(prefill_, &PrefillPanel::continueRequested, this, [this] {
        if (!session_) return;
        prefillStarted_ = nowSeconds();
        session_->prefill();
    });

    auto* root = new QWidget(this);
    auto* rootLayout = new QVBoxLayout(root);
    rootLayout->addWidget(splitter_, 1);
    rootLayout->addWidget(prefill_);
    setCentralWidget(root);

    const BackendReport backends = probeBackends();
    // One short line; the CPU kernel variant and why CUDA is not used on hover.
    QString device = QString::fromStdString(backends.devices.back().name);
    if (backends.devices.size() > 1) device += QStringLiteral("; CPU: %1 kernels").arg(QString::fromStdString(backends.cpuKernels));
    QString details = QString::fromStdString(backends.cpuKernelsDetail);
    if (backends.devices.size() == 1) details += QStringLiteral("\n") + QString::fromStdString(backends.cudaMessage);
    deviceLabel_ = new QLabel(device, this);
    deviceLabel_->setObjectName(QStringLiteral("deviceLabel"));
    deviceLabel_->setToolTip(details);
    modelLabel_ = new QLabel(ModelChoice::load().describe(), this);
    modelLabel_->setObjectName(QStringLiteral("modelLabel"));
    statusBar()->addWidget(modelLabel_, 1);
    statusBar()->addPermanentWidget(deviceLabel_);

    buildMenus();
    restoreWindowState();
}

MainWindow::~MainWindow() = default;

QString MainWindow::databasePath() const {
    return options_.databasePath.isEmpty() ? app::sessionDatabasePath() : options_.databasePath;
}

app::RuntimeOptions MainWindow::runtimeOptions() const {
    const ModelChoice m = ModelChoice::load();
    app::RuntimeOptions o;
    o.demo = m.kind == ModelChoice::Demo;
    o.modelDir = m.kind == ModelChoice::Directory ? m.directory.toStdString() : std::string();
    if (m.kind == ModelChoice::Remote) o.endpoint = m.endpoint;
    o.device = m.device.toStdString();
    o.contextSize = m.contextSize;
    o.threads = options_.threads;
    o.chunk = options_.chunk;
    o.answerReserve = o.demo ? 256 : 2048;
    o.databasePath = databasePath();
    o.snapshotDirectory = options_.snapshotDirectory;
    return o;
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* a = file->addAction(tr("&New session..."), this, &MainWindow::newSession);
    a->setShortcut(QKeySequence::New);
    a = file->addAction(tr("Add &repository or folder..."), this, &MainWindow::addRepositoryOrFolder);
    a->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    a = file->addAction(tr("Add &files..."), this, &MainWindow::addFiles);
    a->setShortcut(QKeySequence::Open);
    a = file->addAction(tr("&Export conversation..."), this, &MainWindow::exportSession);
    a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), qApp, &QApplication::closeAllWindows);
    quit->setObjectName(QStringLiteral("actionQuit"));
    quit->setShortcut(QKeySequence::Quit);

    QMenu* session = menuBar()->addMenu(tr("&Session"));
    a = session->addAction(tr("&Rename..."), this, &MainWindow::renameSession);
    a->setShortcut(QKeySequence(Qt::Key_F2));
    a = session->addAction(tr("&Delete..."), this, &MainWindow::deleteSession);
    a = session->addAction(tr("&Pause or resume prefill"), this, [this] {
        if (!session_) return;
        if (session_->state() == app::Session::State::Paused) session_->resume();
        else session_->pause();
    });
    a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    a = session->addAction(tr("&Cancel prefill or answer"), this, [this] {
        if (session_) session_->cancel();
    });
    a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));

    QMenu* model = menuBar()->addMenu(tr("&Model"));
    a = model->addAction(tr("&Model and device..."), this, &MainWindow::editModel);
    a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < 3; ++i) {
        a = view->addAction(tabs_->tabText(i).remove(QLatin1Char('&')), this, [this, i] { tabs_->setCurrentIndex(i); });
        a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
    }
}

void MainWindow::restoreWindowState() {
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("mainWindow/state")).toByteArray());
    splitter_->restoreState(settings.value(QStringLiteral("mainWindow/splitter")).toByteArray());
    tabs_->setCurrentIndex(settings.value(QStringLiteral("mainWindow/tab"), 0).toInt());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/state"), saveState());
    settings.setValue(QStringLiteral("mainWindow/splitter"), splitter_->saveState());
    settings.setValue(QStringLiteral("mainWindow/tab"), tabs_->currentIndex());
    settings.setValue(QStringLiteral("session/last"), sessionName_);
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& u : event->mimeData()->urls())
        if (u.isLocalFile()) paths << u.toLocalFile();
    if (paths.isEmpty()) return;
    event->acceptProposedAction();
    addSources(paths);
}

QString MainWindow::errorText() const { return error_->isVisible() || !error_->text().isEmpty() ? error_->text() : QString(); }

void MainWindow::showError(const QString& message) {
    error_->setText(message);
    error_->show();
    statusBar()->showMessage(message, 10000);
}

void MainWindow::newSession() {
    const QString suggested = tr("Session %1").arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd hh:mm")));
    const QString name = options_.askText ? options_.askText(tr("New session"), tr("Name"), suggested)
                                          : QInputDialog::getText(this, tr("New session"), tr("Name"), QLineEdit::Normal, suggested);
    if (name.trimmed().isEmpty()) return;
    if (sessionModel_->rowOf(name.trimmed()) >= 0) {
        showError(tr("A session named \"%1\" already exists.").arg(name.trimmed()));
        return;
    }
    startSession(name.trimmed(), true);
}

void MainWindow::openSession(const QString& name) {
    if (name == sessionName_ && session_) return;
    startSession(name, false);
}

void MainWindow::retireSession() {
    if (!session_) return;
    // The old session's worker may be inside a prefill chunk: cancel it and let it finish on its
    // own; the window never waits for it.
    app::Session* old = session_.release();
    disconnect(old, nullptr, this, nullptr);
    connect(old, &app::Session::stopped, old, &QObject::deleteLater);
    old->stopAsync();
}

void MainWindow::startSession(const QString& name, bool create) {
    retireSession();
    session_ = std::make_unique<app::Session>(runtimeOptions());
    sessionName_ = name;
    excluded_.clear();
    error_->clear();
    error_->hide();
    treeModel_->clear();
    leftOut_->setRowCount(0);
    chat_->clear();
    chat_->setReady(false);
    viewer_->hide();
    prefill_->reset();
    prefill_->showMessage(create ? tr("Loading the model...") : tr("Opening %1...").arg(name));
    setWindowTitle(tr("%1 - Folio").arg(name));
    app::Session* s = session_.get();

    connect(s, &app::Session::failed, this, [this](const QString& m) {
        showError(m);
        chat_->setBusy(false);
    });
    // Warnings (a damaged file left out, a cache directory that cannot be written) show with the
    // errors: the session goes on, but the user should know what is missing.
    connect(s, &app::Session::warning, this, [this](const QString& m) { showError(m); });
    connect(s, &app::Session::packed, this, [this] { showPacked(); });
    connect(s, &app::Session::scanProgress, this, [this](qint64 files, qint64 total, double rate) {
        const QLocale l;
        prefill_->showMessage(tr("Reading sources: %1 of %2 files, %3 files/s")
                                  .arg(l.toString(files), l.toString(total), l.toString(qint64(rate))));
    });
    connect(s, &app::Session::progress, this, [this](const app::PrefillReport& r) {
        if (prefill_->percent() == 0 && r.done == r.reused) prefillStarted_ = nowSeconds();
        prefill_->showProgress(r);
    });
    connect(s, &app::Session::prefillFinished, this, [this, s](qint64 tokens, qint64 reused) {
        // A call queued just before the session was retired may still arrive: it is not ours.
        if (s != session_.get()) return;
        prefill_->showFinished(qint64(s->counters().contextTokens), reused, nowSeconds() - prefillStarted_);
        chat_->setReady(true);
        sessionModel_->refresh();
        statusBar()->showMessage(reused > 0 ? tr("Restored %1 tokens from the prefix cache").arg(reused)
                                            : tr("Context prefilled"),
                                 10000);
        emit prefillFinished(tokens, reused);
    });
    connect(s, &app::Session::stateChanged, this, [this](app::Session::State st) {
        if (st == app::Session::State::Cancelled) prefill_->showCancelled();
        if (st == app::Session::State::Loading) prefill_->showMessage(tr("Loading the model..."));
    });
    connect(s, &app::Session::token, this, [this](const QString& t) { chat_->appendToAnswer(t); });
    connect(s, &app::Session::answered, this, [this](const app::Answer& a) {
        chat_->finishAnswer(QString::fromStdString(a.text), a.stopped, QString::fromStdString(a.reasoning));
        chat_->setBusy(false);
        sessionModel_->refresh();
    });

    prefillStarted_ = nowSeconds();
    if (create) {
        s->create(name, {});
        sessionModel_->refresh();
    } else {
        // The saved conversation comes from the worker as soon as it is read.
        connect(s, &app::Session::conversationLoaded, this, [this](const std::vector<ingest::Message>& messages) {
            for (const ingest::Message& m : messages) {
                if (m.role == "user") chat_->addQuestion(QString::fromStdString(m.content));
                else chat_->addAnswer(QString::fromStdString(m.content), QString::fromStdString(m.reasoning));
            }
        });
        s->open(name);
    }
    emit sessionOpened(name);
}

void MainWindow::showPacked() {
    if (!session_) return;
    const auto packed = session_->packedContext();
    if (!packed) return;
    excluded_ = session_->excluded(); // saved with the session: a reopened one has its own
    treeModel_->setContext(packed);
    tree_->expandToDepth(0);
    chat_->setContext(packed);

    leftOut_->setRowCount(0);
    for (const auto& src : packed->sources)
        for (const auto& s : src.skipped) {
            const int row = leftOut_->rowCount();
            leftOut_->insertRow(row);
            auto* item = new QTableWidgetItem(QString::fromStdString(src.name + "/" + s.path));
            item->setData(Qt::UserRole, QString::fromStdString(src.name + "/" + s.path));
            leftOut_->setItem(row, 0, item);
            leftOut_->setItem(row, 1, new QTableWidgetItem(QString::fromUtf8(ingest::skipReasonName(s.reason))));
            leftOut_->setItem(row, 2, new QTableWidgetItem(QString::fromStdString(s.detail)));
        }
    // Folders excluded by the user show as one row each.
    for (const QString& key : excluded_)
        if (key.endsWith(QLatin1Char('/'))) {
            const int row = leftOut_->rowCount();
            leftOut_->insertRow(row);
            auto* item = new QTableWidgetItem(key);
            item->setData(Qt::UserRole, key);
            leftOut_->setItem(row, 0, item);
            leftOut_->setItem(row, 1, new QTableWidgetItem(tr("excluded")));
            leftOut_->setItem(row, 2, new QTableWidgetItem(tr("excluded in this session")));
        }

    // Budget: per source, then the largest folders, against the context.
    std::vector<BudgetChart::Bar> bars;
    std::map<std::string, std::pair<qint64, qint64>> perSource;
    for (std::size_t d = 0; d < packed->documents.size(); ++d) {
        auto& v = perSource[packed->sources[packed->documentSource[d]].name];
        v.first += qint64(packed->documentTokens[d]);
        v.second += qint64(packed->includedTokens[d]);
    }
    for (const auto& [name, v] : perSource) bars.push_back({QString::fromStdString(name), v.first, v.second});
    std::map<std::string, std::pair<qint64, qint64>> perFolder;
    for (std::size_t d = 0; d < packed->documents.size(); ++d) {
        const std::string& path = packed->documents[d].path;
        const auto slash = path.find('/');
        if (slash == std::string::npos) continue;
        auto& v = perFolder[packed->sources[packed->documentSource[d]].name + "/" + path.substr(0, slash + 1)];
        v.first += qint64(packed->documentTokens[d]);
        v.second += qint64(packed->includedTokens[d]);
    }
    for (const auto& [name, v] : perFolder) bars.push_back({QString::fromStdString(name), v.first, v.second});
    const app::SessionSummary summary = session_->summary();
    budget_->setData(std::move(bars), summary.contextSize, qint64(packed->totalTokens), packed->retrieval);
    budgetSummary_->setText(
        tr("%1 documents, %2 tokens of a %3-token context (%4%). %5")
            .arg(packed->documents.size())
            .arg(QLocale().toString(qint64(packed->totalTokens)))
            .arg(QLocale().toString(qint64(summary.contextSize)))
            .arg(summary.contextSize ? 100.0 * double(packed->totalTokens) / double(summary.contextSize) : 0.0, 0, 'f', 1)
            .arg(packed->retrieval ? tr("The sources do not fit: the session runs with retrieval (the passages that best "
                                        "match the question).")
                                   : tr("Everything fits: the session runs whole.")));
}

void MainWindow::addSources(const QStringList& paths) {
    if (paths.isEmpty()) return;
    if (!session_) {
        showError(tr("Create or open a session first (File > New session)."));
        return;
    }
    prefillStarted_ = nowSeconds();
    prefill_->reset();
    prefill_->showMessage(tr("Reading %1...").arg(paths.join(QStringLiteral(", "))));
    chat_->setReady(false);
    session_->addSources(paths);
}

void MainWindow::addRepositoryOrFolder() {
    const QStringList paths = options_.pickPaths
                                  ? options_.pickPaths(true)
                                  : QStringList{QFileDialog::getExistingDirectory(this, tr("Add a repository or folder"))};
    QStringList valid;
    for (const QString& p : paths)
        if (!p.isEmpty()) valid << p;
    addSources(valid);
}

void MainWindow::addFiles() {
    const QStringList paths =
        options_.pickPaths ? options_.pickPaths(false)
                           : QFileDialog::getOpenFileNames(this, tr("Add PDFs, transcripts or text files"), QString(),
                                                           tr("Documents (*.pdf *.srt *.vtt *.txt *.md *.json);;All files (*)"));
    addSources(paths);
}

void MainWindow::setExcluded(const QString& key, bool exclude) {
    if (!session_) return;
    if (exclude && !excluded_.contains(key)) excluded_ << key;
    if (!exclude) excluded_.removeAll(key);
    prefillStarted_ = nowSeconds();
    chat_->setReady(false);
    session_->setExcluded(excluded_);
}

void MainWindow::inBackground(std::function<QString()> job, std::function<void(const QString&)> done) {
    // Database and file work off the GUI thread; `done` runs back here with the job's error text.
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcher<QString>::finished, this, [watcher, done = std::move(done)] {
        done(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run(std::move(job)));
}

void MainWindow::renameSession() {
    const QModelIndex i = sessions_->currentIndex();
    const auto* row = i.isValid() ? sessionModel_->rowAt(i.row()) : nullptr;
    if (!row) return;
    const QString old = row->name;
    const QString name = (options_.askText ? options_.askText(tr("Rename session"), tr("Name"), old)
                                           : QInputDialog::getText(this, tr("Rename session"), tr("Name"), QLineEdit::Normal, old))
                             .trimmed();
    if (name.isEmpty() || name == old) return;
    const QString db = databasePath();
    inBackground(
        [db, old, name]() -> QString {
            ingest::SessionStore store;
            const auto info = store.open(db) ? store.findSession(old.toStdString()) : std::nullopt;
            if (!info || !store.renameSession(info->id, name.toStdString()))
                return tr("Cannot rename \"%1\": %2").arg(old, QString::fromStdString(store.lastError()));
            return {};
        },
        [this, old, name](const QString& error) {
            if (!error.isEmpty()) return showError(error);
            if (sessionName_ == old) {
                sessionName_ = name;
                setWindowTitle(tr("%1 - Folio").arg(sessionName_));
            }
            sessionModel_->refresh();
        });
}

void MainWindow::deleteSession() {
    const QModelIndex i = sessions_->currentIndex();
    const auto* row = i.isValid() ? sessionModel_->rowAt(i.row()) : nullptr;
    if (!row) return;
    const QString name = row->name;
    const QString question = tr("Delete the session \"%1\" and its conversation? The sources on disk are not touched.").arg(name);
    const bool yes = options_.confirm ? options_.confirm(question)
                                      : QMessageBox::question(this, tr("Delete session"), question) == QMessageBox::Yes;
    if (!yes) return;
    if (sessionName_ == name) {
        retireSession();
        sessionName_.clear();
        treeModel_->clear();
        chat_->clear();
        prefill_->reset();
        setWindowTitle(QStringLiteral("Folio"));
    }
    const QString db = databasePath();
    inBackground(
        [db, name]() -> QString {
            ingest::SessionStore store;
            const auto info = store.open(db) ? store.findSession(name.toStdString()) : std::nullopt;
            if (!info || !store.removeSession(info->id))
                return tr("Cannot delete \"%1\": %2").arg(name, QString::fromStdString(store.lastError()));
            return {};
        },
        [this](const QString& error) {
            if (!error.isEmpty()) showError(error);
            sessionModel_->refresh();
        });
}

void MainWindow::exportSession() {
    const QString name = sessionName_;
    if (name.isEmpty()) return;
    const QString file = options_.pickSaveFile ? options_.pickSaveFile(name + ".md")
                                               : QFileDialog::getSaveFileName(this, tr("Export conversation"), name + ".md",
                                                                              tr("Markdown (*.md)"));
    if (file.isEmpty()) return;
    const QString db = databasePath();
    inBackground(
        [db, name, file]() -> QString {
            ingest::SessionStore store;
            const auto info = store.open(db) ? store.findSession(name.toStdString()) : std::nullopt;
            if (!info) return tr("Cannot export \"%1\": %2").arg(name, QString::fromStdString(store.lastError()));
            const std::string md = app::exportMarkdown(store, *info);
            QSaveFile out(file);
            if (!out.open(QIODevice::WriteOnly) || out.write(md.data(), qint64(md.size())) != qint64(md.size()) ||
                !out.commit())
                return tr("Cannot write %1: %2").arg(file, out.errorString());
            return {};
        },
        [this, file](const QString& error) {
            if (!error.isEmpty()) return showError(error);
            statusBar()->showMessage(tr("Exported to %1").arg(file), 10000);
            emit exported(file);
        });
}

void MainWindow::ask(const QString& question, bool thinking) {
    if (!session_ || question.trimmed().isEmpty()) return;
    chat_->addQuestion(question);
    chat_->beginAnswer();
    chat_->setBusy(true);
    tabs_->setCurrentWidget(chat_);
    const bool demo = ModelChoice::load().kind == ModelChoice::Demo;
    session_->ask(question, SamplingParams{demo ? 1.0f : 0.6f, 0.95f, std::uint64_t(QDateTime::currentMSecsSinceEpoch())},
                  demo ? 48 : 2048, thinking);
}

void MainWindow::openCitation(const ingest::Citation& c) {
    const auto packed = session_ ? session_->packedContext() : nullptr;
    if (!packed || !c.resolved || c.document >= packed->documents.size()) return;
    const QString location = QString::fromStdString(packed->sources[packed->documentSource[c.document]].location);
    viewer_->showCitation(packed->documents[c.document], c, location);
    revealViewer();
}

void MainWindow::revealViewer() {
    viewer_->show();
    QList<int> sizes = splitter_->sizes();
    if (sizes.size() == 3 && sizes[2] < 250) {
        const int want = std::max(250, (sizes[1] + sizes[2]) * 2 / 5);
        sizes[1] = std::max(200, sizes[1] + sizes[2] - want);
        sizes[2] = want;
        splitter_->setSizes(sizes);
    }
}

void MainWindow::editModel() {
    ModelDialog dialog(ModelChoice::load(), this);
    if (dialog.exec() != QDialog::Accepted) return;
    dialog.choice().save();
    modelLabel_->setText(dialog.choice().describe());
    statusBar()->showMessage(tr("The model applies to sessions opened from now on"), 8000);
}

} // namespace folio::ui
