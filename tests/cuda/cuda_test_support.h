// Helpers of the CUDA op tests: the skip rule, device arrays fenced by guard bytes, status checks,
// random data and tolerance checks.
#pragma once

#include "folio/kernels/cuda_runtime_probe.h"
#include "folio/kernels/formats.h"

#include <QString>
#include <algorithm>
#include <QtTest>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#ifdef FOLIO_HAVE_CUDA
#include "folio/kernels/cuda_memory.h"
#include "folio/kernels/cuda_ops.h"
#endif

namespace folio::test {

// Empty when the CUDA ops can run here; otherwise why not.
inline QString cudaSkipReason() {
#ifndef FOLIO_HAVE_CUDA
    return QStringLiteral("built without the CUDA backend (FOLIO_HAVE_CUDA is off)");
#else
    static const QString reason = [] {
        std::string why;
        if (!kernels::cudaDevices(&why).empty()) return QString();
        return QString::fromStdString(why.empty() ? std::string("no CUDA device") : why);
    }();
    return reason;
#endif
}

// First statement of every test function.
#define FOLIO_REQUIRE_CUDA()                                                                        \
    do {                                                                                            \
        const QString folio_why_ = ::folio::test::cudaSkipReason();                                 \
        if (!folio_why_.isEmpty()) QSKIP(qPrintable(folio_why_));                                   \
    } while (0)

#ifdef FOLIO_HAVE_CUDA

// Fails the test with the CUDA status' message.
#define FOLIO_CUDA_OK(expr)                                                                         \
    do {                                                                                            \
        const ::folio::kernels::cuda::CudaStatus folio_st_ = (expr);                                \
        QVERIFY2(folio_st_.ok(), folio_st_.error().c_str());                                        \
    } while (0)

// A device array of `count` T between two guard zones of canary bytes. Outputs are checked to leave
// the guards intact after each launch (an out-of-bounds write of a kernel shows up here).
template <typename T> class DeviceArray {
public:
    static constexpr std::size_t kGuard = 256; // bytes on each side; keeps the data 256-byte aligned
    static constexpr unsigned char kCanary = 0xCB;

    explicit DeviceArray(std::size_t count = 0) { reset(count); }
    explicit DeviceArray(const std::vector<T>& values) {
        reset(values.size());
        upload(values);
    }

    void reset(std::size_t count) {
        count_ = count;
        status_ = buf_.allocate(2 * kGuard + std::max<std::size_t>(count, 1) * sizeof(T));
        if (status_.ok()) status_ = kernels::cuda::fillBytes(buf_.data(), kCanary, buf_.bytes(), nullptr);
    }
    bool ok() const { return status_.ok(); }
    const std::string& error() const { return status_.error(); }

    T* get() const { return reinterpret_cast<T*>(static_cast<unsigned char*>(buf_.data()) + kGuard); }
    std::size_t size() const { return count_; }

    void upload(const std::vector<T>& values) {
        if (status_.ok() && !values.empty())
            status_ = kernels::cuda::copyToDevice(get(), values.data(), std::min(values.size(), count_) * sizeof(T), nullptr);
    }
    std::vector<T> download() {
        std::vector<T> out(count_);
        if (status_.ok() && count_) status_ = kernels::cuda::copyToHost(out.data(), get(), count_ * sizeof(T), nullptr);
        return out;
    }
    // True when both guard zones still hold the canary.
    bool guardsIntact() {
        std::vector<unsigned char> g(kGuard);
        const auto* base = static_cast<const unsigned char*>(buf_.data());
        const std::size_t tail = kGuard + std::max<std::size_t>(count_, 1) * sizeof(T);
        for (std::size_t off : {std::size_t(0), tail}) {
            if (!kernels::cuda::copyToHost(g.data(), base + off, kGuard, nullptr).ok()) return false;
            for (unsigned char c : g)
                if (c != kCanary) return false;
        }
        return true;
    }

private:
    kernels::cuda::DeviceBuffer buf_;
    kernels::cuda::CudaStatus status_;
    std::size_t count_ = 0;
};

#define FOLIO_GUARDS(arr) QVERIFY2((arr).guardsIntact(), "guard bytes around " #arr " were overwritten")

#endif // FOLIO_HAVE_CUDA

inline std::vector<float> randomFloats(std::size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// Checks |got - want| <= atol + rtol * scale per element (scale: |want|, or the given per-element
// scale such as sum |x_k w_k| of a dot product). Up to `outliers` elements may exceed it by at most
// `outlierTol` (quantization steps a last-bit difference can flip). Returns an empty string or a
// description of the worst element.
inline QString checkClose(const char* what, const std::vector<float>& got, const std::vector<double>& want, double atol,
                          double rtol, const std::vector<double>* scale = nullptr, int outliers = 0,
                          double outlierTol = 0.0) {
    if (got.size() < want.size())
        return QString("%1: %2 values, expected %3").arg(what).arg(got.size()).arg(want.size());
    int over = 0;
    double worst = -1.0;
    std::size_t worstAt = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const double s = scale ? (*scale)[i] : std::fabs(want[i]);
        const double err = std::fabs(double(got[i]) - want[i]);
        const double tol = atol + rtol * s;
        if (!(err <= tol)) {
            if (!(err <= outlierTol) || ++over > outliers)
                return QString("%1: element %2 is %3, expected %4 (error %5 > tolerance %6; %7 outliers)")
                    .arg(what).arg(i).arg(double(got[i]), 0, 'g', 9).arg(want[i], 0, 'g', 9).arg(err, 0, 'g', 3)
                    .arg(tol, 0, 'g', 3).arg(over);
        }
        if (err - tol > worst) {
            worst = err - tol;
            worstAt = i;
        }
    }
    (void)worstAt;
    return {};
}

inline std::vector<double> toDouble(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

} // namespace folio::test
