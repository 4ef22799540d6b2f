#include "rate_plot.h"

#include <QPainter>
#include <QPolygonF>
#include <algorithm>
#include <cmath>

namespace folio::ui {

namespace {

// The smallest 1, 2 or 5 times a power of ten that is >= v: a round top for the y axis.
double niceCeil(double v) {
    if (v <= 0) return 1.0;
    const double p = std::pow(10.0, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= v) return m * p;
    return 10.0 * p;
}

QString rateText(double v) {
    return QString::number(v, 'f', v < 10 ? 1 : 0);
}

} // namespace

RatePlot::RatePlot(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("ratePlot"));
    setMinimumHeight(60);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void RatePlot::addSample(double seconds, double tokensPerSecond) {
    if (!std::isfinite(seconds) || !std::isfinite(tokensPerSecond)) return;
    samples_.emplace_back(seconds, std::max(0.0, tokensPerSecond));
    while (samples_.size() > static_cast<std::size_t>(kMaxSamples)) samples_.pop_front();
    setToolTip(tr("%1 tokens/s").arg(rateText(samples_.back().y())));
    update();
}

void RatePlot::clear() {
    samples_.clear();
    setToolTip(QString());
    update();
}

void RatePlot::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QPalette& pal = palette();
    const QColor text = pal.color(QPalette::Text);
    const QColor line = pal.color(QPalette::Highlight);
    p.fillRect(rect(), pal.color(QPalette::Base));
    const QFontMetrics fm = fontMetrics();

    if (samples_.empty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("tokens/s"));
        return;
    }

    double yMax = 0;
    for (const QPointF& s : samples_) yMax = std::max(yMax, s.y());
    yMax = niceCeil(yMax * 1.05);
    const double t0 = samples_.front().x();
    const double span = std::max(1e-9, samples_.back().x() - t0);

    // Plot area: the axis label on the left, the latest value above.
    const QString top = rateText(yMax);
    const int left = 4 + fm.horizontalAdvance(top) + 4;
    const QRectF plot(left, fm.height() + 2, width() - left - 4, height() - fm.height() - 6);
    if (plot.width() <= 1 || plot.height() <= 1) return;

    // Axis and grid: the top value and zero, a faint line half-way.
    QColor grid = pal.color(QPalette::Mid);
    p.setPen(QPen(grid, 1));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());
    p.setPen(QPen(grid, 1, Qt::DotLine));
    p.drawLine(QPointF(plot.left(), plot.top()), QPointF(plot.right(), plot.top()));
    p.drawLine(QPointF(plot.left(), plot.center().y()), QPointF(plot.right(), plot.center().y()));
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(0, plot.top() - fm.height() / 2.0, left - 4, fm.height()),
               Qt::AlignRight | Qt::AlignVCenter, top);
    p.drawText(QRectF(0, plot.bottom() - fm.height() / 2.0, left - 4, fm.height()),
               Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("0"));

    QPolygonF poly;
    poly.reserve(static_cast<qsizetype>(samples_.size()));
    for (const QPointF& s : samples_) {
        const double x =
            samples_.size() == 1 ? plot.right() : plot.left() + plot.width() * (s.x() - t0) / span;
        poly.append(QPointF(x, plot.bottom() - plot.height() * s.y() / yMax));
    }
    p.setRenderHint(QPainter::Antialiasing, true);
    p.setPen(QPen(line, 1.5));
    if (poly.size() == 1)
        p.drawEllipse(poly.front(), 2, 2);
    else
        p.drawPolyline(poly);

    p.setPen(text);
    p.drawText(QRectF(left, 0, plot.width(), fm.height()), Qt::AlignRight | Qt::AlignVCenter,
               tr("%1 tokens/s").arg(rateText(samples_.back().y())));
}

} // namespace folio::ui
