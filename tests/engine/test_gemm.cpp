// The quantized GEMM against a plain double-precision product of the independently dequantized
// weights (the reference's decoders), for every weight format, odd shapes and with threads.
#include "folio/kernels/formats.h"
#include "folio/kernels/gemm.h"
#include "folio/kernels/thread_pool.h"
#include "reference/reference_model.h"

#include "cpu_variant_guard.h"

#include <QtTest>
#include <cstring>
#include <random>

using namespace folio::kernels;

class TestGemm : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { FOLIO_SKIP_UNLESS_CPU_VARIANT_RUNS(); }
    void matchesReference_data();
    void matchesReference();
    void rowSubsetAndStrides();
    void oneTokenIsBitIdenticalToABatch();
};

namespace {

// IEEE half, decoded by its definition.
double refHalf(std::uint16_t h) {
    const int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    const double v = exp == 0 ? std::ldexp(double(man), -24) : std::ldexp(1024.0 + man, exp - 25);
    return sign ? -v : v;
}

struct Packed {
    std::vector<std::uint8_t> data, scales;
    std::vector<double> dense; // [rows, cols] as the reference decodes it
    WeightMatrix w;
};

Packed make(WeightFormat f, int rows, int cols, std::mt19937& rng) {
    Packed p;
    p.dense.resize(std::size_t(rows) * cols);
    std::uniform_int_distribution<int> byte(0, 255), sc(118, 124);
    p.w = {f, rows, cols, nullptr, nullptr};
    if (f == WeightFormat::BF16) {
        p.data.resize(std::size_t(rows) * cols * 2);
        auto* d = reinterpret_cast<std::uint16_t*>(p.data.data());
        std::normal_distribution<float> n(0, 0.1f);
        for (std::size_t i = 0; i < p.dense.size(); ++i) p.dense[i] = bf16ToF32(d[i] = f32ToBf16(n(rng)));
    } else if (f == WeightFormat::FP8Block128) {
        p.data.resize(std::size_t(rows) * cols);
        const int sr = (rows + 127) / 128, scn = (cols + 127) / 128;
        p.scales.resize(std::size_t(sr) * scn);
        for (auto& s : p.scales) s = std::uint8_t(sc(rng));
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) {
                std::uint8_t b = std::uint8_t(byte(rng));
                if ((b & 0x7f) == 0x7f) b = 0; // no NaNs
                p.data[std::size_t(r) * cols + c] = b;
                p.dense[std::size_t(r) * cols + c] = folio::reference::refE4m3(b) * std::ldexp(1.0, p.scales[std::size_t(r / 128 * scn + c / 128)] - 127);
            }
    } else if (f == WeightFormat::Q8_0) {
        // ggml's block_q8_0: f16 scale, then 32 int8 values; value = scale * q.
        const int blocks = cols / 32;
        p.data.resize(std::size_t(rows) * blocks * 34);
        std::uniform_int_distribution<int> q(-127, 127), mant(0, 1023), ex(8, 14);
        for (int r = 0; r < rows; ++r)
            for (int b = 0; b < blocks; ++b) {
                std::uint8_t* blk = &p.data[(std::size_t(r) * blocks + b) * 34];
                const std::uint16_t h = std::uint16_t((byte(rng) & 0x80) << 8 | ex(rng) << 10 | mant(rng));
                blk[0] = std::uint8_t(h & 0xff);
                blk[1] = std::uint8_t(h >> 8);
                for (int i = 0; i < 32; ++i) {
                    const auto v = std::int8_t(q(rng));
                    std::memcpy(&blk[2 + i], &v, 1);
                    p.dense[std::size_t(r) * cols + b * 32 + i] = refHalf(h) * v;
                }
            }
    } else if (blockLayout(f).values == 256) {
        // The super-block formats (K-quants, IQ4_XS): random codes and scales, f16 scale fields of
        // moderate size. `dense` is not filled: their values are checked against gguf-py in
        // test_ggml_dequant; here they serve the batch / one-token agreement only.
        const BlockLayout layout = blockLayout(f);
        const int blocks = cols / 256;
        p.data.resize(std::size_t(rows) * blocks * std::size_t(layout.bytes));
        for (auto& b : p.data) b = std::uint8_t(byte(rng));
        std::vector<int> halves;
        if (f == WeightFormat::Q4_K || f == WeightFormat::Q5_K) halves = {0, 2};
        else if (f == WeightFormat::Q6_K) halves = {208};
        else if (f == WeightFormat::Q3_K) halves = {108};
        else if (f == WeightFormat::Q2_K) halves = {80, 82};
        else halves = {0};
        std::uniform_int_distribution<int> mant(0, 1023), ex(5, 12);
        for (int blk = 0; blk < rows * blocks; ++blk)
            for (int off : halves) {
                const std::uint16_t h = std::uint16_t((byte(rng) & 0x80) << 8 | ex(rng) << 10 | mant(rng));
                p.data[std::size_t(blk) * layout.bytes + off] = std::uint8_t(h & 0xff);
                p.data[std::size_t(blk) * layout.bytes + off + 1] = std::uint8_t(h >> 8);
            }
    } else if (f == WeightFormat::MXFP4) {
        // ggml's block_mxfp4: a UE8M0 byte, then 16 bytes: low nibbles values 0-15, high 16-31.
        const int blocks = cols / 32;
        p.data.resize(std::size_t(rows) * blocks * 17);
        for (int r = 0; r < rows; ++r)
            for (int b = 0; b < blocks; ++b) {
                std::uint8_t* blk = &p.data[(std::size_t(r) * blocks + b) * 17];
                blk[0] = std::uint8_t(sc(rng));
                for (int i = 0; i < 16; ++i) blk[1 + i] = std::uint8_t(byte(rng));
                for (int i = 0; i < 32; ++i) {
                    const int nib = i < 16 ? blk[1 + i] & 15 : blk[1 + i - 16] >> 4;
                    p.dense[std::size_t(r) * cols + b * 32 + i] = folio::reference::refE2m1(std::uint8_t(nib)) * std::ldexp(1.0, blk[0] - 127);
                }
            }
    } else {
        p.data.resize(std::size_t(rows) * cols / 2);
        p.scales.resize(std::size_t(rows) * cols / 32);
        for (auto& s : p.scales) s = std::uint8_t(sc(rng));
        for (auto& b : p.data) b = std::uint8_t(byte(rng));
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) {
                const std::uint8_t b = p.data[std::size_t(r) * cols / 2 + c / 2];
                p.dense[std::size_t(r) * cols + c] = folio::reference::refE2m1(c % 2 ? b >> 4 : b & 15) *
                                                      std::ldexp(1.0, p.scales[std::size_t(r) * cols / 32 + c / 32] - 127);
            }
    }
    p.w.data = p.data.data();
    p.w.scales = p.scales.empty() ? nullptr : p.scales.data();
    return p;
}

} // namespace

