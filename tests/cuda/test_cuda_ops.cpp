// The row-wise CUDA ops, number formats, GEMMs, mHC and sampling, each against its CPU reference
// (engine/src/model, kernels/cpu, formats.h, the engine's Sampler) on random inputs. Tolerances:
//   exact (0): embedding, Hadamard, window ring, quantization round trips, bf16 conversion and
//     weight dequantization (the same IEEE operations, none of them contractible into an FMA);
//   rmsNorm 1e-6 relative (double sums in another order can move rsqrt by one float ulp);
//   rope 4e-6 absolute for |x| ~ 1 (cos/sin of the same double angle may differ in the last float
//     ulp, and the CPU may contract x0*c - x1*s into an FMA);
//   GEMMs 1e-5 x sum|x_k w_k| (fp32 accumulation in another order; operands exact in bf16 after the
//     e4m3 round trip), 2^-8 x sum|x_k w_k| when unquantized activations are rounded to bf16;
//   mHC 2e-5 absolute for O(1) values (mixes summed in another order, then sigmoid/Sinkhorn);
//   sampling: the same token (probabilities and prefix sums in double).
// Every device output sits between guard bytes that are checked after the launch. Without a GPU
// every test skips and says why.
#include "cuda_test_support.h"
#include "folio/engine.h"
#include "folio/kernels/gemm.h"
#include "model/forward.h"
#include "model/ops.h"
#include "model/rope.h"

#include <QtTest>
#include <random>

using namespace folio;
using namespace folio::test;
using kernels::WeightFormat;

Q_DECLARE_METATYPE(kernels::WeightFormat)

class TestCudaOps : public QObject {
    Q_OBJECT
private slots:
    void embedding();
    void rmsNorm_data();
    void rmsNorm();
    void hadamard();
    void rope_data();
    void rope();
    void roundTrips_data();
    void roundTrips();
    void activationsToBf16();
    void dequantize_data();
    void dequantize();
    void linear_data();
    void linear();
    void groupedOutput();
    void hyperConnection_data();
    void hyperConnection();
    void windowStore();
    void argmax();
    void sampleTopP_data();
    void sampleTopP();
};

#ifdef FOLIO_HAVE_CUDA

