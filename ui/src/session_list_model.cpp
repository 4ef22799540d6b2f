#include "session_list_model.h"

#include "folio/ingest/session_store.h"

#include <QLocale>
#include <QtConcurrent>

namespace folio::ui {

SessionListModel::SessionListModel(QString databasePath, QObject* parent)
    : QAbstractTableModel(parent), path_(std::move(databasePath)) {
    connect(&watcher_, &QFutureWatcher<Snapshot>::finished, this, [this] {
        Snapshot snap = watcher_.result();
        error_ = snap.error;
        beginResetModel();
        rows_ = std::move(snap.rows);
        endResetModel();
        emit refreshed();
    });
    refresh();
}

SessionListModel::Snapshot SessionListModel::read(const QString& path) {
    Snapshot out;
    ingest::SessionStore store;
    if (!store.open(path)) {
        out.error = QString::fromStdString(store.lastError());
        return out;
    }
    for (const ingest::SessionInfo& s : store.sessions()) {
        Row r;
        r.name = QString::fromStdString(s.name);
        r.sources = int(store.sources(s.id).size());
        r.model = QString::fromStdString(s.modelName);
        r.fingerprint = QString::fromStdString(s.modelFingerprint);
        r.contextSize = s.contextSize;
        const ingest::SessionStore::Activity activity = store.activity(s.id);
        r.messages = int(activity.messages);
        r.lastUsed = QString::fromStdString(activity.lastAt);
        out.rows.push_back(std::move(r));
    }
    // Most recently used first.
    std::stable_sort(out.rows.begin(), out.rows.end(), [](const Row& a, const Row& b) { return a.lastUsed > b.lastUsed; });
    return out;
}

void SessionListModel::refresh() {
    const QString path = path_;
    watcher_.setFuture(QtConcurrent::run([path] { return read(path); }));
}

const SessionListModel::Row* SessionListModel::rowAt(int row) const {
    return row >= 0 && row < int(rows_.size()) ? &rows_[std::size_t(row)] : nullptr;
}

int SessionListModel::rowOf(const QString& name) const {
    for (std::size_t i = 0; i < rows_.size(); ++i)
        if (rows_[i].name == name) return int(i);
    return -1;
}

int SessionListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

int SessionListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant SessionListModel::data(const QModelIndex& index, int role) const {
    const Row* r = index.isValid() ? rowAt(index.row()) : nullptr;
    if (!r) return {};
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Name: return r->name;
        case Sources: return r->sources;
        case Model: return r->model.isEmpty() ? r->fingerprint.left(8) : r->model; // made before names were kept
        case Context: return QStringLiteral("%1K").arg(r->contextSize / 1024);
        case LastUsed: return r->lastUsed.left(16).replace(QLatin1Char('T'), QLatin1Char(' '));
        default: return {};
        }
    }
    if (role == Qt::ToolTipRole)
        return tr("%1: %2 sources, %3 messages, model %4 (%5)")
            .arg(r->name)
            .arg(r->sources)
            .arg(r->messages)
            .arg(r->model.isEmpty() ? tr("unnamed") : r->model, r->fingerprint);
    if (role == Qt::UserRole) return r->name;
    return {};
}

QVariant SessionListModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case Name: return tr("Session");
    case Sources: return tr("Sources");
    case Model: return tr("Model");
    case Context: return tr("Context");
    case LastUsed: return tr("Last used");
    default: return {};
    }
}

} // namespace folio::ui
