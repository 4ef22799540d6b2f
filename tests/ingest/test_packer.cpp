// Packing: determinism, order for prefix reuse (a commit re-tokenizes only the tail), exact counts
// per document, folder and source, and budget-driven retrieval.
#include "folio/ingest/chunker.h"
#include "folio/ingest/context_format.h"
#include "folio/ingest/git_source.h"
#include "folio/ingest/packer.h"
#include "folio/ingest/retrieval_index.h"
#include "folio/ingest/text_source.h"
#include "ingest_test_support.h"

#include <QTemporaryDir>
#include <set>
#include <QtTest>

using namespace folio::ingest;
using folio::test::git;
using folio::test::standInCounting;
using folio::test::standInEncode;
using folio::test::writeFile;

namespace {

QByteArray codeFile(const QString& name, int functions) {
    QByteArray out = "// " + name.toUtf8() + "\n#include <cstdio>\n\n";
    for (int i = 0; i < functions; ++i)
        out += "int " + name.toUtf8() + "_f" + QByteArray::number(i) +
               "(int x) {\n    int y = x * " + QByteArray::number(i) +
               ";\n    return y + 1;\n}\n\n";
    return out;
}

SourceResult textSource(const std::string& name, const std::string& text) {
    SourceResult s;
    s.name = name;
    s.kindName = "text";
    Document d;
    d.source = name;
    d.path = name;
    d.title = name;
    d.kind = DocumentKind::Prose;
    d.text = text;
    s.documents.push_back(d);
    return s;
}

} // namespace

class TestPacker : public QObject {
    Q_OBJECT
private slots:
    void anchors_data();
    void anchors();
    void deterministic();
    void prefixStableAcrossCommits();
    void prefixStableWithRetrieval_data();
    void prefixStableWithRetrieval();
    void countsAddUp();
    void everythingFitsGoesInWhole();
    void overBudgetSelectsByQuestion();
    void overBudgetWithoutQuestionKeepsOrder();
    void oneLongLineDoesNotBlockTheRanking();
    void chunkBoundaries();
    void manifestListsSkipped();
};

void TestPacker::anchors_data() {
    QTest::addColumn<int>("every");
    QTest::addColumn<QString>("expected");
    const QString body = "a\nb\nc\nd\ne\n";
    QTest::newRow("every line") << 1 << "1|a\n2|b\n3|c\n4|d\n5|e\n";
    QTest::newRow("every 2") << 2 << "1|a\nb\n3|c\nd\n5|e\n";
    QTest::newRow("none") << 0 << body;
}

void TestPacker::anchors() {
    QFETCH(int, every);
    QFETCH(QString, expected);
    std::string out;
    const std::string text = "a\nb\nc\nd\ne\n";
    appendAnchoredLines(out, text, 0, text.size(), 1, every);
    QCOMPARE(QString::fromStdString(out), expected);
    // An excerpt starting at line 4 anchors its first line.
    std::string excerpt;
    appendAnchoredLines(excerpt, text, 6, text.size(), 4, 10);
    QCOMPARE(QString::fromStdString(excerpt), QString("4|d\ne\n"));
}

void TestPacker::deterministic() {
    std::vector<SourceResult> a{textSource("b.md", "bee\n"), textSource("a.md", "ay\n")};
    const PackedContext p1 = packSources(a, standInCounting());
    const PackedContext p2 = packSources(a, standInCounting());
    QCOMPARE(p1.text(), p2.text());
    QCOMPARE(p1.tokenIds(standInEncode), p2.tokenIds(standInEncode));
    PackOptions single;
    single.threads = 1;
    const PackedContext p3 = packSources(a, standInCounting(), single);
    QCOMPARE(p3.text(), p1.text());
    QCOMPARE(p3.documentTokens, p1.documentTokens);
    QVERIFY(QString::fromStdString(p1.text()).startsWith(
        "<<<FOLIO CONTEXT v2>>>\nSources: b.md (text); a.md (text)\n"));
    QVERIFY(QString::fromStdString(p1.text()).contains("<<<FILE b.md (1 lines)>>>\n1|bee\n"));
    QVERIFY(QString::fromStdString(p1.text()).endsWith("<<<END OF CONTEXT>>>\n"));
}