namespace {

namespace kc = folio::kernels::cuda;

// A random checkpoint matrix in `f` and its CPU dequantization (kernels::dequantizeRow).
struct HostWeight {
    kernels::WeightMatrix w;
    std::vector<std::uint8_t> data, scales;
    std::vector<float> dense; // [rows, cols]
};

HostWeight makeWeight(WeightFormat f, std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
    HostWeight h;
    std::uniform_int_distribution<int> byte(0, 255), sc(118, 124);
    if (f == WeightFormat::F32) {
        const auto v = randomFloats(std::size_t(rows * cols), rng, 0.05f);
        h.data.resize(v.size() * 4);
        std::memcpy(h.data.data(), v.data(), h.data.size());
    } else if (f == WeightFormat::BF16) {
        h.data.resize(std::size_t(rows * cols) * 2);
        auto* d = reinterpret_cast<std::uint16_t*>(h.data.data());
        for (const float v : randomFloats(std::size_t(rows * cols), rng, 0.05f)) *d++ = kernels::f32ToBf16(v);
    } else if (f == WeightFormat::FP8Block128) {
        h.data.resize(std::size_t(rows * cols));
        for (auto& b : h.data) {
            do b = std::uint8_t(byte(rng));
            while ((b & 0x7f) == 0x7f); // no NaN codes
        }
        h.scales.resize(std::size_t(((rows + 127) / 128) * ((cols + 127) / 128)));
        for (auto& s : h.scales) s = std::uint8_t(sc(rng));
    } else {
        h.data.resize(std::size_t(rows * cols / 2));
        for (auto& b : h.data) b = std::uint8_t(byte(rng));
        h.scales.resize(std::size_t(rows * cols / 32));
        for (auto& s : h.scales) s = std::uint8_t(sc(rng));
    }
    h.w = {f, rows, cols, h.data.data(), h.scales.empty() ? nullptr : h.scales.data()};
    h.dense.resize(std::size_t(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r) kernels::dequantizeRow(h.w, r, 0, cols, &h.dense[std::size_t(r * cols)]);
    return h;
}

// The weight on the device (owns the arrays).
struct DevWeight {
    DeviceArray<std::uint8_t> data, scales;
    kc::DeviceWeight w;
    explicit DevWeight(const HostWeight& h) : data(h.data), scales(h.scales.empty() ? std::vector<std::uint8_t>{0} : h.scales) {
        w = {h.w.format, h.w.rows, h.w.cols, data.get(), h.scales.empty() ? nullptr : scales.get()};
    }
};

// The engine Sampler's first uniform draw for `seed` (splitmix64, 53 bits), so the device sampler
// can be given the same u.
double firstDraw(std::uint64_t seed) {
    std::uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return double(z >> 11) * 0x1.0p-53;
}

model::ModelConfig ropeConfig() {
    model::ModelConfig c;
    c.qkRopeHeadDim = 64;
    c.ropeTheta = 10000;
    c.compressRopeTheta = 160000;
    c.ropeScaling = {"yarn", 16.0, 65536, 32.0, 1.0};
    return c;
}

} // namespace

void TestCudaOps::embedding() {
    FOLIO_REQUIRE_CUDA();
    std::mt19937 rng(1);
    const std::int64_t V = 37, D = 300, n = 9;
    const int copies = 4;
    std::vector<std::uint16_t> table(std::size_t(V * D));
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = kernels::f32ToBf16(randomFloats(1, rng)[0]);
    std::vector<std::int32_t> tokens = {0, 36, 5, 5, 17, 1, 30, 2, 36};
    DeviceArray<std::uint16_t> dTable(table);
    DeviceArray<std::int32_t> dTokens(tokens);
    DeviceArray<float> h(std::size_t(n * copies * D));
    FOLIO_CUDA_OK(kc::embedTokens(dTable.get(), dTokens.get(), n, D, copies, h.get(), nullptr));
    FOLIO_GUARDS(h);
    const auto got = h.download();
    for (std::int64_t t = 0; t < n; ++t)
        for (int c = 0; c < copies; ++c)
            for (std::int64_t i = 0; i < D; ++i)
                QCOMPARE(got[std::size_t((t * copies + c) * D + i)], kernels::bf16ToF32(table[std::size_t(tokens[std::size_t(t)] * D + i)]));
}

void TestCudaOps::rmsNorm_data() {
    QTest::addColumn<int>("cols");
    QTest::addColumn<bool>("weighted");
    QTest::addColumn<bool>("inPlace");
    QTest::newRow("512 weighted") << 512 << true << false;
    QTest::newRow("4096 in place") << 4096 << true << true;
    QTest::newRow("1000 no weight") << 1000 << false << false;
    QTest::newRow("128 per head") << 128 << false << true;
}

void TestCudaOps::rmsNorm() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(int, cols);
    QFETCH(bool, weighted);
    QFETCH(bool, inPlace);
    std::mt19937 rng(2);
    const std::int64_t rows = 7, ld = cols + 3;
    auto x = randomFloats(std::size_t(rows * ld), rng, 3.0f);
    const auto w = randomFloats(std::size_t(cols), rng);
    DeviceArray<float> dx(x), dw(w), dy(std::size_t(rows * ld));
    float* out = inPlace ? dx.get() : dy.get();
    FOLIO_CUDA_OK(kc::rmsNorm(dx.get(), ld, weighted ? dw.get() : nullptr, rows, cols, 1e-6f, out, ld, nullptr));
    FOLIO_GUARDS(dx);
    FOLIO_GUARDS(dy);
    const auto got = inPlace ? dx.download() : dy.download();
    std::vector<float> gotRows, want;
    for (std::int64_t r = 0; r < rows; ++r) {
        std::vector<float> ref(static_cast<std::size_t>(cols));
        model::rmsNorm(&x[std::size_t(r * ld)], weighted ? w.data() : nullptr, cols, 1e-6f, ref.data());
        want.insert(want.end(), ref.begin(), ref.end());
        gotRows.insert(gotRows.end(), got.begin() + r * ld, got.begin() + r * ld + cols);
    }
    const QString err = checkClose("rmsNorm", gotRows, toDouble(want), 1e-12, 1e-6);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaOps::hadamard() {
    FOLIO_REQUIRE_CUDA();
    std::mt19937 rng(3);
    for (int n : {128, 512}) {
        const std::int64_t rows = 5, ld = n + 8;
        auto x = randomFloats(std::size_t(rows * ld), rng);
        DeviceArray<float> dx(x);
        FOLIO_CUDA_OK(kc::hadamard(dx.get(), rows, n, ld, nullptr));
        FOLIO_GUARDS(dx);
        const auto got = dx.download();
        for (std::int64_t r = 0; r < rows; ++r) {
            model::hadamard(&x[std::size_t(r * ld)], n);
            for (std::int64_t i = 0; i < ld; ++i) QCOMPARE(got[std::size_t(r * ld + i)], x[std::size_t(r * ld + i)]);
        }
    }
}

void TestCudaOps::rope_data() {
    QTest::addColumn<bool>("compressed");
    QTest::addColumn<qint64>("pos0");
    QTest::addColumn<bool>("inverse");
    for (bool c : {false, true})
        for (qint64 p : {qint64(0), qint64(65533), qint64(1048570)})
            for (bool inv : {false, true})
                QTest::newRow(qPrintable(QString("%1 pos %2 %3").arg(c ? "yarn" : "plain").arg(p).arg(inv ? "inverse" : "forward")))
                    << c << p << inv;
}

void TestCudaOps::rope() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(bool, compressed);
    QFETCH(qint64, pos0);
    QFETCH(bool, inverse);
    std::mt19937 rng(4);
    const model::ModelConfig cfg = ropeConfig();
    const model::Rope ref(cfg, compressed);
    const std::int64_t tokens = 3, heads = 4, hd = 512, rd = 64, rows = tokens * heads;
    auto x = randomFloats(std::size_t(rows * hd), rng);
    DeviceArray<double> freq(ref.frequencies());
    DeviceArray<float> dx(x);
    kc::RopeParams p;
    p.x = dx.get();
    p.rows = rows;
    p.ld = hd;
    p.offset = int(hd - rd);
    p.dim = int(rd);
    p.freq = freq.get();
    p.posBase = pos0;
    p.rowsPerPos = heads;
    p.posStep = 1;
    p.inverse = inverse;
    FOLIO_CUDA_OK(kc::rope(p, nullptr));
    FOLIO_GUARDS(dx);
    const auto got = dx.download();
    for (std::int64_t r = 0; r < rows; ++r) ref.apply(&x[std::size_t(r * hd + hd - rd)], pos0 + r / heads, inverse);
    const QString err = checkClose("rope", got, toDouble(x), 4e-6, 0.0);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaOps::roundTrips_data() {
    QTest::addColumn<bool>("e4m3");
    QTest::addColumn<int>("block");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("ld");
    QTest::newRow("e4m3 activations") << true << 128 << 4096 << 4096;
    QTest::newRow("e4m3 kv nope dims") << true << 64 << 448 << 512;
    QTest::newRow("e4m3 partial block") << true << 128 << 200 << 201;
    QTest::newRow("e2m1 indexer") << false << 32 << 128 << 128;
    QTest::newRow("e2m1 partial block") << false << 32 << 70 << 72;
}

void TestCudaOps::roundTrips() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(bool, e4m3);
    QFETCH(int, block);
    QFETCH(int, cols);
    QFETCH(int, ld);
    std::mt19937 rng(5);
    const std::int64_t rows = 6;
    std::vector<float> x;
    // Rows at very different magnitudes (scales from 2^-20 to 2^10), one all zero (amax clamp),
    // one with subnormal-range e4m3 values.
    const float sigmas[rows] = {1e-6f, 1e-2f, 1.0f, 300.0f, 0.0f, 0.05f};
    for (std::int64_t r = 0; r < rows; ++r) {
        auto v = randomFloats(std::size_t(ld), rng, sigmas[r] == 0.0f ? 1.0f : sigmas[r]);
        if (sigmas[r] == 0.0f) std::fill(v.begin(), v.end(), 0.0f);
        if (r == 5) v[3] = 200.0f; // the rest of its block falls into e4m3's subnormals
        x.insert(x.end(), v.begin(), v.end());
    }
    DeviceArray<float> dx(x);
    FOLIO_CUDA_OK(e4m3 ? kc::roundTripE4m3(dx.get(), rows, cols, ld, block, nullptr)
                       : kc::roundTripE2m1(dx.get(), rows, cols, ld, block, nullptr));
    FOLIO_GUARDS(dx);
    const auto got = dx.download();
    for (std::int64_t r = 0; r < rows; ++r) {
        if (e4m3) kernels::roundTripE4m3(&x[std::size_t(r * ld)], cols, block);
        else kernels::roundTripE2m1(&x[std::size_t(r * ld)], cols, block);
    }
    for (std::size_t i = 0; i < x.size(); ++i)
        QVERIFY2(got[i] == x[i] || (std::isnan(got[i]) && std::isnan(x[i])),
                 qPrintable(QString("element %1: %2 vs CPU %3").arg(i).arg(got[i], 0, 'g', 9).arg(x[i], 0, 'g', 9)));
}

