// Decoding, binary detection, the file screens and .folioignore patterns.
#include "folio/ingest/file_filters.h"
#include "folio/ingest/ignore_rules.h"
#include "folio/ingest/text_decoder.h"

#include <QtTest>

using namespace folio::ingest;

class TestTextDecoder : public QObject {
    Q_OBJECT
private slots:
    void decode_data();
    void decode();
    void binary_data();
    void binary();
    void utf8Validation_data();
    void utf8Validation();
    void screens_data();
    void screens();
    void ignoreRules_data();
    void ignoreRules();
    void language();
};

void TestTextDecoder::decode_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QByteArray>("expected");
    QTest::addColumn<QString>("encoding");
    QTest::addColumn<QString>("noteContains");
    QTest::newRow("ascii") << QByteArray("a\nb\n") << QByteArray("a\nb\n") << "utf-8"
                           << "";
    QTest::newRow("crlf") << QByteArray("a\r\nb\r\n") << QByteArray("a\nb\n") << "utf-8"
                          << "CRLF";
    QTest::newRow("lone cr kept") << QByteArray("a\rb") << QByteArray("a\rb") << "utf-8"
                                  << "";
    QTest::newRow("bom") << QByteArray("\xEF\xBB\xBFh\xC3\xA9") << QByteArray("h\xC3\xA9")
                         << "utf-8"
                         << "byte order mark";
    QTest::newRow("latin-1") << QByteArray("caf\xE9 na\xEFve\n")
                             << QByteArray("caf\xC3\xA9 na\xC3\xAFve\n") << "latin-1"
                             << "offset 3";
    QTest::newRow("utf-16le") << QByteArray("\xFF\xFEh\0i\0\r\0\n\0", 10) << QByteArray("hi\n")
                              << "utf-16le"
                              << "UTF-16LE";
    QTest::newRow("utf-16be") << QByteArray("\xFE\xFF\0h\0i", 6) << QByteArray("hi") << "utf-16be"
                              << "UTF-16BE";
}

void TestTextDecoder::decode() {
    QFETCH(QByteArray, input);
    QFETCH(QByteArray, expected);
    QFETCH(QString, encoding);
    QFETCH(QString, noteContains);
    const DecodedText d =
        decodeText(std::string_view(input.constData(), static_cast<std::size_t>(input.size())));
    QCOMPARE(QByteArray::fromStdString(d.text), expected);
    QCOMPARE(QString::fromStdString(d.encoding), encoding);
    if (noteContains.isEmpty()) {
        QVERIFY(d.notes.empty());
    } else {
        bool found = false;
        for (const auto& n : d.notes)
            found = found || QString::fromStdString(n).contains(noteContains);
        QVERIFY2(found, qPrintable("no note containing " + noteContains));
    }
}

void TestTextDecoder::binary_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("binary");
    QTest::newRow("text") << QByteArray("int main() { return 0; }\n") << false;
    QTest::newRow("nul") << QByteArray("PNG\0\0data", 9) << true;
    QTest::newRow("controls") << QByteArray("\x01\x02\x03\x04\x05\x06\x07\x08"
                                            "abc")
                              << true;
    QTest::newRow("utf-16 with bom") << QByteArray("\xFF\xFEh\0i\0", 6) << false;
    QTest::newRow("escape codes") << QByteArray("\x1B[31mred\x1B[0m\n") << false;
    QByteArray late(9000, 'a');
    late[8500] = '\0';
    QTest::newRow("nul past the sniff window") << late << false;
}

void TestTextDecoder::binary() {
    QFETCH(QByteArray, input);
    QFETCH(bool, binary);
    QCOMPARE(
        looksBinary(std::string_view(input.constData(), static_cast<std::size_t>(input.size()))),
        binary);
}

void TestTextDecoder::utf8Validation_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("valid");
    QTest::newRow("ascii long") << QByteArray(100, 'x') << true;
    QTest::newRow("two byte") << QByteArray("\xC3\xA9") << true;
    QTest::newRow("four byte") << QByteArray("\xF0\x9F\x98\x80") << true;
    QTest::newRow("overlong") << QByteArray("\xC0\xAF") << false;
    QTest::newRow("surrogate") << QByteArray("\xED\xA0\x80") << false;
    QTest::newRow("truncated") << QByteArray("abc\xE2\x82") << false;
    QTest::newRow("past max") << QByteArray("\xF4\x90\x80\x80") << false;
}

void TestTextDecoder::utf8Validation() {
    QFETCH(QByteArray, input);
    QFETCH(bool, valid);
    QCOMPARE(
        isValidUtf8(std::string_view(input.constData(), static_cast<std::size_t>(input.size()))),
        valid);
}

