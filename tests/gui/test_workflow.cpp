// The desktop workflow end to end on the demo model, through the real window: create a session, add
// a git repository made by the test and a generated PDF, see the budget, watch the prefill progress,
// ask and receive a streamed answer, open citations in the source viewer, close, reopen and find the
// restored state. The event loop is sampled every few milliseconds throughout: the longest stall
// must stay under 50 ms. With FOLIO_SCREENSHOT_DIR set, the main states are saved as PNG files.
#include "folio/engine.h"
#include "folio/main_window.h"

#include "../ingest/ingest_test_support.h"
#include "budget_chart.h"
#include "chat_view.h"
#include "model_dialog.h"
#include "runtime/session.h"
#include "source_viewer.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMimeData>
#include <QProcess>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTreeView>
#include <QtTest>

using namespace folio;
using namespace folio::ui;

namespace {

// The longest gap between ticks of a 5 ms timer while measuring: how long the event loop was
// blocked while the session worked (prefill, answer). The test's own synchronous steps (showing a
// window, opening a citation) are outside the measured spans.
class StallMeter : public QObject {
public:
    StallMeter() {
        clock_.start();
        timer_.setInterval(5);
        connect(&timer_, &QTimer::timeout, this, [this] {
            const qint64 now = clock_.elapsed();
            if (active_) worst_ = std::max(worst_, now - last_);
            last_ = now;
        });
        timer_.start();
    }
    void start() {
        last_ = clock_.elapsed();
        active_ = true;
    }
    void stop() { active_ = false; }
    qint64 worst() const { return worst_; }

private:
    QElapsedTimer clock_;
    QTimer timer_;
    qint64 last_ = 0, worst_ = 0;
    bool active_ = false;
};

// QSignalSpy counts in the emitting (worker) thread; the window's own handlers for the same
// signal are queued to this thread, posted before the spy counted. One pass delivers them.
void settle() {
    QCoreApplication::processEvents();
    QCoreApplication::processEvents();
}

void screenshot(QWidget& w, const char* name) {
    const QString dir = qEnvironmentVariable("FOLIO_SCREENSHOT_DIR");
    if (dir.isEmpty()) return;
    QDir().mkpath(dir);
    QVERIFY(w.grab().save(dir + "/" + name + ".png"));
}

} // namespace

class TestWorkflow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void wholeWorkflow();
    void modelDialogRefusesWhatDoesNotFit();
    void switchingSessionsMidPrefillNeverBlocks();

private:
    QTemporaryDir tmp_;
    QString repo_, pdf_;
};

void TestWorkflow::initTestCase() {
    if (!folio::test::haveGit()) QSKIP("git is not installed");
    repo_ = tmp_.path() + "/calc";
    QDir().mkpath(repo_);
    QByteArray main = "#include <cstdio>\n\nint add(int a, int b) {\n    return a + b;\n}\n\n"
                      "int main() {\n    std::printf(\"%d\\n\", add(2, 3));\n}\n";
    QVERIFY(folio::test::writeFile(repo_ + "/src/main.cpp", main));
    QVERIFY(folio::test::writeFile(repo_ + "/README.md", "# calc\n\nAdds two numbers.\n"));
    QVERIFY(folio::test::writeFile(repo_ + "/docs/notes.md", "Notes about the design.\n"));
    QVERIFY(folio::test::git(repo_, {"init", "-q"}));
    QVERIFY(folio::test::git(repo_, {"add", "."}));
    QVERIFY(folio::test::git(repo_, {"commit", "-q", "-m", "first"}, nullptr, 1));
    folio::test::PdfSpec spec;
    spec.title = "Handbook";
    spec.pages = {{"Chapter one.", "Numbers are added."}, {"Chapter two.", "The sum is printed."}};
    pdf_ = tmp_.path() + "/handbook.pdf";
    QVERIFY(folio::test::writeFile(pdf_, folio::test::makePdf(spec)));
}

