// The main window: saved sessions on the left; sources, budget and chat in the centre; the source
// viewer on the right; live prefill at the bottom. All engine, disk and ingestion work runs in the
// session's worker (app/runtime/session.h); the window only reacts to its signals.
#pragma once

#include "runtime/session_runtime.h"

#include <QMainWindow>
#include <QStringList>

#include <functional>
#include <memory>

class QLabel;
class QTabWidget;
class QTableView;
class QTableWidget;
class QTreeView;
class QSplitter;

namespace folio::app {
class Session;
}

namespace folio::ui {

class BudgetChart;
class ChatView;
class PrefillPanel;
class SessionListModel;
class SourceTreeModel;
class SourceViewer;

// Where the window keeps its files, and test seams for every dialog it would open.
struct WindowOptions {
    QString databasePath;      // empty: the user's session database
    QString snapshotDirectory; // empty: the user's cache directory
    std::int64_t chunk = 0;    // 0: the runtime's default
    int threads = 0;
    std::function<QString(const QString& title, const QString& label, const QString& current)> askText;
    std::function<QStringList(bool directory)> pickPaths;
    std::function<bool(const QString& question)> confirm;
    std::function<QString(const QString& suggested)> pickSaveFile;
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(WindowOptions options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    // The actions behind the buttons and menus (also driven by the tests).
    void newSession();
    void openSession(const QString& name);
    void addSources(const QStringList& paths);
    void addRepositoryOrFolder();
    void addFiles();
    void renameSession();
    void deleteSession();
    void exportSession();
    void ask(const QString& question, bool thinking = false);
    void editModel();

    app::Session* session() const { return session_.get(); }
    QString currentSessionName() const { return sessionName_; }
    QString errorText() const;
    SourceViewer* sourceViewer() const { return viewer_; }
    ChatView* chatView() const { return chat_; }

signals:
    void sessionOpened(const QString& name);
    void exported(const QString& file);
    // The current session's context is prefilled (or restored) and the window shows it. Emitted
    // after the window's own handlers ran, on the GUI thread; never for a retired session.
    void prefillFinished(qint64 contextTokens, qint64 reusedTokens);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildMenus();
    void restoreWindowState();
    void startSession(const QString& name, bool create);
    void retireSession();
    void showError(const QString& message);
    void showPacked();
    void openCitation(const ingest::Citation& citation);
    void revealViewer(); // shows the source viewer with a usable width
    void inBackground(std::function<QString()> job, std::function<void(const QString&)> done);
    void setExcluded(const QString& key, bool exclude);
    app::RuntimeOptions runtimeOptions() const;
    QString databasePath() const;

    WindowOptions options_;
    std::unique_ptr<app::Session> session_;
    QString sessionName_;
    QStringList excluded_;
    double prefillStarted_ = 0;

    SessionListModel* sessionModel_ = nullptr;
    QTableView* sessions_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    SourceTreeModel* treeModel_ = nullptr;
    QTreeView* tree_ = nullptr;
    QTableWidget* leftOut_ = nullptr;
    BudgetChart* budget_ = nullptr;
    QLabel* budgetSummary_ = nullptr;
    ChatView* chat_ = nullptr;
    SourceViewer* viewer_ = nullptr;
    PrefillPanel* prefill_ = nullptr;
    QLabel* error_ = nullptr;
    QLabel* deviceLabel_ = nullptr;
    QLabel* modelLabel_ = nullptr;
    QSplitter* splitter_ = nullptr;
};

} // namespace folio::ui
