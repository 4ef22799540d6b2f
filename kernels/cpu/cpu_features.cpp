// CPUID and XGETBV, and the choice of the kernel variant. Built with the project's portable flags:
// it must run on every x86-64 CPU to say which variant that CPU can take.
#include "folio/kernels/cpu_dispatch.h"

#include "kernel_table.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace folio::kernels {

namespace {

struct Regs {
    unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub = 0) {
    Regs r;
    if (!__get_cpuid_count(leaf, sub, &r.a, &r.b, &r.c, &r.d)) return {};
    return r;
}

// XCR0: which register states the OS saves on a context switch (without it, a CPU's AVX is off).
std::uint64_t xgetbv0() {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (std::uint64_t(hi) << 32) | lo;
}

bool bit(unsigned v, int b) { return (v >> b) & 1u; }

CpuFeatures detect() {
    CpuFeatures f;
    const Regs v = cpuid(0);
    char vendor[13] = {};
    std::memcpy(vendor, &v.b, 4);
    std::memcpy(vendor + 4, &v.d, 4);
    std::memcpy(vendor + 8, &v.c, 4);
    f.vendor = vendor;
    if (cpuid(0x80000000).a >= 0x80000004) {
        char brand[49] = {};
        for (unsigned i = 0; i < 3; ++i) {
            const Regs r = cpuid(0x80000002 + i);
            std::memcpy(brand + 16 * i, &r.a, 4);
            std::memcpy(brand + 16 * i + 4, &r.b, 4);
            std::memcpy(brand + 16 * i + 8, &r.c, 4);
            std::memcpy(brand + 16 * i + 12, &r.d, 4);
        }
        std::string s = brand;
        while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
        while (!s.empty() && s.front() == ' ') s.erase(s.begin());
        f.brand = s;
    }
    const unsigned maxLeaf = v.a;
    const Regs l1 = cpuid(1);
    const bool osxsave = bit(l1.c, 27);
    const std::uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    const bool ymmState = (xcr0 & 0x6) == 0x6;    // SSE and AVX state
    const bool zmmState = (xcr0 & 0xe6) == 0xe6;  // and opmask, ZMM_Hi256, Hi16_ZMM
    f.avx = ymmState && bit(l1.c, 28);
    f.fma = f.avx && bit(l1.c, 12);
    f.f16c = f.avx && bit(l1.c, 29);
    f.movbe = bit(l1.c, 22);
    f.lzcnt = bit(cpuid(0x80000001).c, 5);
    if (maxLeaf >= 7) {
        const Regs l7 = cpuid(7, 0);
        f.avx2 = f.avx && bit(l7.b, 5);
        f.bmi2 = bit(l7.b, 8);
        f.bmi1 = bit(l7.b, 3);
        f.avx512f = zmmState && bit(l7.b, 16);
        f.avx512dq = f.avx512f && bit(l7.b, 17);
        f.avx512cd = f.avx512f && bit(l7.b, 28);
        f.avx512bw = f.avx512f && bit(l7.b, 30);
        f.avx512vl = f.avx512f && bit(l7.b, 31);
        f.avx512vbmi = f.avx512f && bit(l7.c, 1);
        f.avx512vnni = f.avx512f && bit(l7.c, 11);
        if (l7.a >= 1) {
            const Regs l71 = cpuid(7, 1);
            f.avxVnni = f.avx && bit(l71.a, 4);
            f.avx512bf16 = f.avx512f && bit(l71.a, 5);
        }
    }
    return f;
}

// x86-64-v3, the avx2 variant's -march: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE.
bool hasV3(const CpuFeatures& f) {
    return f.avx && f.avx2 && f.fma && f.f16c && f.bmi1 && f.bmi2 && f.lzcnt && f.movbe;
}

std::string gHow; // how the active variant was chosen, for the description

} // namespace

const CpuFeatures& cpuFeatures() {
    static const CpuFeatures f = detect();
    return f;
}

const char* cpuVariantName(CpuVariant v) {
    switch (v) {
    case CpuVariant::Baseline: return "baseline";
    case CpuVariant::Avx2: return "avx2";
    case CpuVariant::Avx512: return "avx512";
    }
    return "?";
}

