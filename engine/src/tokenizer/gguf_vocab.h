// A GGUF file's vocabulary (tokenizer.ggml.*) as the tokenizer.json it was converted from, so that
// one loader serves both. Only what DeepSeek-V4 files carry: model "gpt2" (byte-level BPE) with the
// "deepseek-v3" pre-tokenizer.
#pragma once

#include "folio/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace folio::tok {

// `types` are llama.cpp's token types: 1 normal (the BPE vocabulary), 3 control (special added
// tokens), 4 user-defined (added tokens); others (unused padding) are left out. Errors name
// `source` and the key.
Result<std::string> tokenizerJsonFromGguf(const std::string& model, const std::string& pre,
                                          const std::vector<std::string>& tokens, const std::vector<std::int64_t>& types,
                                          const std::vector<std::string>& merges, const std::string& source);

// DeepSeek's pre-tokenizer as tokenizer.json writes it (digits in threes, CJK runs, words), the one
// the trainer writes too.
std::string deepseekPreTokenizerJson();

} // namespace folio::tok
