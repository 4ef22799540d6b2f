// Parses a Hugging Face tokenizer.json of the byte-level BPE kind. Anything the encoder would not
// reproduce exactly (another normalizer, an unknown regex, BPE dropout...) is an error naming the
// part, rather than a silently different tokenization.
#include "loader.h"

#include "byte_level.h"
#include "utf8.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace folio::tok {

const char kDeepSeekWordsRegex[] =
    "[!\"#$%&'()*+,\\-./"
    ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const char kCjkRegex[] =
    "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+";

namespace {

using json = nlohmann::json;

constexpr std::int64_t kMaxId = std::int64_t(1) << 24; // far above any real vocabulary
// Ids are dense in real files; a few gaps are tolerated, but an id far past the number of entries
// is an error rather than a reason to allocate tables for millions of absent tokens.
constexpr std::int64_t kMaxIdGap = 65536;

struct LoadError {
    std::string message;
};

[[noreturn]] void fail(const std::string& part, const std::string& what) {
    throw LoadError{part + ": " + what};
}

std::string shortText(const std::string& s) {
    std::string t = s.size() > 60 ? s.substr(0, 60) + "..." : s;
    return "'" + t + "'";
}

const json& member(const json& obj, const char* key, const std::string& part) {
    auto it = obj.find(key);
    if (it == obj.end()) fail(part, std::string("missing \"") + key + "\"");
    return *it;
}

bool boolOr(const json& obj, const char* key, bool fallback, const std::string& part) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(part + "." + key, "expected true or false");
    return it->get<bool>();
}

std::string typeOf(const json& obj, const std::string& part) {
    if (!obj.is_object()) fail(part, "expected an object");
    const json& t = member(obj, "type", part);
    if (!t.is_string()) fail(part + ".type", "expected a string");
    return t.get<std::string>();
}

void requireNullOrEmpty(const json& obj, const char* key, const std::string& part) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    if (it->is_string() && it->get<std::string>().empty()) return;
    fail(part + "." + key, "is not supported (must be null)");
}

void parseNormalizer(const json& n, const std::string& part) {
    if (n.is_null()) return;
    const std::string type = typeOf(n, part);
    if (type != "Sequence") fail(part, "normalizer type '" + type + "' is not supported");
    const json& list = member(n, "normalizers", part);
    if (!list.is_array()) fail(part + ".normalizers", "expected an array");
    for (std::size_t i = 0; i < list.size(); ++i)
        parseNormalizer(list[i], part + ".normalizers[" + std::to_string(i) + "]");
}

void parseByteLevel(const json& p, const std::string& part) {
    if (boolOr(p, "add_prefix_space", false, part))
        fail(part + ".add_prefix_space", "true is not supported");
    if (boolOr(p, "use_regex", false, part))
        fail(part + ".use_regex", "true (the GPT-2 regex) is not supported");
}

PreTokenizerStep parseSplit(const json& p, const std::string& part) {
    const json& pattern = member(p, "pattern", part);
    if (!pattern.is_object() || !pattern.contains("Regex") || !pattern["Regex"].is_string())
        fail(part + ".pattern", "expected {\"Regex\": \"...\"}");
    const std::string behavior =
        member(p, "behavior", part).is_string() ? p["behavior"].get<std::string>() : "";
    if (behavior != "Isolated")
        fail(part + ".behavior", "'" + behavior + "' is not supported (only Isolated)");
    if (boolOr(p, "invert", false, part)) fail(part + ".invert", "true is not supported");
    const std::string re = pattern["Regex"].get<std::string>();
    PreTokenizerStep step;
    if (re == kDeepSeekWordsRegex) {
        step.kind = SplitKind::DeepSeekWords;
    } else if (re == kCjkRegex) {
        step.kind = SplitKind::Cjk;
    } else if (re == "\\p{N}") {
        step.kind = SplitKind::Digits;
        step.maxDigits = 1;
    } else if (re.size() == 10 && re.compare(0, 8, "\\p{N}{1,") == 0 && re[8] >= '1' &&
               re[8] <= '9' && re[9] == '}') {
        step.kind = SplitKind::Digits;
        step.maxDigits = re[8] - '0';
    } else {
        fail(part + ".pattern", "regex " + shortText(re) + " is not supported (no matcher for it)");
    }
    return step;
}

