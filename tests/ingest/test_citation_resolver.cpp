// Citations in model output resolve to exact spans, or are marked with the reason they do not.
#include "folio/ingest/citation_resolver.h"
#include "folio/ingest/text_source.h"

#include <QtTest>

using namespace folio::ingest;

namespace {

std::vector<Document> corpus() {
    std::vector<Document> docs;
    Document code;
    code.source = "folio";
    code.path = "src/engine/model.cpp";
    code.title = code.path;
    for (int i = 1; i <= 200; ++i) code.text += "line " + std::to_string(i) + "\n";
    docs.push_back(code);
    Document other = code;
    other.path = "src/ui/model.cpp";
    other.title = other.path;
    docs.push_back(other);
    Document pdf;
    pdf.source = "moby-dick.pdf";
    pdf.path = "moby-dick.pdf";
    pdf.title = "Moby Dick; or, The Whale";
    pdf.kind = DocumentKind::Pdf;
    const char* labels[] = {"i", "ii", "1", "2", "212"};
    for (int i = 0; i < 5; ++i) {
        Page p;
        p.index = i;
        p.label = labels[i];
        p.begin = pdf.text.size();
        pdf.text += "text of page " + std::string(labels[i]) + "\n";
        p.end = pdf.text.size();
        pdf.pages.push_back(p);
    }
    docs.push_back(pdf);
    docs.push_back(
        documentFromBytes("keynote.vtt",
                          "WEBVTT\n\n00:41:00.000 --> 00:41:05.000\nFirst\n\n00:41:05.000 --> "
                          "00:41:10.000\n<v Ada>Second\n\n"
                          "00:41:10.000 --> 00:41:20.000\nThird\n",
                          "keynote.vtt"));
    return docs;
}

} // namespace

class TestCitationResolver : public QObject {
    Q_OBJECT
private slots:
    void resolve_data();
    void resolve();
    void scanOutput();
};

void TestCitationResolver::resolve_data() {
    QTest::addColumn<QString>("citation");
    QTest::addColumn<bool>("resolved");
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("first"); // lines; pages: page index; times: start seconds
    QTest::addColumn<int>("last");
    QTest::addColumn<QString>("error");
    QTest::newRow("range") << "src/engine/model.cpp:120-134" << true << "src/engine/model.cpp"
                           << 120 << 134 << "";
    QTest::newRow("single") << "src/engine/model.cpp:7" << true << "src/engine/model.cpp" << 7 << 7
                            << "";
    QTest::newRow("L form") << "src/engine/model.cpp:L12-L15" << true << "src/engine/model.cpp"
                            << 12 << 15 << "";
    QTest::newRow("github anchor")
        << "src/engine/model.cpp#L30" << true << "src/engine/model.cpp" << 30 << 30 << "";
    QTest::newRow("en dash") << "src/engine/model.cpp:10\xE2\x80\x93"
                                "12"
                             << true << "src/engine/model.cpp" << 10 << 12 << "";
    QTest::newRow("words") << "src/engine/model.cpp, lines 3-4" << true << "src/engine/model.cpp"
                           << 3 << 4 << "";
    QTest::newRow("backticks") << "`src/engine/model.cpp:5`" << true << "src/engine/model.cpp" << 5
                               << 5 << "";
    QTest::newRow("source prefix")
        << "folio/src/engine/model.cpp:5" << true << "src/engine/model.cpp" << 5 << 5 << "";
    QTest::newRow("suffix") << "engine/model.cpp:9" << true << "src/engine/model.cpp" << 9 << 9
                            << "";
    QTest::newRow("case") << "SRC/Engine/Model.cpp:9" << true << "src/engine/model.cpp" << 9 << 9
                          << "";
    QTest::newRow("ambiguous") << "model.cpp:9" << false << "" << 0 << 0 << "ambiguous";
    QTest::newRow("past end") << "src/engine/model.cpp:190-250" << false << "" << 0 << 0
                              << "outside";
    QTest::newRow("unknown file") << "src/nope.cpp:3" << false << "" << 0 << 0 << "no document";
    QTest::newRow("whole file") << "src/ui/model.cpp" << true << "src/ui/model.cpp" << 1 << 200
                                << "";
    QTest::newRow("pdf page") << "moby-dick.pdf p. 212" << true << "moby-dick.pdf" << 4 << 4 << "";
    QTest::newRow("pdf title") << "Moby Dick; or, The Whale, p.2" << true << "moby-dick.pdf" << 3
                               << 3 << "";
    QTest::newRow("pdf roman") << "moby-dick.pdf page ii" << true << "moby-dick.pdf" << 1 << 1
                               << "";
    QTest::newRow("pdf range") << "moby-dick.pdf pp. 1-2" << true << "moby-dick.pdf" << 2 << 3
                               << "";
    QTest::newRow("pdf stem") << "moby-dick p. 1" << true << "moby-dick.pdf" << 2 << 2 << "";
    QTest::newRow("pdf bad page") << "moby-dick.pdf p. 999" << false << "" << 0 << 0
                                  << "no page labelled";
    QTest::newRow("time") << "keynote.vtt 00:41:07" << true << "keynote.vtt" << 2465 << 2470 << "";
    QTest::newRow("time at") << "keynote.vtt @ 41:12" << true << "keynote.vtt" << 2470 << 2480
                             << "";
    QTest::newRow("time comma") << "keynote.vtt, 0:41:00.5" << true << "keynote.vtt" << 2460 << 2465
                                << "";
    QTest::newRow("time range") << "keynote.vtt 00:41:01-00:41:11" << true << "keynote.vtt" << 2460
                                << 2480 << "";
    QTest::newRow("time outside") << "keynote.vtt 02:00:00" << false << "" << 0 << 0 << "outside";
    QTest::newRow("time unknown") << "talk.vtt 00:01:00" << false << "" << 0 << 0 << "no document";
}

