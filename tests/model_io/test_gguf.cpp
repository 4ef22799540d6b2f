// The GGUF container: what the writer writes the parser reads back, and every kind of bad file is
// refused with a message that names the file and what is wrong (never a crash or an overread).
#include "model_io/gguf.h"

#include <QtTest>

#include <cstring>
#include <string>
#include <vector>

using namespace folio::model;

namespace {

// A hand-made GGUF header for the cases the writer cannot produce: raw fields in order.
class Raw {
public:
    Raw& magic(const char* m) { return bytes(m, 4); }
    Raw& u32(std::uint32_t v) { return bytes(&v, 4); }
    Raw& u64(std::uint64_t v) { return bytes(&v, 8); }
    Raw& str(const std::string& s) {
        u64(s.size());
        return bytes(s.data(), s.size());
    }
    Raw& bytes(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        data.insert(data.end(), b, b + n);
        return *this;
    }
    Raw& padTo(std::size_t a) {
        data.resize((data.size() + a - 1) / a * a, 0);
        return *this;
    }
    Raw& zeros(std::size_t n) {
        data.resize(data.size() + n, 0);
        return *this;
    }
    // A tensor info: name, dims, type, offset.
    Raw& tensor(const std::string& name, std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset) {
        str(name).u32(std::uint32_t(dims.size()));
        for (std::uint64_t d : dims) u64(d);
        return u32(type).u64(offset);
    }
    std::vector<std::uint8_t> data;
};

Raw header(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
    Raw r;
    r.magic("GGUF").u32(version).u64(tensors).u64(kvs);
    return r;
}

GgufWriter sample() {
    GgufWriter w;
    w.addString("general.architecture", "deepseek4");
    w.addU32("deepseek4.block_count", 2);
    w.addF32("deepseek4.rope.freq_base", 10000.0f);
    w.addBool("tokenizer.ggml.add_bos_token", false);
    w.addU64("general.parameter_count", 1234567);
    w.addI32Array("deepseek4.attention.compress_ratios", {0, 4, 128});
    w.addF32Array("deepseek4.swiglu_clamp_exp", {10.0f, 7.5f});
    w.addStringArray("tokenizer.ggml.tokens", {"<s>", "a", "\xc3\xa9t\xc3\xa9"});
    std::vector<std::uint8_t> f32(4 * 3 * 2);
    for (std::size_t i = 0; i < f32.size(); ++i) f32[i] = std::uint8_t(i);
    w.addTensor("output_norm.weight", {3, 2}, GgmlType::F32, f32);
    w.addTensor("blk.0.attn_q_a.weight", {64, 2}, GgmlType::Q8_0, std::vector<std::uint8_t>(2 * 2 * 34, 7));
    w.addTensor("blk.0.ffn_up_exps.weight", {32, 4, 2}, GgmlType::MXFP4, std::vector<std::uint8_t>(8 * 17, 9));
    return w;
}

QString parseError(const std::vector<std::uint8_t>& bytes) {
    auto r = parseGguf(bytes.data(), bytes.size(), "m.gguf");
    return r.ok() ? QString() : QString::fromStdString(r.error());
}

} // namespace

class TestGguf : public QObject {
    Q_OBJECT
private slots:
    void typeTable();
    void roundTrip();
    void alignment();
    void badFiles_data();
    void badFiles();
    void everyTruncationIsRefused();
};

void TestGguf::typeTable() {
    // Sizes from ggml-common.h's block structs.
    struct Row {
        GgmlType t;
        std::uint32_t elems, bytes;
    };
    const Row rows[] = {{GgmlType::F32, 1, 4},      {GgmlType::BF16, 1, 2},     {GgmlType::Q8_0, 32, 34},
                        {GgmlType::MXFP4, 32, 17},  {GgmlType::Q2_K, 256, 84},  {GgmlType::Q3_K, 256, 110},
                        {GgmlType::Q4_K, 256, 144}, {GgmlType::Q5_K, 256, 176}, {GgmlType::Q6_K, 256, 210},
                        {GgmlType::IQ4_XS, 256, 136}};
    for (const Row& r : rows) {
        const GgmlTypeTraits* t = ggmlTypeTraits(std::uint32_t(r.t));
        QVERIFY(t);
        QCOMPARE(t->blockElems, r.elems);
        QCOMPARE(t->blockBytes, r.bytes);
    }
    QVERIFY(!ggmlTypeTraits(4));  // Q4_2, retired
    QVERIFY(!ggmlTypeTraits(31)); // Q4_0_4_4, retired from files
    QVERIFY(!ggmlTypeTraits(200));
}

