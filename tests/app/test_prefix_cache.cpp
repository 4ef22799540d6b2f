// The prefix cache on a real directory and the real engine: hash chains, both tiers, LRU budgets,
// corrupt/truncated/foreign files, an unwritable directory, and a restored prefix that continues
// with the same logits as a fresh prefill.
#include "model_fixture.h"
#include "runtime/prefix_cache.h"

#include <QFile>
#include <QTemporaryDir>
#include <sstream>

using namespace folio;
using folio::app::PrefixCache;

namespace {

std::vector<std::int32_t> tokens(std::size_t n, unsigned seed) { return folio::test::randomTokens(n, 500, seed); }

QByteArray blob(int n, char c) { return QByteArray(n, c); }

} // namespace

class TestPrefixCache : public QObject {
    Q_OBJECT
private slots:
    void hashChainChangesOnlyAfterAnEdit();
    void longestPrefixFromMemory();
    void diskTierSurvivesANewProcess();
    void badFilesAreDeletedAndReported_data();
    void badFilesAreDeletedAndReported();
    void budgetsEvictLeastRecentlyUsed();
    void unwritableDirectoryKeepsMemoryTier();
    void readOnlyDirectoryKeepsMemoryTier();
    void rejectsUnalignedPrefixes();
    void deltaChainsResolveToTheirFullState();
    void restoredPrefixContinuesExactly();
};

void TestPrefixCache::hashChainChangesOnlyAfterAnEdit() {
    auto a = tokens(1000, 1);
    const auto ha = app::prefixHashes(7, a);
    QCOMPARE(ha.size(), std::size_t(7)); // 7 complete blocks of 128
    a[600] += 1;                        // inside block 4
    const auto hb = app::prefixHashes(7, a);
    for (int b = 0; b < 4; ++b) QCOMPARE(hb[std::size_t(b)], ha[std::size_t(b)]);
    for (int b = 4; b < 7; ++b) QVERIFY(hb[std::size_t(b)] != ha[std::size_t(b)]);
    QVERIFY(app::prefixHashes(8, a)[0] != hb[0]); // another model, other keys
}

void TestPrefixCache::deltaChainsResolveToTheirFullState() {
    QTemporaryDir dir;
    const auto t = tokens(1000, 9);
    {
        PrefixCache cache({dir.path(), qint64(1) << 30, qint64(1) << 30});
        QVERIFY(cache.put(4, std::span(t.data(), 256), blob(100, 'f'), nullptr));
        QVERIFY(cache.put(4, std::span(t.data(), 512), blob(20, '1'), nullptr, 256));
        QVERIFY(cache.put(4, std::span(t.data(), 768), blob(20, '2'), nullptr, 512));
        QVERIFY(!cache.put(4, std::span(t.data(), 896), blob(20, '3'), nullptr, 900)); // base after the end
        const auto hit = cache.longest(4, t);
        QVERIFY(hit);
        QCOMPARE(hit->tokens, qint64(768));
        QCOMPARE(int(hit->chain.size()), 3);
        QCOMPARE(hit->chain[0], blob(100, 'f'));
        QCOMPARE(hit->chain[2], blob(20, '2'));
    }
    // A new process reads the chain from disk, full state first.
    PrefixCache reader({dir.path(), qint64(1) << 30, qint64(1) << 30});
    auto hit = reader.longest(4, t);
    QVERIFY(hit && hit->fromDisk);
    QCOMPARE(int(hit->chain.size()), 3);
    // Tokens that differ inside the second delta's span: the chain up to 512 still serves.
    auto edited = t;
    edited[600] += 1;
    hit = reader.longest(4, edited);
    QVERIFY(hit);
    QCOMPARE(hit->tokens, qint64(512));
    QCOMPARE(int(hit->chain.size()), 2);
    // A chain whose full state is gone is a miss at every length that needs it.
    const QStringList files = QDir(dir.path()).entryList({"*.fsnap"}, QDir::Files);
    QCOMPARE(files.size(), 3);
    PrefixCache third({dir.path(), qint64(1) << 30, qint64(1) << 30});
    for (const QString& f : files) {
        QFile in(dir.filePath(f));
        QVERIFY(in.open(QIODevice::ReadOnly));
        if (in.size() > 150) { // the full state's file
            in.close();
            QVERIFY(QFile::remove(dir.filePath(f)));
        }
    }
    QVERIFY(!third.longest(4, t));
}

void TestPrefixCache::longestPrefixFromMemory() {
    PrefixCache cache({});
    const auto t = tokens(1000, 2);
    QVERIFY(cache.put(1, std::span(t.data(), 256), blob(10, 'a'), nullptr));
    QVERIFY(cache.put(1, std::span(t.data(), 640), blob(10, 'b'), nullptr));
    auto hit = cache.longest(1, t);
    QVERIFY(hit);
    QCOMPARE(hit->tokens, qint64(640));
    QCOMPARE(hit->chain.back(), blob(10, 'b'));
    hit = cache.longest(1, std::span(t.data(), 639)); // shorter than 640: the 256 snapshot
    QVERIFY(hit);
    QCOMPARE(hit->tokens, qint64(256));
    auto other = t;
    other[300] ^= 1; // diverges after 256
    QCOMPARE(cache.longest(1, other)->tokens, qint64(256));
    QVERIFY(!cache.longest(2, t)); // another model
}

