// The safetensors reader and writer: a good file read back through the mapping, and every kind of
// corrupt file rejected with an error that names the file, the tensor and the mismatch.
#include "model_io/safetensors.h"
#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>

using namespace folio::model;
using folio::Status;

namespace {

// A safetensors file from raw parts: the length field (or `lengthOverride`), the header text, data.
QByteArray rawFile(const QByteArray& header, const QByteArray& data, qint64 lengthOverride = -1) {
    const quint64 n = lengthOverride >= 0 ? quint64(lengthOverride) : quint64(header.size());
    QByteArray out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
    return out + header + data;
}

bool writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

std::string floats(std::initializer_list<float> v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), v.begin(), s.size());
    return s;
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private slots:
    void writesAndReadsBack();
    void acceptsAlternativeSpellings();
    void rejectsCorruptFiles_data();
    void rejectsCorruptFiles();
    void rejectsTruncatedShard();
    void checksTheIndex_data();
    void checksTheIndex();
    void emptyDirectoryIsAnError();
    void writerChecksByteCounts();
};

void TestSafetensors::writesAndReadsBack() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string d = dir.path().toStdString();
    Status s = writeSafetensors(d + "/model.safetensors",
                                {{{"a", DType::F32, {2, 2}}, floats({1, 2, 3, 4})},
                                 {{"b.scale", DType::F8_E8M0, {3}}, std::string("\x7f\x80\x81", 3)},
                                 {{"empty", DType::BF16, {0, 4}}, std::string()}},
                                {{"format", "pt"}});
    QVERIFY2(s.ok(), s.error().c_str());
    auto ck = Checkpoint::open(d);
    QVERIFY2(ck.ok(), ck.ok() ? "" : ck.error().c_str());
    QCOMPARE(int((*ck)->size()), 3);
    const TensorView* a = (*ck)->find("a");
    QVERIFY(a);
    QCOMPARE(a->dtype, DType::F32);
    QCOMPARE(a->shape, (std::vector<std::int64_t>{2, 2}));
    QCOMPARE(a->nbytes, std::size_t(16));
    QCOMPARE(a->shard, std::string("model.safetensors"));
    float v[4];
    std::memcpy(v, a->data, 16);
    QCOMPARE(v[3], 4.0f);
    const TensorView* b = (*ck)->find("b.scale");
    QVERIFY(b);
    QCOMPARE(int(b->data[1]), 0x80);
    QVERIFY((*ck)->find("nope") == nullptr);
    QCOMPARE((*ck)->tensorBytes(), std::uint64_t(19));
    // The writer pads the header so that the data region is 8-byte aligned.
    QFile f(dir.filePath("model.safetensors"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    quint64 n = 0;
    QCOMPARE(f.read(reinterpret_cast<char*>(&n), 8), 8);
    QCOMPARE(n % 8, quint64(0));
}

void TestSafetensors::acceptsAlternativeSpellings() {
    QTemporaryDir dir;
    const QByteArray header = R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F8_E4M3FN","shape":[2],"data_offsets":[0,2]},)"
                              R"("s":{"dtype":"F8_E8M0FNU","shape":[1],"data_offsets":[2,3]},)"
                              R"("p":{"dtype":"F4","shape":[2,3],"data_offsets":[3,6]}})";
    QVERIFY(writeFile(dir.filePath("model.safetensors"), rawFile(header, QByteArray(6, '\x01'))));
    auto ck = Checkpoint::open(dir.path().toStdString());
    QVERIFY2(ck.ok(), ck.ok() ? "" : ck.error().c_str());
    QCOMPARE((*ck)->find("w")->dtype, DType::F8_E4M3);
    QCOMPARE((*ck)->find("s")->dtype, DType::F8_E8M0);
    QCOMPARE((*ck)->find("p")->dtype, DType::F4);
    QCOMPARE((*ck)->find("p")->nbytes, std::size_t(3)); // 6 fp4 values
}

void TestSafetensors::rejectsCorruptFiles_data() {
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QString>("message");
    const QByteArray good = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[8,16]}})";
    const QByteArray data16(16, '\0');
    QTest::newRow("too short") << QByteArray("\x01\x02", 2) << "model.safetensors: 2 bytes, too short";
    QTest::newRow("huge header length") << rawFile(good, data16, qint64(1) << 40)
                                        << "model.safetensors: header length 1099511627776 is outside [2, 104857600]";
    QTest::newRow("header past EOF") << rawFile(good, data16, good.size() + 17)
                                     << "runs past the end of the file";
    QTest::newRow("not json") << rawFile("{\"a\": [", data16) << "model.safetensors: header is not valid JSON";
    QTest::newRow("not object") << rawFile("[1,2,3]", {}) << "model.safetensors: header is not a JSON object";
    QTest::newRow("unknown dtype")
        << rawFile(R"({"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", QByteArray(8, 0))
        << "model.safetensors: tensor 'a': unknown dtype \"F7\"";
    QTest::newRow("bytes mismatch")
        << rawFile(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}})", QByteArray(8, 0))
        << "model.safetensors: tensor 'a': data_offsets [0,8] hold 8 bytes, but F32 [4] needs 16";
    QTest::newRow("overlap")
        << rawFile(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                   data16)
        << "model.safetensors: tensor 'b' (bytes 8..16) overlaps tensor 'a' (ends at 16)";
    QTest::newRow("past end")
        << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[992],"data_offsets":[8,1000]}})",
                   data16)
        << "model.safetensors: tensor 'b': data_offsets [8,1000] run past the end of the data region (16 bytes)";
    QTest::newRow("gap")
        << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[12,16]}})",
                   data16)
        << "model.safetensors: data region has a gap of 4 bytes before tensor 'b'";
    QTest::newRow("trailing bytes") << rawFile(good, QByteArray(24, 0))
                                    << "model.safetensors: data region is 24 bytes but the tensors cover 16 (after "
                                       "tensor 'b'); the file is truncated or has trailing bytes";
    QTest::newRow("negative shape")
        << rawFile(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", QByteArray(8, 0))
        << "model.safetensors: tensor 'a': shape [-2] is not a list of non-negative integers";
    QTest::newRow("odd fp4")
        << rawFile(R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", QByteArray(2, 0))
        << "model.safetensors: tensor 'a': shape [3] of F4 has no whole byte size";
    QTest::newRow("reversed offsets")
        << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", QByteArray(8, 0))
        << "model.safetensors: tensor 'a': data_offsets [8,0] end before they begin";
    QTest::newRow("extra field")
        << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", QByteArray(8, 0))
        << "model.safetensors: tensor 'a': unexpected field 'x'";
    QTest::newRow("bad metadata") << rawFile(R"({"__metadata__":{"k":1}})", {})
                                  << "model.safetensors: __metadata__ value of 'k' is not a string";
}

void TestSafetensors::rejectsCorruptFiles() {
    QFETCH(QByteArray, file);
    QFETCH(QString, message);
    QTemporaryDir dir;
    QVERIFY(writeFile(dir.filePath("model.safetensors"), file));
    auto ck = Checkpoint::open(dir.path().toStdString());
    QVERIFY(!ck.ok());
    const QString err = QString::fromStdString(ck.error());
    QVERIFY2(err.contains(message), qPrintable(err));
    QVERIFY2(err.startsWith(dir.path() + "/model.safetensors: "), qPrintable(err)); // names the file
    // The parser alone gives the same message.
    auto h = parseSafetensors(reinterpret_cast<const std::uint8_t*>(file.constData()), std::size_t(file.size()),
                              "model.safetensors");
    QVERIFY(!h.ok());
    QVERIFY2(QString::fromStdString(h.error()).contains(message), h.error().c_str());
}

void TestSafetensors::rejectsTruncatedShard() {
    QTemporaryDir dir;
    const std::string d = dir.path().toStdString();
    QVERIFY(writeSafetensors(d + "/model-00001-of-00002.safetensors", {{{"x", DType::F32, {4}}, floats({1, 2, 3, 4})}}).ok());
    QVERIFY(writeSafetensors(d + "/model-00002-of-00002.safetensors",
                             {{{"y", DType::F32, {2}}, floats({1, 2})}, {{"z", DType::F32, {2}}, floats({3, 4})}})
                .ok());
    QVERIFY(writeFile(dir.filePath("model.safetensors.index.json"),
                      R"({"metadata":{"total_size":32},"weight_map":{"x":"model-00001-of-00002.safetensors",)"
                      R"("y":"model-00002-of-00002.safetensors","z":"model-00002-of-00002.safetensors"}})"));
    QVERIFY(Checkpoint::open(d).ok());
    QVERIFY(QFile::resize(dir.filePath("model-00002-of-00002.safetensors"),
                          QFileInfo(dir.filePath("model-00002-of-00002.safetensors")).size() - 3));
    auto ck = Checkpoint::open(d);
    QVERIFY(!ck.ok());
    QCOMPARE(QString::fromStdString(ck.error()),
             QString::fromStdString(d + "/model-00002-of-00002.safetensors: tensor 'z': data_offsets [8,16] run past "
                                        "the end of the data region (13 bytes)"));
}

void TestSafetensors::checksTheIndex_data() {
    QTest::addColumn<QByteArray>("index");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing tensor")
        << QByteArray(R"({"weight_map":{"a":"s1.safetensors","gone":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors"}})")
        << "model.safetensors.index.json: tensor 'gone' is listed in s1.safetensors but not found there";
    QTest::newRow("unlisted tensor") << QByteArray(R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})")
                                     << "tensor 'c' of s2.safetensors is missing from the weight_map";
    QTest::newRow("wrong shard")
        << QByteArray(R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"}})")
        << "tensor 'b' is listed in s1.safetensors but stored in s2.safetensors";
    QTest::newRow("path escape") << QByteArray(R"({"weight_map":{"a":"../s1.safetensors"}})")
                                 << "weight_map entry 'a' names an invalid shard '../s1.safetensors'";
    QTest::newRow("missing shard") << QByteArray(R"({"weight_map":{"a":"s3.safetensors"}})")
                                   << "s3.safetensors: cannot open";
    QTest::newRow("no weight map") << QByteArray(R"({"metadata":{}})") << "missing \"weight_map\" object";
}

