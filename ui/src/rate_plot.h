// A small live plot of generation speed (tokens/s) over time: the last samples as a line on an
// auto-scaled axis, with the latest value written out.
#pragma once

#include <QPointF>
#include <QWidget>
#include <deque>

namespace folio::ui {

class RatePlot : public QWidget {
    Q_OBJECT
public:
    // Older samples are dropped beyond this many.
    static constexpr int kMaxSamples = 300;

    explicit RatePlot(QWidget* parent = nullptr);

    // `seconds`: time of the sample (any origin, increasing); `tokensPerSecond` >= 0.
    void addSample(double seconds, double tokensPerSecond);
    void clear();
    int sampleCount() const { return static_cast<int>(samples_.size()); }
    double latest() const { return samples_.empty() ? 0.0 : samples_.back().y(); }

    QSize sizeHint() const override { return {260, 80}; }
    QSize minimumSizeHint() const override { return {120, 60}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::deque<QPointF> samples_; // (seconds, tokens/s)
};

} // namespace folio::ui
