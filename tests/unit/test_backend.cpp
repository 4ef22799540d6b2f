#include "folio/backend.h"

#include <QFileInfo>
#include <QtTest>

using namespace folio;

class TestBackend : public QObject {
    Q_OBJECT
private slots:
    void cpuIsAlwaysFirst();
    void noGpuFallsBackToCpuWithAReason();
    void cpuRequestIsHonoured();
};

void TestBackend::cpuIsAlwaysFirst() {
    const BackendReport r = probeBackends();
    QVERIFY(!r.devices.empty());
    QCOMPARE(r.devices.front().kind, DeviceKind::Cpu);
    QVERIFY(QString::fromStdString(r.devices.front().name).startsWith("CPU ("));
#ifdef FOLIO_HAVE_CUDA
    QVERIFY(r.cudaCompiled);
#else
    QVERIFY(!r.cudaCompiled);
#endif
}

void TestBackend::noGpuFallsBackToCpuWithAReason() {
    const BackendReport r = probeBackends();
    if (r.devices.size() > 1) QSKIP("a CUDA device is present");
    QVERIFY2(QString::fromStdString(r.cudaMessage).startsWith("no CUDA device"), r.cudaMessage.c_str());
    std::string note;
    QCOMPARE(chooseDevice("cuda", r, &note), DeviceKind::Cpu);
    QVERIFY(QString::fromStdString(note).contains("using the CPU"));
    QCOMPARE(chooseDevice("auto", r, &note), DeviceKind::Cpu);
}

void TestBackend::cpuRequestIsHonoured() {
    BackendReport r;
    r.devices.push_back({DeviceKind::Cpu, "CPU", 0});
    r.devices.push_back({DeviceKind::Cuda, "GPU", 1});
    QCOMPARE(chooseDevice("cpu", r, nullptr), DeviceKind::Cpu);
    QCOMPARE(chooseDevice("auto", r, nullptr), DeviceKind::Cuda);
    QCOMPARE(chooseDevice("cuda", r, nullptr), DeviceKind::Cuda);
}

QTEST_APPLESS_MAIN(TestBackend)
#include "test_backend.moc"