void TestSafetensors::checksTheIndex() {
    QFETCH(QByteArray, index);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const std::string d = dir.path().toStdString();
    QVERIFY(writeSafetensors(d + "/s1.safetensors", {{{"a", DType::F32, {1}}, floats({1})}}).ok());
    QVERIFY(writeSafetensors(d + "/s2.safetensors",
                             {{{"b", DType::F32, {1}}, floats({2})}, {{"c", DType::F32, {1}}, floats({3})}})
                .ok());
    QVERIFY(writeFile(dir.filePath("model.safetensors.index.json"), index));
    auto ck = Checkpoint::open(d);
    QVERIFY(!ck.ok());
    QVERIFY2(QString::fromStdString(ck.error()).contains(message), ck.error().c_str());
}

void TestSafetensors::emptyDirectoryIsAnError() {
    QTemporaryDir empty;
    auto e = Checkpoint::open(empty.path().toStdString());
    QVERIFY(!e.ok());
    QCOMPARE(QString::fromStdString(e.error()),
             empty.path() + ": no model.safetensors.index.json or model.safetensors");
}

void TestSafetensors::writerChecksByteCounts() {
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/w.safetensors";
    auto w = SafetensorsWriter::create(path, {{"a", DType::F32, {2}}, {"b", DType::BF16, {2}}});
    QVERIFY(w.ok());
    QCOMPARE((*w)->currentTensor(), std::string_view("a"));
    const char bytes[16] = {};
    QVERIFY((*w)->append(bytes, 6).ok());
    QCOMPARE((*w)->currentTensor(), std::string_view("a"));
    QCOMPARE((*w)->remainingInTensor(), std::uint64_t(2));
    QVERIFY((*w)->append(bytes, 4).ok());
    QCOMPARE((*w)->currentTensor(), std::string_view("b"));
    const Status early = (*w)->finish();
    QVERIFY(!early.ok());
    QCOMPARE(QString::fromStdString(early.error()), QString::fromStdString(path + ": tensor 'b' is missing 2 bytes"));
    QVERIFY(!QFile::exists(QString::fromStdString(path)));

    auto w2 = SafetensorsWriter::create(path, {{"a", DType::F32, {1}}});
    QVERIFY(!(*w2)->append(bytes, 8).ok()); // more than declared
    QVERIFY((*w2)->append(bytes, 4).ok());
    QVERIFY((*w2)->finish().ok());
    QVERIFY(QFile::exists(QString::fromStdString(path)));
    auto dup = SafetensorsWriter::create(path, {{"a", DType::F32, {1}}, {"a", DType::F32, {1}}});
    QVERIFY(!dup.ok());
    QVERIFY(QString::fromStdString(dup.error()).contains("tensor 'a' declared twice"));
}

QTEST_APPLESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