void TestGemm::matchesReference_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("threads");
    QTest::newRow("bf16 1x70x33") << int(WeightFormat::BF16) << 1 << 70 << 33 << 1;
    QTest::newRow("bf16 7x130x600 mt") << int(WeightFormat::BF16) << 7 << 130 << 600 << 2;
    QTest::newRow("fp8 5x200x300") << int(WeightFormat::FP8Block128) << 5 << 200 << 300 << 1;
    QTest::newRow("fp8 33x257x1100 mt") << int(WeightFormat::FP8Block128) << 33 << 257 << 1100 << 2;
    QTest::newRow("fp4 3x96x64") << int(WeightFormat::FP4Row32) << 3 << 96 << 64 << 1;
    QTest::newRow("fp4 9x300x1056 mt") << int(WeightFormat::FP4Row32) << 9 << 300 << 1056 << 2;
    // One token (decode) takes its own path.
    QTest::newRow("fp8 1x257x1100 mt") << int(WeightFormat::FP8Block128) << 1 << 257 << 1100 << 2;
    QTest::newRow("fp4 1x300x1056 mt") << int(WeightFormat::FP4Row32) << 1 << 300 << 1056 << 2;
    QTest::newRow("bf16 1x129x530 mt") << int(WeightFormat::BF16) << 1 << 129 << 530 << 2;
    // ggml's blocks (GGUF files).
    QTest::newRow("q8_0 5x70x96") << int(WeightFormat::Q8_0) << 5 << 70 << 96 << 1;
    QTest::newRow("q8_0 9x300x1056 mt") << int(WeightFormat::Q8_0) << 9 << 300 << 1056 << 2;
    QTest::newRow("q8_0 1x257x1024 mt") << int(WeightFormat::Q8_0) << 1 << 257 << 1024 << 2;
    QTest::newRow("mxfp4 3x96x64") << int(WeightFormat::MXFP4) << 3 << 96 << 64 << 1;
    QTest::newRow("mxfp4 9x300x1056 mt") << int(WeightFormat::MXFP4) << 9 << 300 << 1056 << 2;
    QTest::newRow("mxfp4 1x300x1056 mt") << int(WeightFormat::MXFP4) << 1 << 300 << 1056 << 2;
}

