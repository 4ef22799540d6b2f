// Internal: a prepared SQLite statement with RAII and typed binds, for the session store.
#pragma once

#include <cstdint>
#include <sqlite3.h>
#include <string>
#include <string_view>

namespace folio::ingest::detail {

class Statement {
public:
    Statement(sqlite3* db, const char* sql) {
        ok_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) == SQLITE_OK;
    }
    ~Statement() { sqlite3_finalize(st_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    bool ok() const { return ok_; }
    Statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(st_, i, v);
        return *this;
    }
    Statement& bind(int i, int v) {
        sqlite3_bind_int64(st_, i, v);
        return *this;
    }
    Statement& bind(int i, double v) {
        sqlite3_bind_double(st_, i, v);
        return *this;
    }
    Statement& bind(int i, std::string_view v) {
        // An empty view may have no data pointer, which SQLite would store as NULL, not as "".
        sqlite3_bind_text(st_, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    Statement& bindBlob(int i, std::string_view v) {
        sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bindNull(int i) {
        sqlite3_bind_null(st_, i);
        return *this;
    }

    // SQLITE_ROW -> true; SQLITE_DONE -> false (check done()).
    bool step() {
        rc_ = sqlite3_step(st_);
        return rc_ == SQLITE_ROW;
    }
    bool run() {
        step();
        const bool good = rc_ == SQLITE_DONE || rc_ == SQLITE_ROW;
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
        return good;
    }
    void reset() {
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
    }
    int rc() const { return rc_; }

    std::int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
    double f64(int col) const { return sqlite3_column_double(st_, col); }
    std::string text(int col) const {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(st_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
                 : std::string();
    }
    bool isNull(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

private:
    sqlite3_stmt* st_ = nullptr;
    bool ok_ = false;
    int rc_ = SQLITE_OK;
};

} // namespace folio::ingest::detail
