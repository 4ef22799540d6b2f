// folio-cli pack
#include "args.h"
#include "cli.h"

namespace folio::cli {

const Command kPackCommand{
    "pack", "Pack sources into one citable context",
    "Usage: folio-cli pack SOURCE... [--model DIR] [--budget N] [--question Q] [--json]\n\n"
    "Ingests repositories, PDFs, transcripts and text and prints the packed context and manifest.\n",
    [](const std::vector<std::string>& a) {
        return pendingCommand("pack", a, {"json"}, {"model", "budget", "question"},
                       "packing arrives with ingestion");
    }};

} // namespace folio::cli
