// A PDF as one document through Poppler: the text of each page in reading order, each page with its
// label as the document names it ("iv", "212") or its number when the PDF has no labels. A page
// without a text layer (a scan) is kept as an empty page and flagged in Page::hasText and the
// notes. Encrypted, damaged and empty PDFs give a SourceResult with one skipped entry (Encrypted,
// Damaged, Empty) and no document: a clear per-file error that never stops the rest of a session.
#pragma once

#include "folio/ingest/document.h"

#include <QString>

namespace folio::ingest {

SourceResult readPdf(const QString& path);

} // namespace folio::ingest
