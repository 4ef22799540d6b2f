// Definitions per language (names, kinds, lines, the leading comment), identifier words, and
// chunks cut at definition starts.
#include "folio/ingest/chunk_index.h"
#include "folio/ingest/chunker.h"
#include "folio/ingest/definitions.h"
#include "folio/ingest/repo_map.h"
#include "folio/ingest/retrieval_index.h"
#include "ingest_test_support.h"

#include <QtTest>

using namespace folio::ingest;

namespace {

Document doc(const std::string& language, const std::string& text,
             DocumentKind kind = DocumentKind::Code) {
    Document d;
    d.path = "x";
    d.kind = kind;
    d.language = language;
    d.text = text;
    return d;
}

// "name@line/startLine" for each definition, joined by spaces.
QString summary(const std::vector<Definition>& defs) {
    QStringList out;
    for (const Definition& d : defs)
        out << QString("%1@%2/%3").arg(QString::fromStdString(d.name)).arg(d.line).arg(d.startLine);
    return out.join(' ');
}

} // namespace

class TestDefinitions : public QObject {
    Q_OBJECT
private slots:
    void languages_data();
    void languages();
    void kinds();
    void identifierWords_data();
    void identifierWords();
    void chunksStartAtDefinitions();
    void queryTerms();
    void stemmer_data();
    void stemmer();
    void ranking();
    void repositoryMap();
};

