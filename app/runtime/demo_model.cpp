#include "demo_model.h"

#include "app_paths.h"
#include "folio/engine.h"

#include <QDir>
#include <QFileInfo>

namespace folio::app {

QString ensureDemoModel(QString* error) {
    const QString dir = QDir(cacheDirectory()).filePath(QStringLiteral("demo-model-v1"));
    if (QFileInfo::exists(QDir(dir).filePath(QStringLiteral("config.json")))) return dir;
    const QString partial = dir + QStringLiteral(".partial");
    QDir(partial).removeRecursively();
    if (!QDir().mkpath(partial)) {
        *error = QStringLiteral("cannot create %1").arg(partial);
        return {};
    }
    const Status st = writeDemoModel(partial.toStdString());
    if (!st.ok()) {
        *error = QString::fromStdString(st.error());
        QDir(partial).removeRecursively();
        return {};
    }
    QDir(dir).removeRecursively();
    if (!QDir().rename(partial, dir)) {
        *error = QStringLiteral("cannot move %1 into place").arg(partial);
        return {};
    }
    return dir;
}

} // namespace folio::app
