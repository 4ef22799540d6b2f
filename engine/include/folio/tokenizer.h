// The tokenizer: Hugging Face `tokenizer.json` files of the byte-level BPE kind that the DeepSeek
// family uses, the DeepSeek-V4 chat encoding (../shared/docs/deepseek-v4.md section 7), and a small
// BPE trainer for the project's own tiny models. No Qt, no JSON library in this header.
//
// Trust: encode() and count() treat their input as untrusted text (everything that comes from
// sources): added and special tokens are NOT matched, so a file that contains `<｜User｜>` is
// tokenized as ordinary characters and cannot forge a turn or end the context. Only
// encodeWithSpecial() and the chat encoder (encodeChat) emit added-token ids.
//
// Invalid UTF-8: every input is first made valid by replacing each maximal ill-formed subsequence
// with U+FFFD (the Unicode "maximal subpart" practice, identical to Python's
// bytes.decode("utf-8", "replace")). Encoding is therefore defined for any bytes, and
// decode(encode(x)) == x for every valid UTF-8 x.
#pragma once

#include "folio/status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace folio {

namespace tok {
struct TokenizerData; // internal: vocab, merges, pre-tokenizer and added tokens
}

class Tokenizer {
public:
    ~Tokenizer();
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // Loads a tokenizer.json, or `dir/tokenizer.json` when the path is a directory. Errors name the
    // file and the part that is wrong or unsupported (e.g. "pre_tokenizer.pretokenizers[2]").
    static Result<std::unique_ptr<Tokenizer>> load(const std::string& pathToJsonOrDir);
    // The same from the text of a tokenizer.json; `sourceName` is used in error messages.
    static Result<std::unique_ptr<Tokenizer>> loadFromString(std::string_view json,
                                                             const std::string& sourceName);

    // Untrusted text -> ids: no added/special-token matching. Thread-safe (const, no shared state).
    std::vector<int32_t> encode(std::string_view text) const;
    // Trusted text -> ids: added tokens (special or not) are matched by content first, leftmost
    // longest, and the text between them is encoded as by encode().
    std::vector<int32_t> encodeWithSpecial(std::string_view text) const;
    // encode(text).size() without building the id vector.
    std::size_t count(std::string_view text) const;
    // encode() on `threads` threads (0: all cores). The text is cut only at boundaries where the
    // pre-tokenizer always splits, so the result equals encode(text) exactly.
    std::vector<int32_t> encodeParallel(std::string_view text, int threads = 0) const;

    // ids -> UTF-8 text. Added tokens give their content verbatim; BPE tokens their bytes. Byte
    // sequences that are not valid UTF-8 (a token sequence cut inside a character) are replaced
    // with U+FFFD. Ids outside the vocabulary are skipped.
    std::string decode(std::span<const int32_t> ids) const;
    // The raw bytes of one token (no UTF-8 repair); empty for an unknown id.
    std::string tokenBytes(int32_t id) const;

    // Id of the token whose content is `content` (an added token, else a vocabulary entry in its
    // byte-level spelling); -1 when absent.
    int32_t tokenId(std::string_view content) const;
    // The token's content as written in tokenizer.json (byte-level spelling for BPE tokens).
    std::string tokenText(int32_t id) const;
    bool isAddedToken(int32_t id) const;
    bool isSpecialToken(int32_t id) const; // an added token flagged "special": true

    // Highest id + 1 over the vocabulary and the added tokens (what the model's embedding needs).
    int vocabSize() const;
    int32_t bosId() const; // `<｜begin▁of▁sentence｜>`, -1 when absent
    int32_t eosId() const; // `<｜end▁of▁sentence｜>`, -1 when absent
    const std::string& sourceName() const;
    // 32 hex digits that identify the tokenizer's definition (a hash of its tokenizer.json text, or
    // of the one built from a GGUF's metadata): equal for the same tokenizer wherever it was
    // loaded from, different when anything in it differs. Keys the token count cache.
    const std::string& fingerprint() const;

private:
    explicit Tokenizer(std::unique_ptr<tok::TokenizerData> d);
    std::unique_ptr<tok::TokenizerData> d_;
};

// Incremental ids -> text for streaming output: never emits half a UTF-8 character. Bytes of an
// incomplete character are held until the token that completes it arrives; a sequence that can no
// longer become valid is emitted as U+FFFD. Added tokens are control tokens, not answer text: the
// chat markers (`<｜User｜>`, `<｜Assistant｜>`, BOS, EOS), `<think>`, the tool and FIM markers and
// the placeholders. They are left out: DeepSeek's tokenizer.json flags only some of them
// "special", so skipping only those (skip_special_tokens) would still print `<｜User｜>`.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer) : tok_(tokenizer) {}
    // Appends one token; returns the text that became complete (often empty or one token's text).
    std::string push(int32_t id);
    // Flushes what is held (an unfinished character becomes U+FFFD).
    std::string finish();
    std::size_t pendingBytes() const { return pending_.size(); }

private:
    const Tokenizer& tok_;
    std::string pending_;
};

// ---- DeepSeek-V4 chat encoding (deepseek-v4.md section 7) ----

enum class ChatRole : int { User = 0, Assistant = 1 };
enum class ChatMode : int { Chat = 0, Thinking = 1 };

struct ChatTurn {
    ChatRole role = ChatRole::User;
    std::string content;   // untrusted: never matched for special tokens
    std::string reasoning; // assistant turns only; kept only where encodeChat says
};

// Builds the prompt ids:
//   BOS {system}, then per turn  <｜User｜>{content}
//                            or  <｜Assistant｜>{think part}{content}EOS
// The think part of an assistant turn is `</think>` (chat mode, and every assistant turn before the
// last user turn in thinking mode: earlier reasoning is dropped); in thinking mode an assistant
// turn after the last user turn keeps it: `<think>{reasoning}</think>`. With addAssistantPrefix the
// prompt ends with `<｜Assistant｜>` then `</think>` (chat) or `<think>` (thinking), ready for
// generation. Special-token ids are looked up by content in the tokenizer's added tokens; the error
// names any that is missing. All text (system, content, reasoning) is encoded as untrusted text.
Result<std::vector<int32_t>> encodeChat(const Tokenizer& tokenizer, std::string_view system,
                                        const std::vector<ChatTurn>& turns, ChatMode mode,
                                        bool addAssistantPrefix);

// ---- Training (for the project's own tiny models) ----

// The DeepSeek special tokens a trained tokenizer carries at least, in id order after the BPE
// vocab.
std::vector<std::string> defaultSpecialTokens();

// Learns a byte-level BPE from `corpus` with DeepSeek's pre-tokenizer and returns the text of a
// standard tokenizer.json (same normalizer, pre_tokenizer, post_processor and decoder as
// DeepSeek's). The vocabulary is the 256 byte tokens (id = byte value), then the tokens made by the
// merges, up to `vocabSize` tokens in all (fewer when the corpus runs out of pairs); then
// `specialTokens` as added special tokens, numbered on from the last BPE token. Invalid UTF-8 in
// the corpus is read as U+FFFD, as encode() does. Deterministic: ties between equally frequent
// pairs go to the smaller (left id, right id).
Result<std::string> trainByteLevelBpe(const std::vector<std::string_view>& corpus, int vocabSize,
                                      const std::vector<std::string>& specialTokens);

} // namespace folio
