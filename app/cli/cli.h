// folio-cli: the headless interface. Each subcommand lives in its own cmd_*.cpp and is listed in
// commands() (cli.cpp). Exit codes: 0 success, 1 failure of the job, 2 bad usage, 3 not available
// in this build yet.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace folio::cli {

enum ExitCode : int { ExitOk = 0, ExitFailed = 1, ExitUsage = 2, ExitUnavailable = 3 };

struct Command {
    std::string_view name;
    std::string_view summary; // one line for `folio-cli --help`
    std::string_view usage;   // the whole `folio-cli NAME --help` text
    int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

// Entry point of folio-cli.
int runCli(int argc, char** argv);

// Shared reporting helpers: "folio-cli CMD: message" on stderr.
int fail(std::string_view command, std::string_view message, int code = ExitFailed);
// A command (or a mode of one) whose implementation lands with a later part of the project.
int unavailable(std::string_view command, std::string_view what);

// Every command declares these.
extern const Command kMakeModelCommand;
extern const Command kModelInfoCommand;
extern const Command kTokenizeCommand;
extern const Command kLogitsCommand;
extern const Command kPackCommand;
extern const Command kAskCommand;
extern const Command kSessionCommand;
extern const Command kBenchCommand;
extern const Command kServeCommand;
extern const Command kDevicesCommand;

} // namespace folio::cli