void TestPacker::prefixStableAcrossCommits() {
    if (!folio::test::haveGit()) QSKIP("git is not installed");
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    // Five commits, one file each: a.cpp oldest ... e.cpp newest.
    const QStringList names{"a", "b", "c", "d", "e"};
    for (int i = 0; i < names.size(); ++i) {
        QVERIFY(writeFile(repo + "/src/" + names[i] + ".cpp", codeFile(names[i], 8)));
        QVERIFY(git(repo, {"add", "-A"}));
        QVERIFY(git(repo, {"commit", "-q", "-m", names[i]}, nullptr, i + 1));
    }
    GitSourceOptions o;
    o.mode = GitTreeMode::Committed; // a reproducible snapshot per commit
    const PackedContext before = packSources({readGitRepository(repo, o)}, standInCounting());
    // A new commit changes d.cpp, a recent file (not the newest).
    QByteArray changed = codeFile("d", 8);
    changed.replace("return y + 1;", "return y + 2;");
    QVERIFY(writeFile(repo + "/src/d.cpp", changed));
    QVERIFY(git(repo, {"commit", "-q", "-am", "change d"}, nullptr, 10));
    const PackedContext after = packSources({readGitRepository(repo, o)}, standInCounting());

    // The stand-in encoder is prefix-stable the way BPE with pre-tokenization is, and the packer
    // encodes segment by segment, so ids can be compared directly.
    const auto ids1 = before.tokenIds(standInEncode), ids2 = after.tokenIds(standInEncode);
    QCOMPARE(ids1.size(), before.totalTokens);
    std::size_t common = 0;
    while (common < ids1.size() && common < ids2.size() && ids1[common] == ids2[common]) ++common;
    // Everything before d.cpp's old place: the preamble, a.cpp, b.cpp, c.cpp.
    std::size_t beforeD = 0;
    for (const auto& s : before.segments) {
        if (s.document != PackedSegment::kNoDocument &&
            before.documents[s.document].path == "src/d.cpp")
            break;
        beforeD += s.tokens;
    }
    QVERIFY(beforeD > before.segments[0].tokens);
    QVERIFY2(
        common >= beforeD,
        qPrintable(QString("common prefix %1 < %2 tokens before d.cpp").arg(common).arg(beforeD)));
    // ... and d.cpp moved to the tail.
    QCOMPARE(QString::fromStdString(after.documents.back().path), QString("src/d.cpp"));
    qInfo("common token prefix: %zu of %zu tokens (%zu before the changed file)", common,
          ids2.size(), beforeD);
}

// A generated repository of 64 files in 8 folders, each committed on its own; each function uses
// two words of 40, so that a question matches chunks to different degrees.
QByteArray mixedFile(int f, int variant) {
    QByteArray out = "/* file " + QByteArray::number(f) + " */\n#include <x.h>\n\n";
    for (int i = 0; i < 40; ++i) {
        const QByteArray a = "w" + QByteArray::number((f * 7 + i * 3) % 40);
        const QByteArray b = "w" + QByteArray::number((f * 5 + i * 11) % 37);
        out += "/* " + a + " and " + b + " handling */\nstatic int " + a + "_" + b + "_" +
               QByteArray::number(f) + "_" + QByteArray::number(i) + "(struct " + a + " *x)\n{\n";
        for (int k = 0; k <= (f + i) % 5; ++k)
            out += "\tx->" + b + " += " + QByteArray::number(k) + ";\n";
        if (variant && i == 4) // a few lines more, with words of the question
            for (int k = 0; k < 4; ++k)
                out += "\tx->" + a + "_changed = w3_w17(w29, " + QByteArray::number(k) + ");\n";
        out += "\treturn 0;\n}\n\n";
    }
    return out;
}

void TestPacker::prefixStableWithRetrieval_data() {
    QTest::addColumn<int>("budget");
    QTest::addColumn<int>("changed");
    for (int budget : {4000, 12000, 40000})
        for (int changed : {3, 17, 30, 41, 58})
            QTest::newRow(qPrintable(QString("budget %1, file %2").arg(budget).arg(changed)))
                << budget << changed;
}