void TestCudaOps::activationsToBf16() {
    FOLIO_REQUIRE_CUDA();
    std::mt19937 rng(6);
    const std::int64_t rows = 3, cols = 1000, ldx = 1024;
    const auto x = randomFloats(std::size_t(rows * ldx), rng, 2.0f);
    for (bool quantize : {true, false}) {
        DeviceArray<float> dx(x);
        DeviceArray<std::uint16_t> out(std::size_t(rows * cols));
        FOLIO_CUDA_OK(kc::activationsToBf16(dx.get(), rows, cols, ldx, quantize, out.get(), cols, nullptr));
        FOLIO_GUARDS(out);
        const auto got = out.download();
        for (std::int64_t r = 0; r < rows; ++r) {
            std::vector<float> row(x.begin() + r * ldx, x.begin() + r * ldx + cols);
            if (quantize) kernels::quantizeActivations(row.data(), 1, cols, nullptr);
            for (std::int64_t i = 0; i < cols; ++i) {
                const std::uint16_t want = kernels::f32ToBf16(row[std::size_t(i)]);
                QCOMPARE(got[std::size_t(r * cols + i)], want);
                // After the round trip bf16 holds the value exactly.
                if (quantize) QCOMPARE(kernels::bf16ToF32(want), row[std::size_t(i)]);
            }
        }
    }
}

