// Number formats: hand-computed tables for e4m3, e2m1 and e8m0, round-to-nearest-even ties, the
// activation quantization round trip, and agreement with the reference's independent code.
#include "folio/kernels/formats.h"
#include "reference/reference_model.h"

#include "cpu_variant_guard.h"

#include <QtTest>
#include <random>

using namespace folio::kernels;

class TestFormats : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { FOLIO_SKIP_UNLESS_CPU_VARIANT_RUNS(); }
    void e4m3Decode_data();
    void e4m3Decode();
    void e4m3EncodeTies_data();
    void e4m3EncodeTies();
    void e2m1Table();
    void e2m1EncodeTies_data();
    void e2m1EncodeTies();
    void e8m0();
    void bf16RoundTrip();
    void activationRoundTrip();
    void fp4RoundTrip();
    void agreesWithReference();
};

void TestFormats::e4m3Decode_data() {
    QTest::addColumn<int>("byte");
    QTest::addColumn<double>("value");
    QTest::newRow("zero") << 0x00 << 0.0;
    QTest::newRow("min subnormal") << 0x01 << std::ldexp(1.0, -9);
    QTest::newRow("max subnormal") << 0x07 << 7 * std::ldexp(1.0, -9);
    QTest::newRow("min normal") << 0x08 << std::ldexp(1.0, -6);
    QTest::newRow("one") << 0x38 << 1.0;
    QTest::newRow("1.125") << 0x39 << 1.125;
    QTest::newRow("two") << 0x40 << 2.0;
    QTest::newRow("max") << 0x7e << 448.0;
    QTest::newRow("-one") << 0xb8 << -1.0;
    QTest::newRow("-max") << 0xfe << -448.0;
}

void TestFormats::e4m3Decode() {
    QFETCH(int, byte);
    QFETCH(double, value);
    QCOMPARE(double(e4m3ToF32(std::uint8_t(byte))), value);
    QVERIFY(std::isnan(e4m3ToF32(0x7f)));
    QVERIFY(std::isnan(e4m3ToF32(0xff)));
}

void TestFormats::e4m3EncodeTies_data() {
    QTest::addColumn<float>("input");
    QTest::addColumn<float>("expected");
    QTest::newRow("exact") << 1.0f << 1.0f;
    QTest::newRow("tie to even down") << 1.0625f << 1.0f;  // between 1 and 1.125
    QTest::newRow("tie to even up") << 1.1875f << 1.25f;   // between 1.125 and 1.25
    QTest::newRow("nearest") << 76.8f << 80.0f;
    QTest::newRow("saturate") << 1000.0f << 448.0f;
    QTest::newRow("negative saturate") << -500.0f << -448.0f;
    QTest::newRow("subnormal") << float(std::ldexp(3.4, -9)) << float(std::ldexp(3.0, -9));
    QTest::newRow("subnormal to normal") << float(std::ldexp(7.6, -9)) << float(std::ldexp(1.0, -6));
    QTest::newRow("tiny to zero") << 1e-6f << 0.0f;
}

void TestFormats::e4m3EncodeTies() {
    QFETCH(float, input);
    QFETCH(float, expected);
    QCOMPARE(e4m3ToF32(f32ToE4m3(input)), expected);
}

void TestFormats::e2m1Table() {
    const float expected[16] = {0, .5, 1, 1.5, 2, 3, 4, 6, -0.0f, -.5, -1, -1.5, -2, -3, -4, -6};
    for (int i = 0; i < 16; ++i) QCOMPARE(e2m1ToF32(std::uint8_t(i)), expected[i]);
    QVERIFY(std::signbit(e2m1ToF32(8)));
}

void TestFormats::e2m1EncodeTies_data() {
    QTest::addColumn<float>("input");
    QTest::addColumn<float>("expected");
    QTest::newRow("0.25 -> 0") << 0.25f << 0.0f;
    QTest::newRow("0.75 -> 1") << 0.75f << 1.0f;
    QTest::newRow("1.25 -> 1") << 1.25f << 1.0f;
    QTest::newRow("1.75 -> 2") << 1.75f << 2.0f;
    QTest::newRow("2.5 -> 2") << 2.5f << 2.0f;
    QTest::newRow("3.5 -> 4") << 3.5f << 4.0f;
    QTest::newRow("5 -> 4") << 5.0f << 4.0f;
    QTest::newRow("5.1 -> 6") << 5.1f << 6.0f;
    QTest::newRow("9 -> 6") << 9.0f << 6.0f;
    QTest::newRow("-2.6 -> -3") << -2.6f << -3.0f;
}

