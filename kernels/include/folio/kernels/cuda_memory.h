// Device memory, copies, streams and library handles of the CUDA backend, usable from plain C++
// (no CUDA headers): streams travel as `void*` (a cudaStream_t; nullptr is the legacy default
// stream). Every function reports failure as a CudaStatus whose message names the failing CUDA or
// cuBLAS call, its file and line. Only compiled when FOLIO_HAVE_CUDA is defined.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace folio::kernels::cuda {

// Empty on success; otherwise what failed, e.g. "cudaErrorMemoryAllocation (out of memory) in
// `cudaMalloc(&p, bytes)` at .../memory.cu:21".
class [[nodiscard]] CudaStatus {
public:
    CudaStatus() = default;
    CudaStatus(std::string error) : error_(std::move(error)) {}
    bool ok() const { return error_.empty(); }
    explicit operator bool() const { return ok(); }
    const std::string& error() const { return error_; }

private:
    std::string error_;
};

// Evaluates an expression giving a CudaStatus and returns it from the enclosing function on failure.
#define FOLIO_STATUS_TRY(expr)                                                                     \
    do {                                                                                           \
        ::folio::kernels::cuda::CudaStatus folio_st_ = (expr);                                     \
        if (!folio_st_) return folio_st_;                                                          \
    } while (0)

// Where an OwnedMemory's bytes come from: device memory (cudaMalloc), or page-locked host memory
// (cudaHostAlloc), from which copies to the device run asynchronously on a stream and overlap with
// kernels on another.
struct DeviceMemory {
    static CudaStatus allocate(void** p, std::size_t bytes);
    static void free(void* p);
};
struct PinnedMemory {
    static CudaStatus allocate(void** p, std::size_t bytes);
    static void free(void* p);
};

// Owns `bytes` of memory of one kind. Move-only; frees on destruction.
template <typename Memory> class OwnedMemory {
public:
    OwnedMemory() = default;
    ~OwnedMemory() { release(); }
    OwnedMemory(OwnedMemory&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    OwnedMemory& operator=(OwnedMemory&& o) noexcept {
        if (this != &o) {
            release();
            ptr_ = std::exchange(o.ptr_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }
    OwnedMemory(const OwnedMemory&) = delete;
    OwnedMemory& operator=(const OwnedMemory&) = delete;

    // Frees what is held, then allocates `bytes` (0 frees only).
    CudaStatus allocate(std::size_t bytes) {
        release();
        if (bytes == 0) return {};
        void* p = nullptr;
        if (CudaStatus st = Memory::allocate(&p, bytes); !st) return st;
        ptr_ = p;
        bytes_ = bytes;
        return {};
    }
    void release() {
        if (ptr_) Memory::free(ptr_); // freeing cannot be reported from a destructor
        ptr_ = nullptr;
        bytes_ = 0;
    }

    void* data() const { return ptr_; }
    template <typename T> T* as() const { return static_cast<T*>(ptr_); }
    std::size_t bytes() const { return bytes_; }

private:
    void* ptr_ = nullptr;
    std::size_t bytes_ = 0;
};

using DeviceBuffer = OwnedMemory<DeviceMemory>;
using PinnedBuffer = OwnedMemory<PinnedMemory>;

// Owns a non-blocking stream.
class Stream {
public:
    Stream() = default;
    ~Stream();
    Stream(Stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Stream& operator=(Stream&& o) noexcept;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    CudaStatus create();
    void* get() const { return s_; }

private:
    void* s_ = nullptr;
};

// Owns a cuBLAS handle, a cuBLASLt handle and the cuBLASLt workspace, bound to one stream at a time.
class BlasContext {
public:
    BlasContext() = default;
    ~BlasContext();
    BlasContext(const BlasContext&) = delete;
    BlasContext& operator=(const BlasContext&) = delete;
    CudaStatus create(std::size_t workspaceBytes = std::size_t(32) << 20);
    void* blas() const { return blas_; }   // cublasHandle_t
    void* blasLt() const { return lt_; }   // cublasLtHandle_t
    void* workspace() const { return workspace_.data(); }
    std::size_t workspaceBytes() const { return workspace_.bytes(); }

private:
    void* blas_ = nullptr;
    void* lt_ = nullptr;
    DeviceBuffer workspace_;
};

// Owns an event without timing (cudaEventDisableTiming) for ordering work across streams, or a
// timing event (timing = true) for measuring elapsed device time.
class Event {
public:
    Event() = default;
    ~Event();
    Event(Event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
    Event& operator=(Event&& o) noexcept;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    CudaStatus create(bool timing = false);
    CudaStatus record(void* stream);
    // Work submitted to `stream` after this call waits until the recorded work has finished.
    CudaStatus waitOn(void* stream) const;
    CudaStatus synchronize() const;
    void* get() const { return e_; }

private:
    void* e_ = nullptr;
};

// Milliseconds between two recorded timing events (both complete).
CudaStatus elapsedMs(const Event& start, const Event& stop, float* ms);

// Free and total memory of the current device (cudaMemGetInfo).
CudaStatus deviceMemory(std::size_t* freeBytes, std::size_t* totalBytes);

CudaStatus copyToDevice(void* dst, const void* src, std::size_t bytes, void* stream);
CudaStatus copyToHost(void* dst, const void* src, std::size_t bytes, void* stream);
CudaStatus copyOnDevice(void* dst, const void* src, std::size_t bytes, void* stream);
CudaStatus fillBytes(void* dst, int value, std::size_t bytes, void* stream);
CudaStatus synchronize(void* stream);
// cudaSetDevice(device).
CudaStatus selectDevice(int device);

} // namespace folio::kernels::cuda