void TestCudaOps::dequantize_data() {
    QTest::addColumn<kernels::WeightFormat>("format");
    QTest::addColumn<qint64>("rows");
    QTest::addColumn<qint64>("cols");
    QTest::newRow("fp8 e4m3, partial 128-blocks") << WeightFormat::FP8Block128 << qint64(300) << qint64(260);
    QTest::newRow("fp4 e2m1") << WeightFormat::FP4Row32 << qint64(70) << qint64(256);
    QTest::newRow("bf16") << WeightFormat::BF16 << qint64(10) << qint64(33);
}

void TestCudaOps::dequantize() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(kernels::WeightFormat, format);
    QFETCH(qint64, rows);
    QFETCH(qint64, cols);
    std::mt19937 rng(7);
    const HostWeight h = makeWeight(format, rows, cols, rng);
    DevWeight d(h);
    const std::int64_t begin = 5, count = rows - 9;
    DeviceArray<std::uint16_t> out(std::size_t(count * cols));
    FOLIO_CUDA_OK(kc::dequantizeToBf16(d.w, begin, count, out.get(), nullptr));
    FOLIO_GUARDS(out);
    const auto got = out.download();
    for (std::int64_t r = 0; r < count; ++r)
        for (std::int64_t c = 0; c < cols; ++c) {
            const float want = h.dense[std::size_t((begin + r) * cols + c)];
            QCOMPARE(kernels::bf16ToF32(got[std::size_t(r * cols + c)]), want); // exact: fits bf16
        }
}

void TestCudaOps::linear_data() {
    QTest::addColumn<kernels::WeightFormat>("format");
    QTest::addColumn<bool>("quantize");
    QTest::newRow("fp8, quantized activations") << WeightFormat::FP8Block128 << true;
    QTest::newRow("fp8, bf16 activations") << WeightFormat::FP8Block128 << false;
    QTest::newRow("fp4, quantized activations") << WeightFormat::FP4Row32 << true;
    QTest::newRow("bf16 weights, fp32 activations") << WeightFormat::BF16 << false;
    QTest::newRow("f32 weights") << WeightFormat::F32 << false;
}