void TestWorkflow::wholeWorkflow() {
    WindowOptions o;
    o.databasePath = tmp_.path() + "/sessions.sqlite";
    o.snapshotDirectory = tmp_.path() + "/snapshots";
    o.chunk = 128;
    o.askText = [](const QString&, const QString&, const QString&) { return QStringLiteral("calc and handbook"); };
    bool wantDirectory = true;
    o.pickPaths = [&](bool directory) {
        wantDirectory = directory;
        return directory ? QStringList{repo_} : QStringList{pdf_};
    };
    o.confirm = [](const QString&) { return true; };
    const QString exported = tmp_.path() + "/export.md";
    o.pickSaveFile = [&](const QString&) { return exported; };

    StallMeter stalls;
    QString reasoning; // the first answer's, in thinking mode
    {
        MainWindow w(o);
        w.resize(1400, 900);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* sessionList = w.findChild<QTableView*>("sessionList");
        auto* tree = w.findChild<QTreeView*>("sourceTree");
        QVERIFY(sessionList && tree);
        QAbstractItemModelTester sessionTester(sessionList->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester treeTester(tree->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester leftOutTester(w.findChild<QTableWidget*>("leftOutList")->model(),
                                               QAbstractItemModelTester::FailureReportingMode::QtTest);

        // New session (the name comes from the dialog seam). The window's signal is watched, not
        // the session's: the session's worker may finish its first prefill before a spy on it
        // could be attached.
        QSignalSpy finished(&w, &MainWindow::prefillFinished);
        w.findChild<QPushButton*>("newSessionButton")->click();
        QVERIFY(w.session());
        QCOMPARE(w.currentSessionName(), QStringLiteral("calc and handbook"));
        QSignalSpy progress(w.session(), &app::Session::progress);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        settle();
        QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
        QTRY_COMPARE_WITH_TIMEOUT(sessionList->model()->rowCount(), 1, 10000);
        // The Model column names the model, not its fingerprint.
        QCOMPARE(sessionList->model()->headerData(2, Qt::Horizontal).toString(), QStringLiteral("Model"));
        QCOMPARE(sessionList->model()->index(0, 2).data().toString(), QStringLiteral("demo"));

        // A repository and a PDF, through the buttons.
        stalls.start();
        w.findChild<QPushButton*>("addRepositoryButton")->click();
        QVERIFY(wantDirectory);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        settle();
        w.findChild<QPushButton*>("addFilesButton")->click();
        QVERIFY(!wantDirectory);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 60000);
        settle();
        stalls.stop();
        QVERIFY(progress.count() >= 3);
        QCOMPARE(tree->model()->rowCount(), 2); // handbook.pdf first (files before repositories), calc
        QVERIFY(w.errorText().isEmpty());
        screenshot(w, "sources");

        // Budget: bars per source and folder, the total, and whole or retrieval.
        auto* tabs = w.findChild<QTabWidget*>("mainTabs");
        tabs->setCurrentIndex(1);
        auto* chart = w.findChild<BudgetChart*>("budgetChart");
        QVERIFY(chart);
        QVERIFY(chart->barCount() >= 3); // calc, handbook.pdf, calc/src/, calc/docs/
        const QString summary = w.findChild<QLabel*>("budgetSummary")->text();
        QVERIFY2(summary.contains("runs whole"), qPrintable(summary));
        screenshot(w, "budget");

        // Prefill progress reached the end and says what it did.
        const auto last = progress.last().at(0).value<app::PrefillReport>();
        QCOMPARE(last.done, last.total);
        const QString status = w.findChild<QLabel*>("prefillStatus")->text();
        QVERIFY2(status.contains("Prefilled") || status.contains("Restored"), qPrintable(status));

        // A question in thinking mode, answered token by token.
        QSignalSpy tokens(w.session(), &app::Session::token);
        QSignalSpy answered(w.session(), &app::Session::answered);
        stalls.start();
        w.ask("What does add return?", true);
        QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, 60000);
        settle();
        stalls.stop();
        const app::Answer firstAnswer = answered.first().at(0).value<app::Answer>();
        QVERIFY(tokens.count() > 0 || firstAnswer.answerTokens == 0); // the demo model's words vary by CPU
        ChatView* chat = w.chatView();
        QCOMPARE(int(chat->entries().size()), 2);
        QVERIFY(chat->entries()[0].user);
        QCOMPARE(chat->entries()[1].text.toStdString(), answered.first().at(0).value<app::Answer>().text);
        reasoning = chat->entries()[1].reasoning;
        QCOMPARE(reasoning.toStdString(), firstAnswer.reasoning);
        screenshot(w, "chat");

        // Citations: the demo model's answers carry no meaning, so an answer with citations is added
        // the way a restored conversation adds one; clicking opens the viewer at the place.
        chat->addAnswer("add is at [src/main.cpp:3-5]; see [Handbook p. 2] and [nowhere.cpp:9].");
        const int entry = int(chat->entries().size()) - 1;
        const auto& cits = chat->entries().back().citations;
        QCOMPARE(int(cits.size()), 3);
        QVERIFY(cits[0].resolved);
        QVERIFY(cits[1].resolved);
        QVERIFY(!cits[2].resolved);
        // Resolved ones are links; the unresolved one is struck through, not a link.
        const QString html = chat->browser()->toHtml();
        QVERIFY(html.contains("folio-cite:" + QString::number(entry) + "/0"));
        QVERIFY(!html.contains("folio-unresolved:"));
        QVERIFY(html.contains("line-through"));
        chat->activateCitation(entry, 0);
        SourceViewer* viewer = w.sourceViewer();
        QVERIFY(viewer->isVisible());
        QVERIFY(viewer->width() >= 250);
        QCOMPARE(viewer->mode(), QStringLiteral("text"));
        QCOMPARE(viewer->highlightedFirstLine(), 3);
        QCOMPARE(viewer->highlightedLastLine(), 5);
        QCOMPARE(viewer->cursorLine(), 3);
        screenshot(w, "viewer-code");
        chat->activateCitation(entry, 1);
        QCOMPARE(viewer->mode(), QStringLiteral("pdf"));
        QCOMPARE(viewer->shownPageIndex(), 1);
        QVERIFY(viewer->pageRendered());
        screenshot(w, "viewer-pdf");

        // A damaged PDF: the reason shows in the window; nothing in the session is lost.
        const QString bad = tmp_.path() + "/broken.pdf";
        QVERIFY(folio::test::writeFile(bad, "%PDF-1.4\nthis is not a pdf"));
        w.addSources({bad});
        QTRY_VERIFY_WITH_TIMEOUT(!w.errorText().isEmpty(), 30000);
        QVERIFY2(w.errorText().contains("broken.pdf") || w.errorText().contains("no source"), qPrintable(w.errorText()));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 4, 60000);
        settle();
        auto* leftOut = w.findChild<QTableWidget*>("leftOutList");
        auto listed = [&](const QString& path, const QString& reason) {
            for (int r = 0; r < leftOut->rowCount(); ++r)
                if (leftOut->item(r, 0)->text() == path && leftOut->item(r, 1)->text().contains(reason)) return true;
            return false;
        };
        QVERIFY(listed("broken.pdf/broken.pdf", "damaged"));
        QModelIndex calc;
        for (int r = 0; r < tree->model()->rowCount(); ++r)
            if (tree->model()->index(r, 0).data().toString() == "calc") calc = tree->model()->index(r, 0);
        QVERIFY(calc.isValid());
        QCOMPARE(tree->model()->data(tree->model()->index(calc.row(), 1)).toString().remove(',').toLongLong() > 0, true);

        // Exclude a folder from the tree: it moves to the left-out list.
        QModelIndex docs;
        for (int r = 0; r < tree->model()->rowCount(calc); ++r)
            if (tree->model()->index(r, 0, calc).data().toString() == "docs") docs = tree->model()->index(r, 0, calc);
        QVERIFY(docs.isValid());
        QVERIFY(tree->model()->setData(docs, Qt::Unchecked, Qt::CheckStateRole));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 5, 60000);
        settle();
        QVERIFY(listed("calc/docs/notes.md", "ignored"));
        w.close();
    }
    QVERIFY2(stalls.worst() < 50, qPrintable(QString("event loop stalled %1 ms").arg(stalls.worst())));

    // Reopen: the saved session comes back with its conversation and its prefilled state.
    MainWindow again(o);
    again.resize(1400, 900);
    again.show();
    QVERIFY(QTest::qWaitForWindowExposed(&again));
    QSignalSpy finished(&again, &MainWindow::prefillFinished);
    again.openSession("calc and handbook");
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        settle();
    QVERIFY(finished.first().at(1).toLongLong() > 0); // reused from the prefix cache
    QVERIFY(again.session()->counters().reusedTokens > 0);
    QCOMPARE(int(again.chatView()->entries().size()), 2);
    QCOMPARE(again.chatView()->entries()[1].reasoning, reasoning); // saved with the answer
    QVERIFY(again.findChild<QLabel*>("prefillStatus")->text().contains("Restored"));
    screenshot(again, "reopened");

    QSignalSpy exportedSpy(&again, &MainWindow::exported);
    again.exportSession();
    QTRY_COMPARE_WITH_TIMEOUT(exportedSpy.count(), 1, 10000);
    QFile md(exported);
    QVERIFY(md.open(QIODevice::ReadOnly));
    QVERIFY(md.readAll().startsWith("# calc and handbook"));

    // Rename and delete through the dialog seams.
    auto* list = again.findChild<QTableView*>("sessionList");
    list->selectRow(0);
    o.askText = [](const QString&, const QString&, const QString&) { return QStringLiteral("renamed"); };
    MainWindow third(o);
    auto* thirdList = third.findChild<QTableView*>("sessionList");
    QTRY_COMPARE_WITH_TIMEOUT(thirdList->model()->rowCount(), 1, 10000);
    thirdList->selectRow(0);
    third.renameSession();
    QTRY_COMPARE_WITH_TIMEOUT(thirdList->model()->index(0, 0).data().toString(), QStringLiteral("renamed"), 10000);
    thirdList->selectRow(0);
    third.deleteSession();
    QTRY_COMPARE_WITH_TIMEOUT(thirdList->model()->rowCount(), 0, 10000);
}