void parsePreTokenizer(const json& p, const std::string& part, TokenizerData& d,
                       bool* sawByteLevel) {
    if (p.is_null()) fail(part, "missing: a byte-level BPE needs a ByteLevel pre-tokenizer");
    const std::string type = typeOf(p, part);
    if (*sawByteLevel) fail(part, "'" + type + "' after ByteLevel is not supported");
    if (type == "Sequence") {
        const json& list = member(p, "pretokenizers", part);
        if (!list.is_array()) fail(part + ".pretokenizers", "expected an array");
        for (std::size_t i = 0; i < list.size(); ++i)
            parsePreTokenizer(list[i], part + ".pretokenizers[" + std::to_string(i) + "]", d,
                              sawByteLevel);
    } else if (type == "Split") {
        d.preTokenizer.push_back(parseSplit(p, part));
    } else if (type == "ByteLevel") {
        parseByteLevel(p, part);
        *sawByteLevel = true;
    } else {
        fail(part, "pre-tokenizer type '" + type + "' is not supported");
    }
}

void parseModel(const json& m, TokenizerData& d) {
    const std::string part = "model";
    const std::string type = typeOf(m, part);
    if (type != "BPE") fail(part + ".type", "'" + type + "' is not supported (only BPE)");
    if (auto it = m.find("dropout"); it != m.end() && !it->is_null())
        fail(part + ".dropout", "BPE dropout is not supported");
    requireNullOrEmpty(m, "continuing_subword_prefix", part);
    requireNullOrEmpty(m, "end_of_word_suffix", part);
    if (boolOr(m, "byte_fallback", false, part))
        fail(part + ".byte_fallback", "true is not supported");
    d.ignoreMerges = boolOr(m, "ignore_merges", false, part);

    const json& vocab = member(m, "vocab", part);
    if (!vocab.is_object()) fail(part + ".vocab", "expected an object {token: id}");
    const ByteLevel& bl = ByteLevel::instance();
    std::vector<std::pair<int32_t, std::string>> entries;
    entries.reserve(vocab.size());
    int64_t maxId = -1;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer())
            fail(part + ".vocab[" + shortText(it.key()) + "]", "id is not an integer");
        const int64_t id = it.value().get<int64_t>();
        if (id < 0 || id >= kMaxId)
            fail(part + ".vocab[" + shortText(it.key()) + "]",
                 "id " + std::to_string(id) + " is out of range");
        entries.emplace_back(static_cast<int32_t>(id), it.key());
        maxId = std::max(maxId, id);
        if (id >= static_cast<int64_t>(vocab.size()) + kMaxIdGap)
            fail(part + ".vocab[" + shortText(it.key()) + "]",
                 "id " + std::to_string(id) + " is far beyond the " + std::to_string(vocab.size()) +
                     " entries");
    }
    d.idText.assign(static_cast<std::size_t>(maxId + 1), {});
    d.idBytes.assign(static_cast<std::size_t>(maxId + 1), {});
    d.idKind.assign(static_cast<std::size_t>(maxId + 1), 0);
    d.textToId.reserve(entries.size() * 2);
    d.bytesToId.reserve(entries.size() * 2);
    for (auto& [id, text] : entries) {
        if (d.idKind[id] != 0)
            fail(part + ".vocab", "duplicate id " + std::to_string(id) + " for " +
                                      shortText(d.idText[id]) + " and " + shortText(text));
        std::optional<std::string> bytes = bl.decode(text);
        d.idKind[id] = 1;
        d.idText[id] = text;
        d.idBytes[id] =
            bytes ? *bytes : text; // not a byte-level spelling: reachable only as an added token
        if (bytes) d.bytesToId.emplace(*bytes, id);
        d.textToId.emplace(text, id);
    }
    for (int b = 0; b < 256; ++b) {
        std::string spelling;
        appendUtf8(spelling, bl.byteToChar[b]);
        auto it = d.textToId.find(spelling);
        if (it == d.textToId.end())
            fail(part + ".vocab", "no token for byte 0x" +
                                      std::string(1, "0123456789ABCDEF"[b >> 4]) +
                                      "0123456789ABCDEF"[b & 15]);
        d.byteToId[b] = it->second;
    }

    const json& merges = member(m, "merges", part);
    if (!merges.is_array()) fail(part + ".merges", "expected an array");
    d.merges.reserve(merges.size());
    for (std::size_t i = 0; i < merges.size(); ++i) {
        const std::string mp = part + ".merges[" + std::to_string(i) + "]";
        const json& e = merges[i];
        std::string left, right;
        if (e.is_string()) {
            const std::string s = e.get<std::string>();
            const std::size_t sp = s.find(' ');
            if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() ||
                s.find(' ', sp + 1) != std::string::npos)
                fail(mp, shortText(s) + " is not \"left right\"");
            left = s.substr(0, sp);
            right = s.substr(sp + 1);
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
            left = e[0].get<std::string>();
            right = e[1].get<std::string>();
        } else {
            fail(mp, "expected \"left right\" or [\"left\", \"right\"]");
        }
        auto l = d.textToId.find(left), r = d.textToId.find(right),
             mg = d.textToId.find(left + right);
        if (l == d.textToId.end()) fail(mp, "unknown token " + shortText(left));
        if (r == d.textToId.end()) fail(mp, "unknown token " + shortText(right));
        if (mg == d.textToId.end())
            fail(mp, "merged token " + shortText(left + right) + " is not in the vocab");
        if (!d.merges.insert(l->second, r->second,
                             MergeTable::Merge{static_cast<int32_t>(i), mg->second}))
            fail(mp, "duplicate merge " + shortText(left + " " + right));
    }
}

