// tokenizer.json -> TokenizerData, with errors that name the file and the part that is wrong.
#pragma once

#include "folio/status.h"
#include "tokenizer_data.h"

#include <memory>
#include <string>
#include <string_view>

namespace folio::tok {

Result<std::unique_ptr<TokenizerData>> parseTokenizerJson(std::string_view json,
                                                          const std::string& sourceName);

// The exact regex strings the loader has hand-written matchers for.
extern const char kDeepSeekWordsRegex[];
extern const char kCjkRegex[];

} // namespace folio::tok
