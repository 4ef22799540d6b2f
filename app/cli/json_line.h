// One JSON object per line with snake_case keys: the machine-readable output of every folio-cli
// command. Kept free of any JSON library so that it is cheap to include.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace folio::cli {

class JsonLine {
public:
    JsonLine& add(std::string_view key, std::string_view value);
    JsonLine& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    JsonLine& add(std::string_view key, double value);
    JsonLine& add(std::string_view key, std::int64_t value);
    JsonLine& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
    JsonLine& add(std::string_view key, std::uint64_t value);
    JsonLine& add(std::string_view key, bool value);
    // `json` is inserted verbatim (an array or object already serialised).
    JsonLine& addRaw(std::string_view key, std::string_view json);

    std::string str() const { return "{" + body_ + "}"; }
    // Writes the object and a newline to stdout and flushes.
    void print() const;

    static std::string quote(std::string_view s);

private:
    void key(std::string_view k);
    std::string body_;
};

} // namespace folio::cli
