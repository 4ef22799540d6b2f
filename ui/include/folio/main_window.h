// The main window: sessions on the left; sources, budget, prefill and chat in the centre.
#pragma once

#include <QMainWindow>

class QLabel;
class QListWidget;
class QTabWidget;

namespace folio::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void restoreWindowState();

    QListWidget* sessions_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    QLabel* deviceLabel_ = nullptr;
};

} // namespace folio::ui
