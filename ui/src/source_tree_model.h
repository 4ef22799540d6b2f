// What went into the context, as a tree: source -> folders -> documents, with exact token counts
// and how each is included (whole, excerpts, left out). Unchecking a file or folder excludes it
// (the window passes the new exclusion list to the session, which packs again).
#pragma once

#include "folio/ingest/packer.h"

#include <QAbstractItemModel>
#include <QStringList>

#include <memory>
#include <vector>

namespace folio::ui {

class SourceTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { Name = 0, Tokens, Inclusion, ColumnCount };
    static constexpr int KeyRole = Qt::UserRole + 1;      // "source/path" of the node
    static constexpr int DocumentRole = Qt::UserRole + 2; // index into PackedContext::documents, or -1

    explicit SourceTreeModel(QObject* parent = nullptr);
    ~SourceTreeModel() override;

    void setContext(std::shared_ptr<const ingest::PackedContext> packed);
    void clear();
    QModelIndex indexOfKey(const QString& key) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    // The user unchecked (or checked) a node: exclude (or include again) this "source/path" prefix.
    void exclusionRequested(const QString& key, bool exclude);

private:
    struct Node;
    Node* nodeOf(const QModelIndex& index) const;
    std::unique_ptr<Node> root_;
    std::shared_ptr<const ingest::PackedContext> packed_;
};

} // namespace folio::ui
