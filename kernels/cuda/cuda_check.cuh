// One check macro for every CUDA and cuBLAS call: it reports the statement, file and line.
#pragma once

#include <cstdio>
#include <cublas_api.h>
#include <cuda_runtime.h>
#include <string>

namespace folio::kernels {

std::string cudaErrorText(cudaError_t err, const char* stmt, const char* file, int line);
std::string cublasErrorText(cublasStatus_t err, const char* stmt, const char* file, int line);

} // namespace folio::kernels

// Evaluates `stmt`; on failure returns its message from the enclosing function (which returns a
// std::string error or a type constructible from one).
#define FOLIO_CUDA_TRY(stmt)                                                                        \
    do {                                                                                            \
        cudaError_t folio_err_ = (stmt);                                                            \
        if (folio_err_ != cudaSuccess)                                                              \
            return ::folio::kernels::cudaErrorText(folio_err_, #stmt, __FILE__, __LINE__);          \
    } while (0)

// The same for cuBLAS and cuBLASLt calls (both return cublasStatus_t).
#define FOLIO_CUBLAS_TRY(stmt)                                                                      \
    do {                                                                                            \
        cublasStatus_t folio_st_ = (stmt);                                                          \
        if (folio_st_ != CUBLAS_STATUS_SUCCESS)                                                     \
            return ::folio::kernels::cublasErrorText(folio_st_, #stmt, __FILE__, __LINE__);         \
    } while (0)

// After every kernel launch: a bad configuration (or an earlier sticky error) surfaces here, named
// after the launch it follows.
#define FOLIO_CUDA_LAUNCHED(kernel)                                                                 \
    do {                                                                                            \
        cudaError_t folio_err_ = cudaGetLastError();                                                \
        if (folio_err_ != cudaSuccess)                                                              \
            return ::folio::kernels::cudaErrorText(folio_err_, "launch of " #kernel, __FILE__,      \
                                                   __LINE__);                                       \
    } while (0)