void TestGemm::matchesReference() {
    QFETCH(int, format);
    QFETCH(int, n);
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, threads);
    std::mt19937 rng(42);
    const Packed p = make(WeightFormat(format), rows, cols, rng);
    std::normal_distribution<float> nd(0, 1);
    std::vector<float> x(std::size_t(n) * cols);
    for (float& v : x) v = nd(rng);
    std::vector<float> y(std::size_t(n) * rows, -1.0f);
    ThreadPool pool(threads);
    gemm(x.data(), n, p.w, y.data(), &pool);
    // fp32 accumulation over `cols` products: relative error ~ sqrt(cols) * 2^-24 of the sum of |terms|.
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < rows; ++r) {
            double exact = 0, mag = 0;
            for (int c = 0; c < cols; ++c) {
                exact += p.dense[std::size_t(r) * cols + c] * x[std::size_t(t) * cols + c];
                mag += std::fabs(p.dense[std::size_t(r) * cols + c] * x[std::size_t(t) * cols + c]);
            }
            const double err = std::fabs(y[std::size_t(t) * rows + r] - exact);
            QVERIFY2(err <= 1e-5 * mag + 1e-30, qPrintable(QString("t=%1 r=%2 got %3 want %4").arg(t).arg(r).arg(y[std::size_t(t) * rows + r]).arg(exact)));
        }
}

void TestGemm::rowSubsetAndStrides() {
    std::mt19937 rng(3);
    const Packed p = make(WeightFormat::FP8Block128, 256, 256, rng);
    std::vector<float> x(3 * 300, 0.0f); // ldx 300 > cols
    for (int t = 0; t < 3; ++t)
        for (int c = 0; c < 256; ++c) x[std::size_t(t * 300 + c)] = float((t + 1) * (c % 5) - 2);
    std::vector<float> y(3 * 50, 7.0f);
    gemm(x.data(), 3, 300, p.w, 130, 40, y.data(), 50, nullptr); // rows 130..169 into columns 0..39
    for (int t = 0; t < 3; ++t) {
        for (int r = 0; r < 40; ++r) {
            double exact = 0;
            for (int c = 0; c < 256; ++c) exact += p.dense[std::size_t(130 + r) * 256 + c] * x[std::size_t(t * 300 + c)];
            QVERIFY(std::fabs(y[std::size_t(t * 50 + r)] - exact) < 1e-4 * (1 + std::fabs(exact)));
        }
        for (int r = 40; r < 50; ++r) QCOMPARE(y[std::size_t(t * 50 + r)], 7.0f); // untouched
    }
}

