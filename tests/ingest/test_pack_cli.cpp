// folio-cli pack end to end: a folder with a transcript, a PDF and code, JSON output, the budget,
// exact counts with the DeepSeek tokenizer when the shared fixtures are present, and --store.
#include "ingest_test_support.h"
#include "test_support.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using folio::test::runCli;
using folio::test::writeFile;

namespace {

QList<QJsonObject> jsonLines(const QByteArray& out) {
    QList<QJsonObject> lines;
    for (const QByteArray& line : out.split('\n'))
        if (!line.trimmed().isEmpty()) lines.append(QJsonDocument::fromJson(line).object());
    return lines;
}

QJsonObject firstOfType(const QList<QJsonObject>& lines, const QString& type) {
    for (const auto& l : lines)
        if (l.value("type").toString() == type) return l;
    return {};
}

} // namespace

class TestPackCli : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void packsFolderAsJson();
    void plainOutputIsTheContext();
    void budgetSelects();
    void exactCountsWithTokenizer();
    void prefixStableWithDeepSeekTokenizer();
    void storesSession();
    void usageErrors();

private:
    QTemporaryDir tmp_;
    QString folder_;
};

void TestPackCli::initTestCase() {
    folder_ = tmp_.filePath("notes");
    folio::test::PdfSpec pdf;
    pdf.pages = {{"The whale is white."}, {"Call me Ishmael."}};
    QVERIFY(writeFile(folder_ + "/book.pdf", folio::test::makePdf(pdf)));
    QVERIFY(writeFile(folder_ + "/talk.srt", "1\n00:00:01,000 --> 00:00:02,000\nHello\n"));
    QByteArray code;
    for (int i = 0; i < 400; ++i)
        code +=
            "int f" + QByteArray::number(i) + "() { return " + QByteArray::number(i) + "; }\n\n";
    QVERIFY(writeFile(folder_ + "/src/code.cpp", code));
    QVERIFY(writeFile(folder_ + "/logo.png", QByteArray("\x89PNG\0\0\0", 7)));
}