void TestFormats::e2m1EncodeTies() {
    QFETCH(float, input);
    QFETCH(float, expected);
    QCOMPARE(e2m1ToF32(f32ToE2m1(input)), expected);
}

void TestFormats::e8m0() {
    QCOMPARE(e8m0ToF32(127), 1.0f);
    QCOMPARE(e8m0ToF32(128), 2.0f);
    QCOMPARE(e8m0ToF32(120), 1.0f / 128);
    QCOMPARE(e8m0ToF32(0), std::ldexp(1.0f, -127));
    QVERIFY(std::isnan(e8m0ToF32(255)));
    QCOMPARE(int(f32ToE8m0(0.25f)), 125);
    QCOMPARE(ue8m0Scale(1.0f, 448.0f), 1.0f / 256);  // 2^ceil(log2(1/448)) = 2^-8
    QCOMPARE(ue8m0Scale(0.0f, 448.0f), std::exp2(std::ceil(std::log2(1e-4f / 448.0f)))); // amax clamp
    QCOMPARE(ue8m0Scale(6.0f, 6.0f), 1.0f);
}

void TestFormats::bf16RoundTrip() {
    QCOMPARE(bf16ToF32(0x3f80), 1.0f);
    QCOMPARE(bf16ToF32(0xc000), -2.0f);
    QCOMPARE(f32ToBf16(1.0f), std::uint16_t(0x3f80));
    // 1 + 2^-8 is halfway between two bf16 values: ties to even (1.0).
    QCOMPARE(f32ToBf16(1.0f + std::ldexp(1.0f, -8)), std::uint16_t(0x3f80));
    QCOMPARE(f32ToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), std::uint16_t(0x3f82));
}

void TestFormats::activationRoundTrip() {
    // One block with amax 1.0: scale 2^-8; 0.3 * 256 = 76.8 -> 80 -> 0.3125.
    std::vector<float> x(128, 0.0f);
    x[0] = 1.0f;
    x[1] = 0.3f;
    x[2] = -0.5f;
    roundTripE4m3(x.data(), 128, 128);
    QCOMPARE(x[0], 1.0f);
    QCOMPARE(x[1], 0.3125f);
    QCOMPARE(x[2], -0.5f);
    // Blocks are independent: a large value in the second block does not change the first.
    std::vector<float> y(256, 0.0f);
    y[1] = 0.3f;
    y[0] = 1.0f;
    y[200] = 1000.0f;
    roundTripE4m3(y.data(), 256, 128);
    QCOMPARE(y[1], 0.3125f);
    QCOMPARE(y[200], 1024.0f); // scale 2^ceil(log2(1000/448)) = 4; 250 -> 256
}

void TestFormats::fp4RoundTrip() {
    // amax 3 -> scale 2^ceil(log2(0.5)) = 0.5: 3 -> 6*0.5, 1.1 -> 2.2 -> 2 -> 1.0, 0.2 -> 0.4 -> 0.5 -> 0.25.
    std::vector<float> x(32, 0.0f);
    x[0] = 3.0f;
    x[1] = 1.1f;
    x[2] = 0.2f;
    roundTripE2m1(x.data(), 32, 32);
    QCOMPARE(x[0], 3.0f);
    QCOMPARE(x[1], 1.0f);
    QCOMPARE(x[2], 0.25f);
}

void TestFormats::agreesWithReference() {
    // The engine's bit-twiddling encoders and the reference's search over all codes agree.
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 1.0f);
    for (int i = 0; i < 20000; ++i) {
        const float v = n(rng) * std::exp2(float(int(rng() % 30) - 15));
        QCOMPARE(double(e4m3ToF32(f32ToE4m3(v))), folio::reference::refRoundE4m3(v));
        QCOMPARE(double(roundToE4m3(v)), folio::reference::refRoundE4m3(v));
        const float w = n(rng) * 4.0f;
        QCOMPARE(double(e2m1ToF32(f32ToE2m1(w))), folio::reference::refRoundE2m1(w));
    }
    for (int b = 0; b < 256; ++b) {
        const double a = e4m3ToF32(std::uint8_t(b)), r = folio::reference::refE4m3(std::uint8_t(b));
        QVERIFY((std::isnan(a) && std::isnan(r)) || a == r);
    }
}

QTEST_APPLESS_MAIN(TestFormats)
#include "test_formats.moc"
