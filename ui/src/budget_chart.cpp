#include "budget_chart.h"

#include <QLocale>
#include <QPainter>
#include <algorithm>

namespace folio::ui {

namespace {

constexpr int kMargin = 8;
constexpr int kGap = 6; // between the label, the bar and the number

QString tokenText(qint64 n) {
    return QLocale().toString(n);
}

// A colour between `a` (t = 0) and `b` (t = 1).
QColor mix(const QColor& a, const QColor& b, double t) {
    return QColor::fromRgbF(static_cast<float>(a.redF() * (1 - t) + b.redF() * t),
                            static_cast<float>(a.greenF() * (1 - t) + b.greenF() * t),
                            static_cast<float>(a.blueF() * (1 - t) + b.blueF() * t));
}

// Draws a bar of `width` pixels whose first `solid` pixels are filled and the rest hatched: the
// included and the left-out part of the tokens.
void drawBar(QPainter& p, const QRectF& r, double solid, const QColor& fill, const QColor& base) {
    if (r.width() <= 0) return;
    solid = std::clamp(solid, 0.0, r.width());
    const QRectF in(r.left(), r.top(), solid, r.height());
    const QRectF out(r.left() + solid, r.top(), r.width() - solid, r.height());
    p.fillRect(in, fill);
    if (out.width() > 0) {
        p.fillRect(out, mix(base, fill, 0.25));
        p.fillRect(out, QBrush(fill, Qt::BDiagPattern));
    }
    p.setPen(QPen(fill.darker(130), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5));
}

} // namespace

BudgetChart::BudgetChart(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("budgetChart"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void BudgetChart::setData(std::vector<Bar> bars, qint64 contextSize, qint64 totalTokens,
                          bool retrieval) {
    std::stable_sort(bars.begin(), bars.end(),
                     [](const Bar& a, const Bar& b) { return a.tokens > b.tokens; });
    if (static_cast<int>(bars.size()) > kMaxBars) {
        // Keep kMaxBars - 1 bars and one that sums the rest.
        Bar rest;
        const std::size_t keep = kMaxBars - 1;
        for (std::size_t i = keep; i < bars.size(); ++i) {
            rest.tokens += bars[i].tokens;
            rest.included += bars[i].included;
        }
        rest.label = tr("%n more", nullptr, static_cast<int>(bars.size() - keep));
        bars.resize(keep);
        bars.push_back(std::move(rest));
    }
    rows_ = std::move(bars);
    contextSize_ = contextSize;
    totalTokens_ = totalTokens;
    retrieval_ = retrieval;
    setToolTip(totalCaption());
    updateGeometry();
    update();
}

int BudgetChart::rowHeight() const {
    return fontMetrics().height() + 6;
}

QString BudgetChart::totalCaption() const {
    const double pct = contextSize_ > 0 ? 100.0 * double(totalTokens_) / double(contextSize_) : 0.0;
    const QString how = retrieval_ ? tr("retrieval: the best-matching passages") : tr("whole");
    return tr("%1 of %2 tokens (%3%) — %4")
        .arg(tokenText(totalTokens_), tokenText(contextSize_), QLocale().toString(pct, 'f', 0),
             how);
}

QSize BudgetChart::sizeHint() const {
    const int rows = static_cast<int>(rows_.size());
    // Caption, the total bar, a gap, then the rows.
    const int h = 2 * kMargin + fontMetrics().height() + rowHeight() + kGap + rows * rowHeight();
    return {480, h};
}

QSize BudgetChart::minimumSizeHint() const {
    return {200, 2 * kMargin + fontMetrics().height() + rowHeight()};
}

void BudgetChart::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing, false);
    const QPalette& pal = palette();
    const QColor base = pal.color(QPalette::Base);
    const QColor text = pal.color(QPalette::Text);
    const QColor accent = pal.color(QPalette::Highlight);
    // Red that reads on both backgrounds: over budget.
    const QColor over =
        base.lightness() < 128 ? QColor(0xe0, 0x6c, 0x75) : QColor(0xc0, 0x39, 0x2b);
    p.fillRect(rect(), base);

    const QFontMetrics fm = fontMetrics();
    const int rowH = rowHeight();
    const int barH = std::max(4, rowH - 6);
    const QRect area = rect().adjusted(kMargin, kMargin, -kMargin, -kMargin);
    if (area.width() <= 0 || area.height() <= 0) return;

    // Columns: label | bar | token count.
    int labelW = fm.horizontalAdvance(tr("Total"));
    for (const Bar& b : rows_) labelW = std::max(labelW, fm.horizontalAdvance(b.label));
    labelW = std::min(labelW + 2, area.width() * 2 / 5); // + 2: elidedText rounds up
    int numberW = fm.horizontalAdvance(tokenText(std::max(totalTokens_, contextSize_)));
    for (const Bar& b : rows_)
        numberW = std::max(numberW, fm.horizontalAdvance(tokenText(b.tokens)));
    const int barX = area.left() + labelW + kGap;
    const int barW = std::max(10, area.right() - numberW - kGap - barX);

    // The scale: the context size, or the largest quantity when no context is known.
    qint64 scale = contextSize_;
    if (scale <= 0) {
        scale = std::max<qint64>(1, totalTokens_);
        for (const Bar& b : rows_) scale = std::max(scale, b.tokens);
    }
    const auto px = [&](qint64 tokens) { return double(barW) * double(tokens) / double(scale); };

    int y = area.top();
    p.setPen(text);
    p.drawText(QRect(area.left(), y, area.width(), fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
               fm.elidedText(totalCaption(), Qt::ElideRight, area.width()));
    y += fm.height();

    // The total bar, on a scale that also holds a source larger than the context: solid up to
    // the context size, hatched beyond it (what cannot be sent whole), a tick at the context size.
    const QColor frame = pal.color(QPalette::Mid);
    {
        p.setPen(text);
        p.drawText(QRect(area.left(), y, labelW, rowH), Qt::AlignLeft | Qt::AlignVCenter,
                   tr("Total"));
        const double totalScale = double(std::max(scale, totalTokens_));
        const auto tpx = [&](qint64 t) { return double(barW) * double(t) / totalScale; };
        const QRectF slot(barX, y + (rowH - barH) / 2.0, barW, barH);
        p.setPen(QPen(frame, 1, Qt::DotLine));
        p.drawRect(slot.adjusted(0.5, 0.5, -0.5, -0.5));
        const bool fits = contextSize_ <= 0 || totalTokens_ <= contextSize_;
        if (totalTokens_ > 0)
            drawBar(p, QRectF(slot.left(), slot.top(), std::max(1.0, tpx(totalTokens_)), barH),
                    fits ? tpx(totalTokens_) : tpx(contextSize_), fits ? accent : over, base);
        if (!fits) {
            const double x = slot.left() + tpx(contextSize_);
            p.setPen(QPen(text, 2));
            p.drawLine(QPointF(x, slot.top() - 2), QPointF(x, slot.bottom() + 2));
        }
        p.setPen(text);
        p.drawText(QRect(barX + barW + kGap, y, numberW, rowH), Qt::AlignRight | Qt::AlignVCenter,
                   tokenText(totalTokens_));
        y += rowH + kGap;
    }

    // Part bars, each on the context scale, in a dotted frame the size of the context.
    for (const Bar& b : rows_) {
        if (y + rowH > area.bottom() + 1) break; // no room: the tooltip and rows() still say it all
        p.setPen(text);
        p.drawText(QRect(area.left(), y, labelW, rowH), Qt::AlignLeft | Qt::AlignVCenter,
                   fm.elidedText(b.label, Qt::ElideMiddle, labelW));
        const QRectF slot(barX, y + (rowH - barH) / 2.0, barW, barH);
        p.setPen(QPen(frame, 1, Qt::DotLine));
        p.drawRect(slot.adjusted(0.5, 0.5, -0.5, -0.5));
        const double w = std::min(double(barW), px(b.tokens));
        const double solid = std::min(w, px(std::clamp<qint64>(b.included, 0, b.tokens)));
        if (b.tokens > 0)
            drawBar(p, QRectF(slot.left(), slot.top(), std::max(1.0, w), barH), solid, accent,
                    base);
        p.setPen(text);
        p.drawText(QRect(barX + barW + kGap, y, numberW, rowH), Qt::AlignRight | Qt::AlignVCenter,
                   tokenText(b.tokens));
        y += rowH;
    }
}

} // namespace folio::ui
