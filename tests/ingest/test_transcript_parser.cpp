// Transcripts: SRT, WebVTT, Whisper JSON and timestamped text keep their timestamps and speakers.
#include "folio/ingest/text_source.h"
#include "folio/ingest/transcript_parser.h"
#include "ingest_test_support.h"
#include "test_support.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace folio::ingest;

namespace {

Document parse(const char* path, const QByteArray& bytes) {
    return documentFromBytes(
        path, std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())), "test");
}

} // namespace

class TestTranscriptParser : public QObject {
    Q_OBJECT
private slots:
    void timestamps_data();
    void timestamps();
    void formats_data();
    void formats();
    void renderedText();
    void malformedFallsBackToText();
    void plainMarkdownIsNotATranscript();
    void fixtures_data();
    void fixtures();
};

void TestTranscriptParser::timestamps_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<qlonglong>("ms");
    QTest::newRow("hms") << "01:02:03" << 3723000LL;
    QTest::newRow("srt comma") << "00:00:01,500" << 1500LL;
    QTest::newRow("vtt short") << "02:03.250" << 123250LL;
    QTest::newRow("centiseconds") << "01:14:14.21" << 4454210LL;
    QTest::newRow("one digit hour") << "1:00:00" << 3600000LL;
    QTest::newRow("bad minutes") << "00:61:00" << -1LL;
    QTest::newRow("no colon") << "1234" << -1LL;
}

void TestTranscriptParser::timestamps() {
    QFETCH(QString, text);
    QFETCH(qlonglong, ms);
    const auto v = parseTimestamp(text.toStdString());
    QCOMPARE(v ? static_cast<qlonglong>(*v) : -1LL, ms);
    if (v) QCOMPARE(QString::fromStdString(formatTimestamp(*v)).size(), 8);
}

void TestTranscriptParser::formats_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("cues");
    QTest::addColumn<qlonglong>("secondStartMs");
    QTest::addColumn<QString>("secondSpeaker");
    QTest::addColumn<QString>("secondText");
    QTest::newRow("srt crlf")
        << "a.srt"
        << QByteArray(
               "1\r\n00:00:01,000 --> 00:00:02,000\r\nHello\r\nthere\r\n\r\n2\r\n00:00:03,500 --> "
               "00:00:05,000\r\n[SPEAKER_01]: Second cue\r\n")
        << 2 << 3500LL << "SPEAKER_01"
        << "Second cue";
    QTest::newRow("vtt") << "b.vtt"
                         << QByteArray("WEBVTT\n\nNOTE a comment\n\nintro\n00:01.000 --> 00:02.000 "
                                       "align:start\n<v Ada>Hi <b>all</b>\n\n"
                                       "00:00:04.000 --> 00:00:06.000\n<v.loud Bob>Hello Ada\n")
                         << 2 << 4000LL << "Bob"
                         << "Hello Ada";
    QTest::newRow("whisper")
        << "c.json"
        << QByteArray(
               R"({"text":"x","segments":[{"start":0.0,"end":2.0,"text":" One."},)"
               R"({"start":2.5,"end":4.0,"text":" Two.","speaker":"SPEAKER_00"}],"language":"en"})")
        << 2 << 2500LL << "SPEAKER_00"
        << "Two.";
    QTest::newRow("stamped lines")
        << "d.txt"
        << QByteArray("[00:00:00] Ada: Welcome.\n[00:00:05] Bob: Thanks.\n[00:01:10] Ada: Next.\n")
        << 3 << 5000LL << "Bob"
        << "";
    QTest::newRow("changelog markdown")
        << "e.md"
        << QByteArray("**Mat:** Hello and welcome.\n\n**Jon:** \\[00:04:02.14\\] Hi Mat.\n\n"
                      "**Mat:** Great.\n\n**Jon:** \\[00:09:00.00\\] Later.\n\n**Mat:** "
                      "\\[00:10:00.00\\] End.\n")
        << 5 << 242140LL << "Jon"
        << "";
}

