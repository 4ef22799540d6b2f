// Helpers for the ingestion tests: a stand-in tokenizer, a tiny PDF writer, and git fixtures built
// with the git command line.
#pragma once

#include "folio/ingest/token_counter.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QString>
#include <QStringList>
#include <QtTest>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace folio::test {

// A stand-in for the model's tokenizer (ingest must not depend on the engine). It pre-tokenizes the
// way DeepSeek's byte-level BPE does (letter runs with one leading space, digit groups of at most
// 3, punctuation runs, whitespace runs) and gives each piece a stable id from a hash. Like BPE with
// pre-tokenization, encode(a + b) == encode(a) + encode(b) whenever the seam falls between two
// pre-tokens, which is what the prefix-stability test relies on.
inline std::vector<std::int32_t> standInEncode(std::string_view text) {
    std::vector<std::int32_t> ids;
    auto cls = [](unsigned char c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80 || c == '_') return 0;
        if (c >= '0' && c <= '9') return 1;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 2;
        return 3;
    };
    std::size_t i = 0;
    while (i < text.size()) {
        const int k = cls(static_cast<unsigned char>(text[i]));
        std::size_t j = i + 1;
        if (k == 1) {
            while (j < text.size() && j - i < 3 && cls(static_cast<unsigned char>(text[j])) == 1)
                ++j;
        } else {
            int run = k;
            if (k == 2 && text[i] == ' ' && j < text.size() &&
                cls(static_cast<unsigned char>(text[j])) == 0)
                run = 0;
            while (j < text.size() && cls(static_cast<unsigned char>(text[j])) == run) ++j;
        }
        std::uint32_t h = 2166136261u;
        for (std::size_t p = i; p < j; ++p)
            h = (h ^ static_cast<unsigned char>(text[p])) * 16777619u;
        ids.push_back(static_cast<std::int32_t>(h % 100000u));
        i = j;
    }
    return ids;
}

inline ingest::TokenCounting standInCounting() {
    return {[](std::string_view t) { return standInEncode(t).size(); }, "stand-in test tokenizer",
            true};
}

inline bool writeFile(const QString& path, const QByteArray& bytes) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(bytes) == bytes.size();
}

// Runs git in `dir` with a fixed identity and dates, so fixtures are reproducible.
inline bool git(const QString& dir, const QStringList& args, QByteArray* out = nullptr,
                int commitSecond = 0) {
    QProcess p;
    p.setWorkingDirectory(dir);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    const QString date =
        QStringLiteral("2024-01-01T00:00:%1Z").arg(commitSecond % 60, 2, 10, QLatin1Char('0'));
    env.insert(QStringLiteral("GIT_AUTHOR_DATE"), date);
    env.insert(QStringLiteral("GIT_COMMITTER_DATE"), date);
    env.insert(QStringLiteral("GIT_CONFIG_NOSYSTEM"), QStringLiteral("1"));
    env.insert(QStringLiteral("HOME"), dir);
    p.setProcessEnvironment(env);
    QStringList full{QStringLiteral("-c"), QStringLiteral("user.name=Folio Test"),
                     QStringLiteral("-c"), QStringLiteral("user.email=test@folio.invalid"),
                     QStringLiteral("-c"), QStringLiteral("init.defaultBranch=main"),
                     QStringLiteral("-c"), QStringLiteral("protocol.file.allow=always"),
                     QStringLiteral("-c"), QStringLiteral("core.autocrlf=false")};
    full += args;
    p.start(QStringLiteral("git"), full);
    if (!p.waitForFinished(60000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qWarning() << "git" << args << "failed:" << p.readAllStandardError();
        return false;
    }
    if (out) *out = p.readAllStandardOutput();
    return true;
}

inline bool haveGit() {
    return !QStandardPaths::findExecutable(QStringLiteral("git")).isEmpty();
}

// A minimal PDF 1.4 writer: base-14 Helvetica, one text line per entry, optional page labels and an
// optional (unopenable) encryption dictionary. Pages whose line list is empty have no text layer;
// they draw a filled rectangle instead, as a scan would draw an image.
struct PdfSpec {
    std::vector<std::vector<QByteArray>> pages;
    QByteArray title;
    QByteArray pageLabels; // e.g. "0 << /S /r >> 2 << /S /D >>" for i, ii, 1, 2, ...
    bool encrypted = false;
};

inline QByteArray makePdf(const PdfSpec& spec) {
    QByteArray pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<qsizetype> offsets;
    auto obj = [&](const QByteArray& body) {
        offsets.push_back(pdf.size());
        pdf += QByteArray::number(static_cast<qlonglong>(offsets.size())) + " 0 obj\n" + body +
               "\nendobj\n";
        return static_cast<int>(offsets.size());
    };
    const int n = static_cast<int>(spec.pages.size());
    // Object numbers: 1 catalog, 2 pages, 3 font, 4 info, then (page, content) pairs.
    QByteArray kids;
    for (int i = 0; i < n; ++i) kids += QByteArray::number(5 + 2 * i) + " 0 R ";
    QByteArray catalog = "<< /Type /Catalog /Pages 2 0 R";
    if (!spec.pageLabels.isEmpty()) catalog += " /PageLabels << /Nums [" + spec.pageLabels + "] >>";
    obj(catalog + " >>");
    obj("<< /Type /Pages /Kids [" + kids + "] /Count " + QByteArray::number(n) + " >>");
    obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    obj("<< /Title (" + spec.title + ") /Producer (folio tests) >>");
    for (int i = 0; i < n; ++i) {
        QByteArray content;
        if (spec.pages[static_cast<std::size_t>(i)].empty()) {
            content = "0.5 g 72 72 451 698 re f\n";
        } else {
            content = "BT /F1 12 Tf 14 TL 72 760 Td\n";
            for (const QByteArray& line : spec.pages[static_cast<std::size_t>(i)]) {
                QByteArray esc = line;
                esc.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)");
                content += "(" + esc + ") Tj T*\n";
            }
            content += "ET\n";
        }
        obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R "
            ">> >> /Contents " +
            QByteArray::number(6 + 2 * i) + " 0 R >>");
        obj("<< /Length " + QByteArray::number(content.size()) + " >>\nstream\n" + content +
            "endstream");
    }
    int encrypt = 0;
    if (spec.encrypted) {
        const QByteArray junk(64, 'A');
        encrypt =
            obj("<< /Filter /Standard /V 1 /R 2 /O <" + junk + "> /U <" + junk + "> /P -44 >>");
    }
    const qsizetype xref = pdf.size();
    pdf += "xref\n0 " + QByteArray::number(static_cast<qlonglong>(offsets.size() + 1)) +
           "\n0000000000 65535 f \n";
    for (const qsizetype off : offsets)
        pdf +=
            QByteArray::number(static_cast<qlonglong>(off)).rightJustified(10, '0') + " 00000 n \n";
    pdf += "trailer\n<< /Size " + QByteArray::number(static_cast<qlonglong>(offsets.size() + 1)) +
           " /Root 1 0 R /Info 4 0 R";
    if (encrypt)
        pdf += " /Encrypt " + QByteArray::number(encrypt) +
               " 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]";
    pdf += " >>\nstartxref\n" + QByteArray::number(static_cast<qlonglong>(xref)) + "\n%%EOF\n";
    return pdf;
}

} // namespace folio::test