void TestPacker::prefixStableWithRetrieval() {
    QFETCH(int, budget);
    QFETCH(int, changed);
    if (!folio::test::haveGit()) QSKIP("git is not installed");
    QTemporaryDir tmp;
    const QString repo = tmp.path();
    QVERIFY(git(repo, {"init", "-q"}));
    auto path = [&](int f) {
        return QString("%1/dir%2/file%3.c").arg(repo).arg(f / 8).arg(f);
    };
    for (int f = 0; f < 64; ++f) {
        QVERIFY(writeFile(path(f), mixedFile(f, 0)));
        QVERIFY(git(repo, {"add", "-A"}));
        QVERIFY(git(repo, {"commit", "-q", "-m", QString::number(f)}, nullptr, f));
    }
    GitSourceOptions o;
    o.mode = GitTreeMode::Committed;
    PackOptions po;
    po.budget = std::size_t(budget);
    po.statistics = std::make_shared<RetrievalStatistics>(); // kept from one pack to the next
    po.question = "How are w3, w17 and w29 handled, and what calls w5?";
    po.chunking.targetBytes = 600; // a few functions a chunk
    po.chunking.maxBytes = 1200;
    const PackedContext before = packSources({readGitRepository(repo, o)}, standInCounting(), po);
    QVERIFY(before.retrieval);
    QVERIFY(writeFile(path(changed), mixedFile(changed, 1)));
    QVERIFY(git(repo, {"commit", "-q", "-am", "change"}, nullptr, 59));
    const PackedContext after = packSources({readGitRepository(repo, o)}, standInCounting(), po);
    QVERIFY(after.totalTokens <= po.budget);

    // The byte offset of the first segment of the changed file (or of the end of the content).
    const std::string name = QString("dir%1/file%2.c").arg(changed / 8).arg(changed).toStdString();
    auto firstOf = [&](const PackedContext& p) {
        std::size_t at = 0;
        for (const auto& seg : p.segments) {
            if (seg.kind == SegmentKind::Map || seg.kind == SegmentKind::Manifest) break;
            if (seg.document != PackedSegment::kNoDocument && p.documents[seg.document].path == name)
                break;
            at += seg.text.size();
        }
        return at;
    };
    const std::string a = before.text(), b = after.text();
    std::size_t common = 0;
    while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
    const std::size_t bound = std::min(firstOf(before), firstOf(after));
    qInfo("identical for %zu bytes, bound %zu, of %zu", common, bound, a.size());
    QVERIFY2(common >= bound, qPrintable(QString("identical for %1 bytes, the changed file's first "
                                                 "chunk at %2 (of %3)")
                                             .arg(common)
                                             .arg(bound)
                                             .arg(a.size())));
    // The selection is not trivial: excerpts from several files, and the budget well used.
    std::set<std::size_t> docs;
    for (const auto& seg : before.segments)
        if (seg.kind == SegmentKind::Excerpt || seg.kind == SegmentKind::Document) docs.insert(seg.document);
    QVERIFY(docs.size() >= 3);
    // (Below the budget by the reserved caps of the map and manifest and up to a chunk trimmed.)
    QVERIFY2(before.totalTokens * 100 >= po.budget * 75, qPrintable(QString::number(before.totalTokens)));
}

void TestPacker::countsAddUp() {
    QTemporaryDir tmp;
    QVERIFY(writeFile(tmp.filePath("proj/src/a.cpp"), codeFile("a", 3)));
    QVERIFY(writeFile(tmp.filePath("proj/src/b.cpp"), codeFile("b", 5)));
    QVERIFY(writeFile(tmp.filePath("proj/README.md"), "# Proj\n\nHello.\n"));
    const PackedContext p = packSources({readFolder(tmp.filePath("proj"))}, standInCounting());
    std::size_t sum = 0;
    for (const auto& s : p.segments) {
        QCOMPARE(s.tokens, standInEncode(s.text).size());
        sum += s.tokens;
    }
    QCOMPARE(sum, p.totalTokens);
    const auto folders = p.folderTokens();
    QCOMPARE(folders.at("proj/src/"),
             p.documentTokens[1] + p.documentTokens[2]); // README.md sorts first
    QCOMPARE(folders.at("proj/"), p.documentTokens[0] + p.documentTokens[1] + p.documentTokens[2]);
    QCOMPARE(p.sourceTokens().at("proj"), folders.at("proj/"));
    QCOMPARE(p.tokenIds(standInEncode),
             standInEncode(p.text())); // the seams fall between pre-tokens
}

