#include "folio/ingest/pdf_source.h"

#include <QFile>
#include <QFileInfo>
#include <cmath>
#include <poppler-qt6.h>

namespace folio::ingest {

namespace {

// Joins Poppler's words (already in reading order: flows, blocks, lines) into lines and paragraphs.
std::string pageText(const Poppler::Page& page) {
    const auto words = page.textList();
    QString out;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const Poppler::TextBox& w = *words[i];
        out += w.text();
        if (i + 1 == words.size()) break;
        const Poppler::TextBox& next = *words[i + 1];
        const QRectF a = w.boundingBox(), b = next.boundingBox();
        const double lineHeight = std::max(1.0, a.height());
        const bool sameLine =
            std::abs(b.center().y() - a.center().y()) < lineHeight * 0.5 && b.left() >= a.left();
        if (sameLine) {
            if (w.hasSpaceAfter()) out += QLatin1Char(' ');
            continue;
        }
        // A line break; a wide vertical gap or a jump back up (a new column) is a paragraph break.
        const double gap = b.top() - a.bottom();
        if (gap > lineHeight * 0.8 || gap < -lineHeight * 2.0)
            out += QStringLiteral("\n\n");
        else
            out += QLatin1Char('\n');
    }
    return out.toStdString();
}

} // namespace

SourceResult readPdf(const QString& path) {
    SourceResult result;
    const QFileInfo info(path);
    result.name = info.fileName().toStdString();
    result.location = info.absoluteFilePath().toStdString();
    result.kindName = "PDF";
    auto skip = [&](SkipReason reason, std::string detail) {
        result.skipped.push_back({result.name, reason, std::move(detail)});
        return result;
    };
    if (!info.exists()) {
        result.error = "no such file";
        return result;
    }
    if (info.size() == 0) return skip(SkipReason::Empty, "empty file (0 bytes)");
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return skip(SkipReason::Unreadable, file.errorString().toStdString());
    const QByteArray head = file.read(1024);
    file.close();
    if (!head.contains("%PDF-"))
        return skip(SkipReason::Damaged, "not a PDF: no %PDF- header in the first 1 KiB");

    std::unique_ptr<Poppler::Document> pdf = Poppler::Document::load(path);
    if (!pdf)
        return skip(SkipReason::Damaged, "Poppler cannot parse it (damaged or truncated PDF)");
    if (pdf->isLocked())
        return skip(SkipReason::Encrypted, "encrypted: a password is needed to read it");
    const int pages = pdf->numPages();
    if (pages <= 0) return skip(SkipReason::Empty, "the PDF has no pages");

    Document doc;
    doc.source = result.name;
    doc.path = result.name;
    const QString title = pdf->info(QStringLiteral("Title")).trimmed();
    doc.title = title.isEmpty() ? result.name : title.toStdString();
    doc.kind = DocumentKind::Pdf;
    doc.language = "pdf";
    doc.byteSize = static_cast<std::uint64_t>(info.size());
    std::vector<int> scanned;
    for (int i = 0; i < pages; ++i) {
        std::unique_ptr<Poppler::Page> page = pdf->page(i);
        Page p;
        p.index = i;
        if (page) {
            const QString label = page->label();
            p.label = label.isEmpty() ? std::to_string(i + 1) : label.toStdString();
        } else {
            p.label = std::to_string(i + 1);
        }
        std::string text = page ? pageText(*page) : std::string();
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        p.hasText = !text.empty();
        if (!p.hasText) scanned.push_back(i);
        p.begin = doc.text.size();
        doc.text += text;
        if (!text.empty()) doc.text += '\n';
        p.end = doc.text.size();
        doc.pages.push_back(std::move(p));
    }
    if (scanned.size() == static_cast<std::size_t>(pages))
        return skip(SkipReason::Empty, "no page has a text layer (a scanned PDF? OCR it first)");
    if (!scanned.empty()) {
        std::string list;
        for (std::size_t k = 0; k < scanned.size() && k < 20; ++k)
            list += (k ? ", " : "") + doc.pages[static_cast<std::size_t>(scanned[k])].label;
        if (scanned.size() > 20) list += ", ...";
        doc.notes.push_back(std::to_string(scanned.size()) +
                            " page(s) without a text layer (scanned?): p. " + list);
    }
    result.documents.push_back(std::move(doc));
    return result;
}

} // namespace folio::ingest
