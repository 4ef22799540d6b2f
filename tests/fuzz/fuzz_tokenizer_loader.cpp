// Fuzz target: Tokenizer::loadFromString on arbitrary bytes must return a tokenizer or an error,
// never crash; a tokenizer that loads must encode and decode arbitrary text.
//
// Without libFuzzer, main() mutates seed files (a small trained tokenizer.json and a minimal one)
// with a fixed-seed generator: truncations, byte flips, insertions, deletions, duplicated spans and
// edited numbers, which reach the loader's error paths (bad JSON, unknown merge tokens, duplicate
// ids...).
#include "folio/tokenizer.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

static int gLoaded = 0;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string json(reinterpret_cast<const char*>(data), size);
    auto t = folio::Tokenizer::loadFromString(json, "fuzz.json");
    if (!t) {
        if (t.error().rfind("fuzz.json: ", 0) != 0) std::abort(); // every error names the file
        return 0;
    }
    ++gLoaded;
    static const char* texts[] = {"Hello, world! 123", "<｜User｜>中文 \xF0\x9F\x98\x80\r\n\t  x",
                                  "\xFF\xC0 bad", ""};
    for (const char* s : texts) {
        const auto ids = (*t)->encode(s);
        for (int32_t id : ids)
            if (id < 0 || id >= (*t)->vocabSize()) std::abort();
        (void)(*t)->decode(ids);
        (void)(*t)->encodeWithSpecial(s);
        if ((*t)->count(s) != ids.size()) std::abort();
    }
    return 0;
}

#ifndef FOLIO_LIBFUZZER
namespace {

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string mutate(std::string s, std::mt19937& rng) {
    auto pick = [&](std::size_t n) { return n ? static_cast<std::size_t>(rng() % n) : 0; };
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
        const std::size_t i = pick(s.size());
        switch (rng() % 7) {
        case 0:
            s.resize(i);
            break; // truncate
        case 1:
            s[i] = static_cast<char>(rng());
            break; // flip a byte
        case 2:
            s.erase(i, 1 + pick(16));
            break; // delete
        case 3:
            s.insert(i, std::string(1 + pick(3), "{}[],:\"\\0123456789 "[pick(20)]));
            break; // insert
        case 4: {
            const std::size_t j = pick(s.size());
            s.insert(i, s.substr(j, 1 + pick(64)));
            break;
        }         // duplicate a span
        case 5: { // edit a number
            const std::size_t d = s.find_first_of("0123456789", i);
            if (d != std::string::npos) s[d] = "0123456789-"[pick(11)];
            break;
        }
        default: { // swap two bytes
            const std::size_t j = pick(s.size());
            std::swap(s[i], s[j]);
        }
        }
    }
    return s;
}

} // namespace

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? std::atoi(argv[1]) : 1000;
    std::vector<std::string> seeds{
        readFile(FOLIO_SOURCE_DIR "/tests/tokenizer/golden/trained/tokenizer.json")};
    if (seeds[0].empty()) {
        std::fprintf(stderr, "fuzz_tokenizer_loader: seed tokenizer.json is missing\n");
        return 1;
    }
    auto seed = folio::trainByteLevelBpe({"ab ab abc abc abcd"}, 260, {"<s>"});
    if (!seed) return 1;
    seeds.push_back(*seed);
    std::mt19937 rng(20261123);
    for (int i = 0; i < iterations; ++i) {
        // The small seed is mutated most: its inputs are cheaper to load.
        const std::string input = mutate(i % 4 == 0 ? seeds[0] : seeds[1], rng);
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    }
    std::printf("fuzz_tokenizer_loader: %d inputs, %d loaded, no crash\n", iterations, gLoaded);
    return 0;
}
#endif
