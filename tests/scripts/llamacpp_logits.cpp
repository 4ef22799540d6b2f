// llama.cpp's last-position logits for a token sequence, for compare_logits_llamacpp.sh (not part
// of the build: that script compiles it against the llama.cpp it builds in its cache folder).
//   llamacpp_logits MODEL.gguf THREADS ID,ID,... > logits.txt   (one logit per line)
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.gguf THREADS IDS\n", argv[0]);
        return 2;
    }
    std::vector<llama_token> ids;
    std::stringstream in(argv[3]);
    for (std::string item; std::getline(in, item, ',');) ids.push_back(llama_token(std::atoi(item.c_str())));
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model* model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        std::fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = std::uint32_t(ids.size() + 16);
    cp.n_batch = cp.n_ubatch = std::uint32_t(ids.size());
    cp.n_threads = cp.n_threads_batch = std::atoi(argv[2]);
    llama_context* ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        std::fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    if (llama_decode(ctx, llama_batch_get_one(ids.data(), std::int32_t(ids.size()))) != 0) {
        std::fprintf(stderr, "llama_decode failed\n");
        return 1;
    }
    const float* logits = llama_get_logits_ith(ctx, -1);
    const int n = llama_vocab_n_tokens(llama_model_get_vocab(model));
    for (int i = 0; i < n; ++i) std::printf("%.9g\n", double(logits[i]));
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