const char* cpuVariantRequirements(CpuVariant v) {
    switch (v) {
    case CpuVariant::Baseline: return "SSE2";
    case CpuVariant::Avx2: return "AVX2, FMA, F16C, BMI1, BMI2, LZCNT, MOVBE";
    case CpuVariant::Avx512: return "AVX-512 F, CD, BW, DQ, VL, VBMI and the avx2 variant's";
    }
    return "?";
}

bool cpuSupports(const CpuFeatures& f, CpuVariant v) {
    switch (v) {
    case CpuVariant::Baseline: return true;
    case CpuVariant::Avx2: return hasV3(f);
    case CpuVariant::Avx512:
        return hasV3(f) && f.avx512f && f.avx512cd && f.avx512bw && f.avx512dq && f.avx512vl && f.avx512vbmi;
    }
    return false;
}

CpuVariant bestCpuVariant(const CpuFeatures& f) {
    if (cpuSupports(f, CpuVariant::Avx512)) return CpuVariant::Avx512;
    if (cpuSupports(f, CpuVariant::Avx2)) return CpuVariant::Avx2;
    return CpuVariant::Baseline;
}

bool chooseCpuVariant(const char* requested, const CpuFeatures& f, CpuVariant* out, std::string* error) {
    const std::string r = requested ? requested : "";
    if (r.empty() || r == "auto") {
        *out = bestCpuVariant(f);
        return true;
    }
    CpuVariant v;
    if (r == "baseline") v = CpuVariant::Baseline;
    else if (r == "avx2") v = CpuVariant::Avx2;
    else if (r == "avx512") v = CpuVariant::Avx512;
    else {
        if (error) *error = "FOLIO_CPU=" + r + " is not a CPU variant; choose baseline, avx2, avx512 or auto";
        return false;
    }
    if (!cpuSupports(f, v)) {
        if (error)
            *error = "FOLIO_CPU=" + r + ": this CPU (" + (f.brand.empty() ? f.vendor : f.brand) + ") lacks " +
                     cpuVariantRequirements(v) + " support; it can run " +
                     cpuVariantName(bestCpuVariant(f)) + " and below";
        return false;
    }
    *out = v;
    return true;
}

CpuVariant activeCpuVariant() {
    static const CpuVariant v = [] {
        const char* env = std::getenv("FOLIO_CPU");
        CpuVariant chosen = CpuVariant::Baseline;
        std::string error;
        if (!chooseCpuVariant(env, cpuFeatures(), &chosen, &error)) throw std::runtime_error(error);
        gHow = env && *env && std::strcmp(env, "auto") != 0 ? std::string("forced by FOLIO_CPU=") + env
                                                              : std::string("the best this CPU runs");
        return chosen;
    }();
    return v;
}

std::string cpuVariantDescription() {
    const CpuVariant v = activeCpuVariant();
    const CpuFeatures& f = cpuFeatures();
    std::string s = std::string(cpuVariantName(v)) + " kernels (" + gHow + ")";
    s += " on " + (f.brand.empty() ? f.vendor : f.brand);
    std::string ext;
    auto add = [&](bool has, const char* name) {
        if (has) ext += std::string(ext.empty() ? "" : " ") + name;
    };
    add(f.avx2, "AVX2");
    add(f.fma, "FMA");
    add(f.f16c, "F16C");
    add(f.avx512f, "AVX512F");
    add(f.avx512bw, "BW");
    add(f.avx512vl, "VL");
    add(f.avx512vbmi, "VBMI");
    add(f.avx512vnni, "VNNI");
    add(f.avx512bf16, "BF16");
    s += " [" + (ext.empty() ? std::string("SSE2 only") : ext) + "]";
    return s;
}

std::string supportedCpuVariants() {
    std::string s;
    for (CpuVariant v : {CpuVariant::Baseline, CpuVariant::Avx2, CpuVariant::Avx512})
        if (cpuSupports(cpuFeatures(), v)) s += std::string(s.empty() ? "" : " ") + cpuVariantName(v);
    return s;
}

const CpuKernelTable& cpuKernels() {
    static const CpuKernelTable& t = [&]() -> const CpuKernelTable& {
        switch (activeCpuVariant()) {
        case CpuVariant::Avx512: return avx512::kernelTable();
        case CpuVariant::Avx2: return avx2::kernelTable();
        case CpuVariant::Baseline: break;
        }
        return baseline::kernelTable();
    }();
    return t;
}

} // namespace folio::kernels
