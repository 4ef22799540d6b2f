// folio-cli make-model: a synthetic checkpoint in the real DeepSeek-V4 layout.
#include "args.h"
#include "cli.h"
#include "json_line.h"

// Developer tooling over the engine's checkpoint internals (folio_cli sees engine/src).
#include "model_io/config.h"
#include "model_io/gguf_model.h"
#include "model_io/safetensors.h"
#include "model_io/synthetic.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    Args args({"json"}, {"preset", "layers", "experts", "seed", "out", "shards", "gguf", "gguf-experts"});
    if (!args.parse(argv)) return fail("make-model", args.error(), ExitUsage);
    if (!args.positional().empty()) return fail("make-model", "unexpected argument " + args.positional()[0], ExitUsage);
    model::SyntheticOptions o;
    const std::string preset = args.valueOr("preset", "");
    if (!model::parseSyntheticPreset(preset, &o.preset))
        return fail("make-model", "--preset must be tiny, flash-shape or pro-shape", ExitUsage);
    const auto out = args.value("out");
    if (!out || out->empty()) return fail("make-model", "--out DIR is required", ExitUsage);
    if (!args.value("seed")) return fail("make-model", "--seed S is required", ExitUsage);
    long long layers = 0, experts = 0, seed = 0, shards = 0;
    if (!args.intValue("layers", 0, &layers) || !args.intValue("experts", 0, &experts) ||
        !args.intValue("seed", 0, &seed) || !args.intValue("shards", 0, &shards))
        return fail("make-model", args.error(), ExitUsage);
    if (layers < 0 || layers > 1000 || experts < 0 || experts > 4096 || shards < 0 || shards > 1000)
        return fail("make-model", "--layers, --experts and --shards must be positive and sensible", ExitUsage);
    o.layers = int(layers);
    o.experts = int(experts);
    o.seed = std::uint64_t(seed);
    o.shards = int(shards);
    const std::string ggufType = args.valueOr("gguf", ""), ggufExperts = args.valueOr("gguf-experts", "mxfp4");
    model::GgufWriteTypes types;
    if (!ggufType.empty() && !model::parseGgufWriteType(ggufType, false, &types.dense))
        return fail("make-model", "--gguf must be one of q8_0 (llama.cpp's converter), f32 (fp8 widened exactly), f16, "
                                  "q2_k, q3_k, q4_k, q5_k, q6_k, iq4_xs",
                    ExitUsage);
    if (!model::parseGgufWriteType(ggufExperts, true, &types.experts))
        return fail("make-model", "--gguf-experts must be mxfp4 (the fp4 experts repacked, exact) or a --gguf type", ExitUsage);
    if (args.value("gguf-experts") && ggufType.empty())
        return fail("make-model", "--gguf-experts needs --gguf", ExitUsage);

    const auto t0 = std::chrono::steady_clock::now();
    const Status s = model::makeSyntheticModel(o, *out, [](const std::string& line) {
        std::fprintf(stderr, "make-model: %s\n", line.c_str());
    });
    if (!s) return fail("make-model", s.error());
    std::string ggufPath;
    if (!ggufType.empty()) { // the same checkpoint as GGUF, in llama.cpp's layout
        auto cfg = model::loadConfig(*out + "/config.json");
        if (!cfg) return fail("make-model", cfg.error());
        auto ck = model::Checkpoint::open(*out);
        if (!ck) return fail("make-model", ck.error());
        ggufPath = *out + "/model-" + ggufType + (ggufExperts == "mxfp4" ? "" : "-experts-" + ggufExperts) + ".gguf";
        std::ifstream tj(*out + "/tokenizer.json", std::ios::binary);
        const std::string tokenizerJson((std::istreambuf_iterator<char>(tj)), std::istreambuf_iterator<char>());
        const Status g = model::writeGgufModel(**ck, *cfg, types, ggufPath, tokenizerJson);
        if (!g) return fail("make-model", g.error());
        std::fprintf(stderr, "make-model: wrote %s\n", ggufPath.c_str());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (args.has("json")) {
        JsonLine j;
        j.add("out", *out).add("preset", preset).add("seed", std::int64_t(seed)).add("seconds", seconds);
        if (!ggufPath.empty()) j.add("gguf", ggufPath);
        j.print();
    } else {
        std::printf("wrote %s (%s, seed %lld) in %.1f s\n", out->c_str(), preset.c_str(), seed, seconds);
    }
    return ExitOk;
}

} // namespace

const Command kMakeModelCommand{
    "make-model", "Write a synthetic checkpoint in the real DeepSeek-V4 layout",
    "Usage: folio-cli make-model --preset tiny|flash-shape|pro-shape [--layers N] [--experts N]\n"
    "                            --seed S --out DIR [--shards N] [--gguf TYPE [--gguf-experts TYPE]]\n"
    "                            [--json]\n\n"
    "Writes config.json, safetensors shards with model.safetensors.index.json and a tokenizer.\n"
    "tiny: hidden 256, 6 layers (SWA, CSA, HCA) + MTP, 16 experts; flash-shape and pro-shape: the\n"
    "real dimensions with 2 layers and 16 experts unless --layers / --experts say otherwise.\n"
    "Weights are random, deterministic in the seed, fp8/fp4 encoded as in the real checkpoints.\n"
    "--gguf also writes DIR/model-TYPE.gguf, the same weights in llama.cpp's deepseek4 layout, the\n"
    "fp8 matrices as TYPE: q8_0 as its converter does, f32 (widened exactly), f16, q2_k, q3_k, q4_k,\n"
    "q5_k, q6_k or iq4_xs (Folio's quantizers; widths the K-quants cannot take fall back to q8_0).\n"
    "--gguf-experts: the routed experts as mxfp4 (default: the fp4 codes repacked, exact) or a TYPE.\n",
    run};

} // namespace folio::cli
