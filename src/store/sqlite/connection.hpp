// One SQLite connection of a SqliteStore: the handle, the mutex that serialises its use (it is
// opened with SQLITE_OPEN_NOMUTEX), its prepared statements, and the helpers every operation
// uses: binding values, reading rows through the shared row codec (src/store/sql/row_codec.hpp),
// and the write-transaction helper.
//
// Across processes SQLite's file locks do the work: every operation is either one autocommit
// statement (which takes the write lock before it reads, so its check and its write are one
// atomic step) or one BEGIN IMMEDIATE transaction (the write lock is taken at BEGIN, so a
// read-then-write inside it can never be invalidated by another writer). A busy timeout makes a
// second process wait for the lock instead of failing at once.
//
// Error messages name the operation and SQLite's generic description of the result code
// (sqlite3_errstr), never sqlite3_errmsg, which can quote values.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "internal/sqlite_status.hpp"
#include "store/sqlite/statements.hpp"
#include "veribind/result.hpp"

namespace veribind::sqlite {

inline Status sqlite_error(std::string_view operation, int rc) {
  return internal::sqlite_status("sqlite store", operation, rc);
}

inline Status store_error(std::string_view operation, std::string_view why) {
  std::string message = "sqlite store: ";
  message.append(operation);
  message.append(": ");
  message.append(why);
  return {ErrorCode::kStoreError, std::move(message)};
}

// Resets a statement (and drops its bindings) when the operation is done with it, so that no
// statement keeps a read transaction open and blocks WAL checkpoints, and no pointer bound with
// SQLITE_STATIC outlives the call.
class Use {
 public:
  explicit Use(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  [[nodiscard]] sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

inline int bind_blob(sqlite3_stmt* s, int index, std::span<const std::uint8_t> bytes) {
  return sqlite3_bind_blob(s, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
}
inline int bind_text(sqlite3_stmt* s, int index, std::string_view text) {
  return sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
inline int bind_int(sqlite3_stmt* s, int index, std::int64_t value) {
  return sqlite3_bind_int64(s, index, value);
}

// The current row of a statement, as the row reader that sql::decode_* take. Reads without
// copying: the views it hands out live until the statement steps or resets.
class StmtRow {
 public:
  explicit StmtRow(sqlite3_stmt* s) : s_(s) {}

  bool integer(int column, std::int64_t& out) const {
    if (sqlite3_column_type(s_, column) != SQLITE_INTEGER) return false;
    out = sqlite3_column_int64(s_, column);
    return true;
  }
  bool bytes(int column, std::span<std::uint8_t> out) const {
    if (sqlite3_column_type(s_, column) != SQLITE_BLOB) return false;
    const void* data = sqlite3_column_blob(s_, column);
    if (sqlite3_column_bytes(s_, column) != static_cast<int>(out.size())) return false;
    if (!out.empty()) std::memcpy(out.data(), data, out.size());
    return true;
  }
  bool any_bytes(int column, std::span<const std::uint8_t>& out) const {
    if (sqlite3_column_type(s_, column) != SQLITE_BLOB) return false;
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, column));
    out = {data, static_cast<std::size_t>(sqlite3_column_bytes(s_, column))};
    return true;
  }
  bool text(int column, std::string_view& out) const {
    if (sqlite3_column_type(s_, column) != SQLITE_TEXT) return false;
    const unsigned char* data = sqlite3_column_text(s_, column);
    if (data == nullptr) return false;
    out = {reinterpret_cast<const char*>(data),
           static_cast<std::size_t>(sqlite3_column_bytes(s_, column))};
    return true;
  }
  bool flag(int column, bool& out) const {
    std::int64_t v = 0;
    if (!integer(column, v) || (v != 0 && v != 1)) return false;
    out = v == 1;
    return true;
  }

 private:
  sqlite3_stmt* s_;
};

// How a connection syncs its commits (PRAGMA synchronous, in WAL mode).
enum class Sync : std::uint8_t {
  kNormal,  // a commit is written to the WAL, which is synced at checkpoints only
  kFull,    // every commit is synced to the WAL before it is acknowledged
};

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Opens `path` (which must exist) with the store's settings: busy timeout, untrusted schema,
  // defensive mode. No statement is run yet.
  Status open(const std::string& path);
  // Once the file is in WAL mode and migrated: sets synchronous and secure_delete and prepares
  // `which` (each with SQLITE_PREPARE_PERSISTENT).
  Status prepare(Sync sync, std::span<const StmtId> which);

  [[nodiscard]] sqlite3* db() const { return db_; }
  [[nodiscard]] sqlite3_stmt* stmt(StmtId which) const {
    return stmts_[static_cast<std::size_t>(which)];
  }

  // Runs a statement that returns no rows to completion, with nothing bound.
  int run(StmtId which) const;
  // Rolls back the open transaction, if SQLite has not already done so after an error.
  void rollback_if_open() const;

  // Runs `body` (which returns Result<T>) inside BEGIN IMMEDIATE ... COMMIT. The transaction is
  // committed only if `body` succeeds and `keep(value)` is true; otherwise it is rolled back, so
  // a failed or refused operation changes nothing. The caller holds `mutex`.
  template <typename Body, typename Keep>
  auto in_write_transaction(std::string_view operation, Body body, Keep keep) -> decltype(body()) {
    int rc = run(StmtId::kBeginImmediate);
    if (rc != SQLITE_OK) return sqlite_error(operation, rc);
    auto result = body();
    if (!result.is_ok() || !keep(result.value())) {
      rollback_if_open();
      return result;
    }
    rc = run(StmtId::kCommit);
    if (rc != SQLITE_OK) {
      rollback_if_open();
      return sqlite_error(operation, rc);
    }
    return result;
  }

  // Runs `body` inside a deferred BEGIN ... COMMIT: one read snapshot for every statement in it,
  // and no write lock taken. The caller holds `mutex`.
  template <typename Body>
  auto in_read_transaction(std::string_view operation, Body body) -> decltype(body()) {
    const int rc = run(StmtId::kBeginDeferred);
    if (rc != SQLITE_OK) return sqlite_error(operation, rc);
    auto result = body();
    rollback_if_open();  // it wrote nothing: ending it either way releases the snapshot
    return result;
  }

  std::mutex mutex;

 private:
  sqlite3* db_ = nullptr;
  std::array<sqlite3_stmt*, kStmtCount> stmts_{};
};

// Runs SQL text that returns no rows we need (open-time and operator paths only; the hot paths
// use prepared statements).
inline int exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

// Runs a one-row, one-column query (open-time only). `out` is 0 / empty when there is no row.
int query_int(sqlite3* db, const char* sql, std::int64_t& out);
int query_text(sqlite3* db, const char* sql, std::string& out);

}  // namespace veribind::sqlite