void parseAddedTokens(const json& list, TokenizerData& d, std::vector<bool>& normalized) {
    if (list.is_null()) return;
    if (!list.is_array()) fail("added_tokens", "expected an array");
    std::unordered_map<std::string, int32_t> seen;
    std::vector<bool> addedId;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json& t = list[i];
        std::string part = "added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object()) fail(part, "expected an object");
        const json& idj = member(t, "id", part);
        const json& cj = member(t, "content", part);
        if (!idj.is_number_integer()) fail(part + ".id", "expected an integer");
        if (!cj.is_string()) fail(part + ".content", "expected a string");
        const int64_t id = idj.get<int64_t>();
        const std::string content = cj.get<std::string>();
        part += " (" + shortText(content) + ")";
        if (id < 0 || id >= kMaxId ||
            id >= static_cast<int64_t>(d.idText.size() + list.size()) + kMaxIdGap)
            fail(part + ".id", std::to_string(id) + " is out of range");
        if (content.empty()) fail(part + ".content", "is empty");
        if (!isValidUtf8(content)) fail(part + ".content", "is not valid UTF-8");
        for (const char* flag : {"lstrip", "rstrip", "single_word"})
            if (boolOr(t, flag, false, part)) fail(part + "." + flag, "true is not supported");
        const bool special = boolOr(t, "special", false, part);
        if (!seen.emplace(content, static_cast<int32_t>(id)).second)
            fail(part, "duplicate content");
        if (static_cast<std::size_t>(id) >= d.idText.size()) {
            d.idText.resize(static_cast<std::size_t>(id) + 1);
            d.idBytes.resize(static_cast<std::size_t>(id) + 1);
            d.idKind.resize(static_cast<std::size_t>(id) + 1, 0);
        }
        if (addedId.size() <= static_cast<std::size_t>(id))
            addedId.resize(static_cast<std::size_t>(id) + 1);
        if (addedId[id]) fail(part + ".id", "duplicate id " + std::to_string(id));
        addedId[id] = true;
        if (d.idKind[id] == 1 && d.idText[id] != content) d.textToId.erase(d.idText[id]);
        d.idText[id] = content;
        d.idBytes[id] = content;
        d.idKind[id] = special ? 3 : 2;
        d.textToId[content] = static_cast<int32_t>(id);
        d.added.push_back(AddedToken{static_cast<int32_t>(id), content, special});
        normalized.push_back(boolOr(t, "normalized", !special, part));
    }
}

