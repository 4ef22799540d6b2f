// folio-cli tokenize
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kTokenizeCommand{
    "tokenize", "Tokenize stdin with a model's tokenizer",
    "Usage: folio-cli tokenize --model DIR [--count] [--json] [--special]\n\n"
    "Reads text on stdin and prints token ids. Special tokens are matched only with --special.\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("tokenize", a, {"count", "json", "special"}, {"model"},
                       "the tokenizer arrives with the tokenizer work");
    }};

} // namespace folio::cli
