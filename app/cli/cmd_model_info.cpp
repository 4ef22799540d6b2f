// folio-cli model-info: a model's configuration, memory plan and (when shards are present) the
// validation of its checkpoint.
#include "args.h"
#include "cli.h"
#include "json_line.h"

// Developer tooling over the engine's checkpoint internals (folio_cli sees engine/src).
#include "model_io/config.h"
#include "model_io/gguf.h"
#include "model_io/gguf_model.h"
#include "model_io/memory_plan.h"
#include "model_io/safetensors.h"
#include "model_io/tensor_spec.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <unistd.h>

namespace folio::cli {

namespace {

constexpr std::int64_t k256K = 262144;
constexpr std::int64_t k1M = 1048576;

std::string gib(double bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f GiB", bytes / 1073741824.0);
    return b;
}

std::string objectJson(std::initializer_list<std::pair<const char*, std::uint64_t>> fields) {
    std::string s = "{";
    for (const auto& [k, v] : fields) s += (s.size() > 1 ? "," : "") + JsonLine::quote(k) + ":" + std::to_string(v);
    return s + "}";
}

struct CheckpointReport {
    bool present = false;
    bool valid = false;
    std::string error;
    std::size_t tensors = 0, shards = 0;
    std::uint64_t bytes = 0;
};

CheckpointReport checkCheckpoint(const std::string& dir, const model::ModelConfig& cfg) {
    CheckpointReport r;
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return r;
    if (!fs::exists(dir + "/model.safetensors.index.json", ec) && !fs::exists(dir + "/model.safetensors", ec)) return r;
    r.present = true;
    auto ckpt = model::Checkpoint::open(dir);
    if (!ckpt) {
        r.error = ckpt.error();
        return r;
    }
    r.tensors = (*ckpt)->size();
    r.shards = (*ckpt)->shardNames().size();
    r.bytes = (*ckpt)->tensorBytes();
    const Status s = model::validateCheckpoint(**ckpt, cfg);
    r.valid = s.ok();
    r.error = s.error();
    return r;
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A GGUF file: its container (architecture, tensors, bytes by ggml type), read from the mapped
// header only. A file of another architecture is described and then refused as a model.
int ggufInfo(const std::string& path, bool json) {
    auto mapped = model::MappedFile::open(path);
    if (!mapped) return fail("model-info", mapped.error());
    auto parsed = model::parseGguf((*mapped)->data(), (*mapped)->size(), path);
    if (!parsed) return fail("model-info", parsed.error());
    const model::GgufFile& g = *parsed;
    auto text = [&](const char* key) {
        const model::GgufValue* v = g.find(key);
        return v && v->type == model::GgufValueType::String ? v->s : std::string();
    };
    const std::string arch = text("general.architecture");
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> byType; // name -> tensors, bytes
    std::uint64_t total = 0;
    for (const model::GgufTensorInfo& t : g.tensors) {
        auto& e = byType[model::ggmlTypeTraits(t.type)->name];
        e.first += 1;
        e.second += t.bytes;
        total += t.bytes;
    }
    // A deepseek4 file: the model's memory plan from its metadata, against this machine's RAM.
    std::string configError;
    std::optional<model::ModelConfig> cfg;
    if (arch == "deepseek4") {
        auto c = model::ggufModelConfig(g, path);
        if (c) cfg = *c;
        else configError = c.error();
    }
    const std::uint64_t ram = std::uint64_t(sysconf(_SC_PHYS_PAGES)) * std::uint64_t(sysconf(_SC_PAGESIZE));
    std::uint64_t kv256 = 0, kv1M = 0;
    if (cfg) {
        kv256 = model::kvStateBytes(*cfg, k256K, false);
        kv1M = model::kvStateBytes(*cfg, k1M, false);
    }
    if (json) {
        JsonLine j;
        j.add("path", path).add("format", "gguf").add("gguf_version", std::int64_t(g.version));
        if (cfg) {
            j.add("num_hidden_layers", cfg->numHiddenLayers).add("hidden_size", cfg->hiddenSize);
            j.add("n_routed_experts", cfg->nRoutedExperts).add("vocab_size", cfg->vocabSize);
            j.add("kv_bytes_at_256k", kv256).add("kv_bytes_at_1m", kv1M);
            j.add("ram_bytes", ram).add("fits_ram_at_256k", total + kv256 <= ram);
        } else if (!configError.empty()) {
            j.add("config_error", configError);
        }
        j.add("architecture", arch).add("name", text("general.name"));
        j.add("tensor_count", std::uint64_t(g.tensors.size())).add("metadata_count", std::uint64_t(g.metadata.size()));
        j.add("alignment", std::uint64_t(g.alignment)).add("weight_bytes", total);
        std::string types = "{";
        for (const auto& [name, e] : byType)
            types += (types.size() > 1 ? "," : "") + JsonLine::quote(name) + ":" +
                     objectJson({{"tensors", e.first}, {"bytes", e.second}});
        j.addRaw("bytes_by_type", types + "}");
        j.add("deepseek_v4", arch == "deepseek4");
        j.print();
    } else {
        std::printf("%s: GGUF v%u, architecture %s%s%s\n", path.c_str(), g.version, arch.empty() ? "(none)" : arch.c_str(),
                    text("general.name").empty() ? "" : ", ", text("general.name").c_str());
        std::printf("weights       %s (%llu bytes) in %zu tensors; %zu metadata entries, alignment %llu\n",
                    gib(double(total)).c_str(), static_cast<unsigned long long>(total), g.tensors.size(), g.metadata.size(),
                    static_cast<unsigned long long>(g.alignment));
        for (const auto& [name, e] : byType)
            std::printf("  %-8s %5llu tensors  %s\n", name.c_str(), static_cast<unsigned long long>(e.first),
                        gib(double(e.second)).c_str());
        if (cfg) {
            std::printf("model         %d layers, hidden %d, %d routed experts (%d per token), vocab %d\n",
                        cfg->numHiddenLayers, cfg->hiddenSize, cfg->nRoutedExperts, cfg->numExpertsPerTok, cfg->vocabSize);
            std::printf("KV state      %s at 256K, %s at 1M (bf16 entries)\n", gib(double(kv256)).c_str(),
                        gib(double(kv1M)).c_str());
            std::printf("this machine  %s of RAM: weights + 256K state %s (%s)\n", gib(double(ram)).c_str(),
                        gib(double(total + kv256)).c_str(), total + kv256 <= ram ? "fits" : "does not fit");
        }
    }
    if (!configError.empty()) return fail("model-info", configError);
    if (arch != "deepseek4")
        return fail("model-info", path + ": architecture " + (arch.empty() ? std::string("(none)") : arch) +
                                      " is not DeepSeek-V4 (deepseek4)",
                    ExitFailed);
    return ExitOk;
}

int run(const std::vector<std::string>& argv) {
    Args args({"json"}, {"chunk"});
    if (!args.parse(argv)) return fail("model-info", args.error(), ExitUsage);
    if (args.positional().size() != 1) return fail("model-info", "expects one DIR (or config.json path)", ExitUsage);
    long long chunk = 0;
    if (!args.intValue("chunk", 2048, &chunk) || chunk <= 0)
        return fail("model-info", args.error().empty() ? "--chunk must be positive" : args.error(), ExitUsage);

    const std::string path = args.positional()[0];
    if (endsWith(path, ".gguf")) return ggufInfo(path, args.has("json"));
    std::error_code ec;
    const bool isDir = std::filesystem::is_directory(path, ec);
    const std::string configPath = isDir ? path + "/config.json" : path;
    auto cfg = model::loadConfig(configPath);
    if (!cfg) return fail("model-info", cfg.error());
    const model::ModelConfig& c = *cfg;
    const model::MemoryPlan p = model::planMemory(c);
    const std::size_t tensorCount = model::expectedTensors(c).size();
    const std::uint64_t kv256Bf16 = model::kvStateBytes(c, k256K, false), kv256Fp8 = model::kvStateBytes(c, k256K, true);
    const std::uint64_t kv1MBf16 = model::kvStateBytes(c, k1M, false), kv1MFp8 = model::kvStateBytes(c, k1M, true);
    const std::uint64_t scratch = model::scratchBytes(c, chunk, k256K);
    const CheckpointReport ck = isDir ? checkCheckpoint(path, c) : CheckpointReport{};
    const char* experts = model::expertFormat(c) == model::ExpertFormat::Fp4   ? "fp4"
                          : model::expertFormat(c) == model::ExpertFormat::Fp8 ? "fp8"
                                                                                : "bf16";

    if (args.has("json")) {
        JsonLine j;
        j.add("path", path).add("model_type", c.modelType).add("num_hidden_layers", c.numHiddenLayers);
        j.add("num_mtp_layers", c.numNextnPredictLayers).add("swa_layers", p.swaLayers);
        j.add("csa_layers", p.csaLayers).add("hca_layers", p.hcaLayers).add("hidden_size", c.hiddenSize);
        j.add("n_routed_experts", c.nRoutedExperts).add("expert_dtype", experts);
        j.add("tensor_count", std::uint64_t(tensorCount));
        j.add("weight_bytes", p.weights.total);
        j.addRaw("weight_bytes_by_kind",
                 objectJson({{"embed_head", p.weights.embedHead},
                             {"attention", p.weights.attention},
                             {"compressor_indexer", p.weights.compressor},
                             {"mhc_norms", p.weights.hcNorm},
                             {"router", p.weights.router},
                             {"shared_experts", p.weights.sharedExperts},
                             {"routed_experts", p.weights.routedExperts},
                             {"mtp", p.weights.mtp}}));
        j.add("total_params", p.totalParams).add("mtp_params", p.mtpParams).add("active_params", p.activeParams);
        // bf16 entries are the default figures; *_fp8 the fp8-entry layout (section 5's table).
        j.add("kv_bytes_per_token", p.kv.perTokenBf16).add("kv_bytes_per_token_fp8", p.kv.perTokenFp8);
        j.add("kv_bytes_at_256k", kv256Bf16).add("kv_bytes_at_256k_fp8", kv256Fp8);
        j.add("kv_bytes_at_1m", kv1MBf16).add("kv_bytes_at_1m_fp8", kv1MFp8);
        j.add("window_bytes", p.kv.windowBf16).add("window_bytes_fp8", p.kv.windowFp8);
        j.add("compressor_state_bytes", p.kv.carriedRows);
        j.add("scratch_chunk_tokens", std::int64_t(chunk)).add("scratch_bytes", scratch);
        if (ck.present) {
            j.add("checkpoint_tensors", std::uint64_t(ck.tensors)).add("checkpoint_shards", std::uint64_t(ck.shards));
            j.add("checkpoint_bytes", ck.bytes).add("checkpoint_valid", ck.valid);
            if (!ck.valid) j.add("checkpoint_error", ck.error);
        }
        j.print();
        return ck.present && !ck.valid ? ExitFailed : ExitOk;
    }

    std::printf("%s: %s\n", path.c_str(), c.modelType.c_str());
    std::printf("  layers      %d (+%d MTP): %d SWA, %d CSA (ratio 4), %d HCA (ratio 128); %d hash-routed\n",
                c.numHiddenLayers, c.numNextnPredictLayers, p.swaLayers, p.csaLayers, p.hcaLayers, c.numHashLayers);
    std::printf("  attention   hidden %d, %d heads x %d (rope %d), q_lora %d, o_lora %d x %d groups, window %d\n",
                c.hiddenSize, c.numAttentionHeads, c.headDim, c.qkRopeHeadDim, c.qLoraRank, c.oLoraRank, c.oGroups,
                c.slidingWindow);
    std::printf("  indexer     %d heads x %d, top-%d\n", c.indexNHeads, c.indexHeadDim, c.indexTopk);
    std::printf("  experts     %d routed (%d per token, %s) + %d shared, width %d; vocab %d\n", c.nRoutedExperts,
                c.numExpertsPerTok, experts, c.nSharedExperts, c.moeIntermediateSize, c.vocabSize);
    std::printf("  parameters  %.2fB total (%.2fB MTP), %.2fB active per token\n", double(p.totalParams) / 1e9,
                double(p.mtpParams) / 1e9, double(p.activeParams) / 1e9);
    std::printf("weights       %s (%llu bytes) in %zu tensors\n", gib(double(p.weights.total)).c_str(),
                static_cast<unsigned long long>(p.weights.total), tensorCount);
    const std::pair<const char*, std::uint64_t> kinds[] = {
        {"embed+head", p.weights.embedHead},       {"attention", p.weights.attention},
        {"compressor/indexer", p.weights.compressor}, {"mHC/norms", p.weights.hcNorm},
        {"router", p.weights.router},              {"shared experts", p.weights.sharedExperts},
        {"routed experts", p.weights.routedExperts}, {"MTP", p.weights.mtp}};
    for (const auto& [name, bytes] : kinds) std::printf("  %-20s %s\n", name, gib(double(bytes)).c_str());
    std::printf("KV state      window excluded: %.2f B/token (bf16 entries), %.2f B/token (fp8 entries)\n",
                p.kv.perTokenBf16, p.kv.perTokenFp8);
    std::printf("  at 256K     %s bf16, %s fp8\n", gib(double(kv256Bf16)).c_str(), gib(double(kv256Fp8)).c_str());
    std::printf("  at 1M       %s bf16, %s fp8\n", gib(double(kv1MBf16)).c_str(), gib(double(kv1MFp8)).c_str());
    std::printf("  window      %.2f MiB bf16, %.2f MiB fp8 per sequence; compressor rows %.2f MiB\n",
                double(p.kv.windowBf16) / 1048576.0, double(p.kv.windowFp8) / 1048576.0,
                double(p.kv.carriedRows) / 1048576.0);
    std::printf("scratch       %s for a %lld-token chunk at 256K context\n", gib(double(scratch)).c_str(), chunk);
    if (ck.present) {
        if (ck.tensors)
            std::printf("checkpoint    %zu tensors in %zu shards, %s: %s\n", ck.tensors, ck.shards,
                        gib(double(ck.bytes)).c_str(), ck.valid ? "valid" : "INVALID");
        if (!ck.valid) return fail("model-info", ck.error);
    }
    return ExitOk;
}

} // namespace

const Command kModelInfoCommand{
    "model-info", "Show a model's configuration and memory plan",
    "Usage: folio-cli model-info DIR|FILE.gguf [--json] [--chunk N]\n\n"
    "Prints the configuration and the memory plan: weight bytes by kind, KV state bytes per token\n"
    "and at 256K and 1M tokens (bf16 and fp8 entries, window excluded), scratch for an N-token\n"
    "chunk (default 2048). DIR holds config.json (a path to a config.json file works too); when it\n"
    "also holds safetensors shards, the checkpoint is validated against the config. A .gguf file\n"
    "is described from its header: architecture, tensors and bytes by ggml type, and for a deepseek4\n"
    "model the KV state at 256K and 1M tokens and whether weights and state fit this machine's RAM\n"
    "(a file of another architecture is described, then refused).\n",
    run};

} // namespace folio::cli