void parseTop(const json& root, TokenizerData& d) {
    if (!root.is_object()) fail("tokenizer.json", "expected a JSON object");
    static const char* known[] = {"version",        "truncation", "padding",
                                  "added_tokens",   "normalizer", "pre_tokenizer",
                                  "post_processor", "decoder",    "model"};
    for (auto it = root.begin(); it != root.end(); ++it)
        if (std::find_if(std::begin(known), std::end(known),
                         [&](const char* k) { return it.key() == k; }) == std::end(known))
            fail(it.key(), "unknown part of tokenizer.json");
    for (const char* k : {"truncation", "padding"})
        if (auto it = root.find(k); it != root.end() && !it->is_null())
            fail(k, "is not supported (must be null)");
    if (auto it = root.find("normalizer"); it != root.end()) parseNormalizer(*it, "normalizer");
    bool sawByteLevel = false;
    parsePreTokenizer(root.contains("pre_tokenizer") ? root["pre_tokenizer"] : json(),
                      "pre_tokenizer", d, &sawByteLevel);
    if (!sawByteLevel)
        fail("pre_tokenizer", "has no ByteLevel step: only byte-level BPE is supported");
    if (auto it = root.find("post_processor"); it != root.end() && !it->is_null()) {
        const std::string type = typeOf(*it, "post_processor");
        if (type != "ByteLevel") fail("post_processor", "type '" + type + "' is not supported");
    }
    const json& dec = member(root, "decoder", "tokenizer.json");
    const std::string dtype = typeOf(dec, "decoder");
    if (dtype != "ByteLevel")
        fail("decoder", "type '" + dtype + "' is not supported (only ByteLevel)");
    parseModel(member(root, "model", "tokenizer.json"), d);

    std::vector<bool> normalized;
    if (auto it = root.find("added_tokens"); it != root.end()) parseAddedTokens(*it, d, normalized);
    // Matching order: tokens with normalized=false first (Hugging Face matches them on the raw text
    // before the normalized ones), then longest content first.
    std::vector<std::size_t> order(d.added.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<AddedToken> sorted;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (normalized[a] != normalized[b]) return !normalized[a];
        return d.added[a].content.size() > d.added[b].content.size();
    });
    for (std::size_t i : order) sorted.push_back(d.added[i]);
    std::vector<bool> sortedNorm;
    for (std::size_t i : order) sortedNorm.push_back(normalized[i]);
    d.added = std::move(sorted);
    d.addedNormalized = std::move(sortedNorm);
    for (std::size_t i = 0; i < d.added.size(); ++i)
        d.addedByFirstByte[static_cast<unsigned char>(d.added[i].content[0])].push_back(
            static_cast<std::uint32_t>(i));
    if (d.idText.empty()) fail("model.vocab", "is empty");
    auto find = [&](const char* c) {
        auto it = d.textToId.find(c);
        return it == d.textToId.end() ? -1 : it->second;
    };
    d.bos = find("<\xEF\xBD\x9C"
                 "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
    d.eos = find("<\xEF\xBD\x9C"
                 "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
}

} // namespace

Result<std::unique_ptr<TokenizerData>> parseTokenizerJson(std::string_view text,
                                                          const std::string& sourceName) {
    auto d = std::make_unique<TokenizerData>();
    d->sourceName = sourceName;
    try {
        const json root = json::parse(text.begin(), text.end());
        parseTop(root, *d);
    } catch (const LoadError& e) {
        return makeError(sourceName + ": " + e.message);
    } catch (const json::exception& e) {
        return makeError(sourceName + ": not a valid tokenizer.json: " + e.what());
    } catch (const std::exception& e) {
        return makeError(sourceName + ": " + e.what());
    }
    return d;
}

} // namespace folio::tok
