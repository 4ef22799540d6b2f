#include "gguf_vocab.h"

#include "loader.h"

#include <nlohmann/json.hpp>

namespace folio::tok {

namespace {
using ojson = nlohmann::ordered_json;
}

std::string deepseekPreTokenizerJson() {
    auto split = [](const std::string& re) {
        return ojson{{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}};
    };
    const ojson p{{"type", "Sequence"},
                  {"pretokenizers",
                   {split("\\p{N}{1,3}"), split(kCjkRegex), split(kDeepSeekWordsRegex),
                    ojson{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
    return p.dump();
}

Result<std::string> tokenizerJsonFromGguf(const std::string& model, const std::string& pre,
                                          const std::vector<std::string>& tokens, const std::vector<std::int64_t>& types,
                                          const std::vector<std::string>& merges, const std::string& source) {
    if (model != "gpt2")
        return makeError(source + ": tokenizer.ggml.model is \"" + model + "\"; Folio reads byte-level BPE (\"gpt2\") vocabularies");
    if (pre != "deepseek-v3")
        return makeError(source + ": tokenizer.ggml.pre is \"" + pre + "\"; Folio has the \"deepseek-v3\" pre-tokenizer only");
    if (tokens.empty()) return makeError(source + ": tokenizer.ggml.tokens is missing or empty");
    if (!types.empty() && types.size() != tokens.size())
        return makeError(source + ": tokenizer.ggml.token_type has " + std::to_string(types.size()) + " entries for " +
                         std::to_string(tokens.size()) + " tokens");
    ojson vocab = ojson::object(), added = ojson::array();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::int64_t type = types.empty() ? 1 : types[i];
        if (type == 1) {
            vocab[tokens[i]] = std::int64_t(i);
        } else if (type == 3 || type == 4) {
            added.push_back(ojson{{"id", std::int64_t(i)},
                                  {"content", tokens[i]},
                                  {"single_word", false},
                                  {"lstrip", false},
                                  {"rstrip", false},
                                  {"normalized", type == 4},
                                  {"special", type == 3}});
        }
    }
    const ojson doc{{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", added},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", ojson::parse(deepseekPreTokenizerJson())},
                    {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
                    {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
                    {"model",
                     {{"type", "BPE"},
                      {"dropout", nullptr},
                      {"unk_token", nullptr},
                      {"continuing_subword_prefix", nullptr},
                      {"end_of_word_suffix", nullptr},
                      {"fuse_unk", false},
                      {"byte_fallback", false},
                      {"vocab", vocab},
                      {"merges", merges}}}};
    return doc.dump();
}

} // namespace folio::tok