void TestDefinitions::languages_data() {
    QTest::addColumn<QString>("language");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    // The kernel's shapes: a return type on its own line, an attribute line before '{', a
    // kernel-doc comment, SYSCALL_DEFINE, macros, a struct; declarations and calls are not
    // definitions.
    QTest::newRow("c kernel") << "c"
                              << "#include <linux/sched.h>\n"           // 1
                                 "#define NICE_0 1024\n"                // 2
                                 "\n"                                   // 3
                                 "/**\n"                                // 4
                                 " * update_curr - charge runtime\n"    // 5
                                 " */\n"                                // 6
                                 "static void update_curr(struct cfs_rq *cfs_rq)\n" // 7
                                 "{\n"                                  // 8
                                 "\tfoo(cfs_rq);\n"                     // 9
                                 "}\n"                                  // 10
                                 "\n"                                   // 11
                                 "struct task_struct *\n"               // 12
                                 "pick_next_task_fair(struct rq *rq,\n" // 13
                                 "\t\t    struct task_struct *prev)\n"  // 14
                                 "{\n"                                  // 15
                                 "}\n"                                  // 16
                                 "static vm_fault_t do_wp_page(struct vm_fault *vmf)\n" // 17
                                 "\t__releases(vmf->ptl)\n"             // 18
                                 "{\n"                                  // 19
                                 "}\n"                                  // 20
                                 "int declared_only(int x);\n"          // 21
                                 "EXPORT_SYMBOL(update_curr);\n"        // 22
                                 "SYSCALL_DEFINE3(read, unsigned int, fd, char __user *, buf,\n" // 23
                                 "\t\tsize_t, count)\n"                 // 24
                                 "{\n"                                  // 25
                                 "}\n"                                  // 26
                                 "struct rq {\n"                        // 27
                                 "\tint nr_running;\n"                  // 28
                                 "};\n"                                 // 29
                                 "static const struct file_operations fops = {\n" // 30
                                 "};\n"                                 // 31
                                 "int one(void) { return 1; }\n"        // 32
                                 "x = call(2);\n"                       // 33
                              << "NICE_0@2/2 update_curr@7/4 pick_next_task_fair@13/12 "
                                 "do_wp_page@17/17 read@23/23 rq@27/27 one@32/32";
    QTest::newRow("cpp") << "cpp"
                         << "namespace folio {\n"                            // 1
                            "class FOLIO_EXPORT Tokenizer : public Base {\n" // 2
                            "};\n"                                           // 3
                            "// Encodes text.\n"                             // 4
                            "std::vector<int> Tokenizer::encode(std::string_view s) const {\n" // 5
                            "    if (s.empty()) return {};\n"                // 6
                            "}\n"                                            // 7
                            "Tokenizer::Tokenizer(int n)\n"                  // 8
                            "    : n_(n) {}\n"                               // 9
                            "enum class Mode { A, B };\n"                    // 10
                            "}\n"
                         << "Tokenizer@2/2 Tokenizer::encode@5/4 Tokenizer::Tokenizer@8/8 Mode@10/10";
    QTest::newRow("python") << "python"
                            << "import os\n"
                               "\n"
                               "# A helper.\n"
                               "@cache\n"
                               "def load(path):\n"
                               "    return 1\n"
                               "\n"
                               "class Model(Base):\n"
                               "    async def forward(self, x):\n"
                               "        pass\n"
                            << "load@5/3 Model@8/8 forward@9/9";
    QTest::newRow("rust") << "rust"
                          << "/// Docs.\n"
                             "#[inline]\n"
                             "pub(crate) async fn run(x: u32) -> u32 {\n"
                             "}\n"
                             "pub struct Engine {\n"
                             "}\n"
                             "impl<T: Clone> Display for Engine {\n"
                             "}\n"
                             "macro_rules! check {\n"
                             "}\n"
                          << "run@3/1 Engine@5/5 Engine@7/7 check@9/9";
    QTest::newRow("go") << "go"
                        << "package main\n"
                           "func (s *Server) Serve(l net.Listener) error {\n"
                           "}\n"
                           "type Server struct {\n"
                           "}\n"
                           "func main() {\n"
                           "}\n"
                        << "Serve@2/2 Server@4/4 main@6/6";
    QTest::newRow("typescript") << "typescript"
                                << "export async function fetchAll(urls: string[]) {\n"
                                   "}\n"
                                   "export default class Client {\n"
                                   "  async request(path) {\n"
                                   "    if (x) {\n"
                                   "    }\n"
                                   "  }\n"
                                   "}\n"
                                   "const handler = async (req) => {\n"
                                   "};\n"
                                << "fetchAll@1/1 Client@3/3 request@4/4 handler@9/9";
    QTest::newRow("java") << "java"
                          << "public final class Parser {\n"
                             "    private static int parseHeader(String s) throws IOException {\n"
                             "        return 1;\n"
                             "    }\n"
                             "    abstract void run();\n"
                             "}\n"
                          << "Parser@1/1 parseHeader@2/2";
    QTest::newRow("shell") << "shell"
                           << "#!/bin/sh\n# Installs.\ninstall_missing() {\n}\nfunction run {\n}\n"
                           << "install_missing@3/2 run@5/5";
    QTest::newRow("kconfig") << "kconfig"
                             << "config SCHED_DEBUG\n\tbool \"debug\"\nmenuconfig NET\n"
                             << "SCHED_DEBUG@1/1 NET@3/3";
    QTest::newRow("markdown") << "markdown"
                              << "# Folio\n\ntext\n\n```sh\n# not a heading\n```\n## Building by hand\n"
                              << "Folio@1/1 Building by hand@8/8";
    QTest::newRow("rst") << "rst"
                         << "=========\nCFS\n=========\n\nOverview\n--------\n\ntext\n"
                         << "CFS@2/2 Overview@5/5";
    QTest::newRow("unknown language") << "yaml" << "a: 1\n" << "";
}

void TestDefinitions::languages() {
    QFETCH(QString, language);
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const auto defs = findDefinitions(doc(language.toStdString(), text.toStdString()));
    QCOMPARE(summary(defs), expected);
    // begin is the byte offset of startLine.
    const std::string t = text.toStdString();
    for (const Definition& d : defs) {
        int line = 1;
        for (std::size_t i = 0; i < d.begin; ++i) line += t[i] == '\n';
        QCOMPARE(line, d.startLine);
        QVERIFY(d.begin == 0 || t[d.begin - 1] == '\n');
    }
}

