// What the SQLite store tests share: a temporary directory, a store on a new file in it, a plain
// connection of our own to look at the file, and a tap on every connection the process opens.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "veribind/sqlite_store.hpp"

namespace veribind::testing {

namespace fs = std::filesystem;

// A directory under /tmp, removed with everything in it when the test is done.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/veribind-sqlite-test-XXXXXX";
    const char* made = ::mkdtemp(pattern.data());
    REQUIRE(made != nullptr);
    path_ = made;
  }
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::unique_ptr<SqliteStore> open_store(const fs::path& file,
                                               const SqliteOptions& options = {}) {
  auto opened = SqliteStore::open(file.string(), options);
  INFO(opened.status().message());
  REQUIRE(opened.is_ok());
  return std::move(*opened);
}

// What the contract suites get: a new store on a new file, and the directory that holds it.
struct SqliteFixture {
  TempDir dir;
  std::unique_ptr<SqliteStore> store;  // declared last, so closed before the directory goes
  SqliteStore& operator*() const { return *store; }
};

inline SqliteFixture fresh_sqlite_store() {
  SqliteFixture fixture;
  fixture.store = open_store(fixture.dir.path() / "veribind.db");
  return fixture;
}

// A plain connection of our own, to look at and tamper with the file the way another program
// (or an operator with the sqlite3 shell) would.
class RawDb {
 public:
  explicit RawDb(const fs::path& file) {
    const int rc =
        sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    REQUIRE(rc == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close_v2(db_); }

  void exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    INFO((error != nullptr ? error : ""));
    sqlite3_free(error);
    REQUIRE(rc == SQLITE_OK);
  }

  // Every row's first column, as text.
  std::vector<std::string> column(const std::string& sql) { return column_of(db_, sql); }

  static std::vector<std::string> column_of(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::vector<std::string> rows;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      rows.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
    }
    sqlite3_finalize(stmt);
    REQUIRE(rc == SQLITE_DONE);
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Sees every connection the process opens from now on (sqlite3_auto_extension), in the order
// they are opened, and counts the top-level statements each one starts (sqlite3_trace_v2; the
// programs of triggers, which SQLite reports as "-- TRIGGER name", are not statements).
class ConnectionTap {
 public:
  ConnectionTap() {
    std::lock_guard lock(mutex());
    current() = this;
    sqlite3_auto_extension(reinterpret_cast<void (*)()>(&on_open));
  }
  ~ConnectionTap() {
    sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&on_open));
    std::lock_guard lock(mutex());
    for (sqlite3* db : opened_) sqlite3_trace_v2(db, 0, nullptr, nullptr);
    current() = nullptr;
  }
  ConnectionTap(const ConnectionTap&) = delete;
  ConnectionTap& operator=(const ConnectionTap&) = delete;

  // The connections opened since the tap was made, oldest first.
  [[nodiscard]] std::vector<sqlite3*> opened() const {
    std::lock_guard lock(mutex());
    return opened_;
  }
  // The SQL text of every statement started since the last take(), and forgets them.
  std::vector<std::string> take() {
    std::vector<std::string> out;
    for (auto& [db, sql] : take_with_connections()) out.push_back(std::move(sql));
    return out;
  }
  // The same, each with the connection that ran it.
  std::vector<std::pair<sqlite3*, std::string>> take_with_connections() {
    std::lock_guard lock(mutex());
    return std::exchange(statements_, {});
  }

 private:
  static int on_open(sqlite3* db, const char**, const void*) {
    std::lock_guard lock(mutex());
    if (current() == nullptr) return SQLITE_OK;
    current()->opened_.push_back(db);
    sqlite3_trace_v2(db, SQLITE_TRACE_STMT, &on_statement, current());
    return SQLITE_OK;
  }
  static int on_statement(unsigned, void* tap, void* stmt, void* text) {
    const char* sql = static_cast<const char*>(text);
    if (sql != nullptr && sql[0] == '-' && sql[1] == '-') return 0;  // a trigger's program
    sqlite3* db = sqlite3_db_handle(static_cast<sqlite3_stmt*>(stmt));
    std::lock_guard lock(mutex());
    auto* self = static_cast<ConnectionTap*>(tap);
    if (current() == self) self->statements_.emplace_back(db, sql == nullptr ? "" : sql);
    return 0;
  }
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static ConnectionTap*& current() {
    static ConnectionTap* tap = nullptr;
    return tap;
  }

  std::vector<sqlite3*> opened_;
  std::vector<std::pair<sqlite3*, std::string>> statements_;
};

}  // namespace veribind::testing
