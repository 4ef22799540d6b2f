#include "source_tree_model.h"

#include <QLocale>

#include <algorithm>
#include <functional>

namespace folio::ui {

struct SourceTreeModel::Node {
    QString name;
    QString key; // "source/" for a source, "source/dir/" for a folder, "source/dir/file" for a file
    Node* parent = nullptr;
    std::vector<std::unique_ptr<Node>> children;
    qint64 tokens = 0;   // whole documents
    qint64 included = 0; // tokens in the context
    int document = -1;
    int inclusion = 2; // files: 0 left out, 1 excerpts, 2 whole

    Node* child(const QString& childName, const QString& childKey) {
        for (auto& c : children)
            if (c->name == childName) return c.get();
        auto n = std::make_unique<Node>();
        n->name = childName;
        n->key = childKey;
        n->parent = this;
        children.push_back(std::move(n));
        return children.back().get();
    }
    int row() const {
        if (!parent) return 0;
        for (std::size_t i = 0; i < parent->children.size(); ++i)
            if (parent->children[i].get() == this) return int(i);
        return 0;
    }
};

SourceTreeModel::SourceTreeModel(QObject* parent) : QAbstractItemModel(parent), root_(std::make_unique<Node>()) {}

SourceTreeModel::~SourceTreeModel() = default;

void SourceTreeModel::clear() {
    beginResetModel();
    root_ = std::make_unique<Node>();
    packed_.reset();
    endResetModel();
}

void SourceTreeModel::setContext(std::shared_ptr<const ingest::PackedContext> packed) {
    beginResetModel();
    root_ = std::make_unique<Node>();
    packed_ = std::move(packed);
    if (packed_) {
        for (const auto& src : packed_->sources) {
            const QString name = QString::fromStdString(src.name);
            root_->child(name, name + QLatin1Char('/'));
        }
        for (std::size_t d = 0; d < packed_->documents.size(); ++d) {
            const auto& doc = packed_->documents[d];
            const QString source = QString::fromStdString(packed_->sources[packed_->documentSource[d]].name);
            Node* n = root_->child(source, source + QLatin1Char('/'));
            const QStringList parts = QString::fromStdString(doc.path).split(QLatin1Char('/'), Qt::SkipEmptyParts);
            QString key = source + QLatin1Char('/');
            for (int i = 0; i < parts.size(); ++i) {
                const bool leaf = i + 1 == parts.size();
                key += parts[i] + (leaf ? QString() : QStringLiteral("/"));
                n = n->child(parts[i], key);
            }
            n->document = int(d);
            n->inclusion = packed_->inclusion[d];
            const qint64 tokens = qint64(packed_->documentTokens[d]), included = qint64(packed_->includedTokens[d]);
            for (Node* up = n; up && up != root_.get(); up = up->parent) {
                up->tokens += tokens;
                up->included += included;
            }
        }
        // Folders first, then files, each by name; sources keep their context order.
        std::function<void(Node*)> sortChildren = [&](Node* node) {
            std::stable_sort(node->children.begin(), node->children.end(), [](const auto& a, const auto& b) {
                const bool fa = !a->children.empty(), fb = !b->children.empty();
                if (fa != fb) return fa;
                return a->name < b->name;
            });
            for (auto& c : node->children) sortChildren(c.get());
        };
        for (auto& source : root_->children) sortChildren(source.get());
    }
    endResetModel();
}

SourceTreeModel::Node* SourceTreeModel::nodeOf(const QModelIndex& index) const {
    return index.isValid() ? static_cast<Node*>(index.internalPointer()) : root_.get();
}

QModelIndex SourceTreeModel::index(int row, int column, const QModelIndex& parent) const {
    if (!hasIndex(row, column, parent)) return {};
    Node* p = nodeOf(parent);
    return createIndex(row, column, p->children[std::size_t(row)].get());
}

QModelIndex SourceTreeModel::parent(const QModelIndex& child) const {
    if (!child.isValid()) return {};
    Node* n = nodeOf(child);
    if (!n->parent || n->parent == root_.get()) return {};
    return createIndex(n->parent->row(), 0, n->parent);
}

int SourceTreeModel::rowCount(const QModelIndex& parent) const {
    if (parent.isValid() && parent.column() != 0) return 0;
    return int(nodeOf(parent)->children.size());
}

int SourceTreeModel::columnCount(const QModelIndex&) const { return ColumnCount; }

QVariant SourceTreeModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    const Node* n = nodeOf(index);
    switch (role) {
    case Qt::DisplayRole:
        if (index.column() == Name) return n->name;
        if (index.column() == Tokens) return QLocale().toString(n->tokens);
        if (index.column() == Inclusion) {
            if (n->document < 0)
                return n->included == n->tokens ? tr("whole")
                                                : tr("%1% in").arg(n->tokens ? 100 * n->included / n->tokens : 0);
            return n->inclusion == 2 ? tr("whole") : n->inclusion == 1 ? tr("excerpts") : tr("left out");
        }
        return {};
    case Qt::CheckStateRole:
        return index.column() == Name ? QVariant(Qt::Checked) : QVariant();
    case Qt::TextAlignmentRole:
        return index.column() == Tokens ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    case Qt::ToolTipRole:
        return tr("%1: %2 tokens, %3 in the context").arg(n->key).arg(n->tokens).arg(n->included);
    case KeyRole:
        return n->key;
    case DocumentRole:
        return n->document;
    default:
        return {};
    }
}

bool SourceTreeModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || role != Qt::CheckStateRole || index.column() != Name) return false;
    const Node* n = nodeOf(index);
    emit exclusionRequested(n->key, value.toInt() == Qt::Unchecked);
    return true;
}

Qt::ItemFlags SourceTreeModel::flags(const QModelIndex& index) const {
    if (!index.isValid()) return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (index.column() == Name) f |= Qt::ItemIsUserCheckable;
    return f;
}

QVariant SourceTreeModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case Name: return tr("Source");
    case Tokens: return tr("Tokens");
    case Inclusion: return tr("In context");
    default: return {};
    }
}

QModelIndex SourceTreeModel::indexOfKey(const QString& key) const {
    std::function<QModelIndex(const QModelIndex&)> find = [&](const QModelIndex& parent) -> QModelIndex {
        for (int r = 0; r < rowCount(parent); ++r) {
            const QModelIndex i = index(r, 0, parent);
            if (data(i, KeyRole).toString() == key) return i;
            if (const QModelIndex deeper = find(i); deeper.isValid()) return deeper;
        }
        return {};
    };
    return find({});
}

} // namespace folio::ui