void TestPacker::everythingFitsGoesInWhole() {
    std::vector<SourceResult> s{textSource("a.md", "alpha beta\n"), textSource("b.md", "gamma\n")};
    const PackedContext all = packSources(s, standInCounting());
    PackOptions o;
    o.budget = all.totalTokens; // exactly enough
    const PackedContext p = packSources(s, standInCounting(), o);
    QVERIFY(!p.retrieval);
    QVERIFY(p.totalTokens <= o.budget);
    QCOMPARE(p.inclusion, (std::vector<int>{2, 2}));
    // The same documents, whole; only the manifest, held to 2% of the budget, may be shorter.
    QCOMPARE(p.segments.size(), all.segments.size());
    for (std::size_t i = 0; i + 1 < p.segments.size(); ++i)
        QCOMPARE(p.segments[i].text, all.segments[i].text);
    QVERIFY(p.segments.back().tokens <= o.budget / 50);
}

void TestPacker::overBudgetSelectsByQuestion() {
    std::string a, b;
    for (int i = 0; i < 60; ++i)
        a += "Paragraph " + std::to_string(i) + " talks about whales and the sea.\n\n";
    for (int i = 0; i < 60; ++i)
        b += "Paragraph " + std::to_string(i) +
             (i == 41 ? " explains the quaternion kernel.\n\n"
                      : " is filler text about nothing.\n\n");
    std::vector<SourceResult> s{textSource("whales.md", a), textSource("math.md", b)};
    PackOptions o;
    o.budget = 600;
    o.question = "Where is the quaternion kernel explained?";
    o.chunking.targetBytes = 300;
    o.chunking.maxBytes = 600;
    const PackedContext p = packSources(s, standInCounting(), o);
    QVERIFY(p.retrieval);
    QVERIFY2(p.totalTokens <= o.budget, qPrintable(QString::number(p.totalTokens)));
    const QString text = QString::fromStdString(p.text());
    QVERIFY(text.contains("quaternion kernel"));
    QVERIFY(text.contains("<<<FILE math.md lines "));
    // Still in stable order: excerpts of a document in line order, documents in source order.
    int lastDoc = -1, lastLine = 0;
    for (const auto& seg : p.segments) {
        if (seg.kind != SegmentKind::Excerpt) continue;
        const int doc = static_cast<int>(seg.document);
        QVERIFY(doc >= lastDoc);
        if (doc == lastDoc) QVERIFY(seg.firstLine > lastLine);
        lastDoc = doc;
        lastLine = seg.lastLine;
    }
    // Same inputs, same selection.
    QCOMPARE(packSources(s, standInCounting(), o).text(), p.text());
}

void TestPacker::overBudgetWithoutQuestionKeepsOrder() {
    std::string a;
    for (int i = 0; i < 200; ++i) a += "line " + std::to_string(i) + " of a long document\n\n";
    PackOptions o;
    o.budget = 400;
    o.chunking.targetBytes = 200;
    const PackedContext p = packSources({textSource("long.md", a)}, standInCounting(), o);
    QVERIFY(p.retrieval);
    QVERIFY(p.totalTokens <= o.budget);
    QCOMPARE(p.inclusion[0], 1);
    QCOMPARE(p.segments[1].firstLine, 1); // the start of the document, in order
    // 2% of 400 tokens holds no manifest frame: the manifest is empty rather than over its cap.
    QCOMPARE(p.segments.back().kind, SegmentKind::Manifest);
    QVERIFY(p.segments.back().tokens <= o.budget / 50);
    o.budget = p.documentTokens[0]; // not enough for it whole, enough for a manifest line
    const PackedContext q = packSources({textSource("long.md", a)}, standInCounting(), o);
    QVERIFY(q.retrieval);
    QVERIFY2(QString::fromStdString(q.segments.back().text)
                .contains("Source long.md: text. " + QString::fromStdString(groupedCount(q.documentTokens[0])) +
                          " tokens, in excerpts.\n"),
             qPrintable(QString::fromStdString(q.segments.back().text) + QString::number(o.budget)));
}

