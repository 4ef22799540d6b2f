// The manifest: a folder summary with exact counts, never over 2% of the budget, and a packed
// context never over its budget at any budget, on a generated repository-sized source.
#include "folio/ingest/manifest.h"
#include "folio/ingest/packer.h"
#include "ingest_test_support.h"

#include <QRegularExpression>
#include <QtTest>

using namespace folio::ingest;
using folio::test::standInCounting;
using folio::test::standInEncode;

namespace {

Document codeDoc(const std::string& path, const std::string& text) {
    Document d;
    d.source = "big";
    d.path = path;
    d.title = path;
    d.kind = DocumentKind::Code;
    d.language = "c";
    d.text = text;
    return d;
}

// 30 top folders x 4 subfolders x 5 files, each file a few functions; one file deep in the tree
// answers the question. 1,500 skipped files with mixed reasons, and a skipped folder.
SourceResult bigSource() {
    SourceResult s;
    s.name = "big";
    s.kindName = "git repository";
    s.description = "working tree of main at 0123456789ab";
    for (int t = 0; t < 30; ++t)
        for (int u = 0; u < 4; ++u)
            for (int f = 0; f < 5; ++f) {
                const std::string dir = "top" + std::to_string(t) + "/sub" + std::to_string(u) + "/";
                std::string text;
                for (int k = 0; k < 6; ++k)
                    text += "static int helper_" + std::to_string(t) + "_" + std::to_string(u) + "_" +
                            std::to_string(f) + "_" + std::to_string(k) +
                            "(int x)\n{\n\tint y = x * " + std::to_string(k) +
                            ";\n\treturn y + 1;\n}\n\n";
                if (t == 17 && u == 2 && f == 3)
                    text += "int pick_next_fair_entity(struct rq *rq)\n{\n\treturn "
                            "rq->cfs.leftmost;\n}\n\n";
                s.documents.push_back(codeDoc(dir + "file" + std::to_string(f) + ".c", text));
            }
    for (int i = 0; i < 1500; ++i)
        s.skipped.push_back({"top" + std::to_string(i % 30) + "/blob" + std::to_string(i) + ".bin",
                             i % 3 ? SkipReason::Binary : SkipReason::TooLarge, ""});
    s.skipped.push_back({"build/", SkipReason::GitIgnored, "matched by .gitignore"});
    return s;
}

const PackedSegment* manifestOf(const PackedContext& p) {
    for (const auto& s : p.segments)
        if (s.kind == SegmentKind::Manifest) return &s;
    return nullptr;
}

} // namespace

class TestManifest : public QObject {
    Q_OBJECT
private slots:
    void folderSummaryCounts();
    void compactCounts();
    void boundedAtEveryBudget_data();
    void boundedAtEveryBudget();
    void listsTheFoldersOfTheContent();
    void unlimitedBudgetHasNoFileLists();
    void chainsCountWhenNotListed();
};

void TestManifest::folderSummaryCounts() {
    std::vector<SourceResult> sources(1);
    sources[0].name = "r";
    sources[0].skipped = {{"a/b/x.png", SkipReason::Binary, ""},
                          {"a/gen/", SkipReason::Generated, ""},
                          {"top.bin", SkipReason::Binary, ""}};
    std::vector<Document> docs{codeDoc("a/b/one.c", "x"), codeDoc("a/b/two.c", "y"),
                               codeDoc("a/three.c", "z"), codeDoc("README", "w")};
    const std::vector<std::size_t> source(4, 0), tokens{10, 20, 30, 40};
    const std::vector<int> inclusion{kWhole, kExcerpts, kLeftOut, kWhole};
    const auto folders = folderSummary({&sources, &docs, &source, &tokens, &inclusion});
    QCOMPARE(folders.size(), std::size_t(3));
    QCOMPARE(QString::fromStdString(folders[0].path), QString(""));
    QCOMPARE(QString::fromStdString(folders[1].path), QString("a/"));
    QCOMPARE(QString::fromStdString(folders[2].path), QString("a/b/"));
    const FolderStats &root = folders[0], &a = folders[1], &ab = folders[2];
    QCOMPARE(root.files, std::size_t(4));
    QCOMPARE(root.tokens, std::size_t(100));
    QCOMPARE(root.whole, std::size_t(2));
    QCOMPARE(root.skipped, std::size_t(3));
    QCOMPARE(a.files, std::size_t(3));
    QCOMPARE(a.tokens, std::size_t(60));
    QCOMPARE(a.whole, std::size_t(1));
    QCOMPARE(a.excerpts, std::size_t(1));
    QCOMPARE(a.overBudget, std::size_t(1));
    QCOMPARE(a.skipped, std::size_t(2)); // x.png below it, and the folder a/gen/ itself
    QCOMPARE(a.byReason[static_cast<int>(SkipReason::Generated)], 1u);
    QCOMPARE(ab.depth, 2);
    QCOMPARE(ab.files, std::size_t(2));
    QCOMPARE(ab.skipped, std::size_t(1));
}