void TestDefinitions::kinds() {
    const auto defs = findDefinitions(doc("c", "#define X 1\nstruct s {\n};\nint f(void)\n{\n}\n"));
    QCOMPARE(defs.size(), std::size_t(3));
    QCOMPARE(defs[0].kind, DefinitionKind::Macro);
    QCOMPARE(defs[1].kind, DefinitionKind::Type);
    QCOMPARE(defs[2].kind, DefinitionKind::Function);
    QCOMPARE(QString(definitionKindName(defs[2].kind)), QString("function"));
    // PDFs and transcripts have none.
    QVERIFY(findDefinitions(doc("c", "int f(void)\n{\n}\n", DocumentKind::Pdf)).empty());
}

void TestDefinitions::identifierWords_data() {
    QTest::addColumn<QString>("identifier");
    QTest::addColumn<QString>("words");
    QTest::newRow("snake") << "pick_next_task_fair" << "pick next task fair";
    QTest::newRow("camel") << "parseHttpHeader" << "parse http header";
    QTest::newRow("acronym") << "parseHTTPHeader" << "parse http header";
    QTest::newRow("pascal") << "TokenCounter" << "token counter";
    QTest::newRow("qualified") << "Tokenizer::encode" << "tokenizer encode";
    QTest::newRow("digits") << "utf8Decode" << "utf8 decode";
    QTest::newRow("short parts dropped") << "aB_c" << "";
}

void TestDefinitions::identifierWords() {
    QFETCH(QString, identifier);
    QFETCH(QString, words);
    QStringList got;
    for (const std::string& w : folio::ingest::identifierWords(identifier.toStdString()))
        got << QString::fromStdString(w);
    QCOMPARE(got.join(' '), words);
}

void TestDefinitions::chunksStartAtDefinitions() {
    // 30 functions of ~200 bytes, each with a comment: with a 600-byte target, chunks hold two or
    // three whole functions and every chunk after the first starts at a function's comment.
    std::string text = "#include <x.h>\n\n";
    for (int i = 0; i < 30; ++i) {
        text += "/* f" + std::to_string(i) + " does things. */\nstatic int f" + std::to_string(i) +
                "(int x)\n{\n";
        for (int k = 0; k < 6; ++k) text += "\tx = x * " + std::to_string(k) + " + 1;\n";
        text += "\treturn x;\n}\n\n";
    }
    // And one function far over maxBytes, split inside at blank lines.
    text += "static int huge(void)\n{\n";
    for (int k = 0; k < 200; ++k) text += "\tcall" + std::to_string(k) + "();\n\n";
    text += "}\n";
    const Document d = doc("c", text);
    ChunkOptions o;
    o.targetBytes = 600;
    o.maxBytes = 1200;
    const auto chunks = chunkDocument(d, 0, o);
    QVERIFY(chunks.size() > 10);
    std::size_t expectBegin = 0;
    int expectLine = 1, beforeHuge = 0;
    for (const Chunk& c : chunks) {
        QCOMPARE(c.begin, expectBegin); // contiguous, covering everything
        QCOMPARE(c.firstLine, expectLine);
        int lines = 0;
        for (std::size_t i = c.begin; i < c.end; ++i) lines += text[i] == '\n';
        QCOMPARE(c.lastLine, c.firstLine + lines - 1);
        expectBegin = c.end;
        expectLine = c.lastLine + 1;
        QVERIFY(c.end - c.begin <= o.maxBytes + 80);
        const std::string head = text.substr(c.begin, 20);
        if (c.ordinal > 0 && text.compare(c.begin, 2, "/*") != 0) {
            // Only the pieces of the huge function may start elsewhere.
            QVERIFY2(c.begin >= text.find("static int huge"), head.c_str());
        }
        if (c.end <= text.find("static int huge")) ++beforeHuge;
    }
    QCOMPARE(expectBegin, text.size());
    QVERIFY(beforeHuge >= 8 && beforeHuge <= 16); // 2-3 functions a chunk
}

