#include "cli/args.h"

#include <QtTest>

using folio::cli::Args;

class TestArgs : public QObject {
    Q_OBJECT
private slots:
    void parsesFlagsOptionsAndPositionals();
    void keepsEverythingAfterDashDash();
    void rejects_data();
    void rejects();
    void intValue();
};

void TestArgs::parsesFlagsOptionsAndPositionals() {
    Args a({"json", "count"}, {"model", "budget"});
    QVERIFY(a.parse({"src", "--json", "--model", "dir", "--budget=100", "more"}));
    QVERIFY(a.has("json"));
    QVERIFY(!a.has("count"));
    QCOMPARE(a.value("model").value(), std::string("dir"));
    QCOMPARE(a.value("budget").value(), std::string("100"));
    QCOMPARE(a.positional(), (std::vector<std::string>{"src", "more"}));
    QVERIFY(!a.sawDashDash());
}

void TestArgs::keepsEverythingAfterDashDash() {
    Args a({"demo"}, {"session"});
    QVERIFY(a.parse({"--demo", "repo", "--", "what", "--is", "this?"}));
    QVERIFY(a.sawDashDash());
    QCOMPARE(a.positional(), (std::vector<std::string>{"repo"}));
    QCOMPARE(a.afterDashDash(), (std::vector<std::string>{"what", "--is", "this?"}));
}

void TestArgs::rejects_data() {
    QTest::addColumn<QStringList>("argv");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown option") << QStringList{"--bogus"} << "unknown option --bogus";
    QTest::newRow("missing value") << QStringList{"--model"} << "option --model needs a value";
    QTest::newRow("value on flag") << QStringList{"--json=1"} << "option --json takes no value";
}

void TestArgs::rejects() {
    QFETCH(QStringList, argv);
    QFETCH(QString, message);
    std::vector<std::string> v;
    for (const QString& s : argv) v.push_back(s.toStdString());
    Args a({"json"}, {"model"});
    QVERIFY(!a.parse(v));
    QCOMPARE(QString::fromStdString(a.error()), message);
}

void TestArgs::intValue() {
    Args a({}, {"n", "m"});
    QVERIFY(a.parse({"--n", "42", "--m", "4x"}));
    long long n = 0;
    QVERIFY(a.intValue("n", 0, &n));
    QCOMPARE(n, 42LL);
    QVERIFY(a.intValue("absent", 7, &n));
    QCOMPARE(n, 7LL);
    QVERIFY(!a.intValue("m", 0, &n));
    QVERIFY(QString::fromStdString(a.error()).contains("expects an integer"));
}

QTEST_APPLESS_MAIN(TestArgs)
#include "test_args.moc"