void TestGemm::oneTokenIsBitIdenticalToABatch() {
    // A decode step multiplies one token; a prefill chunk multiplies many. The engine's promise that
    // chunked prefill and decode give the same logits rests on every output being computed in the
    // same order either way: compare bit for bit, for every format, with shapes that cross K tiles
    // (256), end off a 16-wide block, leave partial 32-row panels and start at an odd row.
    // Widths that are a multiple of the K tile take the grouped one-token path (16-row groups, four
    // K tiles at once, fewer than four at the end); the others the general one. `extreme` puts
    // scales of 2^-127, 2^-126, 2^120 and 2^121 among the ordinary ones (fp8 folds 2^8 into its
    // scales except where that would overflow).
    struct Shape {
        WeightFormat f;
        int rows, cols, rowBegin, rowCount, threads;
        bool extreme = false;
    };
    const Shape shapes[] = {{WeightFormat::BF16, 70, 33, 0, 70, 1},
                            {WeightFormat::BF16, 300, 530, 3, 290, 2},
                            {WeightFormat::FP8Block128, 257, 1100, 0, 257, 2},
                            {WeightFormat::FP8Block128, 384, 300, 130, 200, 1},
                            {WeightFormat::FP4Row32, 300, 1056, 0, 300, 2},
                            {WeightFormat::FP4Row32, 160, 96, 17, 111, 1},
                            {WeightFormat::BF16, 300, 512, 3, 290, 2},
                            {WeightFormat::BF16, 48, 1280, 0, 48, 1},
                            {WeightFormat::FP8Block128, 384, 1280, 120, 250, 2, true},
                            {WeightFormat::FP8Block128, 160, 256, 0, 160, 1},
                            {WeightFormat::FP4Row32, 200, 768, 5, 190, 1},
                            {WeightFormat::FP4Row32, 64, 2304, 0, 64, 2, true},
                            // Past the threading cut-off (2^20 flops per token): tasks on both
                            // threads and the row tail as a task of its own.
                            {WeightFormat::BF16, 1030, 512, 0, 1030, 2},
                            {WeightFormat::FP8Block128, 1040, 768, 6, 1030, 2},
                            {WeightFormat::Q8_0, 300, 1056, 3, 290, 2},
                            {WeightFormat::Q8_0, 300, 1280, 3, 290, 1},
                            {WeightFormat::Q8_0, 1030, 512, 0, 1030, 2},
                            {WeightFormat::Q8_0, 64, 96, 0, 64, 1},
                            {WeightFormat::MXFP4, 300, 1024, 5, 290, 2},
                            {WeightFormat::MXFP4, 40, 64, 0, 40, 1},
                            // The K-quants: Q4_K and Q6_K have grouped one-token decoders (AVX-512), the
                            // others the general path; row tails and the threading cut-off included.
                            {WeightFormat::Q4_K, 300, 1024, 3, 290, 2},
                            {WeightFormat::Q4_K, 40, 512, 0, 40, 1},
                            {WeightFormat::Q6_K, 300, 1280, 5, 290, 2},
                            {WeightFormat::Q6_K, 40, 256, 0, 40, 1},
                            {WeightFormat::Q5_K, 100, 512, 0, 100, 2},
                            {WeightFormat::Q3_K, 100, 512, 0, 100, 1},
                            {WeightFormat::Q2_K, 100, 768, 2, 90, 2},
                            {WeightFormat::IQ4_XS, 100, 512, 0, 100, 1}};
    std::mt19937 rng(11);
    for (const Shape& sh : shapes) {
        Packed p = make(sh.f, sh.rows, sh.cols, rng);
        if (sh.extreme) {
            const std::uint8_t odd[] = {0, 1, 247, 248};
            for (std::size_t i = 0; i < p.scales.size(); i += 5) p.scales[i] = odd[i % 4];
            // Keep |w| < 1 so that 2^121-scaled blocks stay finite and an overflow would show.
            if (sh.f == WeightFormat::FP8Block128)
                for (std::uint8_t& b : p.data) b &= 0xb7;
        }
        const int n = 11, ldx = sh.cols + 5, ldy = sh.rowCount + 3;
        std::normal_distribution<float> nd(0, 1);
        std::vector<float> x(std::size_t(n) * ldx);
        for (float& v : x) v = nd(rng);
        for (int i = 0; i < 20; ++i) x[std::size_t(i * 37) % x.size()] = (i % 2) ? 0.0f : -0.0f;
        ThreadPool pool(sh.threads);
        std::vector<float> batch(std::size_t(n) * ldy, 0.0f), single(std::size_t(n) * ldy, 0.0f);
        gemm(x.data(), n, ldx, p.w, sh.rowBegin, sh.rowCount, batch.data(), ldy, &pool);
        for (int t = 0; t < n; ++t)
            gemm(x.data() + std::size_t(t) * ldx, 1, ldx, p.w, sh.rowBegin, sh.rowCount, single.data() + std::size_t(t) * ldy, ldy, &pool);
        for (int t = 0; t < n; ++t)
            for (int r = 0; r < sh.rowCount; ++r) {
                const float a = batch[std::size_t(t) * ldy + r], b = single[std::size_t(t) * ldy + r];
                QVERIFY2(std::memcmp(&a, &b, 4) == 0, qPrintable(QString("format %1 %2x%3: token %4 row %5: batch %6, alone %7")
                                                                    .arg(int(sh.f)).arg(sh.rows).arg(sh.cols).arg(t).arg(r)
                                                                    .arg(double(a), 0, 'g', 9).arg(double(b), 0, 'g', 9)));
            }
    }
}

QTEST_APPLESS_MAIN(TestGemm)
#include "test_gemm.moc"
