// folio-cli logits: the last position's logits for given token ids.
#include "args.h"
#include "cli.h"
#include "json_line.h"

#include "folio/engine.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <numeric>

namespace folio::cli {

namespace {

bool parseIds(const std::string& text, std::vector<std::int32_t>* ids, std::string* why) {
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ',' || text[i] == ' ')) ++i;
        if (i >= text.size()) break;
        std::int32_t v = 0;
        const auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), v);
        if (ec != std::errc() || v < 0) {
            *why = "--tokens: not a token id at character " + std::to_string(i + 1);
            return false;
        }
        ids->push_back(v);
        i = std::size_t(p - text.data());
    }
    if (ids->empty()) *why = "--tokens: no token ids given";
    return !ids->empty();
}

int run(const std::vector<std::string>& argv) {
    Args args({"json", "exact"}, {"model", "tokens", "chunk", "threads", "device", "top"});
    if (!args.parse(argv)) return fail("logits", args.error(), ExitUsage);
    const auto dir = args.value("model");
    const auto tokensText = args.value("tokens");
    if (!dir || !tokensText) return fail("logits", "--model DIR and --tokens IDS are required", ExitUsage);
    long long chunk = 0, threads = 0, top = 0;
    if (!args.intValue("chunk", 512, &chunk) || !args.intValue("threads", 0, &threads) || !args.intValue("top", 10, &top))
        return fail("logits", args.error(), ExitUsage);
    std::vector<std::int32_t> ids;
    std::string why;
    if (!parseIds(*tokensText, &ids, &why)) return fail("logits", why, ExitUsage);
    ModelOptions mo{int(threads), args.valueOr("device", "auto")};
    mo.exact = args.has("exact");
    auto model = Model::open(*dir, mo);
    if (!model.ok()) return fail("logits", model.error());
    auto seq = model.value()->newSequence();
    std::vector<float> logits;
    PrefillOptions o;
    o.chunk = chunk;
    if (auto st = model.value()->prefill(*seq, ids, o, &logits); !st.ok()) return fail("logits", st.error());
    if (args.has("json")) {
        std::string arr = "[";
        char buf[32];
        for (std::size_t i = 0; i < logits.size(); ++i) {
            std::snprintf(buf, sizeof buf, "%s%.9g", i ? "," : "", double(logits[i]));
            arr += buf;
        }
        arr += "]";
        JsonLine().add("position", std::int64_t(ids.size() - 1)).add("vocab_size", std::int64_t(logits.size())).addRaw("logits", arr).print();
        return ExitOk;
    }
    std::vector<int> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    const std::size_t k = std::min<std::size_t>(std::size_t(std::max(1LL, top)), order.size());
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                      [&](int a, int b) { return logits[std::size_t(a)] > logits[std::size_t(b)]; });
    std::printf("position %zu, %zu logits; top %zu:\n", ids.size() - 1, logits.size(), k);
    for (std::size_t i = 0; i < k; ++i) std::printf("  %8d  %12.6f\n", order[i], double(logits[std::size_t(order[i])]));
    return ExitOk;
}

} // namespace

const Command kLogitsCommand{
    "logits", "Print the logits of the last position",
    "Usage: folio-cli logits --model DIR|FILE.gguf --tokens IDS [--chunk N] [--threads N] [--top K]\n"
    "                        [--exact] [--json]\n\n"
    "Runs the forward pass over comma-separated token ids (in chunks of N, default 512) and prints\n"
    "the last position's logits: the top K ids as text, or every logit with --json. --exact leaves\n"
    "out every quantize-dequantize round trip (float32 math, for comparing against a reference).\n",
    run};

} // namespace folio::cli
