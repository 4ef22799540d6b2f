// Fuzzing the safetensors header parser (parseSafetensors: length field, JSON header, offsets).
// Built with -fsanitize=fuzzer (FOLIO_LIBFUZZER) it is a libFuzzer target; otherwise main() runs a
// deterministic mutation loop over built-in seed files (and any files named on the command line)
// for a bounded time, so ctest exercises it on every build. The parser must never crash, hang or
// read outside the buffer; rejecting input is fine.
#include "model_io/safetensors.h"

#include <algorithm>
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

void parseOne(const std::uint8_t* data, std::size_t size) {
    // A copy of exactly `size` bytes, so that sanitizers catch any read past the end.
    std::vector<std::uint8_t> buf(data, data + size);
    auto h = folio::model::parseSafetensors(buf.data(), buf.size(), "fuzz.safetensors");
    if (h.ok()) {
        // Every accepted tensor lies inside the buffer.
        for (const auto& t : h->tensors)
            if (h->dataStart + t.end > size) std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parseOne(data, size);
    return 0;
}

#ifndef FOLIO_LIBFUZZER

namespace {

std::string file(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    const std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char((n >> (8 * i)) & 0xff);
    return out + header + data;
}

std::vector<std::string> seeds() {
    return {
        file(
            R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
            R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}})",
            std::string(22, '\x11')),
        file(
            R"({"w":{"dtype":"F8_E4M3","shape":[4,4],"data_offsets":[0,16]},"w.scale":{"dtype":"F8_E8M0",)"
            R"("shape":[1,1],"data_offsets":[16,17]},"e":{"dtype":"I8","shape":[2,16],"data_offsets":[17,49]},)"
            R"("p":{"dtype":"F4","shape":[2,2],"data_offsets":[49,51]},"t":{"dtype":"I64","shape":[1,2],"data_offsets":[51,67]}})",
            std::string(67, '\x22')),
        file(R"({"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})", ""),
    };
}

// Tokens worth splicing into a JSON header.
const char* const kTokens[] = {"{",
                               "}",
                               "[",
                               "]",
                               ",",
                               ":",
                               "\"",
                               "\"dtype\"",
                               "\"shape\"",
                               "\"data_offsets\"",
                               "\"__metadata__\"",
                               "\"F4\"",
                               "\"I8\"",
                               "\"F8_E8M0FNU\"",
                               "-1",
                               "0",
                               "18446744073709551615",
                               "9223372036854775807",
                               "1e400",
                               "null",
                               "true",
                               "\\u0000",
                               "[[[[[[[[",
                               "]]]]]]]]"};

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

void mutate(std::string& f, Rng& rng) {
    const int ops = 1 + int(rng.below(4));
    for (int k = 0; k < ops; ++k) {
        const std::size_t pos = rng.below(f.size() + 1);
        switch (rng.below(8)) {
        case 0:
            if (!f.empty()) f[rng.below(f.size())] ^= char(1 << rng.below(8));
            break; // flip a bit
        case 1:
            if (!f.empty()) f[rng.below(f.size())] = char(rng.next());
            break; // set a byte
        case 2:
            f.insert(pos, kTokens[rng.below(std::size(kTokens))]);
            break; // splice a token
        case 3:
            if (pos < f.size())
                f.erase(pos, 1 + rng.below(std::min<std::size_t>(16, f.size() - pos)));
            break;
        case 4:
            f.resize(rng.below(f.size() + 1));
            break; // truncate
        case 5:
            f.append(rng.below(64), char(rng.next()));
            break; // trailing bytes
        case 6:
            if (f.size() >= 8) f[rng.below(8)] = char(rng.next());
            break; // length field
        case 7:
            if (pos < f.size()) f.insert(pos, std::string(f, pos, rng.below(32)));
            break; // duplicate a run
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
            std::fprintf(stderr, "fuzz_safetensors: cannot read %s\n", a.c_str());
            return 2;
        }
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    for (const std::string& s : corpus)
        parseOne(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());

    // Deterministic sequence of inputs; only how far it gets depends on the clock.
    Rng rng{0x5eed5eed12345678ull};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    long runs = 0, accepted = 0;
    while (runs < 2000000 && (runs % 256 != 0 || std::chrono::steady_clock::now() < deadline)) {
        std::string f = corpus[rng.below(corpus.size())];
        mutate(f, rng);
        auto h = folio::model::parseSafetensors(reinterpret_cast<const std::uint8_t*>(f.data()),
                                                f.size(), "fuzz");
        if (h.ok()) {
            ++accepted;
            for (const auto& t : h->tensors)
                if (h->dataStart + t.end > f.size()) {
                    std::fprintf(stderr,
                                 "fuzz_safetensors: accepted a tensor past the end (run %ld)\n",
                                 runs);
                    return 1;
                }
        }
        ++runs;
    }
    std::printf("fuzz_safetensors: %ld inputs, %ld accepted, no crash\n", runs, accepted);
    return 0;
}

#endif
