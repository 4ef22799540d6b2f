#include "model_dialog.h"

#include "folio/backend.h"
#include "folio/engine.h"
#include "runtime/demo_model.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QSpinBox>
#include <QUrl>
#include <QVBoxLayout>

#include <unistd.h>

namespace folio::ui {

namespace {

qint64 physicalMemory() {
    const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && size > 0 ? qint64(pages) * qint64(size) : 0;
}

QString gib(std::uint64_t bytes) { return QStringLiteral("%1 GiB").arg(double(bytes) / double(1ull << 30), 0, 'f', 2); }

} // namespace

ModelChoice ModelChoice::load() {
    QSettings s;
    ModelChoice c;
    c.kind = Kind(s.value(QStringLiteral("model/kind"), int(Demo)).toInt());
    c.directory = s.value(QStringLiteral("model/directory")).toString();
    c.endpoint = s.value(QStringLiteral("model/endpoint")).toString();
    c.device = s.value(QStringLiteral("model/device"), QStringLiteral("auto")).toString();
    c.contextSize = s.value(QStringLiteral("model/context"), qint64(262144)).toLongLong();
    return c;
}

void ModelChoice::save() const {
    QSettings s;
    s.setValue(QStringLiteral("model/kind"), int(kind));
    s.setValue(QStringLiteral("model/directory"), directory);
    s.setValue(QStringLiteral("model/endpoint"), endpoint);
    s.setValue(QStringLiteral("model/device"), device);
    s.setValue(QStringLiteral("model/context"), contextSize);
}

QString ModelChoice::describe() const {
    const QString ctx = contextSize % 1024 == 0 ? QStringLiteral("%1K").arg(contextSize / 1024) : QString::number(contextSize);
    switch (kind) {
    case Demo: return QObject::tr("demo model, %1 context, %2").arg(ctx, device);
    case Directory: return QObject::tr("%1, %2 context, %3").arg(directory, ctx, device);
    case Remote: return QObject::tr("%1 (remote)").arg(endpoint);
    }
    return {};
}

ModelDialog::ModelDialog(const ModelChoice& choice, QWidget* parent) : QDialog(parent), available_(physicalMemory()) {
    setObjectName(QStringLiteral("modelDialog"));
    setWindowTitle(tr("Model"));
    auto* layout = new QVBoxLayout(this);
    kind_ = new QButtonGroup(this);
    auto* demo = new QRadioButton(tr("Demo model (generated; its answers carry no meaning)"), this);
    auto* dir = new QRadioButton(tr("Checkpoint directory (config.json, safetensors, tokenizer.json) or GGUF file"), this);
    auto* remote = new QRadioButton(tr("Remote endpoint (vLLM, SGLang or folio-cli serve; OpenAI-compatible)"), this);
    kind_->addButton(demo, ModelChoice::Demo);
    kind_->addButton(dir, ModelChoice::Directory);
    kind_->addButton(remote, ModelChoice::Remote);
    layout->addWidget(demo);
    layout->addWidget(dir);
    auto* dirRow = new QHBoxLayout;
    directory_ = new QLineEdit(choice.directory, this);
    directory_->setObjectName(QStringLiteral("modelDirectory"));
    auto* browse = new QPushButton(tr("Folder..."), this);
    auto* browseFile = new QPushButton(tr("GGUF file..."), this);
    browseFile->setObjectName(QStringLiteral("browseGguf"));
    dirRow->addWidget(directory_, 1);
    dirRow->addWidget(browse);
    dirRow->addWidget(browseFile);
    layout->addLayout(dirRow);
    layout->addWidget(remote);
    endpoint_ = new QLineEdit(choice.endpoint, this);
    endpoint_->setPlaceholderText(QStringLiteral("http://server:8000/v1"));
    layout->addWidget(endpoint_);

    auto* form = new QFormLayout;
    device_ = new QComboBox(this);
    device_->setObjectName(QStringLiteral("deviceCombo"));
    const BackendReport backends = probeBackends();
    device_->addItem(tr("Automatic"), QStringLiteral("auto"));
    device_->addItem(tr("CPU"), QStringLiteral("cpu"));
    device_->addItem(tr("GPU (CUDA)"), QStringLiteral("cuda"));
    if (backends.devices.size() < 2) {
        device_->setItemData(2, QString::fromStdString(backends.cudaMessage), Qt::ToolTipRole);
        device_->setItemData(2, QVariant(0), Qt::UserRole - 1); // disabled
    }
    device_->setCurrentIndex(std::max(0, device_->findData(choice.device)));
    form->addRow(tr("Device"), device_);
    context_ = new QComboBox(this);
    context_->setObjectName(QStringLiteral("contextCombo"));
    context_->addItem(QStringLiteral("256K"), qint64(262144));
    context_->addItem(QStringLiteral("1M"), qint64(1048576));
    context_->addItem(tr("Custom"), qint64(0));
    custom_ = new QSpinBox(this);
    custom_->setRange(4096, 1048576);
    custom_->setSingleStep(4096);
    custom_->setValue(int(std::min<qint64>(choice.contextSize, 1048576)));
    const int ci = context_->findData(choice.contextSize);
    context_->setCurrentIndex(ci >= 0 ? ci : 2);
    auto* ctxRow = new QHBoxLayout;
    ctxRow->addWidget(context_);
    ctxRow->addWidget(custom_);
    form->addRow(tr("Context"), ctxRow);
    layout->addLayout(form);

    plan_ = new QLabel(this);
    plan_->setObjectName(QStringLiteral("memoryPlan"));
    plan_->setWordWrap(true);
    plan_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(plan_);
    buttons_ = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    layout->addWidget(buttons_);
    connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);

