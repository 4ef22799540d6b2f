// Fuzzing the GGUF header parser (parseGguf: counts, strings, arrays, tensor infos, offsets).
// Built with -fsanitize=fuzzer (FOLIO_LIBFUZZER) it is a libFuzzer target; otherwise main() runs a
// deterministic mutation loop over seed files made with the writer (and any files named on the
// command line) for a bounded time. The parser must never crash, hang or read outside the buffer,
// and whatever it accepts must lie inside the file.
#include "model_io/gguf.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

// 0 when the accepted header is consistent with the buffer, else 1.
int check(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> buf(data, data + size); // exact size: sanitizers see any overread
    auto g = folio::model::parseGguf(buf.data(), buf.size(), "fuzz.gguf");
    if (!g.ok()) return 0;
    for (const auto& t : g->tensors)
        if (g->dataStart + t.offset + t.bytes > size || t.offset % g->alignment != 0) return 1;
    return 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (check(data, size)) std::abort();
    return 0;
}

#ifndef FOLIO_LIBFUZZER

namespace {

std::vector<std::string> seeds() {
    using folio::model::GgmlType;
    std::vector<std::string> out;
    auto add = [&](const folio::model::GgufWriter& w) {
        const auto b = w.bytes();
        out.emplace_back(b.begin(), b.end());
    };
    folio::model::GgufWriter a;
    a.addString("general.architecture", "deepseek4");
    a.addU32("deepseek4.block_count", 2);
    a.addI32Array("deepseek4.attention.compress_ratios", {0, 4});
    a.addF32Array("deepseek4.swiglu_clamp_exp", {10.0f});
    a.addStringArray("tokenizer.ggml.tokens", {"a", "b", "<s>"});
    a.addBool("tokenizer.ggml.add_bos_token", false);
    a.addTensor("w", {32, 2}, GgmlType::Q8_0, std::vector<std::uint8_t>(68, 1));
    a.addTensor("e", {32, 2, 2}, GgmlType::MXFP4, std::vector<std::uint8_t>(68, 2));
    add(a);
    folio::model::GgufWriter b(64);
    b.addTensor("k", {256}, GgmlType::Q4_K, std::vector<std::uint8_t>(144, 3));
    b.addTensor("f", {3}, GgmlType::F32, std::vector<std::uint8_t>(12, 4));
    add(b);
    return out;
}

struct Rng {
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    std::size_t below(std::size_t n) { return n ? std::size_t(next() % n) : 0; }
};

// Little-endian integers worth writing over a field: counts, lengths, type ids, offsets.
const std::uint64_t kValues[] = {0, 1, 2, 3, 4, 8, 9, 12, 13, 31, 32, 39, 40, 63, 64, 255, 256,
                                 0xffffffffull, 0x100000000ull, 1ull << 40, 1ull << 62, ~0ull};

void mutate(std::string& f, Rng& rng) {
    const int ops = 1 + int(rng.below(4));
    for (int k = 0; k < ops; ++k) {
        const std::size_t pos = rng.below(f.size() + 1);
        switch (rng.below(7)) {
        case 0:
            if (!f.empty()) f[rng.below(f.size())] ^= char(1 << rng.below(8));
            break;
        case 1:
            if (!f.empty()) f[rng.below(f.size())] = char(rng.next());
            break;
        case 2: { // an interesting integer, 4 or 8 bytes wide
            const std::uint64_t v = kValues[rng.below(std::size(kValues))];
            const std::size_t w = rng.below(2) ? 8 : 4;
            if (pos + w <= f.size()) std::memcpy(&f[pos], &v, w);
            break;
        }
        case 3:
            if (pos < f.size()) f.erase(pos, 1 + rng.below(std::min<std::size_t>(16, f.size() - pos)));
            break;
        case 4:
            f.resize(rng.below(f.size() + 1));
            break;
        case 5:
            f.append(rng.below(64), char(rng.next()));
            break;
        case 6:
            if (pos < f.size()) f.insert(pos, std::string(f, pos, rng.below(32)));
            break;
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> corpus = seeds();
    double seconds = 2.0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.rfind("--seconds=", 0) == 0) {
            seconds = std::atof(a.c_str() + 10);
            continue;
        }
        std::ifstream in(a, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "fuzz_gguf: cannot read %s\n", a.c_str());
            return 2;
        }
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    long accepted = 0;
    for (const std::string& s : corpus) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
        if (check(p, s.size())) return 1;
        accepted += folio::model::parseGguf(p, s.size(), "seed").ok() ? 1 : 0;
    }
    if (accepted < 2) {
        std::fprintf(stderr, "fuzz_gguf: the writer's seed files do not parse\n");
        return 1;
    }
    Rng rng{0x66756767ull};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    long runs = 0;
    accepted = 0;
    while (runs < 2000000 && (runs % 256 != 0 || std::chrono::steady_clock::now() < deadline)) {
        std::string f = corpus[rng.below(corpus.size())];
        mutate(f, rng);
        const auto* p = reinterpret_cast<const std::uint8_t*>(f.data());
        if (check(p, f.size())) {
            std::fprintf(stderr, "fuzz_gguf: accepted a tensor outside the file (run %ld)\n", runs);
            return 1;
        }
        accepted += folio::model::parseGguf(p, f.size(), "fuzz").ok() ? 1 : 0;
        ++runs;
    }
    std::printf("fuzz_gguf: %ld inputs, %ld accepted, no crash\n", runs, accepted);
    return 0;
}

#endif
