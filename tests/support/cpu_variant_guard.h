// The per-variant runs of the kernel and forward tests (ctest sets FOLIO_CPU=baseline|avx2|avx512)
// skip, with the reason, on a CPU that cannot run the variant instead of failing or dying of SIGILL.
#pragma once

#include "folio/backend.h"

#include <QtTest>

#include <string>

#define FOLIO_SKIP_UNLESS_CPU_VARIANT_RUNS()                                                             \
    do {                                                                                                 \
        std::string cpuVariantError_;                                                                    \
        if (!folio::cpuKernelsUsable(&cpuVariantError_)) QSKIP(cpuVariantError_.c_str());                \
    } while (false)
