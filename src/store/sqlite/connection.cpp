// Opening a SqliteStore: the file, its two connections and their settings, the schema, and the
// prepared statements.
#include "store/sqlite/connection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <utility>

#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_impl.hpp"

namespace veribind {
namespace sqlite {

// How long an operation waits for another process's write lock before reporting kUnavailable.
constexpr int kBusyTimeoutMs = 5000;
constexpr const char* kOpen = "open";

Connection::~Connection() {
  for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);  // no-op on nullptr
  sqlite3_close_v2(db_);
}

Status Connection::open(const std::string& path) {
  // NOMUTEX: `mutex` serialises every use of the connection.
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(kOpen, rc);
  sqlite3_extended_result_codes(db_, 1);
  // Set before anything touches the file, so that opening while another process holds the write
  // lock (or runs its own migration) waits rather than fails.
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // The file is data, not code: no functions or virtual tables reached from its triggers or
  // views run with our privileges, and the schema cannot be corrupted through writable_schema
  // tricks.
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  return {};
}

Status Connection::prepare(Sync sync, std::span<const StmtId> which) {
  int rc =
      exec(db_, sync == Sync::kFull ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  if (rc != SQLITE_OK) return sqlite_error("open: set synchronous", rc);
  // Deleted rows (consumed challenges, unlinked bindings) are overwritten with zeros instead of
  // lingering in free pages. Old versions can still sit in the WAL until its next checkpoint.
  rc = exec(db_, "PRAGMA secure_delete = ON");
  if (rc != SQLITE_OK) return sqlite_error("open: set secure_delete", rc);
  for (StmtId id : which) {
    const std::string sql = statement_sql(id);
    rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                            SQLITE_PREPARE_PERSISTENT, &stmts_[static_cast<std::size_t>(id)],
                            nullptr);
    if (rc != SQLITE_OK) return sqlite_error("open: prepare statements", rc);
  }
  return {};
}

int Connection::run(StmtId which) const {
  Use s(stmt(which));
  const int rc = sqlite3_step(s.get());
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void Connection::rollback_if_open() const {
  if (sqlite3_get_autocommit(db_) == 0) (void)run(StmtId::kRollback);
}

int query_int(sqlite3* db, const char* sql, std::int64_t& out) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return rc;
  out = 0;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    out = sqlite3_column_int64(s, 0);
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc;
}

int query_text(sqlite3* db, const char* sql, std::string& out) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return rc;
  out.clear();
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(s, 0);
    if (text != nullptr) {
      out.assign(reinterpret_cast<const char*>(text),
                 static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    }
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc;
}

namespace {

// The database holds blind indexes, code tags and bindings: readable by the owner only. SQLite
// creates a new file with 0644 (less the umask) and gives its -wal and -shm files the permissions
// of the main file, so creating the main file ourselves with 0600 covers all three.
Status create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::string message = "sqlite store: open failed: cannot open or create the database file: ";
    message.append(std::strerror(errno));
    return {ErrorCode::kUnavailable, std::move(message)};
  }
  ::close(fd);
  return {};
}

// WAL: readers never block the writer and the writer never blocks readers, and each commit
// appends to the log instead of rewriting pages. Switching needs an exclusive lock, and when
// several processes open a new file at once the switch can fail busy at once (SQLite does not
// wait when waiting could deadlock), so it is retried within one overall deadline; the busy
// handler is off meanwhile so that each try is quick and the deadline is the only wait. A file
// already in WAL mode (the setting is stored in the file) is not switched again.
Status enable_wal(sqlite3* db) {
  std::string mode;
  int rc = query_text(db, "PRAGMA journal_mode", mode);
  if (rc == SQLITE_OK && mode != "wal") {
    sqlite3_busy_timeout(db, 0);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    while (true) {
      rc = query_text(db, "PRAGMA journal_mode = WAL", mode);
      if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) break;
      sqlite3_sleep(10);
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
  }
  if (rc != SQLITE_OK) return sqlite_error("open: enable WAL", rc);
  if (mode != "wal") return store_error(kOpen, "WAL journal mode unavailable");
  return {};
}

}  // namespace
}  // namespace sqlite

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       const SqliteOptions& options) {
  if (path.empty() || path == ":memory:") {
    // Two connections must reach one database: an in-memory or temporary one would be two.
    return Status(ErrorCode::kInvalidArgument, "sqlite store: open needs a database file path");
  }
  if (Status created = sqlite::create_private_file(path); !created) return created;
  auto impl = std::make_unique<Impl>();
  if (Status ok = impl->accounts.open(path); !ok) return ok;
  sqlite3* db = impl->accounts.db();
  // Before anything writes (switching to WAL rewrites the header): a file that is not ours is
  // left exactly as it was.
  if (Status ok = sqlite::check_existing_database(db); !ok) return ok;
  if (Status ok = sqlite::enable_wal(db); !ok) return ok;
  if (Status ok = sqlite::migrate(db); !ok) return ok;
  if (Status ok = impl->accounts.prepare(sqlite::Sync::kFull, sqlite::kAccountStatements); !ok) {
    return ok;
  }
  if (Status ok = impl->verification.open(path); !ok) return ok;
  const sqlite::Sync verification_sync =
      options.sync_every_commit ? sqlite::Sync::kFull : sqlite::Sync::kNormal;
  if (Status ok = impl->verification.prepare(verification_sync, sqlite::kVerificationStatements);
      !ok) {
    return ok;
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

}  // namespace veribind
