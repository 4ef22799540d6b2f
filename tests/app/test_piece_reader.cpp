// The snapshot payload reader: a second thread reads 8 MiB checksum pieces into a ring of three
// reused buffers while the parser reads the stream. A payload of four and a half pieces wraps the
// ring; the bytes the parser sees and the chained checksum are checked against the file as written
// and against checksum64 computed here piece by piece.
#include "runtime/piece_reader.h"

#include "folio/checksum.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <istream>
#include <random>
#include <vector>

using namespace folio;
using namespace folio::app;

namespace {

constexpr std::uint64_t kSeed = 0x1234abcdull;

std::vector<char> randomBytes(std::size_t n, unsigned seed) {
    std::vector<char> v(n);
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        const std::uint64_t w = rng();
        std::memcpy(v.data() + i, &w, 8);
    }
    for (std::size_t i = n / 8 * 8; i < n; ++i) v[i] = char(rng());
    return v;
}

// The payload's checksum as the snapshot writer chains it: one call per 8 MiB piece.
std::uint64_t piecewise(const std::vector<char>& payload) {
    std::uint64_t sum = kSeed;
    for (std::size_t at = 0; at < payload.size(); at += std::size_t(kChecksumPiece))
        sum = checksum64(payload.data() + at, std::min(payload.size() - at, std::size_t(kChecksumPiece)), sum);
    return sum;
}

// A header of `lead` bytes, the payload, then (unless left out) its checksum.
QString writeFile(const QString& dir, const QString& name, qint64 lead, const std::vector<char>& payload, bool withSum,
                  std::uint64_t sum) {
    const QString path = dir + "/" + name;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return {};
    f.write(QByteArray(lead, 'h'));
    f.write(payload.data(), qint64(payload.size()));
    if (withSum) f.write(reinterpret_cast<const char*>(&sum), 8);
    return path;
}

PieceRead readWith(const QString& path, qint64 lead, qint64 payloadBytes, const std::function<void(std::istream&)>& parse) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly) || f.read(lead).size() != lead) return {};
    return readPieces(f, payloadBytes, kSeed, parse);
}

} // namespace

class TestPieceReader : public QObject {
    Q_OBJECT
private slots:
    void everyByteInOrderAcrossTheRing();
    void whatTheParserLeavesIsStillVerified();
    void truncationAndDamageAreCaught();
};

void TestPieceReader::everyByteInOrderAcrossTheRing() {
    QTemporaryDir dir;
    const auto payload = randomBytes(std::size_t(4 * kChecksumPiece + kChecksumPiece / 2 + 123), 1);
    const std::uint64_t sum = piecewise(payload);
    const QString path = writeFile(dir.path(), "whole", 44, payload, true, sum);
    // Twice: the second read takes its buffers from the ones the first gave back.
    for (int round = 0; round < 2; ++round) {
        std::vector<char> seen;
        seen.reserve(payload.size());
        const PieceRead r = readWith(path, 44, qint64(payload.size()), [&](std::istream& in) {
            // Reads of awkward sizes, some across the 1 MiB steps and the 8 MiB pieces.
            const std::size_t sizes[] = {1, 7, 4096, (std::size_t(1) << 20) + 3, 333333, std::size_t(kChecksumPiece) + 5};
            std::vector<char> buf(sizes[5]);
            for (std::size_t i = 0;; ++i) {
                const std::size_t n = sizes[i % 6];
                in.read(buf.data(), std::streamsize(n));
                seen.insert(seen.end(), buf.data(), buf.data() + in.gcount());
                if (std::size_t(in.gcount()) < n) break;
            }
        });
        QVERIFY(r.complete);
        QCOMPARE(r.stored, sum);
        QCOMPARE(r.sum, sum);
        QCOMPARE(seen.size(), payload.size());
        QVERIFY(seen == payload);
    }
}

void TestPieceReader::whatTheParserLeavesIsStillVerified() {
    QTemporaryDir dir;
    const auto payload = randomBytes(std::size_t(3 * kChecksumPiece + 17), 2);
    const std::uint64_t sum = piecewise(payload);
    const QString path = writeFile(dir.path(), "partial", 8, payload, true, sum);
    // The parser stops early (a state that fails its structural checks does): the rest is still
    // read and checksummed, so a damaged file is told from a wrong one.
    const PieceRead early = readWith(path, 8, qint64(payload.size()), [](std::istream& in) {
        char head[100];
        in.read(head, 100);
    });
    QVERIFY(early.complete);
    QCOMPARE(early.sum, sum);
    const PieceRead none = readWith(path, 8, qint64(payload.size()), [](std::istream&) {});
    QVERIFY(none.complete);
    QCOMPARE(none.sum, sum);
}

void TestPieceReader::truncationAndDamageAreCaught() {
    QTemporaryDir dir;
    auto payload = randomBytes(std::size_t(4 * kChecksumPiece + 1000), 3);
    const std::uint64_t sum = piecewise(payload);
    auto readAll = [](std::istream& in) {
        std::vector<char> buf(1 << 20);
        while (in.read(buf.data(), std::streamsize(buf.size())) || in.gcount() > 0) {
        }
    };
    // Cut in the middle of the fourth piece: the parser sees the end of the stream, the reader
    // reports it, nothing waits forever.
    const std::vector<char> cut(payload.begin(), payload.begin() + std::ptrdiff_t(3 * kChecksumPiece + 5000));
    const QString truncated = writeFile(dir.path(), "truncated", 16, cut, false, 0);
    QVERIFY(!truncated.isEmpty());
    QVERIFY(!readWith(truncated, 16, qint64(payload.size()), readAll).complete);
    QVERIFY(!readWith(truncated, 16, qint64(payload.size()), [](std::istream&) {}).complete);
    // The payload whole but its checksum missing.
    const QString noSum = writeFile(dir.path(), "nosum", 16, payload, false, 0);
    QVERIFY(!noSum.isEmpty());
    QVERIFY(!readWith(noSum, 16, qint64(payload.size()), readAll).complete);
    // One bit flipped in the last piece: complete, but the sums differ.
    payload[payload.size() - 10] ^= 0x04;
    const QString damaged = writeFile(dir.path(), "damaged", 16, payload, true, sum);
    const PieceRead d = readWith(damaged, 16, qint64(payload.size()), readAll);
    QVERIFY(d.complete);
    QCOMPARE(d.stored, sum);
    QVERIFY(d.sum != sum);
    QCOMPARE(d.sum, piecewise(payload));
}

QTEST_GUILESS_MAIN(TestPieceReader)
#include "test_piece_reader.moc"
