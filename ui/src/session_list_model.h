// The saved sessions, as a table: name, sources, model, context size, last used. Read from the
// session database on a pool thread (its own connection; WAL lets it read while a session writes),
// so the GUI thread never waits on the disk; the rows change when the read is done.
#pragma once

#include <QAbstractTableModel>
#include <QFutureWatcher>
#include <QString>

#include <vector>

namespace folio::ui {

class SessionListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name = 0, Sources, Model, Context, LastUsed, ColumnCount };
    struct Row {
        QString name;
        int sources = 0;
        QString model;       // its name; empty for sessions saved before names were kept
        QString fingerprint; // the engine's model fingerprint
        qint64 contextSize = 0;
        QString lastUsed; // ISO 8601
        int messages = 0;
    };

    explicit SessionListModel(QString databasePath, QObject* parent = nullptr);

    // Reads the database again (after a session was created, renamed or deleted); refreshed() says
    // when the new rows are in.
    void refresh();
    const Row* rowAt(int row) const;
    int rowOf(const QString& name) const;
    QString lastError() const { return error_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void refreshed();

private:
    struct Snapshot {
        std::vector<Row> rows;
        QString error;
    };
    static Snapshot read(const QString& path);
    QFutureWatcher<Snapshot> watcher_;
    QString path_;
    std::vector<Row> rows_;
    QString error_;
};

} // namespace folio::ui
