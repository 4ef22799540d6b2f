// Test helper for test_session_store: writes sessions to a store as fast as it can, one transaction
// per session (a session, its source and its documents), and prints "committed N" after each
// commit, until it is killed. Usage: folio_store_writer DB_PATH DOCS_PER_SESSION
#include "folio/ingest/session_store.h"

#include <QCoreApplication>
#include <cstdio>
#include <string>

using namespace folio::ingest;

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (argc < 3) {
        std::fprintf(stderr, "usage: folio_store_writer DB_PATH DOCS_PER_SESSION\n");
        return 2;
    }
    const int docsPerSession = std::stoi(argv[2]);
    SessionStore store;
    if (!store.open(QString::fromLocal8Bit(argv[1]))) {
        std::fprintf(stderr, "%s\n", store.lastError().c_str());
        return 1;
    }
    const std::string filler(4096, 'x');
    for (int n = 0;; ++n) {
        const bool ok = store.transaction([&] {
            SessionInfo info;
            info.name = "session-" + std::to_string(n);
            const auto id = store.createSession(info);
            if (!id) return false;
            SourceResult src;
            src.name = "repo";
            src.kindName = "git repository";
            for (int d = 0; d < docsPerSession; ++d) {
                Document doc;
                doc.path = "file" + std::to_string(d) + ".txt";
                doc.title = doc.path;
                doc.text = filler + std::to_string(d) + "\n";
                src.documents.push_back(std::move(doc));
            }
            return store.saveSource(*id, src).has_value();
        });
        if (!ok) {
            std::fprintf(stderr, "write failed: %s\n", store.lastError().c_str());
            return 1;
        }
        std::printf("committed %d\n", n);
        std::fflush(stdout);
    }
}
