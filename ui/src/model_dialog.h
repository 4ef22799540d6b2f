// Model settings: the demo model, a checkpoint directory or a remote endpoint; the device; the
// context size; and the memory plan of the choice before anything is loaded, with a refusal when
// it does not fit in this machine's memory.
#pragma once

#include <QDialog>
#include <QString>

#include <functional>

class QButtonGroup;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace folio::ui {

struct ModelChoice {
    enum Kind { Demo = 0, Directory = 1, Remote = 2 };
    Kind kind = Demo;
    QString directory;
    QString endpoint;
    QString device = QStringLiteral("auto");
    qint64 contextSize = 262144;

    static ModelChoice load();   // from QSettings
    void save() const;
    QString describe() const;
};

class ModelDialog : public QDialog {
    Q_OBJECT
public:
    explicit ModelDialog(const ModelChoice& choice, QWidget* parent = nullptr);
    ModelChoice choice() const;
    // The plan shown for the current choice, and whether it fits (OK is disabled when it does not).
    QString planText() const;
    bool fits() const { return fits_; }
    // Test seam: what Browse... returns instead of a file dialog.
    std::function<QString()> pickDirectory;
    // Test seam: what "GGUF file..." returns instead of a file dialog.
    std::function<QString()> pickFile;
    // Test seam: the memory the plan is checked against (bytes); default: physical memory.
    void setAvailableMemory(qint64 bytes);

private:
    void updatePlan();

    QButtonGroup* kind_ = nullptr;
    QLineEdit* directory_ = nullptr;
    QLineEdit* endpoint_ = nullptr;
    QComboBox* device_ = nullptr;
    QComboBox* context_ = nullptr;
    QSpinBox* custom_ = nullptr;
    QLabel* plan_ = nullptr;
    QDialogButtonBox* buttons_ = nullptr;
    qint64 available_ = 0;
    bool fits_ = true;
};

} // namespace folio::ui