void TestDefinitions::queryTerms() {
    QCOMPARE(QString::fromStdString(ftsQuery("How does the CFS scheduler pick the next task?")),
             QString("\"CFS\" OR \"scheduler\" OR \"pick\" OR \"next\" OR \"task\""));
    QCOMPARE(QString::fromStdString(ftsQuery("Where is parseHeader?")),
             QString("\"parseHeader\" OR \"parse\" OR \"header\""));
    QCOMPARE(QString::fromStdString(ftsQuery("how is it")), QString());
    QStringList terms;
    for (const std::string& t : questionTerms("How does the CFS scheduler pick_next_task? parseHeader"))
        terms << QString::fromStdString(t);
    QCOMPARE(terms.join(' '), QString("cf schedul pick next task parsehead pars header"));
}

void TestDefinitions::stemmer_data() {
    QTest::addColumn<QString>("word");
    QTest::addColumn<QString>("stem");
    // Porter's own examples, step by step.
    const char* pairs[][2] = {
        {"caresses", "caress"}, {"ponies", "poni"},       {"ties", "ti"},
        {"caress", "caress"},   {"cats", "cat"},           {"feed", "feed"},
        {"agreed", "agre"},     {"plastered", "plaster"},  {"bled", "bled"},
        {"motoring", "motor"},  {"sing", "sing"},          {"conflated", "conflat"},
        {"troubled", "troubl"}, {"sized", "size"},         {"hopping", "hop"},
        {"tanned", "tan"},      {"falling", "fall"},       {"hissing", "hiss"},
        {"fizzed", "fizz"},     {"failing", "fail"},       {"filing", "file"},
        {"happy", "happi"},     {"sky", "sky"},            {"relational", "relat"},
        {"conditional", "condit"}, {"rational", "ration"}, {"valenci", "valenc"},
        {"digitizer", "digit"}, {"generalization", "gener"}, {"hopefulness", "hope"},
        {"electriciti", "electr"}, {"adjustment", "adjust"}, {"adoption", "adopt"},
        {"scheduler", "schedul"}, {"scheduling", "schedul"}, {"schedules", "schedul"},
        {"probate", "probat"},  {"controlling", "control"}, {"roll", "roll"},
        {"x86", "x86"},         {"yyyy", "yyyi"},          {"syzygy", "syzygi"},
        {"of", "of"}};
    for (const auto& p : pairs) QTest::newRow(p[0]) << p[0] << p[1];
}

void TestDefinitions::stemmer() {
    QFETCH(QString, word);
    QFETCH(QString, stem);
    QStringList got;
    for (const std::string& t : questionTerms(word.toStdString())) got << QString::fromStdString(t);
    if (stem == "of") QVERIFY(got.isEmpty()); // a function word
    else QCOMPARE(got.join(' '), stem);
}

