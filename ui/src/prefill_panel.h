// Live prefill: a progress bar of tokens done / total with the part restored from the cache, tokens
// per second (recent and average, and a small live plot), ETA, the source being read; pause,
// resume and cancel.
#pragma once

#include "runtime/session_runtime.h"

#include <QElapsedTimer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace folio::ui {

class RatePlot;

class PrefillPanel : public QWidget {
    Q_OBJECT
public:
    explicit PrefillPanel(QWidget* parent = nullptr);

    void reset();
    void showProgress(const app::PrefillReport& report);
    void showFinished(qint64 tokens, qint64 reused, double seconds);
    void showCancelled();
    void showMessage(const QString& text);

    QString statusText() const;
    int percent() const;

signals:
    void pauseRequested();
    void resumeRequested();
    void cancelRequested();
    void continueRequested(); // prefill again after a cancel

private:
    QProgressBar* bar_ = nullptr;
    QLabel* status_ = nullptr;
    QLabel* source_ = nullptr;
    RatePlot* plot_ = nullptr;
    QPushButton* pause_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QElapsedTimer clock_;
    bool paused_ = false, running_ = false, cancelled_ = false;
};

} // namespace folio::ui
