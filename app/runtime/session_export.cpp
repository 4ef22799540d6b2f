#include "session_export.h"

#include "folio/ingest/citation_resolver.h"

namespace folio::app {

using namespace folio::ingest;

std::string exportMarkdown(const SessionStore& store, const SessionInfo& s) {
    std::vector<Document> docs;
    std::string out = "# " + s.name + "\n\nCreated " + s.createdAt + ".\n\n## Sources\n\n";
    for (const StoredSource& src : store.sources(s.id)) {
        auto d = store.documents(src.id);
        out += "- " + src.name + " (" + src.kindName + ", " + std::to_string(d.size()) + " documents): " + src.location + "\n";
        for (auto& doc : d) docs.push_back(std::move(doc));
    }
    const CitationResolver resolver(docs);
    out += "\n## Conversation\n";
    for (const Message& m : store.messages(s.id)) {
        out += "\n### " + std::string(m.role == "user" ? "Question" : "Answer") + "\n\n";
        if (!m.reasoning.empty()) {
            // Thinking mode: the reasoning, quoted line by line, before the answer.
            out += "> *Reasoning*\n>\n> ";
            for (const char c : m.reasoning) {
                out += c;
                if (c == '\n') out += "> ";
            }
            out += "\n\n";
        }
        out += m.content + "\n";
        if (m.role != "assistant") continue;
        std::string marks;
        for (const Citation& c : resolver.scan(m.content))
            if (!c.resolved) marks += "- [" + c.text + "]: does not resolve (" + c.error + ")\n";
        if (!marks.empty()) out += "\nUnresolved citations:\n\n" + marks;
    }
    return out;
}

} // namespace folio::app
