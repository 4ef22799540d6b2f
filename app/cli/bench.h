// The benchmarks behind `folio-cli bench`; each takes the arguments after its name.
#pragma once

#include <string>
#include <vector>

namespace folio::cli {

int benchTokenizer(const std::vector<std::string>& args);
int benchIngest(const std::vector<std::string>& args);
int benchPrefill(const std::vector<std::string>& args, bool decode);
int benchCache(const std::vector<std::string>& args);
int benchRetrieval(const std::vector<std::string>& args);

} // namespace folio::cli
