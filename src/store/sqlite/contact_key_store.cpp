// SqliteContactKeyStore: the data keys of sealed contacts, in a SQLite file of their own.
//
// Small and rarely used (one row per sealed binding, read when a contact is read), so statements
// are prepared per call. One connection behind one mutex; each operation is one statement, so it
// is atomic across processes too. Error messages use sqlite3_errstr, never sqlite3_errmsg.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <string_view>

#include "internal/sqlite_status.hpp"
#include "veribind/sqlite_contact_key_store.hpp"

namespace veribind {

namespace {

constexpr std::int64_t kKeyStoreSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;
// How long erased_copies_remain() waits for readers to let the checkpoint through.
constexpr int kCheckpointWaitMs = 2000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS contact_key_store_version (version INTEGER NOT NULL PRIMARY KEY) STRICT;
CREATE TABLE IF NOT EXISTS contact_keys (
  key_id BLOB NOT NULL PRIMARY KEY CHECK (length(key_id) = 16),
  kek_version INTEGER NOT NULL CHECK (kek_version BETWEEN 1 AND 4294967295),
  wrapped BLOB NOT NULL CHECK (length(wrapped) BETWEEN 1 AND 1024)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_keys_by_kek_version ON contact_keys (kek_version, key_id);
INSERT OR IGNORE INTO contact_key_store_version (version) VALUES (1);
)sql";

Status sqlite_error(std::string_view operation, int rc) {
  return internal::sqlite_status("contact key store", operation, rc);
}

// A prepared statement, finalized on every path out.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  [[nodiscard]] int prepared() const { return rc_; }
  [[nodiscard]] sqlite3_stmt* get() const { return stmt_; }
  int blob(int index, const void* data, std::size_t size) {
    return sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), SQLITE_STATIC);
  }
  int integer(int index, std::int64_t value) { return sqlite3_bind_int64(stmt_, index, value); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

bool read_key(sqlite3_stmt* s, WrappedDataKey& key) {
  if (sqlite3_column_bytes(s, 0) != static_cast<int>(key.key_id.size())) return false;
  std::memcpy(key.key_id.data(), sqlite3_column_blob(s, 0), key.key_id.size());
  const std::int64_t version = sqlite3_column_int64(s, 1);
  if (version < 1 || version > std::numeric_limits<std::uint32_t>::max()) return false;
  key.kek_version = static_cast<std::uint32_t>(version);
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 2));
  const int size = sqlite3_column_bytes(s, 2);
  if (data == nullptr || size <= 0) return false;
  key.wrapped.assign(data, data + size);
  return true;
}

}  // namespace

struct SqliteContactKeyStore::Impl {
  std::mutex mutex;
  sqlite3* db = nullptr;
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { sqlite3_close_v2(db); }

  // Folds the WAL into the database file and truncates it, waiting up to `wait_ms` for readers
  // of older snapshots (which hold the frames back); true if it completed. secure_delete zeroed
  // an erased row in the pages its commit wrote, so once this completes neither file holds it.
  // A reader holding it back (BUSY, LOCKED) is an answer, not an error; anything else is.
  Result<bool> checkpoint(int wait_ms) const {
    sqlite3_busy_timeout(db, wait_ms);
    int log_frames = -1;
    int checkpointed = -1;
    const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                             &checkpointed);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return false;
    if (rc != SQLITE_OK) return sqlite_error("checkpoint", rc);
    return log_frames == checkpointed;
  }

  // Runs a statement that returns no rows; the number of rows it changed, or an error.
  Result<std::int64_t> run(std::string_view op, Statement& s) const {
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    return static_cast<std::int64_t>(sqlite3_changes64(db));
  }
};

SqliteContactKeyStore::SqliteContactKeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteContactKeyStore::~SqliteContactKeyStore() = default;

Result<std::unique_ptr<SqliteContactKeyStore>> SqliteContactKeyStore::open(
    const std::string& path) {
  constexpr std::string_view op = "open";
  if (!path.empty() && path != ":memory:") {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Status(ErrorCode::kUnavailable,
                    std::string("contact key store: cannot open or create the file: ") +
                        std::strerror(errno));
    }
    ::close(fd);
  }
  auto impl = std::make_unique<Impl>();
  int rc =
      sqlite3_open_v2(path.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  sqlite3* db = impl->db;
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);

  // Refuse any database that already has tables other than ours: above all the main store, whose
  // backups must never contain data keys.
  {
    Statement s(db,
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                "('contact_keys', 'contact_key_store_version') AND name NOT LIKE 'sqlite\\_%' "
                "ESCAPE '\\'");
    if (s.prepared() != SQLITE_OK) return sqlite_error(op, s.prepared());
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) return sqlite_error(op, rc);
    if (sqlite3_column_int64(s.get(), 0) != 0) {
      return Status(ErrorCode::kStoreError,
                    "contact key store: the file is another database (the main store, or "
                    "another application's); data keys need a file of their own");
    }
  }
  for (const char* pragma :
       {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA secure_delete = ON"}) {
    rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return sqlite_error("open: set pragmas", rc);
  }
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return sqlite_error("open: create schema", rc);
  }
  {
    Statement s(db, "SELECT max(version) FROM contact_key_store_version");
    if (s.prepared() != SQLITE_OK) return sqlite_error(op, s.prepared());
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) return sqlite_error(op, rc);
    if (sqlite3_column_int64(s.get(), 0) != kKeyStoreSchemaVersion) {
      return Status(ErrorCode::kStoreError,
                    "contact key store: the schema version is not one this veribind supports");
    }
  }
  return std::unique_ptr<SqliteContactKeyStore>(new SqliteContactKeyStore(std::move(impl)));
}

