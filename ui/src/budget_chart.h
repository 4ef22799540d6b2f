// How the token budget is spent: a bar for the whole source against the model's context size, and
// one bar per part (a folder, a file, a chapter), largest first. Painted with QPainter in palette
// colours so it reads in light and dark themes.
#pragma once

#include <QString>
#include <QWidget>
#include <vector>

namespace folio::ui {

class BudgetChart : public QWidget {
    Q_OBJECT
public:
    struct Bar {
        QString label;
        qint64 tokens = 0;   // tokens of this part
        qint64 included = 0; // of which go into the prompt (retrieval sends only some)
    };

    // At most this many part bars are drawn; the smallest of the rest are grouped as "N more".
    static constexpr int kMaxBars = 12;

    explicit BudgetChart(QWidget* parent = nullptr);

    // `contextSize`: the model's context in tokens (each bar is scaled to it); `totalTokens`: the
    // whole source; `retrieval`: true when the source does not fit and only the best-matching
    // passages are sent, false when it is read whole.
    void setData(std::vector<Bar> bars, qint64 contextSize, qint64 totalTokens, bool retrieval);

    // Part bars drawn (the "N more" group counts as one), not counting the total bar.
    int barCount() const { return static_cast<int>(rows_.size()); }
    // The rows as drawn, largest first, for tests and accessibility.
    const std::vector<Bar>& rows() const { return rows_; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    int rowHeight() const;
    QString totalCaption() const;

    std::vector<Bar> rows_;
    qint64 contextSize_ = 0;
    qint64 totalTokens_ = 0;
    bool retrieval_ = false;
};

} // namespace folio::ui