void TestCudaOps::linear() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(kernels::WeightFormat, format);
    QFETCH(bool, quantize);
    std::mt19937 rng(8);
    const std::int64_t n = 5, rows = 300, cols = 512, ldx = cols + 16, rowBegin = 7, rowCount = 250, ldy = 260;
    const HostWeight h = makeWeight(format, rows, cols, rng);
    DevWeight d(h);
    const auto x = randomFloats(std::size_t(n * ldx), rng);
    DeviceArray<float> dx(x), dy(std::size_t(n * ldy));
    kc::BlasContext blas;
    FOLIO_CUDA_OK(blas.create());
    kc::LinearScratch scratch;
    scratch.weightTileBytes = 128 * cols * 2; // several weight tiles
    FOLIO_CUDA_OK(kc::linear(blas, scratch, d.w, rowBegin, rowCount, dx.get(), n, ldx, quantize, dy.get(), ldy, nullptr));
    FOLIO_GUARDS(dy);
    const auto got = dy.download();
    // Reference: the CPU's activation quantization and dequantized weights, products in double.
    std::vector<float> xs(x);
    const bool q = quantize && h.w.quantized();
    for (std::int64_t t = 0; t < n && q; ++t) kernels::quantizeActivations(&xs[std::size_t(t * ldx)], 1, cols, nullptr);
    std::vector<float> gotV;
    std::vector<double> want, scale;
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < rowCount; ++r) {
            double s = 0, a = 0;
            for (std::int64_t k = 0; k < cols; ++k) {
                const double p = double(xs[std::size_t(t * ldx + k)]) * h.dense[std::size_t((rowBegin + r) * cols + k)];
                s += p;
                a += std::fabs(p);
            }
            want.push_back(s);
            scale.push_back(a);
            gotV.push_back(got[std::size_t(t * ldy + r)]);
        }
    // Unquantized activations are rounded to bf16 on the way into the bf16 GEMM: 2^-9 relative each.
    const double rtol = (h.w.quantized() && !quantize) ? 1.0 / 256 : 1e-5;
    const QString err = checkClose("linear", gotV, want, 1e-6, rtol, &scale);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaOps::groupedOutput() {
    FOLIO_REQUIRE_CUDA();
    std::mt19937 rng(9);
    const int G = 4;
    const std::int64_t ol = 64, groupIn = 256, n = 3;
    const HostWeight h = makeWeight(WeightFormat::FP8Block128, G * ol, groupIn, rng);
    DevWeight d(h);
    const auto o = randomFloats(std::size_t(n * G * groupIn), rng);
    DeviceArray<float> dO(o), z(std::size_t(n * G * ol));
    kc::BlasContext blas;
    FOLIO_CUDA_OK(blas.create());
    kc::LinearScratch scratch;
    FOLIO_CUDA_OK(kc::groupedOutput(blas, scratch, d.w, G, dO.get(), n, true, z.get(), nullptr));
    FOLIO_GUARDS(z);
    const auto got = z.download();
    std::vector<float> oq(o);
    kernels::quantizeActivations(oq.data(), n, G * groupIn, nullptr);
    std::vector<double> want, scale;
    for (std::int64_t t = 0; t < n; ++t)
        for (int g = 0; g < G; ++g)
            for (std::int64_t r = 0; r < ol; ++r) {
                double s = 0, a = 0;
                for (std::int64_t k = 0; k < groupIn; ++k) {
                    const double p = double(oq[std::size_t(t * G * groupIn + g * groupIn + k)]) *
                                     h.dense[std::size_t((g * ol + r) * groupIn + k)];
                    s += p;
                    a += std::fabs(p);
                }
                want.push_back(s);
                scale.push_back(a);
            }
    const QString err = checkClose("groupedOutput", got, want, 1e-6, 1e-5, &scale);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaOps::hyperConnection_data() {
    QTest::addColumn<bool>("head");
    QTest::newRow("sub-layer (Sinkhorn)") << false;
    QTest::newRow("head (pre only)") << true;
}

void TestCudaOps::hyperConnection() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(bool, head);
    std::mt19937 rng(10);
    const int hc = 4, D = 256, iters = 20;
    const std::int64_t n = 3, mixN = head ? hc : (2 + hc) * hc;
    const double normEps = 1e-6;
    const float hcEps = 1e-6f;
    const auto h = randomFloats(std::size_t(n * hc * D), rng);
    const auto fn = randomFloats(std::size_t(mixN * hc * D), rng, 0.03f);
    model::HyperConnection conn;
    conn.base = randomFloats(std::size_t(mixN), rng, 0.5f);
    conn.scale = randomFloats(head ? 1 : 3, rng, 0.5f);
    conn.fn = {WeightFormat::F32, mixN, hc * D, fn.data(), nullptr};

    DeviceArray<float> dh(h), dfn(fn), dbase(conn.base), dscale(conn.scale);
    DeviceArray<float> x(std::size_t(n * D)), post(std::size_t(n * hc)), comb(std::size_t(n * hc * hc));
    kc::HcParams p;
    p.h = dh.get();
    p.fn = dfn.get();
    p.base = dbase.get();
    p.scale = dscale.get();
    p.n = n;
    p.copies = hc;
    p.dim = D;
    p.iters = iters;
    p.hcEps = hcEps;
    p.normEps = normEps;
    p.head = head;
    p.x = x.get();
    p.post = post.get();
    p.comb = comb.get();
    FOLIO_CUDA_OK(kc::hcPre(p, nullptr));
    FOLIO_GUARDS(x);
    FOLIO_GUARDS(post);
    FOLIO_GUARDS(comb);

    // CPU: LayerRunner::run / Forward::head.
    std::vector<float> mixes(std::size_t(n * mixN));
    kernels::gemm(h.data(), n, conn.fn, mixes.data(), nullptr);
    std::vector<double> wantX, wantPost, wantComb;
    std::vector<model::HcMix> mix(static_cast<std::size_t>(n));
    for (std::int64_t t = 0; t < n; ++t) {
        const float* ht = &h[std::size_t(t * hc * D)];
        double ss = 0.0;
        for (int i = 0; i < hc * D; ++i) ss += double(ht[i]) * ht[i];
        const float r = float(1.0 / std::sqrt(ss / double(hc * D) + normEps));
        for (std::int64_t i = 0; i < mixN; ++i) mixes[std::size_t(t * mixN + i)] *= r;
        model::hcSplit(&mixes[std::size_t(t * mixN)], conn, hc, head ? 0 : iters, hcEps, &mix[std::size_t(t)]);
        for (int i = 0; i < D; ++i) {
            double v = 0;
            for (int c = 0; c < hc; ++c) v += double(mix[std::size_t(t)].pre[std::size_t(c)]) * ht[c * D + i];
            wantX.push_back(v);
        }
        if (!head) {
            wantPost.insert(wantPost.end(), mix[std::size_t(t)].post.begin(), mix[std::size_t(t)].post.end());
            wantComb.insert(wantComb.end(), mix[std::size_t(t)].comb.begin(), mix[std::size_t(t)].comb.end());
        }
    }
    QString err = checkClose("hcPre x", x.download(), wantX, 2e-5, 0.0);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    if (head) return;
    err = checkClose("hcPre post", post.download(), wantPost, 2e-5, 0.0);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    err = checkClose("hcPre comb", comb.download(), wantComb, 2e-5, 0.0);
    QVERIFY2(err.isEmpty(), qPrintable(err));

    // hcPost from the CPU's post/comb: h'_j = post_j y + sum_i comb[i][j] h_i.
    const auto y = randomFloats(std::size_t(n * D), rng);
    std::vector<float> cpuPost, cpuComb;
    for (const auto& m : mix) {
        cpuPost.insert(cpuPost.end(), m.post.begin(), m.post.end());
        cpuComb.insert(cpuComb.end(), m.comb.begin(), m.comb.end());
    }
    DeviceArray<float> dy(y), dpost(cpuPost), dcomb(cpuComb);
    FOLIO_CUDA_OK(kc::hcPost(dh.get(), dy.get(), dpost.get(), dcomb.get(), n, hc, D, nullptr));
    FOLIO_GUARDS(dh);
    std::vector<double> want, scale;
    for (std::int64_t t = 0; t < n; ++t)
        for (int j = 0; j < hc; ++j)
            for (int i = 0; i < D; ++i) {
                double v = double(cpuPost[std::size_t(t * hc + j)]) * y[std::size_t(t * D + i)];
                double a = std::fabs(v);
                for (int c = 0; c < hc; ++c) {
                    const double term = double(cpuComb[std::size_t(t * hc * hc + c * hc + j)]) * h[std::size_t((t * hc + c) * D + i)];
                    v += term;
                    a += std::fabs(term);
                }
                want.push_back(v);
                scale.push_back(a);
            }
    err = checkClose("hcPost", dh.download(), want, 1e-7, 1e-6, &scale);
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCudaOps::windowStore() {
    FOLIO_REQUIRE_CUDA();
    std::mt19937 rng(11);
    const int W = 128, hd = 64;
    for (const auto& [n, pos0] : {std::pair<std::int64_t, std::int64_t>{5, 126}, {300, 1000}}) {
        auto ring = randomFloats(std::size_t(W * hd), rng);
        const auto kv = randomFloats(std::size_t(n * hd), rng);
        DeviceArray<float> dRing(ring), dKv(kv);
        FOLIO_CUDA_OK(kc::windowStore(dKv.get(), n, pos0, hd, W, dRing.get(), nullptr));
        FOLIO_GUARDS(dRing);
        for (std::int64_t t = std::max<std::int64_t>(0, n - W); t < n; ++t)
            std::copy(&kv[std::size_t(t * hd)], &kv[std::size_t((t + 1) * hd)], &ring[std::size_t(((pos0 + t) % W) * hd)]);
        QVERIFY(dRing.download() == ring);
    }
}

void TestCudaOps::argmax() {
    FOLIO_REQUIRE_CUDA();
    std::mt19937 rng(12);
    auto logits = randomFloats(129280, rng, 3.0f);
    logits[777] = 50.0f;
    logits[99999] = 50.0f; // equal maxima: the first wins, as std::max_element
    DeviceArray<float> d(logits);
    DeviceArray<std::int32_t> tok(1);
    FOLIO_CUDA_OK(kc::argmax(d.get(), std::int64_t(logits.size()), tok.get(), nullptr));
    FOLIO_GUARDS(tok);
    QCOMPARE(tok.download()[0], 777);
}

void TestCudaOps::sampleTopP_data() {
    QTest::addColumn<float>("temperature");
    QTest::addColumn<float>("topP");
    QTest::newRow("T 1, p 1") << 1.0f << 1.0f;
    QTest::newRow("T 0.7, p 0.9") << 0.7f << 0.9f;
    QTest::newRow("T 1.3, p 0.5") << 1.3f << 0.5f;
    QTest::newRow("greedy") << 0.0f << 1.0f;
}

void TestCudaOps::sampleTopP() {
    FOLIO_REQUIRE_CUDA();
    QFETCH(float, temperature);
    QFETCH(float, topP);
    std::mt19937 rng(13);
    const auto logits = randomFloats(5000, rng, 2.0f);
    DeviceArray<float> d(logits);
    DeviceArray<std::int32_t> tok(1);
    kc::SamplerWorkspace ws;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        Sampler cpu(SamplingParams{temperature, topP, seed});
        const std::int32_t want = cpu.sample(logits);
        FOLIO_CUDA_OK(kc::sampleTopP(d.get(), std::int64_t(logits.size()), temperature, topP, firstDraw(seed), ws,
                                     tok.get(), nullptr));
        FOLIO_GUARDS(tok);
        QCOMPARE(tok.download()[0], want);
    }
}

