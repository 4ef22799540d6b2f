// The Porter (1980) stemmer for English words in lower-case ASCII: "scheduling", "scheduler" and
// "schedules" all become "schedul", so a question and the code comments meet on the stem.
#pragma once

#include <string>

namespace folio::ingest {

// Stems `word` in place. Words of one or two letters, and words holding anything but a-z, are
// left as they are.
void porterStem(std::string& word);

} // namespace folio::ingest
