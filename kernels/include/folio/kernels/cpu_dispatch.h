// Which instruction-set variant of the CPU kernels runs. Every hot CPU kernel is built three times
// (kernels/cpu/{baseline,avx2,avx512}/, each translation unit with its own flags) and one table of
// them is chosen once, at the first kernel call, from CPUID and XGETBV, or from the FOLIO_CPU
// environment variable (baseline, avx2, avx512, or auto) for tests, benchmarks and bug reports.
#pragma once

#include <string>

namespace folio::kernels {

enum class CpuVariant : int { Baseline = 0, Avx2 = 1, Avx512 = 2 };

// What the processor and the operating system support (the OS must save the ymm/zmm state: XGETBV).
struct CpuFeatures {
    std::string vendor;
    std::string brand;
    bool avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool bmi1 = false, lzcnt = false, movbe = false; // also in x86-64-v3, the avx2 variant's -march
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512cd = false;
    bool avx512vbmi = false;
    bool avx512vnni = false, avx512bf16 = false, avxVnni = false;
};

const CpuFeatures& cpuFeatures();

// "baseline", "avx2", "avx512".
const char* cpuVariantName(CpuVariant v);

// The extensions a variant needs, for messages: "AVX2, FMA, F16C, BMI2".
const char* cpuVariantRequirements(CpuVariant v);

// Whether `f` can run the variant.
bool cpuSupports(const CpuFeatures& f, CpuVariant v);

// The best variant `f` can run.
CpuVariant bestCpuVariant(const CpuFeatures& f);

// The choice for a FOLIO_CPU value (null or empty or "auto": the best): false with `error` set for
// an unknown value (naming the choices) or a variant `f` cannot run (naming what is missing).
bool chooseCpuVariant(const char* requested, const CpuFeatures& f, CpuVariant* out, std::string* error);

// The variant in use: chosen on the first call, from FOLIO_CPU and this CPU. Throws
// std::runtime_error with chooseCpuVariant's message when FOLIO_CPU cannot be honoured; mains call
// it first so that the message is printed before anything runs.
CpuVariant activeCpuVariant();

// One line for `devices`, bench reports and the status bar: "avx512 (AVX-512 F/BW/VL/VBMI) on AMD
// EPYC; FOLIO_CPU=avx2" style: the variant, the CPU and how the choice was made.
std::string cpuVariantDescription();

// The variants this CPU can run, best last (the per-variant tests loop over them).
std::string supportedCpuVariants();

} // namespace folio::kernels