void TestPacker::oneLongLineDoesNotBlockTheRanking() {
    // The best match is one line of 20 KB (a data file): one chunk, far over the room. It is
    // passed over, and the matches below it fill the budget.
    std::string line;
    for (int i = 0; i < 2000; ++i) line += "quaternion ";
    std::string other;
    for (int i = 0; i < 60; ++i)
        other += "Paragraph " + std::to_string(i) + (i % 3 ? " of filler.\n\n" : " on the quaternion.\n\n");
    std::vector<SourceResult> s{textSource("data.txt", line + "\n"), textSource("notes.md", other)};
    PackOptions o;
    o.budget = 800;
    o.question = "quaternion";
    o.chunking.targetBytes = 300;
    o.chunking.maxBytes = 600;
    const PackedContext p = packSources(s, standInCounting(), o);
    QVERIFY(p.retrieval);
    QVERIFY(p.totalTokens <= o.budget);
    QCOMPARE(p.inclusion[0], kLeftOut);
    QCOMPARE(p.inclusion[1], kExcerpts);
    QVERIFY2(p.totalTokens * 10 >= o.budget * 6, qPrintable(QString::number(p.totalTokens)));
}

void TestPacker::chunkBoundaries() {
    Document code;
    code.kind = DocumentKind::Code;
    code.text = codeFile("k", 40).toStdString();
    ChunkOptions o;
    o.targetBytes = 200;
    o.maxBytes = 400;
    const auto chunks = chunkDocument(code, 0, o);
    QVERIFY(chunks.size() > 5);
    std::size_t expectBegin = 0;
    int expectLine = 1;
    for (const auto& c : chunks) {
        QCOMPARE(c.begin, expectBegin); // contiguous, covering everything
        QCOMPARE(c.firstLine, expectLine);
        expectBegin = c.end;
        expectLine = c.lastLine + 1;
        QVERIFY(c.end - c.begin <= o.maxBytes + 80);
        // Cuts fall after a blank line, so every chunk after the first starts at a function.
        if (c.ordinal > 0)
            QVERIFY2(code.text.compare(c.begin, 4, "int ") == 0,
                     code.text.substr(c.begin, 20).c_str());
    }
    QCOMPARE(expectBegin, code.text.size());
}

void TestPacker::manifestListsSkipped() {
    SourceResult s = textSource("a.md", "x\n");
    s.kindName = "folder";
    s.skipped.push_back({"logo.png", SkipReason::Binary, "binary content"});
    s.skipped.push_back({"build/", SkipReason::GitIgnored, "matched by .gitignore"});
    const PackedContext p = packSources({s}, standInCounting());
    const QString manifest = QString::fromStdString(p.segments.back().text);
    QVERIFY(manifest.startsWith("<<<MANIFEST>>>"));
    QVERIFY2(manifest.contains("Source a.md: folder. 1 file, " + QString::fromStdString(groupedCount(p.documentTokens[0])) +
                               " tokens: all whole; 2 left out (1 binary, 1 gitignored).\n"),
             qPrintable(manifest));
    // Counts and reasons only: the names are in the session store and pack --json.
    QVERIFY(!manifest.contains("logo.png"));
    PackOptions first;
    first.manifestFirst = true;
    const PackedContext q = packSources({s}, standInCounting(), first);
    QCOMPARE(q.segments[1].kind, SegmentKind::Manifest);
    QCOMPARE(q.segments[1].text, p.segments.back().text);
    QVERIFY(QString::fromStdString(q.segments[0].text).contains("The manifest below"));
}

QTEST_GUILESS_MAIN(TestPacker)
#include "test_packer.moc"
