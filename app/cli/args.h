// A small command-line parser for folio-cli subcommands: --flag, --key VALUE, --key=VALUE,
// positionals, and everything after `--` kept apart.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <vector>

namespace folio::cli {

class Args {
public:
    // `flags` take no value, `options` take one. Unknown options are an error.
    Args(std::set<std::string> flags, std::set<std::string> options);

    // Parses; on error returns false and sets error().
    bool parse(const std::vector<std::string>& argv);

    bool has(const std::string& name) const;
    std::optional<std::string> value(const std::string& name) const;
    std::string valueOr(const std::string& name, const std::string& fallback) const;
    // Parses an integer option; returns false (and sets error) when present but not an integer.
    bool intValue(const std::string& name, long long fallback, long long* out);

    const std::vector<std::string>& positional() const { return positional_; }
    const std::vector<std::string>& afterDashDash() const { return afterDashDash_; }
    bool sawDashDash() const { return sawDashDash_; }
    const std::string& error() const { return error_; }

private:
    std::set<std::string> flagNames_;
    std::set<std::string> optionNames_;
    std::set<std::string> flags_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
    std::vector<std::string> afterDashDash_;
    bool sawDashDash_ = false;
    std::string error_;
};

} // namespace folio::cli

namespace folio::cli {

// For a command (or mode) whose implementation is not in this build yet: parses the documented
// options, so that scripts get usage errors now, then says clearly what is missing.
int pendingCommand(std::string_view name, const std::vector<std::string>& argv,
                   std::set<std::string> flags, std::set<std::string> options, std::string_view what);

} // namespace folio::cli