void TestWorkflow::modelDialogRefusesWhatDoesNotFit() {
    ModelChoice demo;
    demo.kind = ModelChoice::Demo;
    demo.contextSize = 262144;
    ModelDialog dialog(demo);
    // The demo model's plan, from its config: weights, state at 256K, working memory.
    QVERIFY2(dialog.planText().contains("Memory plan at"), qPrintable(dialog.planText()));
    QVERIFY(dialog.fits());
    dialog.setAvailableMemory(1 << 20); // 1 MiB: nothing fits
    QVERIFY(!dialog.fits());
    QVERIFY2(dialog.planText().contains("does not fit"), qPrintable(dialog.planText()));
    // A directory that is not a checkpoint is refused with the reason.
    ModelChoice bad;
    bad.kind = ModelChoice::Directory;
    bad.directory = tmp_.path();
    ModelDialog second(bad);
    QVERIFY(!second.fits());
    QVERIFY2(second.planText().contains("config.json"), qPrintable(second.planText()));
    QCOMPARE(second.choice().directory, tmp_.path());
    // A GGUF file, chosen with its own button: the plan from its metadata and its tensors' bytes.
    const QString ggufPath = tmp_.path() + "/tiny-q4_k.gguf";
    {
        QProcess make;
        make.start(FOLIO_CLI_PATH, {"make-model", "--preset", "tiny", "--seed", "3", "--out", tmp_.path() + "/tinyg",
                                    "--gguf", "q4_k"});
        QVERIFY(make.waitForFinished(120000));
        QCOMPARE(make.exitCode(), 0);
        QVERIFY(QFile::rename(tmp_.path() + "/tinyg/model-q4_k.gguf", ggufPath));
    }
    second.pickFile = [&] { return ggufPath; };
    QPushButton* fileButton = second.findChild<QPushButton*>("browseGguf");
    QVERIFY(fileButton);
    fileButton->click();
    QCOMPARE(second.choice().directory, ggufPath);
    QCOMPARE(second.choice().kind, ModelChoice::Directory);
    QVERIFY2(second.fits(), qPrintable(second.planText()));
    QVERIFY2(second.planText().contains("Memory plan at"), qPrintable(second.planText()));
    auto est = estimateMemory(ggufPath.toStdString(), 262144);
    QVERIFY(est.ok());
    QVERIFY(est->weightBytes > 0 && est->weightBytes < std::uint64_t(QFileInfo(ggufPath).size()));
    // A remote endpoint needs a usable address; the model then runs on the server.
    ModelChoice remote;
    remote.kind = ModelChoice::Remote;
    remote.endpoint = "not a url";
    ModelDialog third(remote);
    QVERIFY(!third.fits());
    remote.endpoint = "http://gpu-server:8000/v1";
    ModelDialog fourth(remote);
    QVERIFY(fourth.fits());
    QVERIFY2(fourth.planText().contains("gpu-server"), qPrintable(fourth.planText()));
}