void TestDefinitions::ranking() {
    // The definitions field ranks the chunk that defines a name above one that only calls it.
    Document a = doc("c", "static int helper(void)\n{\n\treturn pick_entity();\n}\n");
    a.path = "lib/a.c";
    Document b = doc("c", "static struct entity *\npick_entity(void)\n{\n\treturn 0;\n}\n");
    b.path = "lib/b.c";
    Document c = doc("java", "class A {\n    void run() { tokenCounterReset(); }\n}\n");
    c.path = "src/sched/A.java";
    const std::vector<Document> docs{a, b, c};
    const std::vector<std::vector<Definition>> defs{findDefinitions(a), findDefinitions(b),
                                                    findDefinitions(c)};
    const auto chunks = chunkDocuments(docs, {}, &defs);
    QCOMPARE(chunks.size(), std::size_t(3));
    {
        // A heading that is one 100,000-letter word: indexed without a deep recursion or a
        // quadratic stem (words past 40 letters are not terms).
        Document md = doc("markdown", "# " + std::string(100000, 'y') + "\n\ntext\n", DocumentKind::Prose);
        const std::vector<Document> one{md};
        const std::vector<std::vector<Definition>> oneDefs{findDefinitions(md)};
        QCOMPARE(oneDefs[0].size(), std::size_t(1));
        const RetrievalIndex index(chunkDocuments(one, {}, &oneDefs), one, &oneDefs, 1);
        QCOMPARE(index.rank("text").size(), std::size_t(1));
    }
    for (const int threads : {1, 2, 3}) {
        const RetrievalIndex index(chunks, docs, &defs, threads);
        const auto ranked = index.rank("Where is pick_entity?");
        QCOMPARE(ranked.size(), std::size_t(2));
        QCOMPARE(chunks[ranked[0].chunk].document, std::size_t(1));
        QVERIFY(ranked[0].score > ranked[1].score);
        // camelCase words in the text are found by their parts; a path component by name.
        const auto camel = index.rank("counter reset");
        QCOMPARE(camel.size(), std::size_t(1));
        QCOMPARE(camel[0].chunk, std::size_t(2));
        const auto path = index.rank("what is in sched?");
        QCOMPARE(path.size(), std::size_t(1));
        QCOMPARE(path[0].chunk, std::size_t(2));
        QVERIFY(index.rank("unrelated words").empty());
        QVERIFY(index.postingBytes() > 0);
    }
}

void TestDefinitions::repositoryMap() {
    // Two files with 40 functions each; excerpts cover f10-f11 of the first and f30 of the second.
    std::vector<Document> docs;
    std::vector<std::vector<Definition>> defs;
    for (const char* name : {"a.c", "b.c"}) {
        std::string text;
        for (int i = 0; i < 40; ++i)
            text += "#define M" + std::to_string(i) + " 1\nint f" + std::to_string(i) +
                    "(void)\n{\n}\n";
        Document d = doc("c", text);
        d.path = name;
        defs.push_back(findDefinitions(d));
        docs.push_back(std::move(d));
    }
    QCOMPARE(defs[0].size(), std::size_t(80));
    // f10 is named on line 4*10+2 = 42; f11 on 46; f30 on 122.
    const std::vector<MapExcerpt> excerpts{{0, 41, 48}, {1, 121, 124}};
    const auto counting = folio::test::standInCounting();
    const std::string big = frameRepoMap(docs, defs, excerpts, counting, 100000);
    const QString m = QString::fromStdString(big);
    QVERIFY(m.startsWith("<<<MAP>>>\n"));
    QVERIFY(m.endsWith("<<<END OF MAP>>>\n\n"));
    QVERIFY2(m.contains("\na.c (160 lines): f0 2, "), qPrintable(m));
    QVERIFY(m.contains(", *M10 41, *f10 42, *M11 45, *f11 46, f12 50,"));
    QVERIFY(m.contains(", *f30 122, f31 126,"));
    QVERIFY(!m.contains(" M12 ")); // macros only inside excerpts
    QVERIFY(m.indexOf("\na.c ") < m.indexOf("\nb.c "));
    // A small cap keeps the nearest definitions and says how many more there are.
    const std::size_t bigTokens = folio::test::standInEncode(big).size();
    const std::string small = frameRepoMap(docs, defs, excerpts, counting, bigTokens / 3);
    QVERIFY(!small.empty());
    QVERIFY(folio::test::standInEncode(small).size() <= bigTokens / 3);
    const QString s = QString::fromStdString(small);
    QVERIFY2(s.contains("f9 38, *M10 41, *f10 42, *M11 45, *f11 46, f12 50"), qPrintable(s));
    QVERIFY(s.contains(" more)\n"));
    QVERIFY(!s.contains(" f0 2,"));
    // Too small for one line: nothing.
    QVERIFY(frameRepoMap(docs, defs, excerpts, counting, 10).empty());
}

QTEST_GUILESS_MAIN(TestDefinitions)
#include "test_definitions.moc"