void TestGguf::roundTrip() {
    const std::vector<std::uint8_t> bytes = sample().bytes();
    auto r = parseGguf(bytes.data(), bytes.size(), "m.gguf");
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().c_str());
    const GgufFile& g = r.value();
    QCOMPARE(g.version, 3u);
    QCOMPARE(g.alignment, std::uint64_t(32));
    QCOMPARE(g.metadata.size(), std::size_t(8));
    QCOMPARE(g.find("general.architecture")->s, std::string("deepseek4"));
    QCOMPARE(g.find("deepseek4.block_count")->i, std::int64_t(2));
    QVERIFY(g.find("deepseek4.block_count")->isInteger());
    QCOMPARE(g.find("deepseek4.rope.freq_base")->f, 10000.0);
    QCOMPARE(g.find("tokenizer.ggml.add_bos_token")->b, false);
    QCOMPARE(g.find("general.parameter_count")->i, std::int64_t(1234567));
    QCOMPARE(g.find("deepseek4.attention.compress_ratios")->ints, (std::vector<std::int64_t>{0, 4, 128}));
    QCOMPARE(g.find("deepseek4.swiglu_clamp_exp")->floats, (std::vector<double>{10.0, 7.5}));
    QCOMPARE(g.find("tokenizer.ggml.tokens")->strings[2], std::string("\xc3\xa9t\xc3\xa9"));
    QVERIFY(!g.find("nothing"));
    QCOMPARE(g.tensors.size(), std::size_t(3));
    const GgufTensorInfo* q = g.tensor("blk.0.attn_q_a.weight");
    QVERIFY(q);
    QCOMPARE(q->type, std::uint32_t(GgmlType::Q8_0));
    QCOMPARE(q->bytes, std::uint64_t(4 * 34));
    QCOMPARE(q->dims, (std::vector<std::int64_t>{64, 2}));
    const GgufTensorInfo* e = g.tensor("blk.0.ffn_up_exps.weight");
    QCOMPARE(e->bytes, std::uint64_t(8 * 17));
    QCOMPARE(e->elements(), std::int64_t(256));
    QCOMPARE(g.dataStart % 32, std::uint64_t(0));
    for (const GgufTensorInfo& t : g.tensors) QCOMPARE(t.offset % 32, std::uint64_t(0));
    // The data is where the offsets say.
    const GgufTensorInfo* f = g.tensor("output_norm.weight");
    QCOMPARE(int(bytes[std::size_t(g.dataStart + f->offset + 5)]), 5);
    QCOMPARE(int(bytes[std::size_t(g.dataStart + q->offset)]), 7);
    QCOMPARE(int(bytes[std::size_t(g.dataStart + e->offset + 100)]), 9);
}

void TestGguf::alignment() {
    GgufWriter w(64);
    w.addTensor("a", {3}, GgmlType::F32, std::vector<std::uint8_t>(12, 1));
    w.addTensor("b", {5}, GgmlType::F32, std::vector<std::uint8_t>(20, 2));
    const auto bytes = w.bytes();
    auto r = parseGguf(bytes.data(), bytes.size(), "m.gguf");
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().c_str());
    QCOMPARE(r->alignment, std::uint64_t(64));
    QCOMPARE(r->dataStart % 64, std::uint64_t(0));
    QCOMPARE(r->tensor("b")->offset, std::uint64_t(64));
}

