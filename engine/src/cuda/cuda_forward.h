// The DeepSeek-V4 forward pass on a CUDA device: the twin of model::Forward, op for op (the CPU
// path is the reference of every step), over device copies of the weights and a device-side
// sequence state. Any chunk of tokens from any position; prefill chunks and decode steps take the
// same path. Numerics: fp8/fp4 matrices of attention and the shared expert run as bf16 GEMMs with
// fp32 accumulation (exact products after the activation round trip); routed experts, bf16 and fp32
// matrices (router, compressors, indexer weights, head, mHC) compute in fp32 like the CPU.
// Only compiled with FOLIO_HAVE_CUDA.
#pragma once

#include "folio/status.h"
#include "model/state.h"
#include "model/weights.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace folio::model {

struct CudaSequenceState; // cuda/device_state.h

struct CudaForwardOptions {
    int device = 0; // CUDA device ordinal
    bool quantize =
        true; // false: skip every quantize-dequantize round trip (LayerRunner::quantize)
    // Keep the routed experts in host memory and stream them in per chunk, even if they would fit
    // (tests; the automatic choice offloads only when the model does not fit).
    bool forceExpertOffload = false;
};

class CudaForward {
public:
    // Uploads the weights; the error names the failing CUDA call (no device, out of memory, ...).
    static Result<std::unique_ptr<CudaForward>>
    create(const ModelConfig& cfg, const ModelWeights& w, const CudaForwardOptions& options);
    ~CudaForward();
    CudaForward(const CudaForward&) = delete;
    CudaForward& operator=(const CudaForward&) = delete;

    // "NVIDIA H100 80GB HBM3 (sm_90), 79.1 GiB; weights 12.3 GiB on the device" and the like.
    const std::string& description() const;
    bool expertsOffloaded() const;

    Result<std::unique_ptr<CudaSequenceState>> newState() const;

    // As Forward::run: consumes tokens[0:n] at positions s.pos .. s.pos + n - 1 and advances s.pos.
    // logits (optional): [n, vocab] when allPositions, else [1, vocab] for the last token.
    // Serialized: one run at a time per CudaForward.
    Status run(CudaSequenceState& s, const std::int32_t* tokens, std::int64_t n, bool allPositions,
               std::vector<float>* logits) const;

    // The device state in the host format (s shaped by makeSequenceState; s.mtp is left as it is),
    // and back. A host state written by state_io from either device restores on either.
    Status download(const CudaSequenceState& d, SequenceState* s) const;
    Status upload(const SequenceState& s, CudaSequenceState& d) const;
    Result<std::unique_ptr<CudaSequenceState>> clone(const CudaSequenceState& d) const;

    std::int64_t tokensProcessed() const;

    struct Impl;

private:
    explicit CudaForward(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace folio::model