void TestManifest::compactCounts() {
    QCOMPARE(QString::fromStdString(groupedCount(0)), QString("0"));
    QCOMPARE(QString::fromStdString(groupedCount(1234567)), QString("1,234,567"));
    QCOMPARE(QString::fromStdString(compactCount(9999)), QString("9,999"));
    QCOMPARE(QString::fromStdString(compactCount(12345)), QString("12.3K"));
    QCOMPARE(QString::fromStdString(compactCount(412000)), QString("412K"));
    QCOMPARE(QString::fromStdString(compactCount(4120000)), QString("4.1M"));
}

void TestManifest::boundedAtEveryBudget_data() {
    QTest::addColumn<int>("budget");
    for (int b : {1, 40, 300, 700, 1000, 1500, 4000, 8000, 32768})
        QTest::newRow(qPrintable(QString::number(b))) << b;
}

void TestManifest::boundedAtEveryBudget() {
    QFETCH(int, budget);
    PackOptions o;
    o.budget = std::size_t(budget);
    o.question = "How does pick_next_fair_entity choose?";
    const PackedContext p = packSources({bigSource()}, standInCounting(), o);
    QVERIFY(p.retrieval);
    QVERIFY2(p.totalTokens <= o.budget, qPrintable(QString::number(p.totalTokens)));
    std::size_t sum = 0;
    for (const auto& s : p.segments) {
        QCOMPARE(s.tokens, standInEncode(s.text).size());
        sum += s.tokens;
    }
    QCOMPARE(sum, p.totalTokens);
    if (const PackedSegment* m = manifestOf(p)) {
        QVERIFY2(m->tokens <= o.budget / 50, qPrintable(QString::number(m->tokens)));
        const QString text = QString::fromStdString(m->text);
        QVERIFY(!text.contains(".c,") && !text.contains(".bin")); // no file lists
    }
    if (budget >= 1000) {
        // The content is the context's bulk, and the answer is in it.
        QVERIFY(!p.warning.size());
        const QString text = QString::fromStdString(p.text());
        QVERIFY2(text.contains("pick_next_fair_entity(struct rq *rq)"), qPrintable(text.left(2000)));
        QVERIFY(p.totalTokens * 10 >= o.budget * 8);
    }
    if (budget >= 4000) {
        const QString m = QString::fromStdString(manifestOf(p)->text);
        QVERIFY(m.startsWith("<<<MANIFEST>>>\nSource big: git repository, working tree of main at "
                             "0123456789ab. 600 files, "));
        QVERIFY(m.contains("; 1,501 left out (1,000 binary, 500 too large, 1 gitignored)"));
        QVERIFY(m.endsWith("more folders not listed)\n<<<END OF CONTEXT>>>\n"));
    }
    if (budget == 1) QVERIFY(!p.warning.empty());
}

