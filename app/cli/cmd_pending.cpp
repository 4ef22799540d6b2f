// The commands whose implementation lands with later parts of the project. Each parses its
// documented options (so scripts get usage errors now) and says clearly what is not there yet.
#include "args.h"
#include "cli.h"

namespace folio::cli {

namespace {

int pending(std::string_view name, const std::vector<std::string>& argv, std::set<std::string> flags,
            std::set<std::string> options, std::string_view what) {
    Args args(std::move(flags), std::move(options));
    if (!args.parse(argv)) return fail(name, args.error(), ExitUsage);
    return unavailable(name, what);
}

} // namespace

const Command kMakeModelCommand{
    "make-model", "Write a synthetic checkpoint in the real DeepSeek-V4 layout",
    "Usage: folio-cli make-model --preset tiny|flash-shape|pro-shape [--layers N] [--experts N]\n"
    "                            --seed S --out DIR\n\n"
    "Writes config.json, safetensors shards with model.safetensors.index.json and a tokenizer.\n",
    [](const std::vector<std::string>& a) {
        return pending("make-model", a, {}, {"preset", "layers", "experts", "seed", "out"},
                       "synthetic checkpoints arrive with the engine");
    }};

const Command kModelInfoCommand{
    "model-info", "Show a model's configuration and memory plan",
    "Usage: folio-cli model-info DIR [--json]\n\n"
    "Prints the configuration and the memory plan: weight bytes by kind, KV state bytes per token\n"
    "and at 256K and 1M tokens, scratch.\n",
    [](const std::vector<std::string>& a) {
        return pending("model-info", a, {"json"}, {}, "the memory plan arrives with the engine");
    }};

const Command kTokenizeCommand{
    "tokenize", "Tokenize stdin with a model's tokenizer",
    "Usage: folio-cli tokenize --model DIR [--count] [--json] [--special]\n\n"
    "Reads text on stdin and prints token ids. Special tokens are matched only with --special.\n",
    [](const std::vector<std::string>& a) {
        return pending("tokenize", a, {"count", "json", "special"}, {"model"},
                       "the tokenizer arrives with the tokenizer work");
    }};

const Command kLogitsCommand{
    "logits", "Print the logits of the last position",
    "Usage: folio-cli logits --model DIR --tokens IDS [--chunk N] [--json]\n\n"
    "Runs the forward pass over comma-separated token ids and prints the last position's logits.\n",
    [](const std::vector<std::string>& a) {
        return pending("logits", a, {"json"}, {"model", "tokens", "chunk"},
                       "the forward pass arrives with the engine");
    }};

const Command kPackCommand{
    "pack", "Pack sources into one citable context",
    "Usage: folio-cli pack SOURCE... [--model DIR] [--budget N] [--question Q] [--json]\n\n"
    "Ingests repositories, PDFs, transcripts and text and prints the packed context and manifest.\n",
    [](const std::vector<std::string>& a) {
        return pending("pack", a, {"json"}, {"model", "budget", "question"},
                       "packing arrives with ingestion");
    }};

const Command kAskCommand{
    "ask", "Ingest, prefill and answer a question",
    "Usage: folio-cli ask [--model DIR | --demo] [--session NAME] [SOURCE...] -- QUESTION\n\n"
    "Does the whole job: ingest, budget, prefill with live progress on stderr, answer on stdout.\n",
    [](const std::vector<std::string>& a) {
        return pending("ask", a, {"demo", "json"}, {"model", "session", "device", "context"},
                       "the session runtime arrives after the engine and ingestion");
    }};

const Command kSessionCommand{
    "session", "List, show, export or remove saved sessions",
    "Usage: folio-cli session list|show NAME|export NAME [--out FILE]|rm NAME [--json]\n",
    [](const std::vector<std::string>& a) {
        return pending("session", a, {"json"}, {"out"}, "saved sessions arrive with the session runtime");
    }};

const Command kServeCommand{
    "serve", "Serve an OpenAI-compatible HTTP API",
    "Usage: folio-cli serve [--host 127.0.0.1] [--port N] [--model DIR | --demo]\n",
    [](const std::vector<std::string>& a) {
        return pending("serve", a, {"demo"}, {"host", "port", "model"},
                       "the HTTP server arrives with the session runtime");
    }};

} // namespace folio::cli