void TestWorkflow::switchingSessionsMidPrefillNeverBlocks() {
    // A source of about 10,000 demo-model tokens: seconds of prefill at chunk 128.
    const QString big = tmp_.path() + "/big.md";
    QByteArray text;
    for (int i = 0; i < 260; ++i) text += "line " + QByteArray::number(i) + ": alpha beta gamma delta engine prefill\n";
    QVERIFY(folio::test::writeFile(big, text));
    WindowOptions o;
    o.databasePath = tmp_.path() + "/switch.sqlite";
    o.snapshotDirectory = tmp_.path() + "/switch-snapshots";
    o.chunk = 128;
    QString next = "first";
    o.askText = [&](const QString&, const QString&, const QString&) { return next; };
    o.pickPaths = [&](bool) { return QStringList{big}; };
    MainWindow w(o);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy ready(&w, &MainWindow::prefillFinished);
    w.newSession();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 60000);
    settle();
    QSignalSpy progress(w.session(), &app::Session::progress);
    // The source arrives by drag and drop onto the window.
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(big)});
    QDragEnterEvent enter(QPoint(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 3, 60000);
    settle();
    QVERIFY(w.session()->state() == app::Session::State::Prefilling);

    // Switch to a new session while the first one is in the middle of a chunk.
    StallMeter stalls;
    stalls.start();
    next = "second";
    QSignalSpy secondReady(&w, &MainWindow::prefillFinished);
    QElapsedTimer t;
    t.start();
    w.newSession();
    const qint64 switchMs = t.elapsed();
    QCOMPARE(w.currentSessionName(), QStringLiteral("second"));
    QTRY_COMPARE_WITH_TIMEOUT(secondReady.count(), 1, 60000);
    stalls.stop();
    QVERIFY2(switchMs < 50, qPrintable(QString("switching took %1 ms").arg(switchMs)));
    QVERIFY2(stalls.worst() < 50, qPrintable(QString("event loop stalled %1 ms").arg(stalls.worst())));
}

QTEST_MAIN(TestWorkflow)
#include "test_workflow.moc"
