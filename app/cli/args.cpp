#include "args.h"

#include <charconv>

namespace folio::cli {

Args::Args(std::set<std::string> flags, std::set<std::string> options)
    : flagNames_(std::move(flags)), optionNames_(std::move(options)) {}

bool Args::parse(const std::vector<std::string>& argv) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (sawDashDash_) {
            afterDashDash_.push_back(a);
            continue;
        }
        if (a == "--") {
            sawDashDash_ = true;
            continue;
        }
        if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
            std::string name = a.substr(2);
            std::optional<std::string> inlineValue;
            if (const auto eq = name.find('='); eq != std::string::npos) {
                inlineValue = name.substr(eq + 1);
                name.resize(eq);
            }
            if (flagNames_.count(name)) {
                if (inlineValue) {
                    error_ = "option --" + name + " takes no value";
                    return false;
                }
                flags_.insert(name);
            } else if (optionNames_.count(name)) {
                if (inlineValue) {
                    values_[name] = *inlineValue;
                } else if (i + 1 < argv.size()) {
                    values_[name] = argv[++i];
                } else {
                    error_ = "option --" + name + " needs a value";
                    return false;
                }
            } else {
                error_ = "unknown option " + a;
                return false;
            }
            continue;
        }
        positional_.push_back(a);
    }
    return true;
}

bool Args::has(const std::string& name) const { return flags_.count(name) || values_.count(name); }

std::optional<std::string> Args::value(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string Args::valueOr(const std::string& name, const std::string& fallback) const {
    return value(name).value_or(fallback);
}

bool Args::intValue(const std::string& name, long long fallback, long long* out) {
    const auto v = value(name);
    if (!v) {
        *out = fallback;
        return true;
    }
    const char* end = v->data() + v->size();
    const auto [ptr, ec] = std::from_chars(v->data(), end, *out);
    if (ec != std::errc() || ptr != end) {
        error_ = "option --" + name + " expects an integer, got '" + *v + "'";
        return false;
    }
    return true;
}

} // namespace folio::cli

#include "cli.h"

namespace folio::cli {

int pendingCommand(std::string_view name, const std::vector<std::string>& argv,
                   std::set<std::string> flags, std::set<std::string> options, std::string_view what) {
    Args args(std::move(flags), std::move(options));
    if (!args.parse(argv)) return fail(name, args.error(), ExitUsage);
    return unavailable(name, what);
}

} // namespace folio::cli
