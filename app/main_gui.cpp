// folio: the desktop app. `--screenshot FILE` saves the main window as a PNG once it is shown and
// quits (used by the Xvfb test and for the README's pictures).
#include "folio/backend.h"
#include "folio/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("folio"));
    QApplication::setOrganizationName(QStringLiteral("folio"));
    QApplication::setApplicationDisplayName(QStringLiteral("Folio"));
    QApplication::setApplicationVersion(QStringLiteral(FOLIO_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/folio/folio.svg")));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Read a whole codebase or book with a local LLM"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("Save the main window to FILE and quit."),
                                        QStringLiteral("FILE"));
    parser.addOption(screenshot);
    parser.process(app);

    std::string cpuError;
    if (!folio::cpuKernelsUsable(&cpuError)) { // FOLIO_CPU names a variant this CPU cannot run
        std::fprintf(stderr, "folio: %s\n", cpuError.c_str());
        QMessageBox::critical(nullptr, QStringLiteral("Folio"), QString::fromStdString(cpuError));
        return 2;
    }

    folio::ui::MainWindow window;
    window.resize(1280, 800);
    window.show();
    if (parser.isSet(screenshot)) {
        const QString file = parser.value(screenshot);
        QTimer::singleShot(500, &window, [&window, file] {
            const bool saved = window.grab().save(file, "PNG");
            QApplication::exit(saved ? 0 : 1);
        });
    }
    return app.exec();
}