void TestCitationResolver::resolve() {
    QFETCH(QString, citation);
    QFETCH(bool, resolved);
    QFETCH(QString, path);
    QFETCH(int, first);
    QFETCH(int, last);
    QFETCH(QString, error);
    const auto docs = corpus();
    const CitationResolver r(docs);
    const Citation c = r.resolve(citation.toStdString());
    QVERIFY2(c.resolved == resolved, c.error.c_str());
    if (!resolved) {
        QVERIFY2(QString::fromStdString(c.error).contains(error), c.error.c_str());
        return;
    }
    QCOMPARE(QString::fromStdString(c.path), path);
    const Document& d = docs[c.document];
    QVERIFY(c.beginByte < c.endByte && c.endByte <= d.text.size());
    switch (c.kind) {
    case CitationKind::Lines:
    case CitationKind::Document:
        QCOMPARE(c.firstLine, first);
        QCOMPARE(c.lastLine, last);
        QVERIFY(QString::fromStdString(d.text.substr(c.beginByte, c.endByte - c.beginByte))
                    .startsWith("line " + QString::number(first) + "\n"));
        break;
    case CitationKind::Page:
        QCOMPARE(c.pageIndex, first);
        QCOMPARE(c.lastPageIndex, last);
        QCOMPARE(c.beginByte, d.pages[static_cast<std::size_t>(first)].begin);
        break;
    case CitationKind::Time:
        QCOMPARE(int(c.startMs / 1000), first);
        QCOMPARE(int(c.endMs / 1000), last);
        break;
    }
}

void TestCitationResolver::scanOutput() {
    const auto docs = corpus();
    const CitationResolver r(docs);
    const std::string answer = "The loop is in [src/engine/model.cpp:120-134; src/ui/model.cpp:3] "
                               "and the whale on [moby-dick.pdf p. 212]. "
                               "At [keynote.vtt 00:41:07] Ada says so; see also [1], a[i], "
                               "xs[0:3], [a link](http://x) and [src/gone.cpp:4].";
    const auto found = r.scan(answer);
    QCOMPARE(found.size(), std::size_t{5});
    QVERIFY(found[0].resolved && found[1].resolved && found[2].resolved && found[3].resolved);
    QVERIFY(!found[4].resolved);
    QCOMPARE(QString::fromStdString(answer.substr(found[0].offset, found[0].length)),
             QString("src/engine/model.cpp:120-134"));
    QCOMPARE(QString::fromStdString(answer.substr(found[3].offset, found[3].length)),
             QString("keynote.vtt 00:41:07"));
    QCOMPARE(QString::fromStdString(answer.substr(found[4].offset, found[4].length)),
             QString("src/gone.cpp:4"));
    // Comma-separated citations inside one bracket.
    const auto two = r.scan("[src/engine/model.cpp:1, src/ui/model.cpp:2]");
    QCOMPARE(two.size(), std::size_t{2});
    QVERIFY(two[0].resolved && two[1].resolved);
}

QTEST_GUILESS_MAIN(TestCitationResolver)
#include "test_citation_resolver.moc"
