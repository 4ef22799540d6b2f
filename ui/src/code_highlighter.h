// Syntax colouring for code: keywords of the common languages (one combined list), strings,
// numbers and comments, in colours picked from the palette so they read in light and dark themes.
//
// Two modes. FencedBlocksOnly is for a QTextDocument filled by QTextDocument::setMarkdown (an
// answer): only blocks that the Markdown importer marked as code are coloured; prose stays as it
// is. WholeDocument treats every block as code (the source viewer).
//
// Like any QSyntaxHighlighter it re-colours on the document's contentsChange, which a
// QTextDocument emits only once it has a layout (a view showing it gives it one); for a bare
// document, call rehighlight() after filling it.
#pragma once

#include <QColor>
#include <QSet>
#include <QString>
#include <QSyntaxHighlighter>
#include <QTextCharFormat>

class QPalette;
class QTextBlock;

namespace folio::ui {

class CodeHighlighter : public QSyntaxHighlighter {
    Q_OBJECT
public:
    enum class Mode { FencedBlocksOnly, WholeDocument };

    // Attaches to `document` (may be null: attach later with setDocument). Colours come from the
    // application palette until setPalette() is called.
    explicit CodeHighlighter(QTextDocument* document, Mode mode = Mode::FencedBlocksOnly);

    Mode mode() const { return mode_; }
    void setMode(Mode mode);

    // The language for WholeDocument mode ("cpp", "python", ...; empty: guess per line). In
    // FencedBlocksOnly mode each block's own fence language (```python) wins when it has one.
    void setLanguage(const QString& language);
    QString language() const { return language_; }

    // Picks colours for this palette (call it on QEvent::PaletteChange) and re-colours.
    void setPalette(const QPalette& palette);

    // True when the Markdown importer marked `block` as part of a code block (fenced or indented):
    // Qt 6.4 sets QTextFormat::BlockCodeFence on fenced blocks, BlockCodeLanguage (possibly empty)
    // on fenced and indented ones, and nonBreakableLines on fenced ones.
    static bool isCodeBlock(const QTextBlock& block);

protected:
    void highlightBlock(const QString& text) override;

private:
    enum BlockState { Normal = 0, InBlockComment = 1 };
    struct CommentStyle {
        bool slash = true; // "//" line comments and "/* */" block comments
        bool hash = true;  // "#" line comments
    };
    static CommentStyle commentStyleFor(const QString& language);

    Mode mode_;
    QString language_;
    QSet<QString> keywords_;
    QTextCharFormat keyword_, string_, number_, comment_, directive_;
};

} // namespace folio::ui
