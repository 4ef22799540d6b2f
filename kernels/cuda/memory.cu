// Device memory, streams, copies and the cuBLAS/cuBLASLt handles (cuda_memory.h).
#include "cuda_check.cuh"
#include "device_common.cuh"
#include "folio/kernels/cuda_memory.h"

#include <cublasLt.h>
#include <cublas_v2.h>

namespace folio::kernels::cuda {

using detail::toStream;

CudaStatus DeviceMemory::allocate(void** p, std::size_t bytes) {
    FOLIO_CUDA_TRY(cudaMalloc(p, bytes));
    return {};
}

void DeviceMemory::free(void* p) { (void)cudaFree(p); }

CudaStatus PinnedMemory::allocate(void** p, std::size_t bytes) {
    FOLIO_CUDA_TRY(cudaHostAlloc(p, bytes, cudaHostAllocDefault));
    return {};
}

void PinnedMemory::free(void* p) { (void)cudaFreeHost(p); }

Stream::~Stream() {
    if (s_) (void)cudaStreamDestroy(toStream(s_));
}

Stream& Stream::operator=(Stream&& o) noexcept {
    if (this != &o) {
        if (s_) (void)cudaStreamDestroy(toStream(s_));
        s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
}

CudaStatus Stream::create() {
    cudaStream_t s = nullptr;
    FOLIO_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    if (s_) (void)cudaStreamDestroy(toStream(s_));
    s_ = s;
    return {};
}

BlasContext::~BlasContext() {
    if (blas_) (void)cublasDestroy(static_cast<cublasHandle_t>(blas_));
    if (lt_) (void)cublasLtDestroy(static_cast<cublasLtHandle_t>(lt_));
}

CudaStatus BlasContext::create(std::size_t workspaceBytes) {
    if (!blas_) {
        cublasHandle_t h = nullptr;
        FOLIO_CUBLAS_TRY(cublasCreate(&h));
        blas_ = h;
    }
    if (!lt_) {
        cublasLtHandle_t h = nullptr;
        FOLIO_CUBLAS_TRY(cublasLtCreate(&h));
        lt_ = h;
    }
    if (workspace_.bytes() < workspaceBytes) FOLIO_STATUS_TRY(workspace_.allocate(workspaceBytes));
    return {};
}

Event::~Event() {
    if (e_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(e_));
}

Event& Event::operator=(Event&& o) noexcept {
    if (this != &o) {
        if (e_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(e_));
        e_ = std::exchange(o.e_, nullptr);
    }
    return *this;
}

CudaStatus Event::create(bool timing) {
    cudaEvent_t e = nullptr;
    FOLIO_CUDA_TRY(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming));
    if (e_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(e_));
    e_ = e;
    return {};
}

CudaStatus Event::record(void* stream) {
    FOLIO_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(e_), toStream(stream)));
    return {};
}

CudaStatus Event::waitOn(void* stream) const {
    FOLIO_CUDA_TRY(cudaStreamWaitEvent(toStream(stream), static_cast<cudaEvent_t>(e_), 0));
    return {};
}

CudaStatus Event::synchronize() const {
    FOLIO_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(e_)));
    return {};
}

CudaStatus elapsedMs(const Event& start, const Event& stop, float* ms) {
    FOLIO_CUDA_TRY(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start.get()), static_cast<cudaEvent_t>(stop.get())));
    return {};
}

CudaStatus deviceMemory(std::size_t* freeBytes, std::size_t* totalBytes) {
    FOLIO_CUDA_TRY(cudaMemGetInfo(freeBytes, totalBytes));
    return {};
}

CudaStatus copyToDevice(void* dst, const void* src, std::size_t bytes, void* stream) {
    FOLIO_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, toStream(stream)));
    return {};
}

CudaStatus copyToHost(void* dst, const void* src, std::size_t bytes, void* stream) {
    FOLIO_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, toStream(stream)));
    FOLIO_CUDA_TRY(cudaStreamSynchronize(toStream(stream)));
    return {};
}

CudaStatus copyOnDevice(void* dst, const void* src, std::size_t bytes, void* stream) {
    FOLIO_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, toStream(stream)));
    return {};
}

CudaStatus fillBytes(void* dst, int value, std::size_t bytes, void* stream) {
    FOLIO_CUDA_TRY(cudaMemsetAsync(dst, value, bytes, toStream(stream)));
    return {};
}

CudaStatus synchronize(void* stream) {
    FOLIO_CUDA_TRY(cudaStreamSynchronize(toStream(stream)));
    return {};
}

CudaStatus selectDevice(int device) {
    FOLIO_CUDA_TRY(cudaSetDevice(device));
    return {};
}

} // namespace folio::kernels::cuda
