// folio-cli serve: an OpenAI-compatible HTTP API over the embedded engine (chat_server.h).
#include "args.h"
#include "cli.h"

#include "runtime/chat_server.h"

#include <QCoreApplication>
#include <QHostAddress>

#include <csignal>
#include <cstdio>

namespace folio::cli {

namespace {

int run(const std::vector<std::string>& argv) {
    Args args({"demo"}, {"host", "port", "model", "threads", "device", "chunk", "name", "max-body-kib"});
    if (!args.parse(argv)) return fail("serve", args.error(), ExitUsage);
    if (args.has("demo") == args.has("model")) return fail("serve", "give either --model DIR or --demo", ExitUsage);
    long long port = 0, threads = 0, chunk = 0, maxBodyKib = 0;
    if (!args.intValue("port", 8000, &port) || !args.intValue("threads", 0, &threads) || !args.intValue("chunk", 0, &chunk) ||
        !args.intValue("max-body-kib", 64 * 1024, &maxBodyKib))
        return fail("serve", args.error(), ExitUsage);
    if (maxBodyKib <= 0) return fail("serve", "--max-body-kib must be positive", ExitUsage);
    if (port < 0 || port > 65535) return fail("serve", "--port must be 0..65535", ExitUsage);
    const QHostAddress host(QString::fromStdString(args.valueOr("host", "127.0.0.1")));
    if (host.isNull()) return fail("serve", "--host is not an IP address", ExitUsage);

    app::ServerOptions o;
    o.demo = args.has("demo");
    o.modelDir = args.valueOr("model", "");
    o.threads = int(threads);
    o.device = args.valueOr("device", "auto");
    o.chunk = chunk;
    o.modelName = args.valueOr("name", "");
    o.maxBodyBytes = qint64(maxBodyKib) * 1024;
    app::ChatServer server(o);
    if (auto st = server.loadModel(); !st.ok()) return fail("serve", st.error());
    auto listening = server.listen(host, quint16(port));
    if (!listening.ok()) return fail("serve", listening.error());
    std::fprintf(stderr, "folio-cli serve: %s on http://%s:%u/v1 (POST /v1/chat/completions, GET /v1/models)\n",
                 server.modelName().c_str(), qPrintable(host.toString()), unsigned(listening.value()));
    std::fflush(stderr);
    // Ctrl+C and SIGTERM end the event loop cleanly.
    for (int sig : {SIGINT, SIGTERM}) std::signal(sig, [](int) { QCoreApplication::quit(); });
    return QCoreApplication::exec() == 0 ? ExitOk : ExitFailed;
}

} // namespace

const Command kServeCommand{
    "serve", "Serve an OpenAI-compatible HTTP API",
    "Usage: folio-cli serve [--model DIR | --demo] [--host 127.0.0.1] [--port 8000] [--name ID]\n"
    "       [--threads N] [--device cpu|cuda|auto] [--chunk N] [--max-body-kib N]\n\n"
    "Serves the model over HTTP: GET /v1/models and POST /v1/chat/completions (with \"stream\": true,\n"
    "server-sent events). A request whose prompt extends the previous one continues its state; other\n"
    "prompts restore their longest cached prefix from the prefix cache (the user's cache directory),\n"
    "and the usage reports it as prompt_tokens_details.cached_tokens. A damaged snapshot file is named\n"
    "on stderr, deleted and recomputed. --port 0 picks a free port; the address is printed on stderr.\n"
    "With \"return_progress\": true a stream reports the reading of the prompt as llama.cpp's server\n"
    "does (prompt_progress: total, cache, processed, time_ms; GET /props says so to clients). A body\n"
    "over --max-body-kib (default 65536) is refused with 413. Requests are served one at a time.\n",
    run};

} // namespace folio::cli