void TestManifest::listsTheFoldersOfTheContent() {
    // 8 top folders x 4 subfolders x 2 files, and one folder a level deeper; the context holds a
    // file of top5/sub2/deep/ whole and an excerpt of top5/sub2/.
    std::vector<SourceResult> sources(1);
    sources[0].name = "r";
    sources[0].kindName = "git repository";
    std::vector<Document> docs;
    for (int t = 0; t < 8; ++t)
        for (int u = 0; u < 4; ++u)
            for (int f = 0; f < 2; ++f)
                docs.push_back(codeDoc("top" + std::to_string(t) + "/sub" + std::to_string(u) +
                                           "/f" + std::to_string(f) + ".c",
                                       "x"));
    docs.push_back(codeDoc("top5/sub2/deep/answer.c", "x"));
    const std::vector<std::size_t> source(docs.size(), 0), tokens(docs.size(), 100);
    std::vector<int> inclusion(docs.size(), kLeftOut);
    inclusion.back() = kWhole;
    inclusion[5 * 8 + 2 * 2 + 1] = kExcerpts; // top5/sub2/f1.c
    const ManifestInput in{&sources, &docs, &source, &tokens, &inclusion};
    const std::string m = frameManifest(in, standInCounting(), 600);
    QVERIFY(standInEncode(m).size() <= 600);
    const QString text = QString::fromStdString(m);
    for (int t = 0; t < 8; ++t) // every top-level folder
        if (t != 5)
            QVERIFY2(text.contains("\ntop" + QString::number(t) + "/: 8 files, 800 tokens; "),
                 qPrintable(text));
    QVERIFY(text.contains("\ntop5/: 9 files, 900 tokens; 1 whole, 1 in excerpts, 7 over the budget\n"));
    QVERIFY(text.contains("\ntop5/sub2/: 3 files, 300 tokens; 1 whole, 1 in excerpts, 1 over the "
                          "budget\n"));
    QVERIFY(text.contains("\ntop5/sub2/deep/: 1 file, 100 tokens; all whole\n"));
    QVERIFY(text.contains("\ntop0/: 8 files, 800 tokens; none in the context\n"));
    // Printed as a tree: path order.
    QVERIFY(text.indexOf("\ntop5/sub2/") < text.indexOf("\ntop5/sub2/deep/"));
    QVERIFY(text.indexOf("\ntop4/") < text.indexOf("\ntop5/"));
    // The cap left some folders out, and the manifest says how many.
    const auto listed = text.count(QRegularExpression("\n[a-z0-9/]+/: "));
    QVERIFY(listed < 8 + 32 + 1);
    QVERIFY2(text.contains("(" + QString::number(8 + 32 + 1 - listed) + " more folders not listed)"),
             qPrintable(text));
    // A bigger cap lists everything, and says nothing is missing.
    const QString all = QString::fromStdString(frameManifest(in, standInCounting(), 5000));
    QCOMPARE(all.count(QRegularExpression("\n[a-z0-9/]+/: ")), 8 + 32 + 1);
    QVERIFY(!all.contains("not listed"));
}

void TestManifest::unlimitedBudgetHasNoFileLists() {
    const PackedContext p = packSources({bigSource()}, standInCounting());
    QVERIFY(!p.retrieval);
    const PackedSegment* m = manifestOf(p);
    QVERIFY(m);
    QVERIFY(m->tokens <= std::max<std::size_t>(512, p.totalTokens / 50));
    const QString text = QString::fromStdString(m->text);
    QVERIFY(text.contains("600 files, "));
    QVERIFY(text.contains(": all whole"));
    QVERIFY(!text.contains("file0.c"));
}

void TestManifest::chainsCountWhenNotListed() {
    // a/b/c/x.c: "a/" and "a/b/" pass through to "a/b/c/". Listed, that line stands for all
    // three; under a cap with no room for it, all three are counted as not listed.
    std::vector<SourceResult> sources(1);
    sources[0].name = "r";
    sources[0].kindName = "git repository";
    const std::vector<Document> docs{codeDoc("a/b/c/x.c", "x")};
    const std::vector<std::size_t> source{0}, tokens{10};
    const std::vector<int> inclusion{kWhole};
    const ManifestInput in{&sources, &docs, &source, &tokens, &inclusion};
    const QString all = QString::fromStdString(frameManifest(in, standInCounting(), 1000));
    QVERIFY2(all.contains("\na/b/c/: 1 file, 10 tokens; all whole\n"), qPrintable(all));
    QVERIFY(!all.contains("not listed"));
    QVERIFY(!all.contains("\na/: "));
    // Room for the source line and the closing line, not for the folder line.
    std::size_t cap = 1;
    while (cap < 1000 && frameManifest(in, standInCounting(), cap).find("Source r:") == std::string::npos)
        ++cap;
    const QString tight = QString::fromStdString(frameManifest(in, standInCounting(), cap));
    QVERIFY2(!tight.contains("\na/b/c/: "), qPrintable(tight));
    QVERIFY2(tight.contains("(3 more folders not listed)"), qPrintable(tight));
}

QTEST_GUILESS_MAIN(TestManifest)
#include "test_manifest.moc"
