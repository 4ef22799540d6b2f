#include "code_view.h"

#include <QFontDatabase>
#include <QPainter>
#include <QScrollBar>
#include <QTextBlock>
#include <algorithm>

namespace folio::ui {

// The gutter is a child widget over the left viewport margin; it only forwards painting so the
// view owns all the geometry.
class LineNumberArea : public QWidget {
public:
    explicit LineNumberArea(CodeView* view) : QWidget(view), view_(view) {}
    QSize sizeHint() const override { return {view_->gutterWidth(), 0}; }

protected:
    void paintEvent(QPaintEvent* event) override { view_->paintGutter(event); }

private:
    CodeView* view_;
};

namespace {
// More lines than this in one mark are not given one selection each (a whole-file citation of a
// huge file); the first ones are enough to see where it starts.
constexpr int kMaxMarkedLines = 20000;
} // namespace

CodeView::CodeView(QWidget* parent) : QPlainTextEdit(parent) {
    setReadOnly(true);
    // Keep the caret visible in a read-only view: it shows the cited line.
    setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    gutter_ = new LineNumberArea(this);
    connect(this, &QPlainTextEdit::blockCountChanged, this, [this] { updateMargins(); });
    connect(this, &QPlainTextEdit::updateRequest, this, &CodeView::onUpdateRequest);
    updateMargins();
}

int CodeView::gutterWidth() const {
    if (!showNumbers_) return 0;
    int digits = 1;
    for (int n = std::max(1, blockCount()); n >= 10; n /= 10) ++digits;
    digits = std::max(digits, 3); // no jump in width between 99 and 100 lines
    const int pad = fontMetrics().horizontalAdvance(QLatin1Char(' '));
    return fontMetrics().horizontalAdvance(QLatin1Char('9')) * digits + 2 * pad;
}

void CodeView::setLineNumbersVisible(bool visible) {
    if (visible == showNumbers_) return;
    showNumbers_ = visible;
    gutter_->setVisible(visible);
    updateMargins();
}

void CodeView::updateMargins() {
    if (!gutter_) return; // a font change from the constructor, before the gutter exists
    setViewportMargins(gutterWidth(), 0, 0, 0);
    const QRect cr = contentsRect();
    gutter_->setGeometry(QRect(cr.left(), cr.top(), gutterWidth(), cr.height()));
}

void CodeView::onUpdateRequest(const QRect& rect, int dy) {
    if (dy != 0)
        gutter_->scroll(0, dy);
    else
        gutter_->update(0, rect.y(), gutter_->width(), rect.height());
    if (rect.contains(viewport()->rect())) updateMargins();
}

void CodeView::resizeEvent(QResizeEvent* event) {
    QPlainTextEdit::resizeEvent(event);
    updateMargins();
}

void CodeView::changeEvent(QEvent* event) {
    QPlainTextEdit::changeEvent(event);
    if (event->type() == QEvent::FontChange) updateMargins();
    if (event->type() == QEvent::PaletteChange) applyMarkSelections();
}

void CodeView::paintGutter(QPaintEvent* event) {
    QPainter painter(gutter_);
    const QPalette& pal = palette();
    painter.fillRect(event->rect(), pal.color(QPalette::AlternateBase));
    painter.setFont(font());
    const int pad = fontMetrics().horizontalAdvance(QLatin1Char(' '));
    const int lineHeight = fontMetrics().height();

    QTextBlock block = firstVisibleBlock();
    int number = block.blockNumber() + 1;
    qreal top = blockBoundingGeometry(block).translated(contentOffset()).top();
    while (block.isValid() && top <= event->rect().bottom()) {
        const qreal bottom = top + blockBoundingRect(block).height();
        if (block.isVisible() && bottom >= event->rect().top()) {
            const bool marked = number >= markFirst_ && number <= markLast_;
            QFont f = font();
            f.setBold(marked);
            painter.setFont(f);
            painter.setPen(pal.color(marked ? QPalette::Text : QPalette::PlaceholderText));
            painter.drawText(QRect(0, static_cast<int>(top), gutter_->width() - pad, lineHeight),
                             Qt::AlignRight | Qt::AlignVCenter, QString::number(number));
        }
        block = block.next();
        top = bottom;
        ++number;
    }
}

void CodeView::applyMarkSelections() {
    QList<QTextEdit::ExtraSelection> selections;
    if (markFirst_ > 0) {
        // The highlight colour at low opacity over the base: readable text in both themes.
        QColor bg = palette().color(QPalette::Highlight);
        bg.setAlpha(70);
        QTextBlock block = document()->findBlockByNumber(markFirst_ - 1);
        const int last = std::min(markLast_, markFirst_ + kMaxMarkedLines - 1);
        for (int line = markFirst_; block.isValid() && line <= last; ++line) {
            QTextEdit::ExtraSelection sel;
            sel.format.setBackground(bg);
            sel.format.setProperty(QTextFormat::FullWidthSelection, true);
            sel.cursor = QTextCursor(block);
            selections.append(sel);
            block = block.next();
        }
    }
    setExtraSelections(selections);
    gutter_->update();
}

void CodeView::markLines(int first, int last) {
    const int count = blockCount();
    if (first <= 0 || count <= 0) {
        markFirst_ = markLast_ = 0;
    } else {
        markFirst_ = std::clamp(first, 1, count);
        markLast_ = std::clamp(std::max(first, last), markFirst_, count);
    }
    applyMarkSelections();
    revealMark();
}

void CodeView::revealMark() {
    const int first = markFirst_ > 0 ? markFirst_ : 1;
    const int last = markFirst_ > 0 ? markLast_ : 1;
    // Put the range a little below the top, with some lines before it for context, when it
    // fits; else its start at the top. Scrolled to the end first, ensureCursorVisible() then
    // scrolls up just far enough that the context line is the first on screen.
    const int visible =
        std::max(1, viewport()->height() / std::max(1, fontMetrics().lineSpacing()));
    const int span = last - first + 1;
    const int context = span < visible ? std::clamp((visible - span) / 4, 0, 8) : 0;
    if (first - context > 1) {
        verticalScrollBar()->setValue(verticalScrollBar()->maximum());
        setTextCursor(QTextCursor(document()->findBlockByNumber(first - context - 1)));
        ensureCursorVisible();
    } else {
        verticalScrollBar()->setValue(0);
    }
    setTextCursor(QTextCursor(document()->findBlockByNumber(first - 1)));
    ensureCursorVisible();
}

int CodeView::cursorLine() const {
    return textCursor().blockNumber() + 1;
}

} // namespace folio::ui