void TestTextDecoder::screens_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("reason"); // 0 = kept
    QTest::newRow("source") << "src/a.cpp" << QByteArray("int a;\n") << 0;
    QTest::newRow("lock") << "web/package-lock.json" << QByteArray("{}")
                          << int(SkipReason::LockFile);
    QTest::newRow("go.sum") << "go.sum" << QByteArray("x") << int(SkipReason::LockFile);
    QTest::newRow("vendored") << "third_party/zlib/inflate.c" << QByteArray("x")
                              << int(SkipReason::Vendored);
    QTest::newRow("node_modules") << "app/node_modules/x/index.js" << QByteArray("x")
                                  << int(SkipReason::Vendored);
    QTest::newRow("minified") << "static/app.min.js" << QByteArray("x")
                              << int(SkipReason::Generated);
    QTest::newRow("marker") << "api/types.go"
                            << QByteArray("// Code generated by protoc. DO NOT EDIT.\n")
                            << int(SkipReason::Generated);
    QTest::newRow("@generated marker") << "gen/schema.ts" << QByteArray("/* @generated by relay */\nexport {};\n")
                                       << int(SkipReason::Generated);
    QTest::newRow("quoted marker is no marker")
        << "src/filters.h" << QByteArray("// files with an \"@generated\" or 'DO NOT EDIT' marker\nint f();\n") << 0;
    QTest::newRow("lfs")
        << "data/model.bin"
        << QByteArray("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 12345\n")
        << int(SkipReason::LfsPointer);
    QTest::newRow("binary") << "logo.png" << QByteArray("\x89PNG\r\n\x1A\n\0\0", 10)
                            << int(SkipReason::Binary);
    QTest::newRow("empty") << "empty.txt" << QByteArray() << int(SkipReason::Empty);
    QTest::newRow("huge") << "big.txt" << QByteArray(2000, 'x') << int(SkipReason::TooLarge);
}

void TestTextDecoder::screens() {
    QFETCH(QString, path);
    QFETCH(QByteArray, content);
    QFETCH(int, reason);
    const auto skip =
        screenFile(path.toStdString(),
                   std::string_view(content.constData(), static_cast<std::size_t>(content.size())),
                   static_cast<std::uint64_t>(content.size()), 1000);
    QCOMPARE(skip ? int(skip->reason) : 0, reason);
    if (skip) QVERIFY(!skip->detail.empty());
}

void TestTextDecoder::ignoreRules_data() {
    QTest::addColumn<QString>("rules");
    QTest::addColumn<QString>("path");
    QTest::addColumn<bool>("isDir");
    QTest::addColumn<bool>("ignored");
    const QString r =
        "# comment\n*.log\n/build\ndocs/**/*.png\n!keep.log\nsecret/\nfoo?.txt\n[abc].md\n";
    QTest::newRow("glob anywhere") << r << "a/b/x.log" << false << true;
    QTest::newRow("negated") << r << "a/keep.log" << false << false;
    QTest::newRow("anchored dir") << r << "build/out.o" << false << true;
    QTest::newRow("anchored not nested") << r << "src/build/out.o" << false << false;
    QTest::newRow("double star") << r << "docs/a/b/pic.png" << false << true;
    QTest::newRow("double star zero dirs") << r << "docs/pic.png" << false << true;
    QTest::newRow("dir only, file") << r << "secret" << false << false;
    QTest::newRow("dir only, inside") << r << "x/secret/key" << false << true;
    QTest::newRow("question mark") << r << "foo1.txt" << false << true;
    QTest::newRow("question no slash") << r << "foo/.txt" << false << false;
    QTest::newRow("bracket") << r << "b.md" << false << true;
    QTest::newRow("bracket miss") << r << "d.md" << false << false;
    QTest::newRow("crlf rules") << "*.tmp\r\n"
                                << "x.tmp" << false << true;
}

void TestTextDecoder::ignoreRules() {
    QFETCH(QString, rules);
    QFETCH(QString, path);
    QFETCH(bool, isDir);
    QFETCH(bool, ignored);
    const IgnoreRules ir = IgnoreRules::parse(rules.toStdString());
    QCOMPARE(ir.isIgnored(path.toStdString(), isDir), ignored);
}

void TestTextDecoder::language() {
    QCOMPARE(QString::fromStdString(languageForPath("src/a.cpp")), QString("cpp"));
    QCOMPARE(QString::fromStdString(languageForPath("CMakeLists.txt")), QString("cmake"));
    QCOMPARE(QString::fromStdString(languageForPath("README.MD")), QString("markdown"));
    QVERIFY(isProsePath("docs/guide.md"));
    QVERIFY(!isProsePath("CMakeLists.txt"));
    QCOMPARE(QString::fromStdString(formatBytes(3 * 1024 * 1024 + 512 * 1024)), QString("3.5 MiB"));
}

QTEST_GUILESS_MAIN(TestTextDecoder)
#include "test_text_decoder.moc"
