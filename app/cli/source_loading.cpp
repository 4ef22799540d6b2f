#include "source_loading.h"

#include <QString>
#include <cstdio>

namespace folio::cli {

std::vector<ingest::SourceResult> loadSources(std::string_view command, const std::vector<std::string>& paths,
                                              const ingest::IngestOptions& options, bool* anyFailed) {
    using namespace folio::ingest;
    std::vector<SourceResult> sources;
    *anyFailed = false;
    for (const std::string& path : paths) {
        SourceResult r = loadSource(QString::fromStdString(path), options);
        if (!r.error.empty()) {
            std::fprintf(stderr, "folio-cli %.*s: %s: %s\n", int(command.size()), command.data(), path.c_str(),
                         r.error.c_str());
            *anyFailed = true;
            continue;
        }
        for (const std::string& w : r.warnings)
            std::fprintf(stderr, "folio-cli %.*s: %s: %s\n", int(command.size()), command.data(),
                         path.c_str(), w.c_str());
        for (const SkippedFile& s : r.skipped)
            if (s.reason == SkipReason::Encrypted || s.reason == SkipReason::Damaged ||
                s.reason == SkipReason::Unreadable)
                std::fprintf(stderr, "folio-cli %.*s: %s: %s: %s (%s)\n", int(command.size()), command.data(),
                             r.name.c_str(), s.path.c_str(), skipReasonName(s.reason), s.detail.c_str());
        sources.push_back(std::move(r));
    }
    return sources;
}

ingest::TokenCounting exactCounting(const Tokenizer& tokenizer, const std::string& name) {
    const Tokenizer* t = &tokenizer;
    return {[t](std::string_view text) { return t->count(text); }, name, true};
}

} // namespace folio::cli
