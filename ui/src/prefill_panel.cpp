#include "prefill_panel.h"

#include "rate_plot.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

namespace folio::ui {

namespace {

QString duration(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return QStringLiteral("-");
    const qint64 s = qint64(seconds + 0.5);
    if (s < 60) return QStringLiteral("%1 s").arg(s);
    if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

} // namespace

PrefillPanel::PrefillPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("prefillPanel"));
    auto* layout = new QHBoxLayout(this);
    auto* left = new QVBoxLayout;
    bar_ = new QProgressBar(this);
    bar_->setObjectName(QStringLiteral("prefillBar"));
    bar_->setRange(0, 1000);
    bar_->setTextVisible(true);
    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("prefillStatus"));
    source_ = new QLabel(this);
    source_->setObjectName(QStringLiteral("prefillSource"));
    source_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    left->addWidget(bar_);
    left->addWidget(status_);
    left->addWidget(source_);
    layout->addLayout(left, 3);
    plot_ = new RatePlot(this);
    plot_->setMinimumWidth(220);
    layout->addWidget(plot_, 1);
    auto* buttons = new QVBoxLayout;
    pause_ = new QPushButton(tr("Pause"), this);
    pause_->setObjectName(QStringLiteral("pauseButton"));
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setObjectName(QStringLiteral("cancelButton"));
    buttons->addWidget(pause_);
    buttons->addWidget(cancel_);
    layout->addLayout(buttons);
    connect(pause_, &QPushButton::clicked, this, [this] {
        if (cancelled_) {
            emit continueRequested();
        } else if (paused_) {
            paused_ = false;
            pause_->setText(tr("Pause"));
            emit resumeRequested();
        } else {
            emit pauseRequested();
        }
    });
    connect(cancel_, &QPushButton::clicked, this, &PrefillPanel::cancelRequested);
    reset();
}

void PrefillPanel::reset() {
    bar_->setValue(0);
    bar_->setFormat(QStringLiteral("%p%"));
    status_->setText(tr("No context prefilled yet."));
    source_->clear();
    plot_->clear();
    clock_.start();
    paused_ = running_ = cancelled_ = false;
    pause_->setText(tr("Pause"));
    pause_->setEnabled(false);
    cancel_->setEnabled(false);
}

void PrefillPanel::showProgress(const app::PrefillReport& r) {
    if (!running_) {
        running_ = true;
        cancelled_ = false;
        clock_.start();
        plot_->clear();
    }
    const QLocale loc;
    bar_->setValue(int(1000 * r.done / std::max<std::int64_t>(1, r.total)));
    bar_->setFormat(QStringLiteral("%1 / %2 tokens (%p%)").arg(loc.toString(qint64(r.done)), loc.toString(qint64(r.total))));
    status_->setText(tr("%1 reused from cache · %2 tok/s now, %3 average · ETA %4%5")
                         .arg(loc.toString(qint64(r.reused)))
                         .arg(r.recentRate, 0, 'f', 0)
                         .arg(r.averageRate, 0, 'f', 0)
                         .arg(duration(r.etaSeconds))
                         .arg(r.paused ? tr(" · paused") : QString()));
    source_->setText(tr("Reading %1").arg(QString::fromStdString(r.source)));
    if (r.recentRate > 0) plot_->addSample(double(clock_.elapsed()) / 1000.0, r.recentRate);
    paused_ = r.paused;
    pause_->setText(paused_ ? tr("Resume") : tr("Pause"));
    pause_->setEnabled(true);
    cancel_->setEnabled(true); // also while paused: a paused prefill can be cancelled
}

void PrefillPanel::showFinished(qint64 tokens, qint64 reused, double seconds) {
    running_ = false;
    const QLocale loc;
    bar_->setValue(1000);
    bar_->setFormat(QStringLiteral("%1 tokens ready").arg(loc.toString(tokens)));
    status_->setText(reused > 0 ? tr("Restored %1 of %2 tokens from the cache; prefilled the rest in %3")
                                      .arg(loc.toString(reused), loc.toString(tokens), duration(seconds))
                                : tr("Prefilled %1 tokens in %2").arg(loc.toString(tokens), duration(seconds)));
    source_->clear();
    pause_->setEnabled(false);
    cancel_->setEnabled(false);
}

void PrefillPanel::showCancelled() {
    running_ = false;
    cancelled_ = true;
    status_->setText(tr("Cancelled. Everything prefilled so far is kept; Continue picks up from there."));
    pause_->setText(tr("Continue"));
    pause_->setEnabled(true);
    cancel_->setEnabled(false);
}

void PrefillPanel::showMessage(const QString& text) { status_->setText(text); }

QString PrefillPanel::statusText() const { return status_->text(); }

int PrefillPanel::percent() const { return bar_->value() / 10; }

} // namespace folio::ui