Status SqliteContactKeyStore::put(const WrappedDataKey& key) {
  constexpr std::string_view op = "put";
  std::lock_guard lock(impl_->mutex);
  Statement s(impl_->db,
              "INSERT INTO contact_keys (key_id, kek_version, wrapped) VALUES (?1, ?2, ?3)");
  int rc = s.prepared();
  if (rc == SQLITE_OK) rc = s.blob(1, key.key_id.data(), key.key_id.size());
  if (rc == SQLITE_OK) rc = s.integer(2, key.kek_version);
  if (rc == SQLITE_OK) rc = s.blob(3, key.wrapped.data(), key.wrapped.size());
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return Status::ok();
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    return {ErrorCode::kStoreError, "contact key store: put refused: id exists or key malformed"};
  }
  return sqlite_error(op, rc);
}

Result<std::optional<WrappedDataKey>> SqliteContactKeyStore::get(const DataKeyId& id) {
  constexpr std::string_view op = "get";
  std::lock_guard lock(impl_->mutex);
  Statement s(impl_->db, "SELECT key_id, kek_version, wrapped FROM contact_keys WHERE key_id = ?1");
  int rc = s.prepared();
  if (rc == SQLITE_OK) rc = s.blob(1, id.data(), id.size());
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<WrappedDataKey>();
  if (rc != SQLITE_ROW) return sqlite_error(op, rc);
  WrappedDataKey key;
  if (!read_key(s.get(), key)) {
    return Status(ErrorCode::kStoreError, "contact key store: a stored key is malformed");
  }
  return std::optional<WrappedDataKey>(std::move(key));
}

Result<bool> SqliteContactKeyStore::erase(const DataKeyId& id) {
  constexpr std::string_view op = "erase";
  std::lock_guard lock(impl_->mutex);
  Statement s(impl_->db, "DELETE FROM contact_keys WHERE key_id = ?1");
  int rc = s.prepared();
  if (rc == SQLITE_OK) rc = s.blob(1, id.data(), id.size());
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  auto changed = impl_->run(op, s);
  if (!changed) return changed.status();
  // secure_delete zeroed the row in the pages written by this commit, but the WAL still holds
  // the page images of earlier commits, the key among them: copy the log into the database and
  // truncate it. One attempt without waiting here (a caller erasing many keys should not wait
  // for each); a reader in another process can hold it back, and erased_copies_remain() then
  // waits for it and reports what is left.
  (void)impl_->checkpoint(0);
  return *changed == 1;
}

Result<bool> SqliteContactKeyStore::erased_copies_remain() {
  std::lock_guard lock(impl_->mutex);
  auto completed = impl_->checkpoint(kCheckpointWaitMs);
  if (!completed) return completed.status();
  return !*completed;
}

Result<bool> SqliteContactKeyStore::rewrap(const WrappedDataKey& key,
                                           std::uint32_t expected_kek_version) {
  constexpr std::string_view op = "rewrap";
  std::lock_guard lock(impl_->mutex);
  Statement s(impl_->db,
              "UPDATE contact_keys SET kek_version = ?2, wrapped = ?3 "
              "WHERE key_id = ?1 AND kek_version = ?4");
  int rc = s.prepared();
  if (rc == SQLITE_OK) rc = s.blob(1, key.key_id.data(), key.key_id.size());
  if (rc == SQLITE_OK) rc = s.integer(2, key.kek_version);
  if (rc == SQLITE_OK) rc = s.blob(3, key.wrapped.data(), key.wrapped.size());
  if (rc == SQLITE_OK) rc = s.integer(4, expected_kek_version);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  auto changed = impl_->run(op, s);
  if (!changed) return changed.status();
  return *changed == 1;
}

Result<std::vector<WrappedDataKey>> SqliteContactKeyStore::with_kek_version(
    std::uint32_t kek_version, const std::optional<DataKeyId>& after, std::size_t limit) {
  constexpr std::string_view op = "with_kek_version";
  std::lock_guard lock(impl_->mutex);
  Statement s(impl_->db,
              "SELECT key_id, kek_version, wrapped FROM contact_keys "
              "WHERE kek_version = ?1 AND key_id > ?2 ORDER BY key_id LIMIT ?3");
  const DataKeyId from = after.value_or(DataKeyId{});
  int rc = s.prepared();
  if (rc == SQLITE_OK) rc = s.integer(1, kek_version);
  // With no cursor, an empty blob sorts before every 16-byte id.
  if (rc == SQLITE_OK) rc = s.blob(2, from.data(), after ? from.size() : 0);
  if (rc == SQLITE_OK) {
    rc = s.integer(3, static_cast<std::int64_t>(std::min<std::size_t>(
                          limit, static_cast<std::size_t>(std::numeric_limits<int>::max()))));
  }
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  std::vector<WrappedDataKey> out;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    WrappedDataKey key;
    if (!read_key(s.get(), key)) {
      return Status(ErrorCode::kStoreError, "contact key store: a stored key is malformed");
    }
    out.push_back(std::move(key));
  }
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return out;
}

Result<std::size_t> SqliteContactKeyStore::count_kek_version(std::uint32_t kek_version) {
  constexpr std::string_view op = "count_kek_version";
  std::lock_guard lock(impl_->mutex);
  Statement s(impl_->db, "SELECT count(*) FROM contact_keys WHERE kek_version = ?1");
  int rc = s.prepared();
  if (rc == SQLITE_OK) rc = s.integer(1, kek_version);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) return sqlite_error(op, rc);
  return static_cast<std::size_t>(sqlite3_column_int64(s.get(), 0));
}

}  // namespace veribind