void TestPrefixCache::diskTierSurvivesANewProcess() {
    QTemporaryDir dir;
    const auto t = tokens(512, 3);
    {
        PrefixCache cache({dir.path(), 1 << 20, 1 << 20});
        QString error;
        QVERIFY2(cache.put(9, std::span(t.data(), 384), blob(1000, 'x'), &error), qPrintable(error));
        QVERIFY(cache.diskBytes() > 1000);
    }
    PrefixCache fresh({dir.path(), 1 << 20, 1 << 20});
    const auto hit = fresh.longest(9, t);
    QVERIFY(hit);
    QVERIFY(hit->fromDisk);
    QCOMPARE(hit->tokens, qint64(384));
    QCOMPARE(hit->chain.back(), blob(1000, 'x'));
    QVERIFY(fresh.takeProblems().isEmpty());
}

void TestPrefixCache::badFilesAreDeletedAndReported_data() {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("expect");
    QTest::newRow("flipped payload byte") << "flip" << "checksum mismatch";
    QTest::newRow("truncated") << "truncate" << "truncated";
    QTest::newRow("foreign model") << "foreign" << "another model";
    QTest::newRow("not a snapshot") << "garbage" << "bad magic";
}

void TestPrefixCache::badFilesAreDeletedAndReported() {
    QFETCH(QString, damage);
    QFETCH(QString, expect);
    QTemporaryDir dir;
    const auto t = tokens(256, 4);
    {
        PrefixCache cache({dir.path(), 1 << 20, 1 << 20});
        QVERIFY(cache.put(5, std::span(t.data(), 128), blob(200, 's'), nullptr));
    }
    const QString file = QDir(dir.path()).entryInfoList({"*.fsnap"}).front().filePath();
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QByteArray bytes = f.readAll();
    if (damage == "flip") bytes[100] = char(bytes[100] ^ 1);
    if (damage == "truncate") bytes.chop(50);
    if (damage == "foreign") bytes[12] = char(bytes[12] ^ 0xff); // fingerprint field
    if (damage == "garbage") bytes = QByteArray(300, 'g');
    f.resize(0);
    f.seek(0);
    f.write(bytes);
    f.close();
    PrefixCache cache({dir.path(), 1 << 20, 1 << 20});
    QVERIFY(!cache.longest(5, t));
    const QStringList problems = cache.takeProblems();
    QCOMPARE(problems.size(), 1);
    QVERIFY2(problems.front().contains(expect), qPrintable(problems.front()));
    QVERIFY(!QFile::exists(file)); // deleted, recomputed next time
}

void TestPrefixCache::budgetsEvictLeastRecentlyUsed() {
    QTemporaryDir dir;
    const auto t = tokens(1024, 5);
    PrefixCache cache({dir.path(), 2500, 2500});
    QVERIFY(cache.put(1, std::span(t.data(), 128), blob(1000, '1'), nullptr));
    QTest::qWait(20); // file times order the disk tier
    QVERIFY(cache.put(1, std::span(t.data(), 256), blob(1000, '2'), nullptr));
    QTest::qWait(20);
    QVERIFY(cache.longest(1, std::span(t.data(), 128))); // touch the first: now the second is LRU
    QTest::qWait(20);
    QVERIFY(cache.put(1, std::span(t.data(), 384), blob(1000, '3'), nullptr));
    QVERIFY(cache.memoryBytes() <= 2500);
    QCOMPARE(cache.memoryEntries(), 2);
    QVERIFY(cache.diskBytes() <= 2500);
    PrefixCache fresh({dir.path(), 2500, 2500});
    QVERIFY(fresh.longest(1, std::span(t.data(), 128)));                     // kept: recently used
    QCOMPARE(fresh.longest(1, std::span(t.data(), 383))->tokens, qint64(128)); // 256 evicted
    QCOMPARE(fresh.longest(1, std::span(t.data(), 384))->tokens, qint64(384));
}

void TestPrefixCache::unwritableDirectoryKeepsMemoryTier() {
    // A cache path that cannot be a directory (a file is in the way): reported, memory tier works.
    QTemporaryDir base;
    QFile blocker(base.filePath("cache"));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    {
        const auto t = tokens(256, 6);
        PrefixCache cache({base.filePath("cache/snapshots"), 1 << 20, 1 << 20});
        QVERIFY(cache.takeProblems().join(' ').contains("cannot create the cache directory"));
        QString error;
        QVERIFY(!cache.put(3, std::span(t.data(), 256), blob(10, 'm'), &error));
        QVERIFY(error.contains("stays in memory"));
        QVERIFY(cache.longest(3, t));
    }
}

