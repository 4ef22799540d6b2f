// One check macro for every CUDA and cuBLAS call: it reports the statement, file and line.
#pragma once

#include <cstdio>
#include <cuda_runtime.h>
#include <string>

namespace folio::kernels {

std::string cudaErrorText(cudaError_t err, const char* stmt, const char* file, int line);

} // namespace folio::kernels

// Evaluates `stmt`; on failure returns its message from the enclosing function (which returns a
// std::string error or a type constructible from one).
#define FOLIO_CUDA_TRY(stmt)                                                                        \
    do {                                                                                            \
        cudaError_t folio_err_ = (stmt);                                                            \
        if (folio_err_ != cudaSuccess)                                                              \
            return ::folio::kernels::cudaErrorText(folio_err_, #stmt, __FILE__, __LINE__);          \
    } while (0)
