#include "folio/kernels/cpu_dispatch.h"
#include "folio/main_window.h"

#include <QLabel>
#include <QTableView>
#include <QTabWidget>
#include <QtTest>

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void showsTheMainParts();
    void screenshot();
};

void TestMainWindow::showsTheMainParts() {
    folio::ui::MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.findChild<QTableView*>("sessionList"));
    QVERIFY(w.findChild<QWidget*>("prefillPanel"));
    QVERIFY(w.findChild<QWidget*>("sourceViewer"));
    auto* tabs = w.findChild<QTabWidget*>("mainTabs");
    QVERIFY(tabs);
    QCOMPARE(tabs->count(), 3);
    auto* device = w.findChild<QLabel*>("deviceLabel");
    QVERIFY(device);
    // The status bar names the CPU kernel variant that runs (FOLIO_CPU or the best this CPU has).
    const QString variant = QString::fromLatin1(folio::kernels::cpuVariantName(folio::kernels::activeCpuVariant()));
    QVERIFY2(device->text().contains(variant + QStringLiteral(" kernels")), qPrintable(device->text()));
    QVERIFY(device->toolTip().contains(QStringLiteral("kernels (")));
}

void TestMainWindow::screenshot() {
    folio::ui::MainWindow w;
    w.resize(1024, 640);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const QImage image = w.grab().toImage();
    QCOMPARE(image.size(), QSize(1024, 640));
    QDir().mkpath(FOLIO_BINARY_DIR "/screenshots");
    QVERIFY(image.save(FOLIO_BINARY_DIR "/screenshots/main-window-offscreen.png"));
}

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
