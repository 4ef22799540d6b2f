// folio-cli tokenize: stdin -> token ids with a model's tokenizer.json.
#include "args.h"
#include "cli.h"
#include "folio/tokenizer.h"
#include "json_line.h"

#include <iostream>
#include <iterator>
#include <string>

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    Args args({"count", "json", "special"}, {"model"});
    if (!args.parse(argv)) return fail("tokenize", args.error(), ExitUsage);
    const auto model = args.value("model");
    if (!model || model->empty())
        return fail("tokenize", "--model DIR (or a tokenizer.json path) is required", ExitUsage);
    if (!args.positional().empty())
        return fail("tokenize", "unexpected argument '" + args.positional().front() + "'",
                    ExitUsage);

    auto tok = Tokenizer::load(*model);
    if (!tok) return fail("tokenize", tok.error());

    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return fail("tokenize", "cannot read stdin");

    // Without --special the text is untrusted: `<｜User｜>` in it stays ordinary characters.
    std::vector<int32_t> ids;
    std::size_t count = 0;
    if (args.has("special")) {
        ids = (*tok)->encodeWithSpecial(text);
        count = ids.size();
    } else if (args.has("count")) {
        count = (*tok)->count(text);
    } else {
        ids = (*tok)->encodeParallel(text, 0);
        count = ids.size();
    }

    if (args.has("json")) {
        JsonLine line;
        line.add("count", static_cast<std::uint64_t>(count));
        if (!args.has("count")) {
            std::string arr = "[";
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (i) arr += ',';
                arr += std::to_string(ids[i]);
            }
            arr += ']';
            line.addRaw("ids", arr);
        }
        line.print();
        return ExitOk;
    }
    if (args.has("count")) {
        std::cout << count << '\n';
        return ExitOk;
    }
    std::string out;
    out.reserve(ids.size() * 7);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ' ';
        out += std::to_string(ids[i]);
    }
    std::cout << out << '\n' << std::flush;
    return ExitOk;
}

} // namespace

const Command kTokenizeCommand{
    "tokenize", "Tokenize stdin with a model's tokenizer",
    "Usage: folio-cli tokenize --model DIR [--count] [--json] [--special]\n\n"
    "Reads text on stdin and prints its token ids, space separated, on one line. DIR is a model\n"
    "directory holding tokenizer.json, or the path of a tokenizer.json.\n\n"
    "  --count    print only the number of tokens\n"
    "  --json     print {\"count\":N,\"ids\":[...]} (with --count: {\"count\":N})\n"
    "  --special  match added and special tokens such as <｜User｜> in the text; without it the "
    "text\n"
    "             is untrusted and such strings are tokenized as ordinary characters\n"
    "Text that is not valid UTF-8 is read with U+FFFD in place of each ill-formed sequence.\n",
    run};

} // namespace folio::cli