void TestTranscriptParser::formats() {
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    QFETCH(int, cues);
    QFETCH(qlonglong, secondStartMs);
    QFETCH(QString, secondSpeaker);
    QFETCH(QString, secondText);
    const Document d = parse(qPrintable(name), content);
    QCOMPARE(d.kind, DocumentKind::Transcript);
    QCOMPARE(int(d.cues.size()), cues);
    QCOMPARE(static_cast<qlonglong>(d.cues[1].startMs), secondStartMs);
    QCOMPARE(QString::fromStdString(d.cues[1].speaker), secondSpeaker);
    const QString span =
        QString::fromStdString(d.text.substr(d.cues[1].begin, d.cues[1].end - d.cues[1].begin));
    if (!secondText.isEmpty()) QVERIFY2(span.contains(secondText), qPrintable(span));
    for (std::size_t i = 1; i < d.cues.size(); ++i) QVERIFY(d.cues[i].begin >= d.cues[i - 1].end);
}

void TestTranscriptParser::renderedText() {
    const Document d = parse("a.srt", "1\n00:41:07,000 --> 00:41:09,000\n[Ada]: Hi\n");
    QCOMPARE(QString::fromStdString(d.text), QString("[00:41:07] Ada: Hi\n"));
    QCOMPARE(d.cues[0].sourceLine, 1);
    QCOMPARE(d.cues[0].sourceLastLine, 3);
    QCOMPARE(d.cues[0].endMs, 2469000);
}

void TestTranscriptParser::malformedFallsBackToText() {
    const Document d = parse("bad.srt", "1\nnot a timing line\nHello\n");
    QCOMPARE(d.kind, DocumentKind::Code);
    QCOMPARE(QString::fromStdString(d.text), QString("1\nnot a timing line\nHello\n"));
    QVERIFY(QString::fromStdString(d.notes.back()).contains("line 1"));
}

void TestTranscriptParser::plainMarkdownIsNotATranscript() {
    const Document d = parse("notes.md", "# Notes\n\nSee [1] and a[2] at 10:30 today.\n");
    QCOMPARE(d.kind, DocumentKind::Prose);
}

void TestTranscriptParser::fixtures_data() {
    QTest::addColumn<QString>("relative");
    QTest::addColumn<int>("minCues");
    QTest::addColumn<QString>("lastStamp");
    QTest::addColumn<QString>("speaker");
    QTest::newRow("changelog 594")
        << "transcripts/changelog/the-changelog-594.md" << 40 << "02:39:59"
        << "";
    QTest::newRow("go time 115") << "transcripts/changelog/go-time-115.md" << 40 << "01:17:15"
                                 << "Mat Ryer";
    QTest::newRow("sintel srt") << "transcripts/sintel/sintel_en.srt" << 26 << "00:10:5"
                                << "";
    QTest::newRow("diarized vtt")
        << "transcripts/whisper-ctranslate2/ref-medium-diarization__dosparlants.vtt" << 5
        << "00:00:"
        << "SPEAKER_00";
    QTest::newRow("diarized json")
        << "transcripts/whisper-ctranslate2/ref-medium-diarization__dosparlants.json" << 5
        << "00:00:"
        << "SPEAKER_01";
    QTest::newRow("word stamps srt")
        << "transcripts/whisper-ctranslate2/ref-small-transcribe-word-stamps__gossos.srt" << 2
        << "00:00:"
        << "";
}

void TestTranscriptParser::fixtures() {
    QFETCH(QString, relative);
    QFETCH(int, minCues);
    QFETCH(QString, lastStamp);
    QFETCH(QString, speaker);
    const QString path = folio::test::fixture(relative);
    if (path.isEmpty()) QSKIP("shared fixtures are absent");
    const SourceResult r = readTextFile(path);
    QCOMPARE(r.documents.size(), std::size_t{1});
    const Document& d = r.documents[0];
    QCOMPARE(d.kind, DocumentKind::Transcript);
    QVERIFY2(int(d.cues.size()) >= minCues, qPrintable(QString::number(d.cues.size())));
    QVERIFY(QString::fromStdString(formatTimestamp(d.cues.back().startMs)).startsWith(lastStamp));
    if (!speaker.isEmpty()) {
        bool found = false;
        for (const auto& c : d.cues) found = found || QString::fromStdString(c.speaker) == speaker;
        QVERIFY2(found, qPrintable("no cue by " + speaker));
    }
    for (std::size_t i = 1; i < d.cues.size(); ++i)
        QVERIFY(d.cues[i].startMs >= d.cues[i - 1].startMs);
}

QTEST_GUILESS_MAIN(TestTranscriptParser)
#include "test_transcript_parser.moc"