void TestPackCli::packsFolderAsJson() {
    const auto r = runCli({"pack", folder_, "--json"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.err.contains("APPROXIMATE"));
    const auto lines = jsonLines(r.out);
    const QJsonObject summary = firstOfType(lines, "summary");
    QVERIFY(summary.value("total_tokens").toInt() > 0);
    QCOMPARE(summary.value("documents").toInt(), 3);
    QCOMPARE(summary.value("skipped").toInt(), 1);
    QCOMPARE(summary.value("exact").toBool(), false);
    QCOMPARE(firstOfType(lines, "skipped").value("reason").toString(), QString("binary"));
    const QString text = firstOfType(lines, "context").value("text").toString();
    QVERIFY(text.contains("<<<PDF book.pdf (2 pages)>>>\n<<<p. 1>>>\nThe whale is white."));
    QVERIFY(text.contains("<<<TRANSCRIPT talk.srt (00:00:02, 1 cues)>>>\n[00:00:01] Hello\n"));
    QVERIFY(text.contains("<<<FILE src/code.cpp (800 lines)>>>\n1|int f0()"));
    bool sawFolder = false;
    for (const auto& l : lines)
        sawFolder = sawFolder || (l.value("type") == "folder" && l.value("path") == "notes/src/");
    QVERIFY(sawFolder);
}

void TestPackCli::plainOutputIsTheContext() {
    const auto a = runCli({"pack", folder_});
    const auto b = runCli({"pack", folder_});
    QCOMPARE(a.exitCode, 0);
    QVERIFY(a.out.startsWith("<<<FOLIO CONTEXT v2>>>"));
    QCOMPARE(a.out, b.out); // deterministic bytes
}

void TestPackCli::budgetSelects() {
    const auto r = runCli(
        {"pack", folder_, "--json", "--budget", "2000", "--question", "what does f333 return?"});
    QCOMPARE(r.exitCode, 0);
    const auto lines = jsonLines(r.out);
    const QJsonObject summary = firstOfType(lines, "summary");
    QVERIFY(summary.value("retrieval").toBool());
    QVERIFY(summary.value("total_tokens").toInt() <= 2000);
    const QString text = firstOfType(lines, "context").value("text").toString();
    QVERIFY2(text.contains("return 333;"), qPrintable(text.left(3000)));
}

void TestPackCli::exactCountsWithTokenizer() {
    FOLIO_REQUIRE_FIXTURE(tokenizer, "tokenizer/deepseek-v3/tokenizer.json");
    const auto r = runCli({"pack", folder_, "--json", "--tokenizer", tokenizer});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(!r.err.contains("APPROXIMATE"));
    const QJsonObject summary = firstOfType(jsonLines(r.out), "summary");
    QCOMPARE(summary.value("exact").toBool(), true);
    // The context's own tokenization adds up to the reported total.
    const auto whole =
        runCli({"tokenize", "--model", tokenizer, "--count"},
               firstOfType(jsonLines(r.out), "context").value("text").toString().toUtf8());
    QCOMPARE(whole.exitCode, 0);
    const int total = summary.value("total_tokens").toInt();
    QVERIFY2(std::abs(whole.out.trimmed().toInt() - total) <= 8,
             qPrintable(whole.out + " vs " + QString::number(total)));
}

// The prefix test of test_packer, with the real DeepSeek tokenizer encoding each whole context in
// one piece (as a server with a prefix cache would): a commit that changes src/c.cpp leaves every
// token before c.cpp's old place unchanged.
void TestPackCli::prefixStableWithDeepSeekTokenizer() {
    FOLIO_REQUIRE_FIXTURE(tokenizer, "tokenizer/deepseek-v3/tokenizer.json");
    if (!folio::test::haveGit()) QSKIP("git is not installed");
    const QString repo = tmp_.filePath("history");
    QVERIFY(QDir().mkpath(repo));
    QVERIFY(folio::test::git(repo, {"init", "-q"}));
    for (int i = 0; i < 4; ++i) {
        const QString name = QString(QChar('a' + i));
        QByteArray body;
        for (int k = 0; k < 30; ++k)
            body += "int " + name.toUtf8() + QByteArray::number(k) + "(int v) { return v * " +
                    QByteArray::number(k) + "; }\n";
        QVERIFY(writeFile(repo + "/src/" + name + ".cpp", body));
        QVERIFY(folio::test::git(repo, {"add", "-A"}));
        QVERIFY(folio::test::git(repo, {"commit", "-q", "-m", name}, nullptr, i + 1));
    }
    const auto before = runCli({"pack", repo, "--committed", "--tokenizer", tokenizer});
    QCOMPARE(before.exitCode, 0);
    QByteArray changed;
    {
        QFile f(repo + "/src/c.cpp");
        QVERIFY(f.open(QIODevice::ReadOnly));
        changed = f.readAll().replace("return v * 7;", "return v * 70;");
    }
    QVERIFY(writeFile(repo + "/src/c.cpp", changed));
    QVERIFY(folio::test::git(repo, {"commit", "-q", "-am", "change c"}, nullptr, 9));
    const auto after = runCli({"pack", repo, "--committed", "--tokenizer", tokenizer});
    QCOMPARE(after.exitCode, 0);
    auto ids = [&](const QByteArray& text) {
        const auto r = runCli({"tokenize", "--model", tokenizer}, text);
        return r.out.trimmed().split(' ');
    };
    const auto a = ids(before.out), b = ids(after.out);
    qsizetype common = 0;
    while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
    const qsizetype cAt = before.out.indexOf("<<<FILE src/c.cpp");
    QVERIFY(cAt > 0);
    const qsizetype beforeC = ids(before.out.left(cAt)).size();
    qInfo("DeepSeek tokenizer: common prefix %lld of %lld tokens; %lld tokens precede src/c.cpp",
          static_cast<long long>(common), static_cast<long long>(b.size()),
          static_cast<long long>(beforeC));
    QVERIFY(common >= beforeC - 1); // at most the seam token before "<<<" may merge differently
    QVERIFY(after.out.lastIndexOf("<<<FILE src/c.cpp") > after.out.indexOf("<<<FILE src/d.cpp"));
}

void TestPackCli::storesSession() {
    const QString db = tmp_.filePath("sessions.db");
    const auto r = runCli({"pack", folder_, "--store", db, "--session", "notes", "--output",
                           tmp_.filePath("ctx.txt")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(QFileInfo::exists(db));
    QVERIFY(QFileInfo(tmp_.filePath("ctx.txt")).size() > 100);
    const auto again = runCli({"pack", folder_, "--store", db, "--session", "notes"});
    QCOMPARE(again.exitCode, 1); // the name is taken
    QVERIFY(again.err.contains("notes"));
}

void TestPackCli::usageErrors() {
    QCOMPARE(runCli({"pack"}).exitCode, 2);
    QCOMPARE(runCli({"pack", folder_, "--budget", "x"}).exitCode, 2);
    QCOMPARE(runCli({"pack", folder_, "--store", "a.db"}).exitCode, 2);
    const auto missing = runCli({"pack", tmp_.filePath("nope"), folder_});
    QCOMPARE(missing.exitCode, 1); // the other source is still packed
    QVERIFY(missing.out.startsWith("<<<FOLIO CONTEXT v2>>>"));
}

QTEST_GUILESS_MAIN(TestPackCli)
#include "test_pack_cli.moc"