void TestGguf::badFiles_data() {
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QString>("message");
    auto add = [](const char* name, const std::vector<std::uint8_t>& b, const char* msg) {
        QTest::newRow(name) << QByteArray(reinterpret_cast<const char*>(b.data()), qsizetype(b.size())) << QString(msg);
    };
    add("empty", {}, "m.gguf: not a GGUF file");
    add("bad magic", Raw().magic("GGUX").u32(3).u64(0).u64(0).data, "not a GGUF file");
    add("safetensors", Raw().u64(2).bytes("{}", 2).data, "not a GGUF file");
    add("ggjt", Raw().magic("ggjt").u32(3).data, "pre-GGUF ggml/ggjt");
    add("version 1", header(0, 0, 1).data, "GGUF version 1 is not supported (only version 3)");
    add("version 2", header(0, 0, 2).data, "GGUF version 2 is not supported");
    add("version 4", header(0, 0, 4).data, "GGUF version 4 is unknown");
    add("big-endian", header(0, 0, 0x03000000).data, "big-endian");
    add("huge metadata count", header(0, 1ull << 60).data, "metadata entries cannot fit");
    add("huge tensor count", header(1ull << 40, 0).data, "tensors cannot fit");
    add("key past the end", header(0, 1).u64(1000).bytes("abc", 3).zeros(32).data, "claims 1000 bytes");
    add("duplicate key", header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).data, "\"k\" appears twice");
    add("empty key", header(0, 1).str("").u32(4).u32(1).data, "is empty");
    add("non-UTF-8 key", header(0, 1).str("a\xff").u32(4).u32(1).data, "is not UTF-8");
    add("unknown value type", header(0, 1).str("k").u32(13).u32(1).data, "unknown value type 13");
    add("bool of 2", header(0, 1).str("k").u32(7).bytes("\x02", 1).data, "bool of value 2");
    add("huge array", header(0, 1).str("k").u32(9).u32(5).u64(1ull << 40).data, "claims 1099511627776 elements");
    add("array of arrays", header(0, 1).str("k").u32(9).u32(9).u64(1).data, "array of arrays");
    add("u64 beyond int64", header(0, 1).str("k").u32(10).u64(~0ull).data, "beyond what Folio reads");
    add("alignment not a power of two", header(0, 1).str("general.alignment").u32(4).u32(48).data, "not a power of two");
    add("alignment of the wrong type", header(0, 1).str("general.alignment").u32(5).u32(32).data, "i32 (u32 expected)");
    add("duplicate tensor",
        header(2, 0).tensor("t", {4}, 0, 0).tensor("t", {4}, 0, 32).padTo(32).zeros(64).data, "tensor \"t\" appears twice");
    add("unknown type id", header(1, 0).tensor("t", {32}, 4, 0).padTo(32).zeros(64).data, "unknown ggml type id 4");
    add("type id 200", header(1, 0).tensor("t", {32}, 200, 0).padTo(32).zeros(64).data, "unknown ggml type id 200");
    add("five dims", header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).padTo(32).zeros(32).data, "5 dimensions");
    add("zero dim", header(1, 0).tensor("t", {0}, 0, 0).padTo(32).data, "impossible dimension 0");
    add("overflowing dims", header(1, 0).tensor("t", {1ull << 40, 1ull << 40}, 0, 0).padTo(32).data, "impossible dimension");
    add("row off the block", header(1, 0).tensor("t", {48}, 8, 0).padTo(32).zeros(64).data, "not a multiple of its block of 32");
    add("misaligned offset", header(1, 0).tensor("t", {4}, 0, 8).padTo(32).zeros(64).data,
        "starts at data offset 8, not a multiple of the alignment 32");
    add("data past the end", header(1, 0).tensor("t", {64}, 0, 0).padTo(32).zeros(100).data,
        "tensor \"t\"'s data (256 bytes at data offset 0) runs past the end of the file (100 data bytes)");
    add("offset past the end", header(1, 0).tensor("t", {4}, 0, 1ull << 50).padTo(32).zeros(64).data, "runs past the end");
    add("overlap", header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).padTo(32).zeros(128).data,
        "tensors \"a\" and \"b\" overlap");
}

void TestGguf::badFiles() {
    QFETCH(QByteArray, file);
    QFETCH(QString, message);
    const std::vector<std::uint8_t> bytes(file.begin(), file.end());
    const QString err = parseError(bytes);
    QVERIFY2(!err.isEmpty(), "accepted");
    QVERIFY2(err.startsWith("m.gguf: "), qPrintable(err));
    QVERIFY2(err.contains(message), qPrintable(err));
}

void TestGguf::everyTruncationIsRefused() {
    // Every prefix of a valid file shorter than its last tensor's end is refused, with "truncated"
    // or "runs past the end" in the message; none is read past its end (the copy is exact-sized).
    const std::vector<std::uint8_t> full = sample().bytes();
    auto whole = parseGguf(full.data(), full.size(), "m.gguf");
    QVERIFY(whole.ok());
    std::uint64_t end = 0;
    for (const GgufTensorInfo& t : whole->tensors) end = std::max(end, whole->dataStart + t.offset + t.bytes);
    for (std::size_t n = 0; n < end; ++n) {
        const std::vector<std::uint8_t> cut(full.begin(), full.begin() + std::ptrdiff_t(n));
        const QString err = parseError(cut);
        QVERIFY2(!err.isEmpty(), qPrintable(QString("a %1-byte prefix was accepted").arg(n)));
        QVERIFY2(n < 4 || err.contains("truncated") || err.contains("runs past the end") || err.contains("cannot fit"),
                 qPrintable(QString("%1 bytes: %2").arg(n).arg(err)));
    }
}

QTEST_APPLESS_MAIN(TestGguf)
#include "test_gguf.moc"