#else // no CUDA backend in this build

#define FOLIO_SKIP_ALL(fn) void TestCudaOps::fn() { FOLIO_REQUIRE_CUDA(); }
FOLIO_SKIP_ALL(embedding)
FOLIO_SKIP_ALL(rmsNorm_data)
FOLIO_SKIP_ALL(rmsNorm)
FOLIO_SKIP_ALL(hadamard)
FOLIO_SKIP_ALL(rope_data)
FOLIO_SKIP_ALL(rope)
FOLIO_SKIP_ALL(roundTrips_data)
FOLIO_SKIP_ALL(roundTrips)
FOLIO_SKIP_ALL(activationsToBf16)
FOLIO_SKIP_ALL(dequantize_data)
FOLIO_SKIP_ALL(dequantize)
FOLIO_SKIP_ALL(linear_data)
FOLIO_SKIP_ALL(linear)
FOLIO_SKIP_ALL(groupedOutput)
FOLIO_SKIP_ALL(hyperConnection_data)
FOLIO_SKIP_ALL(hyperConnection)
FOLIO_SKIP_ALL(windowStore)
FOLIO_SKIP_ALL(argmax)
FOLIO_SKIP_ALL(sampleTopP_data)
FOLIO_SKIP_ALL(sampleTopP)

#endif

QTEST_GUILESS_MAIN(TestCudaOps)
#include "test_cuda_ops.moc"
