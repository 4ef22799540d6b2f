#include "folio/ingest/chunk_index.h"

#include "folio/ingest/definitions.h"
#include "folio/ingest/retrieval_index.h"

#include <algorithm>
#include <vector>

namespace folio::ingest {

namespace {

bool wordChar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c >= 0x80;
}

} // namespace

std::string ftsQuery(std::string_view question) {
    std::string query;
    std::vector<std::string> seen;
    auto term = [&](const std::string& t) {
        if (t.size() < 2 || std::find(seen.begin(), seen.end(), t) != seen.end()) return;
        seen.push_back(t);
        if (!query.empty()) query += " OR ";
        query += '"' + t + '"';
    };
    std::string word;
    auto flush = [&]() {
        if (word.size() >= 2 && !isQuestionStopWord(word)) {
            term(word);
            if (hasCamelCase(word))
                for (const std::string& part : identifierWords(word)) term(part);
        }
        word.clear();
    };
    for (const char ch : question) {
        if (wordChar(static_cast<unsigned char>(ch))) word.push_back(ch);
        else flush();
    }
    flush();
    return query;
}

} // namespace folio::ingest
