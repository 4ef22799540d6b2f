// folio-cli bench prefill|decode: tokens/s of the forward pass, achieved GFLOP/s of the linear
// layers against the machine's measured fp32 FMA peak and against OpenBLAS sgemm on the model's own
// shapes (prefill), and weight bytes read per token against measured copy bandwidth (decode).
#include "args.h"
#include "bench.h"
#include "cli.h"
#include "json_line.h"

#include "folio/engine.h"
#include "folio/kernels/cpu_dispatch.h"
#include "folio/kernels/gemm.h"
#ifdef FOLIO_HAVE_CUDA
#include "folio/kernels/cuda_bench.h"
#endif
#include "folio/kernels/machine_probe.h"
#include "folio/kernels/thread_pool.h"
#include "model_io/config.h"

#include <cblas.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

namespace folio::cli {

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double residentBytes() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
    return 0;
}

// OpenBLAS sgemm GFLOP/s over shapes {tokens, outputs, inputs}, f32 weights, best of 3 per shape.
double openblasGflops(int threads, const std::vector<std::array<std::int64_t, 3>>& shapes) {
    openblas_set_num_threads(threads);
    double flops = 0, secs = 0;
    for (const auto& s : shapes) {
        const std::int64_t M = std::max<std::int64_t>(1, s[0]), N = s[1], K = s[2];
        std::vector<float> a(std::size_t(M * K), 0.01f), b(std::size_t(N * K), 0.02f), c(std::size_t(M * N));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), 1.0f, a.data(), int(K), b.data(),
                    int(K), 0.0f, c.data(), int(N)); // warm-up
        double best = 1e30; // best of 3: a single call is at the mercy of the scheduler
        for (int rep = 0; rep < 3; ++rep) {
            const double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), 1.0f, a.data(), int(K),
                        b.data(), int(K), 0.0f, c.data(), int(N));
            best = std::min(best, now() - t0);
        }
        secs += best;
        flops += 2.0 * double(M) * double(N) * double(K);
    }
    return flops / secs / 1e9;
}

} // namespace

int benchPrefill(const std::vector<std::string>& argv, bool decode) {
    const char* name = decode ? "decode" : "prefill";
    Args args({"json", "no-blas"}, {"model", "context", "threads", "device", "chunk", "tokens", "seed"});
    if (!args.parse(argv)) return fail("bench", args.error(), ExitUsage);
    const auto dir = args.value("model");
    if (!dir) return fail("bench", "--model DIR is required (make one with folio-cli make-model)", ExitUsage);
    long long context = 0, threads = 0, chunk = 0, steps = 0, seed = 0;
    if (!args.intValue("context", decode ? 512 : 2048, &context) || !args.intValue("threads", 0, &threads) ||
        !args.intValue("chunk", 512, &chunk) || !args.intValue("tokens", 16, &steps) || !args.intValue("seed", 1, &seed))
        return fail("bench", args.error(), ExitUsage);
    if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
    auto opened = Model::open(*dir, ModelOptions{int(threads), args.valueOr("device", "auto")});
    if (!opened.ok()) return fail("bench", opened.error());
    const Model& model = *opened.value();
    const ModelFacts& f = model.facts();
    const bool json = args.has("json");

    std::mt19937 rng{unsigned(seed)};
    std::uniform_int_distribution<int> tok(2, f.vocabSize - 1);
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(context));
    for (auto& t : tokens) t = tok(rng);

    kernels::ThreadPool probePool{int(threads)};
    // On a GPU the machine's figures are the GPU's: the cuBLAS bf16 GEMM peak and the device copy
    // bandwidth, both measured (cuda_bench.h); on the CPU the fp32 FMA peak and memory bandwidth.
    const bool onCuda = f.device.rfind("CUDA", 0) == 0;
    double gpuTflops = 0, gpuCopyGBs = 0;
#ifdef FOLIO_HAVE_CUDA
    if (onCuda) {
        if (auto st = kernels::cuda::measureBf16GemmTflops(&gpuTflops); !st) return fail("bench", st.error());
        if (auto st = kernels::cuda::measureDeviceCopyGBs(&gpuCopyGBs); !st) return fail("bench", st.error());
    }
