// folio-cli session: the saved sessions (list, show, export as Markdown, rm).
#include "args.h"
#include "cli.h"
#include "json_line.h"

#include "folio/ingest/citation_resolver.h"
#include "folio/ingest/session_store.h"
#include "runtime/session_export.h"
#include "runtime/session_files.h"

#include <QSaveFile>

#include <cstdio>

namespace folio::cli {

namespace {

using namespace folio::ingest;

int run(const std::vector<std::string>& argv) {
    Args args({"json"}, {"out"});
    if (!args.parse(argv)) return fail("session", args.error(), ExitUsage);
    const auto& pos = args.positional();
    if (pos.empty()) return fail("session", "list, show NAME, export NAME or rm NAME", ExitUsage);
    const std::string& verb = pos.front();
    SessionStore store;
    if (!store.open(app::sessionDatabasePath())) return fail("session", store.lastError());
    if (verb == "list") {
        for (const SessionInfo& s : store.sessions()) {
            const auto sources = store.sources(s.id);
            const SessionStore::Activity activity = store.activity(s.id);
            if (args.has("json"))
                JsonLine().add("name", s.name).add("sources", std::int64_t(sources.size()))
                    .add("messages", activity.messages).add("context_size", s.contextSize)
                    .add("model", s.modelName).add("created_at", s.createdAt).print();
            else
                std::printf("%-24s %3zu sources %4lld messages  %-20s %s\n", s.name.c_str(), sources.size(),
                            static_cast<long long>(activity.messages),
                            s.modelName.empty() ? "-" : s.modelName.c_str(), s.createdAt.c_str());
        }
        return ExitOk;
    }
    if (pos.size() != 2) return fail("session", verb + " takes one session NAME", ExitUsage);
    const auto s = store.findSession(pos[1]);
    if (!s) return fail("session", "no session named '" + pos[1] + "'");
    if (verb == "show") {
        for (const StoredSource& src : store.sources(s->id)) {
            const auto docs = store.documentIds(src.id);
            const auto skipped = store.skipped(src.id);
            if (args.has("json"))
                JsonLine().add("source", src.name).add("kind", src.kindName).add("location", src.location)
                    .add("documents", std::int64_t(docs.size())).add("skipped", std::int64_t(skipped.size())).print();
            else
                std::printf("%s (%s) %s: %zu documents, %zu left out\n", src.name.c_str(), src.kindName.c_str(),
                            src.location.c_str(), docs.size(), skipped.size());
        }
        for (const Message& m : store.messages(s->id)) {
            if (args.has("json"))
                JsonLine().add("role", m.role).add("content", m.content).add("tokens", m.tokens).add("created_at", m.createdAt).print();
            else
                std::printf("\n[%s] %s\n", m.role.c_str(), m.content.c_str());
        }
        return ExitOk;
    }
    if (verb == "export") {
        const std::string md = app::exportMarkdown(store, *s);
        if (const auto out = args.value("out")) {
            QSaveFile f(QString::fromStdString(*out));
            if (!f.open(QIODevice::WriteOnly) || f.write(md.data(), qint64(md.size())) != qint64(md.size()) || !f.commit())
                return fail("session", "cannot write " + *out + ": " + f.errorString().toStdString());
            return ExitOk;
        }
        std::fwrite(md.data(), 1, md.size(), stdout);
        return ExitOk;
    }
    if (verb == "rm") {
        if (!store.removeSession(s->id)) return fail("session", store.lastError());
        return ExitOk;
    }
    return fail("session", "unknown verb '" + verb + "': list, show, export or rm", ExitUsage);
}

} // namespace

const Command kSessionCommand{
    "session", "List, show, export or remove saved sessions",
    "Usage: folio-cli session list|show NAME|export NAME [--out FILE]|rm NAME [--json]\n\n"
    "Sessions are made by 'folio-cli ask --session NAME SOURCE... -- QUESTION' and live in the\n"
    "user's data directory. export writes the conversation as Markdown and marks citations that do\n"
    "not resolve against the session's sources.\n",
    run};

} // namespace folio::cli
