#include "cli/json_line.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using folio::cli::JsonLine;

class TestJsonLine : public QObject {
    Q_OBJECT
private slots:
    void roundTripsThroughQtJson();
    void nonFiniteIsNull();
};

void TestJsonLine::roundTripsThroughQtJson() {
    const std::string s = JsonLine()
                              .add("bench", "tokenizer")
                              .add("value", 31.25)
                              .add("threads", 2)
                              .add("ok", true)
                              .add("text", std::string_view("quote \" backslash \\ tab \t nl \n ctl \x01 é"))
                              .str();
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(s), &err);
    QCOMPARE(err.error, QJsonParseError::NoError);
    const QJsonObject o = doc.object();
    QCOMPARE(o.value("bench").toString(), QString("tokenizer"));
    QCOMPARE(o.value("value").toDouble(), 31.25);
    QCOMPARE(o.value("threads").toInt(), 2);
    QCOMPARE(o.value("ok").toBool(), true);
    QCOMPARE(o.value("text").toString(),
             QString::fromUtf8("quote \" backslash \\ tab \t nl \n ctl \x01 é"));
}

void TestJsonLine::nonFiniteIsNull() {
    const std::string s = JsonLine().add("v", std::numeric_limits<double>::infinity()).str();
    QCOMPARE(QString::fromStdString(s), QString("{\"v\":null}"));
}

QTEST_APPLESS_MAIN(TestJsonLine)
#include "test_json_line.moc"