#endif
    const double peak = onCuda ? 0.0 : kernels::measureFmaPeakGflops(probePool);
    // Which CPU kernels ran (FOLIO_CPU forces one): every figure depends on it.
    const std::string cpuKernels = kernels::cpuVariantName(kernels::activeCpuVariant());
    if (!json) std::printf("cpu kernels: %s\n", kernels::cpuVariantDescription().c_str());
    auto line = [&](const char* metric, double value, const char* unit) {
        if (json) {
            JsonLine()
                .add("bench", name)
                .add("metric", metric)
                .add("value", value)
                .add("unit", unit)
                .add("model", f.directory)
                .add("context", std::int64_t(context))
                .add("chunk", std::int64_t(chunk))
                .add("threads", std::int64_t(threads))
                .add("device", f.device)
                .add("cpu_kernels", cpuKernels)
                .print();
        } else {
            std::printf("%-28s %12.3f %s\n", metric, value, unit);
        }
    };

    auto seq = model.newSequence();
    PrefillOptions po;
    po.chunk = chunk;
    po.progress = [&](const PrefillProgress& p) {
        std::fprintf(stderr, "\r%s: %lld/%lld tokens", name, (long long)p.done, (long long)p.total);
        return true;
    };
    kernels::resetGemmTotals();
    std::vector<float> logits;
    const double t0 = now();
    const Status st = model.prefill(*seq, tokens, po, &logits);
    const double prefillSecs = now() - t0;
    std::fprintf(stderr, "\n");
    if (!st.ok()) return fail("bench", st.error());
    const kernels::GemmTotals prefillGemm = kernels::gemmTotals();

    if (!decode && onCuda) {
        // The GPU path does not go through kernels::gemm: count the model's linear flops instead.
        const double gflops = f.linearFlopsPerToken * double(context) / prefillSecs / 1e9;
        line("tokens_per_s", double(context) / prefillSecs, "tok/s");
        line("linear_gflops", gflops, "GFLOP/s");
        line("bf16_gemm_peak_tflops", gpuTflops, "TFLOP/s");
        line("linear_fraction_of_peak", gflops / (gpuTflops * 1e3), "ratio");
        line("model_gflop_per_token", f.linearFlopsPerToken / 1e9, "GFLOP");
        line("resident_bytes", residentBytes(), "B");
        line("weight_bytes", double(f.weightBytes), "B");
        return ExitOk;
    }
    if (!decode) {
        line("tokens_per_s", double(context) / prefillSecs, "tok/s");
        line("linear_gflops", prefillGemm.flops / prefillGemm.seconds / 1e9, "GFLOP/s");
        line("linear_time_fraction", prefillGemm.seconds / prefillSecs, "ratio");
        line("fma_peak_gflops", peak, "GFLOP/s");
        line("linear_fraction_of_peak", prefillGemm.flops / prefillGemm.seconds / 1e9 / peak, "ratio");
        line("model_gflop_per_token", f.linearFlopsPerToken / 1e9, "GFLOP");
        if (!args.has("no-blas")) {
            // The model's own shapes for a chunk: wq_a, wq_b, wo_b, and one routed expert's w1 and
            // w2 at the tokens an expert receives on average (chunk x topk / experts).
            auto cfg = model::loadConfig(*dir + "/config.json");
            if (!cfg.ok()) return fail("bench", cfg.error());
            const model::ModelConfig& c = cfg.value();
            const std::int64_t D = c.hiddenSize, perExpert = std::max<std::int64_t>(1, chunk * c.numExpertsPerTok / c.nRoutedExperts);
            const std::vector<std::array<std::int64_t, 3>> shapes = {
                {chunk, c.qLoraRank, D},
                {chunk, std::int64_t(c.numAttentionHeads) * c.headDim, c.qLoraRank},
                {chunk, D, std::int64_t(c.oGroups) * c.oLoraRank},
                {perExpert, c.moeIntermediateSize, D},
                {perExpert, D, c.moeIntermediateSize}};
            const double blas = openblasGflops(int(threads), shapes);
            line("openblas_sgemm_gflops", blas, "GFLOP/s");
            line("linear_vs_openblas", prefillGemm.flops / prefillGemm.seconds / 1e9 / blas, "ratio");
        }
        line("resident_bytes", residentBytes(), "B");
        line("weight_bytes", double(f.weightBytes), "B");
        return ExitOk;
    }

    const double bw = onCuda ? gpuCopyGBs : kernels::measureCopyBandwidthGBs(probePool);
    const double readBw = onCuda ? 0.0 : kernels::measureReadBandwidthGBs(probePool);
    Sampler greedy({0.0f, 1.0f, 0});
    std::int32_t next = greedy.sample(logits);
    const double d0 = now();
    for (long long i = 0; i < steps; ++i) {
        if (auto s = model.decode(*seq, next, &logits); !s.ok()) return fail("bench", s.error());
        next = greedy.sample(logits);
    }
    const double decodeSecs = now() - d0;
    const double tps = double(steps) / decodeSecs;
    line("tokens_per_s", tps, "tok/s");
    line("weight_bytes_per_token", double(f.decodeBytesPerToken), "B");
    line("weight_gb_per_s", double(f.decodeBytesPerToken) * tps / 1e9, "GB/s");
    line("copy_bandwidth_gb_per_s", bw, "GB/s");
    line("fraction_of_bandwidth", double(f.decodeBytesPerToken) * tps / 1e9 / bw, "ratio");
    if (readBw > 0) {
        line("read_bandwidth_gb_per_s", readBw, "GB/s");
        line("fraction_of_read_bandwidth", double(f.decodeBytesPerToken) * tps / 1e9 / readBw, "ratio");
    }
    line("resident_bytes", residentBytes(), "B");
    return ExitOk;
}

} // namespace folio::cli