    kind_->button(int(choice.kind))->setChecked(true);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = pickDirectory ? pickDirectory()
                                        : QFileDialog::getExistingDirectory(this, tr("Checkpoint directory"), directory_->text());
        if (!d.isEmpty()) {
            directory_->setText(d);
            kind_->button(ModelChoice::Directory)->setChecked(true);
        }
        updatePlan();
    });
    connect(browseFile, &QPushButton::clicked, this, [this] {
        const QString f = pickFile ? pickFile()
                                   : QFileDialog::getOpenFileName(this, tr("GGUF model (the first part of a split file)"),
                                                                  directory_->text(), tr("GGUF models (*.gguf)"));
        if (!f.isEmpty()) {
            directory_->setText(f);
            kind_->button(ModelChoice::Directory)->setChecked(true);
        }
        updatePlan();
    });
    connect(kind_, &QButtonGroup::idClicked, this, [this] { updatePlan(); });
    connect(directory_, &QLineEdit::editingFinished, this, [this] { updatePlan(); });
    connect(endpoint_, &QLineEdit::textChanged, this, [this] { updatePlan(); });
    connect(context_, &QComboBox::currentIndexChanged, this, [this] { updatePlan(); });
    connect(custom_, &QSpinBox::valueChanged, this, [this] { updatePlan(); });
    updatePlan();
}

void ModelDialog::setAvailableMemory(qint64 bytes) {
    available_ = bytes;
    updatePlan();
}

ModelChoice ModelDialog::choice() const {
    ModelChoice c;
    c.kind = ModelChoice::Kind(kind_->checkedId());
    c.directory = directory_->text();
    c.endpoint = endpoint_->text();
    c.device = device_->currentData().toString();
    const qint64 v = context_->currentData().toLongLong();
    c.contextSize = v > 0 ? v : custom_->value();
    return c;
}

QString ModelDialog::planText() const { return plan_->text(); }

void ModelDialog::updatePlan() {
    const ModelChoice c = choice();
    custom_->setEnabled(context_->currentData().toLongLong() == 0);
    directory_->setEnabled(c.kind == ModelChoice::Directory);
    endpoint_->setEnabled(c.kind == ModelChoice::Remote);
    fits_ = true;
    QString text;
    if (c.kind == ModelChoice::Remote) {
        const QUrl url(c.endpoint);
        fits_ = url.isValid() && (url.scheme() == QLatin1String("http") || url.scheme() == QLatin1String("https")) &&
                !url.host().isEmpty();
        text = fits_ ? tr("The model runs on %1 (an OpenAI-compatible server: vLLM, SGLang or folio-cli serve); nothing "
                          "is loaded here. The context is sent once per question with the same prefix, so the "
                          "server's prefix cache serves it; the budget is counted approximately.")
                           .arg(url.host())
                     : tr("Give the server's API address, e.g. http://gpu-server:8000/v1.");
    } else {
        QString dir = c.directory;
        if (c.kind == ModelChoice::Demo) {
            QString error;
            dir = app::ensureDemoModel(&error);
            if (dir.isEmpty()) text = tr("The demo model cannot be prepared: %1").arg(error);
        }
        if (!dir.isEmpty()) {
            auto e = estimateMemory(dir.toStdString(), c.contextSize);
            if (!e.ok()) {
                fits_ = false;
                text = tr("Not a usable checkpoint: %1").arg(QString::fromStdString(e.error()));
            } else {
                const MemoryEstimate& m = e.value();
                text = tr("Memory plan at %1 tokens: weights %2 (mapped), state %3, working memory %4; total %5 of %6.")
                           .arg(QLocale().toString(c.contextSize), gib(m.weightBytes), gib(m.stateBytes),
                                gib(m.scratchBytes), gib(m.totalBytes), gib(std::uint64_t(available_)));
                if (available_ > 0 && m.totalBytes > std::uint64_t(available_)) {
                    fits_ = false;
                    text += tr("\nThis does not fit in this machine's memory: choose a smaller context or a "
                               "machine with more memory.");
                }
            }
        }
    }
    plan_->setText(text);
    buttons_->button(QDialogButtonBox::Ok)->setEnabled(fits_);
}

} // namespace folio::ui
