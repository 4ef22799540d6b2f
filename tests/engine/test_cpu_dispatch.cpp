// The choice of the CPU kernel variant: FOLIO_CPU values, feature sets, messages, and that the
// table in use is the one asked for.
#include "folio/backend.h"
#include "folio/kernels/cpu_dispatch.h"
#include "kernel_table.h"

#include <QtTest>

#include <cstdlib>

using namespace folio::kernels;

namespace {

CpuFeatures avx2Only() {
    CpuFeatures f;
    f.vendor = "AuthenticAMD";
    f.brand = "Test CPU";
    f.avx = f.avx2 = f.fma = f.f16c = f.bmi2 = f.bmi1 = f.lzcnt = f.movbe = true;
    return f;
}

CpuFeatures withAvx512() {
    CpuFeatures f = avx2Only();
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512cd = f.avx512vbmi = true;
    return f;
}

} // namespace

class TestCpuDispatch : public QObject {
    Q_OBJECT
private slots:
    void featureSets();
    void choices_data();
    void choices();
    void activeVariantIsTheOneAskedFor();
    void probeNamesTheVariant();
};

void TestCpuDispatch::featureSets() {
    const CpuFeatures none;
    QVERIFY(cpuSupports(none, CpuVariant::Baseline));
    QVERIFY(!cpuSupports(none, CpuVariant::Avx2));
    QCOMPARE(bestCpuVariant(none), CpuVariant::Baseline);
    QVERIFY(cpuSupports(avx2Only(), CpuVariant::Avx2));
    QVERIFY(!cpuSupports(avx2Only(), CpuVariant::Avx512));
    QCOMPARE(bestCpuVariant(avx2Only()), CpuVariant::Avx2);
    QCOMPARE(bestCpuVariant(withAvx512()), CpuVariant::Avx512);
    // AVX2 without FMA (some early parts, and VMs that hide it) is not the avx2 variant.
    CpuFeatures noFma = avx2Only();
    noFma.fma = false;
    QCOMPARE(bestCpuVariant(noFma), CpuVariant::Baseline);
    // x86-64-v3 needs MOVBE too (the compiler may emit it there).
    CpuFeatures noMovbe = avx2Only();
    noMovbe.movbe = false;
    QCOMPARE(bestCpuVariant(noMovbe), CpuVariant::Baseline);
    // AVX-512 without VBMI (Skylake-X): the avx2 variant.
    CpuFeatures skx = withAvx512();
    skx.avx512vbmi = false;
    QCOMPARE(bestCpuVariant(skx), CpuVariant::Avx2);
    // This machine can always run the baseline, and what it reports can run is what it can.
    QVERIFY(supportedCpuVariants().rfind("baseline", 0) == 0);
}

void TestCpuDispatch::choices_data() {
    QTest::addColumn<QString>("requested");
    QTest::addColumn<bool>("avx512Cpu");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<int>("variant");
    QTest::addColumn<QString>("message");
    QTest::newRow("unset picks the best") << QString() << false << true << int(CpuVariant::Avx2) << QString();
    QTest::newRow("auto picks the best") << "auto" << true << true << int(CpuVariant::Avx512) << QString();
    QTest::newRow("baseline anywhere") << "baseline" << true << true << int(CpuVariant::Baseline) << QString();
    QTest::newRow("avx2 on avx512") << "avx2" << true << true << int(CpuVariant::Avx2) << QString();
    QTest::newRow("avx512 on avx2 refused")
        << "avx512" << false << false << 0 << "FOLIO_CPU=avx512: this CPU (Test CPU) lacks AVX-512";
    QTest::newRow("unknown names the choices")
        << "avx9" << true << false << 0 << "FOLIO_CPU=avx9 is not a CPU variant; choose baseline, avx2, avx512 or auto";
    QTest::newRow("case matters") << "AVX2" << true << false << 0 << "is not a CPU variant";
}

void TestCpuDispatch::choices() {
    QFETCH(QString, requested);
    QFETCH(bool, avx512Cpu);
    QFETCH(bool, ok);
    QFETCH(int, variant);
    QFETCH(QString, message);
    const CpuFeatures f = avx512Cpu ? withAvx512() : avx2Only();
    const QByteArray r = requested.toUtf8();
    CpuVariant v = CpuVariant::Baseline;
    std::string error;
    QCOMPARE(chooseCpuVariant(requested.isNull() ? nullptr : r.constData(), f, &v, &error), ok);
    if (ok) QCOMPARE(int(v), variant);
    else QVERIFY2(QString::fromStdString(error).contains(message), error.c_str());
}

void TestCpuDispatch::activeVariantIsTheOneAskedFor() {
    // ctest runs this once per variant with FOLIO_CPU set; a variant this CPU lacks must be refused
    // with a message, not run.
    const char* env = std::getenv("FOLIO_CPU");
    std::string error;
    const bool usable = folio::cpuKernelsUsable(&error);
    CpuVariant expected = bestCpuVariant(cpuFeatures());
    std::string chooseError;
    const bool choosable = chooseCpuVariant(env, cpuFeatures(), &expected, &chooseError);
    QCOMPARE(usable, choosable);
    if (!usable) {
        QCOMPARE(error, chooseError);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, activeCpuVariant());
        return;
    }
    QCOMPARE(activeCpuVariant(), expected);
    QCOMPARE(QString(cpuKernels().name), QString(cpuVariantName(expected)));
    const int lanes[] = {4, 8, 16};
    QCOMPARE(cpuKernels().lanes, lanes[int(expected)]);
    QVERIFY(QString::fromStdString(cpuVariantDescription()).startsWith(cpuVariantName(expected)));
}

void TestCpuDispatch::probeNamesTheVariant() {
    std::string error;
    const folio::BackendReport r = folio::probeBackends();
    QVERIFY(!r.devices.empty());
    if (!folio::cpuKernelsUsable(&error)) {
        QVERIFY(r.cpuKernels.empty());
        QCOMPARE(r.cpuKernelsDetail, error);
        QVERIFY(QString::fromStdString(r.devices.front().name).contains("unusable"));
        return;
    }
    QCOMPARE(r.cpuKernels, std::string(cpuVariantName(activeCpuVariant())));
    QVERIFY(QString::fromStdString(r.devices.front().name).contains(QString::fromStdString(r.cpuKernels) + " kernels"));
}

QTEST_APPLESS_MAIN(TestCpuDispatch)
#include "test_cpu_dispatch.moc"
