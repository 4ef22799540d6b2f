#include "cli.h"

#include "folio/backend.h"

#include <cstdio>
#include <cstring>

namespace folio::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> all = {
        kMakeModelCommand, kModelInfoCommand, kTokenizeCommand, kLogitsCommand,
        kPackCommand,      kAskCommand,       kSessionCommand,  kBenchCommand,
        kServeCommand,     kDevicesCommand,
    };
    return all;
}

int fail(std::string_view command, std::string_view message, int code) {
    std::fprintf(stderr, "folio-cli %.*s: %.*s\n", int(command.size()), command.data(),
                 int(message.size()), message.data());
    return code;
}

int unavailable(std::string_view command, std::string_view what) {
    std::fprintf(stderr, "folio-cli %.*s: not available yet: %.*s\n", int(command.size()),
                 command.data(), int(what.size()), what.data());
    return ExitUnavailable;
}

namespace {

void printMainHelp(std::FILE* to) {
    std::fprintf(to, "Usage: folio-cli COMMAND [OPTIONS]\n\n"
                     "Read a whole codebase, book or transcript with a local DeepSeek-V4 model.\n\n"
                     "Commands:\n");
    for (const Command& c : commands())
        std::fprintf(to, "  %-12.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.summary.size()),
                     c.summary.data());
    std::fprintf(to, "\nRun 'folio-cli COMMAND --help' for a command's options.\n"
                     "With --json, commands print one JSON object per line.\n");
}

} // namespace

int runCli(int argc, char** argv) {
    if (argc < 2) {
        printMainHelp(stderr);
        return ExitUsage;
    }
    const std::string_view first = argv[1];
    if (first == "--help" || first == "-h" || first == "help") {
        printMainHelp(stdout);
        return ExitOk;
    }
    if (first == "--version") {
        std::printf("folio-cli " FOLIO_VERSION "\n");
        return ExitOk;
    }
    for (const Command& c : commands()) {
        if (c.name != first) continue;
        std::vector<std::string> args(argv + 2, argv + argc);
        for (const std::string& a : args) {
            if (a == "--") break;
            if (a == "--help" || a == "-h") {
                std::fwrite(c.usage.data(), 1, c.usage.size(), stdout);
                return ExitOk;
            }
        }
        // A FOLIO_CPU the CPU cannot honour stops every command before any kernel runs; `devices`
        // still reports it.
        std::string cpuError;
        if (c.name != "devices" && !cpuKernelsUsable(&cpuError)) return fail(c.name, cpuError, ExitUsage);
        return c.run(args);
    }
    std::fprintf(stderr, "folio-cli: unknown command '%s'\n\n", argv[1]);
    printMainHelp(stderr);
    return ExitUsage;
}

} // namespace folio::cli
