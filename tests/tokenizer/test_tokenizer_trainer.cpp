// trainByteLevelBpe: deterministic, loadable by folio (and by HF tokenizers: golden/make_goldens.py
// encodes the corpus with trained/tokenizer.json), round-trips text, and is fast.
#include "tokenizer_test_util.h"

#include <QDirIterator>
#include <QElapsedTimer>
#include <QtTest>

using namespace folio;
using namespace folio::test;

namespace {

// The training set of the committed trained/tokenizer.json: the committed corpus files.
std::vector<std::string> committedCorpus() {
    std::vector<std::string> docs;
    QDir dir(goldenDir() + "/corpus");
    for (const QString& name : dir.entryList(QDir::Files, QDir::Name))
        docs.push_back(str(readAll(dir.filePath(name))));
    return docs;
}

std::vector<std::string_view> views(const std::vector<std::string>& docs) {
    return std::vector<std::string_view>(docs.begin(), docs.end());
}

constexpr int kCommittedVocab = 1000;

} // namespace

class TestTokenizerTrainer : public QObject {
    Q_OBJECT
private slots:
    void matchesCommittedFile();
    void roundTrips_data();
    void roundTrips();
    void vocabularyLayout();
    void rejectsBadArguments();
    void trainsAMegabyteQuickly();
};

void TestTokenizerTrainer::matchesCommittedFile() {
    const auto docs = committedCorpus();
    QVERIFY(docs.size() > 10);
    auto json = trainByteLevelBpe(views(docs), kCommittedVocab, defaultSpecialTokens());
    QVERIFY2(json.ok(), json.ok() ? "" : json.error().c_str());
    const QString path = goldenDir() + "/trained/tokenizer.json";
    if (qEnvironmentVariableIsSet("FOLIO_UPDATE_GOLDENS")) {
        QDir().mkpath(goldenDir() + "/trained");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(json->data(), qint64(json->size()));
        f.write("\n");
    }
    const QByteArray committed = readAll(path);
    QVERIFY2(committed == QByteArray::fromStdString(*json + "\n"),
             "training is not deterministic or trained/tokenizer.json is stale (rerun with "
             "FOLIO_UPDATE_GOLDENS=1, then golden/make_goldens.py)");
    // Training twice gives the same file.
    auto again = trainByteLevelBpe(views(docs), kCommittedVocab, defaultSpecialTokens());
    QVERIFY(again.ok() && *again == *json);
}

void TestTokenizerTrainer::roundTrips_data() {
    QTest::addColumn<QString>("text");
    QTest::newRow("prose") << "It is a truth universally acknowledged, that a single man in "
                              "possession of a good fortune...";
    QTest::newRow("code") << "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\r\n}\n";
    QTest::newRow("unseen scripts") << QString::fromUtf8("Ωμέγα ქართული 𝔘𝔫𝔦 😀 ١٢٣ \u3000 ok");
    QTest::newRow("specials as text") << QString::fromUtf8("<｜User｜><think>");
    QTest::newRow("empty") << "";
}

void TestTokenizerTrainer::roundTrips() {
    QFETCH(QString, text);
    auto t = loadOrFail(goldenDir() + "/trained/tokenizer.json");
    QVERIFY(t);
    const std::string s = text.toStdString();
    const auto ids = t->encode(s);
    QCOMPARE(t->decode(ids), s);
    for (int32_t id : ids) QVERIFY(id >= 0 && id < kCommittedVocab);
}

void TestTokenizerTrainer::vocabularyLayout() {
    auto t = loadOrFail(goldenDir() + "/trained/tokenizer.json");
    QVERIFY(t);
    const auto specials = defaultSpecialTokens();
    QCOMPARE(t->vocabSize(), kCommittedVocab + int(specials.size()));
    for (std::size_t i = 0; i < specials.size(); ++i) {
        QCOMPARE(t->tokenId(specials[i]), int32_t(kCommittedVocab + int(i)));
        QVERIFY(t->isSpecialToken(kCommittedVocab + int(i)));
    }
    QCOMPARE(t->bosId(), kCommittedVocab);
    QCOMPARE(t->eosId(), kCommittedVocab + 1);
    for (int b = 0; b < 256; ++b) QCOMPARE(t->tokenBytes(b), std::string(1, char(b)));
    QCOMPARE(t->encode(" the").size(), std::size_t(1)); // a frequent word became one token
}

void TestTokenizerTrainer::rejectsBadArguments() {
    std::vector<std::string_view> corpus{"abc"};
    QVERIFY(!trainByteLevelBpe(corpus, 100, {}).ok());
    QVERIFY(!trainByteLevelBpe(corpus, 300, {"<x>", "<x>"}).ok());
    QVERIFY(!trainByteLevelBpe(corpus, 300, {""}).ok());
    auto tiny = trainByteLevelBpe(corpus, 300, {}); // runs out of pairs: fewer tokens, still valid
    QVERIFY(tiny.ok());
    auto t = Tokenizer::loadFromString(*tiny, "tiny");
    QVERIFY(t.ok());
    QCOMPARE((*t)->vocabSize(), 258);
    QCOMPARE((*t)->encode("abc").size(), std::size_t(1));
}

void TestTokenizerTrainer::trainsAMegabyteQuickly() {
    FOLIO_REQUIRE_FIXTURE(book, "books/pride_and_prejudice.txt");
    std::vector<std::string> docs{str(readAll(book))};
    for (auto& d : committedCorpus()) docs.push_back(d);
    std::size_t total = 0;
    for (const auto& d : docs) total += d.size();
    // Code too: this test's own sources, to reach about 1 MB.
    QDirIterator it(QStringLiteral(FOLIO_SOURCE_DIR "/engine"), {"*.cpp", "*.h"}, QDir::Files,
                    QDirIterator::Subdirectories);
    while (it.hasNext() && total < 1000000) {
        docs.push_back(str(readAll(it.next())));
        total += docs.back().size();
    }
    QElapsedTimer timer;
    timer.start();
    auto json = trainByteLevelBpe(views(docs), 4096, defaultSpecialTokens());
    const qint64 ms = timer.elapsed();
    QVERIFY(json.ok());
    qInfo("trained 4096 tokens on %zu bytes in %lld ms", total, static_cast<long long>(ms));
    QVERIFY2(ms < 10000, "training on ~1 MB must take at most a few seconds");
    auto t = Tokenizer::loadFromString(*json, "trained-1mb");
    QVERIFY(t.ok());
    QCOMPARE((*t)->vocabSize(), 4096 + int(defaultSpecialTokens().size()));
    QCOMPARE((*t)->decode((*t)->encode(docs.front())), docs.front());
    // Compression: English prose at 4096 tokens should be well under one token per 3 bytes.
    QVERIFY((*t)->count(docs.front()) * 3 < docs.front().size());
}

QTEST_APPLESS_MAIN(TestTokenizerTrainer)
#include "test_tokenizer_trainer.moc"
