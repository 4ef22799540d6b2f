// DeepSeek-V4 chat encoding (../shared/docs/deepseek-v4.md section 7). There is no Jinja template;
// the prompt is assembled from special tokens (looked up by content) and untrusted text:
//   <｜begin▁of▁sentence｜>{system}<｜User｜>{user}<｜Assistant｜></think>{answer}<｜end▁of▁sentence｜>
//   <｜begin▁of▁sentence｜>{system}<｜User｜>{user}<｜Assistant｜><think>{reasoning}</think>{answer}...
#include "folio/tokenizer.h"

namespace folio {

namespace {

constexpr const char kBos[] = "<\xEF\xBD\x9C"
                              "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
constexpr const char kEos[] = "<\xEF\xBD\x9C"
                              "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
constexpr const char kUser[] = "<\xEF\xBD\x9CUser\xEF\xBD\x9C>";
constexpr const char kAssistant[] = "<\xEF\xBD\x9C"
                                    "Assistant\xEF\xBD\x9C>";
constexpr const char kThink[] = "<think>";
constexpr const char kEndThink[] = "</think>";

} // namespace

Result<std::vector<int32_t>> encodeChat(const Tokenizer& tokenizer, std::string_view system,
                                        const std::vector<ChatTurn>& turns, ChatMode mode,
                                        bool addAssistantPrefix) {
    struct Special {
        const char* content;
        int32_t id;
    };
    Special sp[] = {{kBos, -1},       {kEos, -1},   {kUser, -1},
                    {kAssistant, -1}, {kThink, -1}, {kEndThink, -1}};
    for (Special& s : sp) {
        s.id = tokenizer.tokenId(s.content);
        if (s.id < 0 || !tokenizer.isAddedToken(s.id))
            return makeError(tokenizer.sourceName() +
                             ": the chat encoding needs the added token '" + s.content +
                             "', which this tokenizer does not have");
    }
    const int32_t bos = sp[0].id, eos = sp[1].id, user = sp[2].id, assistant = sp[3].id,
                  think = sp[4].id, endThink = sp[5].id;

    // Reasoning is kept only for assistant turns after the last user turn, in thinking mode.
    std::size_t lastUser = 0;
    bool anyUser = false;
    for (std::size_t i = 0; i < turns.size(); ++i)
        if (turns[i].role == ChatRole::User) {
            lastUser = i;
            anyUser = true;
        }

    std::vector<int32_t> ids{bos};
    auto append = [&](std::string_view text) {
        const std::vector<int32_t> t = tokenizer.encode(text); // untrusted: no special matching
        ids.insert(ids.end(), t.begin(), t.end());
    };
    append(system);
    for (std::size_t i = 0; i < turns.size(); ++i) {
        const ChatTurn& t = turns[i];
        if (t.role == ChatRole::User) {
            ids.push_back(user);
            append(t.content);
            continue;
        }
        ids.push_back(assistant);
        const bool keepReasoning = mode == ChatMode::Thinking && (!anyUser || i > lastUser);
        if (keepReasoning) {
            ids.push_back(think);
            append(t.reasoning);
        }
        ids.push_back(endThink);
        append(t.content);
        ids.push_back(eos);
    }
    if (addAssistantPrefix) {
        ids.push_back(assistant);
        ids.push_back(mode == ChatMode::Thinking ? think : endThink);
    }
    return ids;
}

} // namespace folio
