// The benchmarks behind `folio-cli bench`; each takes the arguments after its name.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace folio::cli {

using BenchClock = std::chrono::steady_clock;

inline double secondsSince(BenchClock::time_point t0) {
    return std::chrono::duration<double>(BenchClock::now() - t0).count();
}

int benchTokenizer(const std::vector<std::string>& args);
int benchIngest(const std::vector<std::string>& args);
int benchPrefill(const std::vector<std::string>& args, bool decode);
int benchCache(const std::vector<std::string>& args);
int benchRetrieval(const std::vector<std::string>& args);

} // namespace folio::cli
