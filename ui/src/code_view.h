// A read-only text view with a line-number gutter, used by the source viewer for code, prose,
// transcripts and PDF page text. It can mark a range of lines with a full-width background.
#pragma once

#include <QPlainTextEdit>
#include <QTextBlock>

namespace folio::ui {

class CodeView : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit CodeView(QWidget* parent = nullptr);

    // Width of the gutter in pixels: 0 when line numbers are hidden.
    int gutterWidth() const;
    void setLineNumbersVisible(bool visible);
    bool lineNumbersVisible() const { return showNumbers_; }

    // Marks lines first..last (1-based, clamped to the document) with a full-width background and
    // puts the cursor at the start of `first`, scrolled into view with as much of the range as
    // fits. first <= 0 clears the mark and puts the cursor on line 1.
    void markLines(int first, int last);
    int markedFirstLine() const { return markFirst_; }
    int markedLastLine() const { return markLast_; }

    // 1-based line (block) of the text cursor, and of the first line on screen.
    int cursorLine() const;
    int firstVisibleLine() const { return firstVisibleBlock().blockNumber() + 1; }

    // Scrolls the marked range into view again (after the widget got its real size).
    void revealMark();

protected:
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    friend class LineNumberArea;
    void paintGutter(QPaintEvent* event);
    void updateMargins();
    void onUpdateRequest(const QRect& rect, int dy);
    void applyMarkSelections();

    QWidget* gutter_ = nullptr;
    bool showNumbers_ = true;
    int markFirst_ = 0, markLast_ = 0;
};

} // namespace folio::ui
