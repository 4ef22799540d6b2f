// folio-cli: the headless interface. The commands live in the folio_cli library.
#include "cli/cli.h"

#include <QCoreApplication>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("folio"));
    QCoreApplication::setOrganizationName(QStringLiteral("folio"));
    return folio::cli::runCli(argc, argv);
}
