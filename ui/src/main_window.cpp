#include "folio/main_window.h"

#include "folio/backend.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

namespace folio::ui {

namespace {

QWidget* placeholderPage(const QString& objectName, const QString& text) {
    auto* page = new QWidget;
    page->setObjectName(objectName);
    auto* layout = new QVBoxLayout(page);
    auto* label = new QLabel(text, page);
    label->setWordWrap(true);
    label->setAlignment(Qt::AlignCenter);
    layout->addWidget(label);
    return page;
}

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("Folio"));

    auto* splitter = new QSplitter(this);
    splitter->setObjectName(QStringLiteral("mainSplitter"));

    sessions_ = new QListWidget(splitter);
    sessions_->setObjectName(QStringLiteral("sessionList"));
    sessions_->setMinimumWidth(220);

    tabs_ = new QTabWidget(splitter);
    tabs_->setObjectName(QStringLiteral("mainTabs"));
    tabs_->addTab(placeholderPage(QStringLiteral("sourcesPage"),
                                  tr("Add a git repository, PDFs, transcripts or text files.")),
                  tr("Sources"));
    tabs_->addTab(placeholderPage(QStringLiteral("budgetPage"),
                                  tr("Token counts per source against the context size.")),
                  tr("Budget"));
    tabs_->addTab(placeholderPage(QStringLiteral("chatPage"),
                                  tr("Ask questions about the prefilled context.")),
                  tr("Chat"));
    splitter->setStretchFactor(1, 1);
    setCentralWidget(splitter);

    const BackendReport backends = probeBackends();
    QString device = QString::fromStdString(backends.devices.back().name);
    if (backends.devices.size() == 1)
        device += QStringLiteral(" - ") + QString::fromStdString(backends.cudaMessage);
    deviceLabel_ = new QLabel(device, this);
    deviceLabel_->setObjectName(QStringLiteral("deviceLabel"));
    statusBar()->addPermanentWidget(deviceLabel_);

    buildMenus();
    restoreWindowState();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* quit = file->addAction(tr("&Quit"), qApp, &QApplication::closeAllWindows);
    quit->setObjectName(QStringLiteral("actionQuit"));
    quit->setShortcut(QKeySequence::Quit);
}

void MainWindow::restoreWindowState() {
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("mainWindow/state")).toByteArray());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/state"), saveState());
    event->accept();
}

} // namespace folio::ui
