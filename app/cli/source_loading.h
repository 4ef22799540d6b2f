// Source loading shared by the commands that ingest (pack, ask).
#pragma once

#include "folio/ingest/packer.h"
#include "folio/ingest/source_loader.h"
#include "folio/tokenizer.h"

#include <string>
#include <string_view>
#include <vector>

namespace folio::cli {

// Loads every path; a source that fails, and a file inside one that is encrypted, damaged or
// unreadable, is reported on stderr as "folio-cli COMMAND: ..." and the rest goes on. Returns the
// sources read; *anyFailed says whether one failed.
std::vector<ingest::SourceResult> loadSources(std::string_view command, const std::vector<std::string>& paths,
                                              const ingest::IngestOptions& options, bool* anyFailed);

// Exact token counting with the model's tokenizer (which must outlive the result).
ingest::TokenCounting exactCounting(const Tokenizer& tokenizer, const std::string& name);

} // namespace folio::cli