void TestPrefixCache::readOnlyDirectoryKeepsMemoryTier() {
    // Not enforceable for root, who may write anyway.
    QTemporaryDir dir;
    QFile::setPermissions(dir.path(), QFile::ReadOwner | QFile::ExeOwner);
    if (QFile(dir.filePath("probe")).open(QIODevice::WriteOnly)) QSKIP("running as a user that ignores permissions");
    const auto t = tokens(256, 6);
    PrefixCache cache({dir.path(), 1 << 20, 1 << 20});
    QString error;
    QVERIFY(!cache.put(3, std::span(t.data(), 256), blob(10, 'm'), &error));
    QVERIFY(error.contains("stays in memory"));
    QVERIFY(cache.longest(3, t)); // still served from memory
    QFile::setPermissions(dir.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
}

void TestPrefixCache::rejectsUnalignedPrefixes() {
    PrefixCache cache({});
    const auto t = tokens(300, 7);
    QString error;
    QVERIFY(!cache.put(1, std::span(t.data(), 300), blob(1, 'x'), &error));
    QVERIFY(error.contains("multiple of 128"));
    QVERIFY(!cache.put(1, std::span(t.data(), 0), blob(1, 'x'), &error));
}

void TestPrefixCache::restoredPrefixContinuesExactly() {
    folio::test::TinyModel tiny;
    QVERIFY(tiny.create().isEmpty());
    const Model& model = *tiny.model;
    const auto t = folio::test::randomTokens(700, tiny.cfg.vocabSize, 8);
    std::vector<float> fresh;
    PrefillOptions all;
    all.allLogits = true;
    {
        auto seq = model.newSequence();
        QVERIFY(model.prefill(*seq, t, all, &fresh).ok());
    }
    QTemporaryDir dir;
    {
        PrefixCache cache({dir.path(), 1 << 30, 1 << 30});
        auto seq = model.newSequence();
        QVERIFY(model.prefill(*seq, std::span(t.data(), 512), PrefillOptions{}, nullptr).ok());
        std::stringstream s;
        QVERIFY(seq->save(s).ok());
        const std::string bytes = s.str();
        QVERIFY(cache.put(model.facts().fingerprint, std::span(t.data(), 512), QByteArray(bytes.data(), qsizetype(bytes.size())), nullptr));
    }
    PrefixCache cache({dir.path(), 1 << 30, 1 << 30});
    const auto hit = cache.longest(model.facts().fingerprint, t);
    QVERIFY(hit && hit->fromDisk);
    QCOMPARE(hit->tokens, qint64(512));
    auto seq = model.newSequence();
    std::stringstream in(std::string(hit->chain.back().constData(), std::size_t(hit->chain.back().size())));
    QVERIFY(seq->restore(in).ok());
    std::vector<float> rest;
    QVERIFY(model.prefill(*seq, std::span(t.data() + 512, 188), all, &rest).ok());
    const std::size_t V = std::size_t(tiny.cfg.vocabSize);
    for (std::size_t i = 0; i < rest.size(); ++i)
        if (rest[i] != fresh[512 * V + i]) QFAIL(qPrintable(QString("position %1 differs after restore").arg(512 + i / V)));

    // The overlapped path (read on one thread, verified and restored on this one) gives the same
    // state...
    {
        PrefixCache streaming({dir.path(), 1 << 30, 1 << 30});
        auto s2 = model.newSequence();
        bool fromDisk = false;
        QCOMPARE(streaming.restoreLongest(model.facts().fingerprint, t, *s2, &fromDisk), qint64(512));
        QVERIFY(fromDisk);
        std::vector<float> rest2;
        QVERIFY(model.prefill(*s2, std::span(t.data() + 512, 188), all, &rest2).ok());
        QVERIFY(rest2 == rest);
    }
    // ...and refuses a file damaged in the middle of its payload: reported, deleted, a miss.
    const QString file = QDir(dir.path()).entryInfoList({"*.fsnap"}, QDir::Files).front().filePath();
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadWrite));
        f.seek(f.size() / 2);
        char c = 0;
        f.getChar(&c);
        f.seek(f.size() / 2);
        f.putChar(char(c ^ 0x10));
    }
    PrefixCache damaged({dir.path(), 1 << 30, 1 << 30});
    auto s3 = model.newSequence();
    QCOMPARE(damaged.restoreLongest(model.facts().fingerprint, t, *s3), qint64(0));
    const QStringList problems = damaged.takeProblems();
    QCOMPARE(problems.size(), 1);
    QVERIFY2(problems.front().contains("unusable"), qPrintable(problems.front()));
    QVERIFY(!QFile::exists(file));
}

QTEST_GUILESS_MAIN(TestPrefixCache)
#include "test_prefix_cache.moc"
