// SqliteStore: the Store contract on one SQLite file.
//
// Concurrency model. One connection per SqliteStore, guarded by one mutex (the connection is
// opened with SQLITE_OPEN_NOMUTEX because the mutex already serialises it). Across processes,
// SQLite's file locks do the work: every operation is either one autocommit statement (which
// takes the write lock before it reads, so its check and its write are one atomic step) or one
// BEGIN IMMEDIATE transaction (the write lock is taken at BEGIN, so a read-then-write inside it
// can never be invalidated by another writer). A busy timeout makes a second process wait for the
// lock instead of failing at once.
//
// Nothing here ever sees plaintext personal data: identifiers arrive as blind indexes, codes as
// tags, rate-limit keys as keyed hashes. Error messages name the operation and SQLite's generic
// description of the result code (sqlite3_errstr), never sqlite3_errmsg, which can quote values.
#include "veribind/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/sqlite_status.hpp"

namespace veribind {
namespace {

// The schema version this code reads and writes. A database of a newer version is refused:
// writing to it with an older understanding of its tables could break its invariants.
constexpr std::int64_t kSchemaVersion = 4;

// How long an operation waits for another process's write lock before reporting kUnavailable.
constexpr int kBusyTimeoutMs = 5000;

// Migration N takes a database from version N-1 to N. Each runs inside the IMMEDIATE transaction
// that opens the store, together with the row that records it, so a migration is applied
// completely or not at all. They are also idempotent (IF NOT EXISTS), so a half-created schema
// left by a tool outside veribind does not wedge the upgrade.
//
// Tables are STRICT (a mistyped bind fails instead of being stored as text) and carry CHECK
// constraints on sizes and on attempts <= max_attempts, so even a bug in this file cannot store a
// challenge that has been charged past its maximum.
struct Migration {
  std::int64_t version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE IF NOT EXISTS challenges (
  id BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
  code_tag BLOB NOT NULL CHECK (length(code_tag) = 16),
  blind_index BLOB NOT NULL CHECK (length(blind_index) = 32),
  key_version INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
  expires_at INTEGER NOT NULL,
  purpose INTEGER NOT NULL CHECK (purpose BETWEEN 1 AND 4),
  channel INTEGER NOT NULL CHECK (channel IN (1, 2)),
  phone_type INTEGER NOT NULL CHECK (phone_type BETWEEN 0 AND 11),
  region TEXT NOT NULL CHECK (length(CAST(region AS BLOB)) = 2 AND region GLOB '[A-Z][A-Z]'),
  attempts INTEGER NOT NULL CHECK (attempts >= 0 AND attempts <= max_attempts),
  max_attempts INTEGER NOT NULL CHECK (max_attempts BETWEEN 0 AND 255),
  provider_canonical INTEGER NOT NULL CHECK (provider_canonical IN (0, 1))
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS challenges_by_expiry ON challenges (expires_at);

CREATE TABLE IF NOT EXISTS counters (
  key BLOB NOT NULL PRIMARY KEY CHECK (length(key) = 32),
  window_end INTEGER NOT NULL,
  count INTEGER NOT NULL CHECK (count BETWEEN 1 AND 4294967295)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counters_by_window_end ON counters (window_end);

CREATE TABLE IF NOT EXISTS bindings (
  account_id TEXT NOT NULL,
  blind_index BLOB NOT NULL CHECK (length(blind_index) = 32),
  key_version INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
  channel INTEGER NOT NULL CHECK (channel IN (1, 2)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, channel)
) STRICT;
-- Leads with (blind_index, key_version) for lookups and uniqueness counts; the trailing columns
-- make find_accounts an index-only scan already in oldest-first order.
CREATE INDEX IF NOT EXISTS bindings_by_index
  ON bindings (blind_index, key_version, created_at, account_id);
)sql"},
    // v2: a challenge records the phone's calling code, for per-calling-code budgets and metrics
    // (a region cannot tell +870 from +882: both are "001" in libphonenumber).
    {2, R"sql(
ALTER TABLE challenges ADD COLUMN
  calling_code INTEGER NOT NULL DEFAULT 0 CHECK (calling_code BETWEEN 0 AND 999);
)sql"},
    // The audit log of lawful lookups. Append-only: triggers refuse UPDATE and DELETE of entries,
    // and any change to the head other than moving it forward. They stop mistakes and casual
    // edits, not someone who can write the file (who can drop them); the MAC chain is what makes
    // such edits evident (veribind/audit.hpp).
    {3, R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  sequence INTEGER NOT NULL PRIMARY KEY CHECK (sequence >= 1),
  time INTEGER NOT NULL,
  authority TEXT NOT NULL CHECK (length(CAST(authority AS BLOB)) BETWEEN 1 AND 1024),
  reference TEXT NOT NULL CHECK (length(CAST(reference AS BLOB)) BETWEEN 1 AND 1024),
  legal_basis TEXT NOT NULL CHECK (length(CAST(legal_basis AS BLOB)) BETWEEN 1 AND 1024),
  requested_by TEXT NOT NULL CHECK (length(CAST(requested_by AS BLOB)) BETWEEN 1 AND 1024),
  blind_index BLOB NOT NULL CHECK (length(blind_index) = 32),
  key_version INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
  channel INTEGER NOT NULL CHECK (channel IN (1, 2)),
  accounts_returned INTEGER NOT NULL CHECK (accounts_returned BETWEEN 0 AND 4294967295),
  mac_key_version INTEGER NOT NULL CHECK (mac_key_version BETWEEN 0 AND 4294967295),
  prev_mac BLOB NOT NULL CHECK (length(prev_mac) = 32),
  mac BLOB NOT NULL CHECK (length(mac) = 32)
) STRICT;
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  count INTEGER NOT NULL CHECK (count >= 1),
  last_mac BLOB NOT NULL CHECK (length(last_mac) = 32),
  mac_key_version INTEGER NOT NULL CHECK (mac_key_version BETWEEN 0 AND 4294967295),
  mac BLOB NOT NULL CHECK (length(mac) = 32)
) STRICT;
CREATE TRIGGER IF NOT EXISTS audit_head_only_forward BEFORE UPDATE ON audit_head
WHEN NEW.count <= OLD.count OR NEW.id <> OLD.id
BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END;
CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'audit_head is never deleted'); END;
)sql"},
    // Sealed contacts and key rotation (issue 5). ADD COLUMN has no IF NOT EXISTS; the migration
    // runs once, in the transaction that records it.
    {4, R"sql(
ALTER TABLE bindings ADD COLUMN sealed_contact BLOB
  CHECK (sealed_contact IS NULL OR length(sealed_contact) BETWEEN 1 AND 4096);
-- Re-indexing walks the bindings of one key version in (account_id, channel) order.
CREATE INDEX IF NOT EXISTS bindings_by_key_version ON bindings (key_version, account_id, channel);
CREATE INDEX IF NOT EXISTS challenges_by_key_version ON challenges (key_version, expires_at);
)sql"},
};

static_assert(static_cast<std::int64_t>(std::size(kMigrations)) == kSchemaVersion,
              "one migration per schema version");

constexpr const char* kChallengeColumns =
    "id, code_tag, blind_index, key_version, expires_at, purpose, channel, phone_type, region, "
    "attempts, max_attempts, provider_canonical, calling_code";

constexpr const char* kAuditColumns =
    "sequence, time, authority, reference, legal_basis, requested_by, blind_index, key_version, "
    "channel, accounts_returned, mac_key_version, prev_mac, mac";

constexpr const char* kBindingColumns =
    "account_id, blind_index, key_version, channel, created_at, sealed_contact";

// Every statement the store runs after open, prepared once with SQLITE_PREPARE_PERSISTENT.
enum Stmt : std::size_t {
  kBegin,
  kCommit,
  kRollback,
  kInsertChallenge,
  kChargeAttempt,
  kChallengeState,
  kConsumeChallenge,
  kFindChallenge,
  kReissueChallenge,
  kAddToCounter,
  kReadCounter,
  kResetCounter,
  kAccountHasBinding,
  kCountBindings,
  kInsertBinding,
  kFindAccounts,
  kDeleteBindings,
  kPurgeChallenges,
  kPurgeCounters,
  kAuditHeadCount,
  kInsertAudit,
  kUpsertAuditHead,
  kScanAudit,
  kReadAuditHead,
  kBindingsOfAccount,
  kBindingsWithKeyVersion,
  kReindexBinding,
  kCountBindingsOfVersion,
  kCountChallengesOfVersion,
  kStmtCount,
};

std::string statement_sql(Stmt which) {
  const std::string cols = kChallengeColumns;
  switch (which) {
    case kBegin: return "BEGIN IMMEDIATE";
    case kCommit: return "COMMIT";
    case kRollback: return "ROLLBACK";
    case kInsertChallenge:
      return "INSERT INTO challenges (" + cols +
             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    // The whole hot-path check in one statement: the condition and the increment happen under
    // the write lock, so racing callers (threads or processes) can never charge past the limit.
    case kChargeAttempt:
      return "UPDATE challenges SET attempts = attempts + 1 "
             "WHERE id = ?1 AND expires_at > ?2 AND attempts < max_attempts RETURNING " +
             cols;
    case kChallengeState:
      return "SELECT expires_at, attempts, max_attempts FROM challenges WHERE id = ?1";
    case kConsumeChallenge: return "DELETE FROM challenges WHERE id = ?1";
    case kFindChallenge: return "SELECT " + cols + " FROM challenges WHERE id = ?1";
    case kReissueChallenge:
      return "UPDATE challenges SET code_tag = ?2, expires_at = ?3 WHERE id = ?1 AND expires_at > "
             "?4";
    // SET expressions see the row as it was before the update, so both CASEs test the old window.
    // The count saturates at UINT32_MAX rather than overflowing the caller's type.
    case kAddToCounter:
      return "INSERT INTO counters (key, window_end, count) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (key) DO UPDATE SET "
             "count = CASE WHEN window_end > ?4 THEN min(count + ?3, 4294967295) ELSE ?3 END, "
             "window_end = CASE WHEN window_end > ?4 THEN window_end ELSE excluded.window_end END "
             "RETURNING count, window_end";
    case kReadCounter:
      return "SELECT count, window_end FROM counters WHERE key = ?1 AND window_end > ?2";
    case kResetCounter: return "DELETE FROM counters WHERE key = ?1";
    case kAccountHasBinding: return "SELECT 1 FROM bindings WHERE account_id = ?1 AND channel = ?2";
    // Bounded: counting stops at max_accounts, however many rows an index holds.
    case kCountBindings:
      return "SELECT count(*) FROM (SELECT 1 FROM bindings "
             "WHERE blind_index = ?1 AND key_version = ?2 LIMIT ?3)";
    case kInsertBinding:
      return "INSERT INTO bindings (account_id, blind_index, key_version, channel, created_at, "
             "sealed_contact) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    case kFindAccounts:
      return "SELECT account_id FROM bindings WHERE blind_index = ?1 AND key_version = ?2 "
             "ORDER BY created_at, account_id";
    case kDeleteBindings: return "DELETE FROM bindings WHERE account_id = ?1";
    case kPurgeChallenges:
      return "DELETE FROM challenges WHERE id IN "
             "(SELECT id FROM challenges WHERE expires_at <= ?1 LIMIT ?2)";
    case kPurgeCounters:
      return "DELETE FROM counters WHERE key IN "
             "(SELECT key FROM counters WHERE window_end <= ?1 LIMIT ?2)";
    case kAuditHeadCount: return "SELECT count FROM audit_head WHERE id = 1";
    case kInsertAudit:
      return "INSERT INTO audit_log (" + std::string(kAuditColumns) +
             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    case kUpsertAuditHead:
      return "INSERT INTO audit_head (id, count, last_mac, mac_key_version, mac) "
             "VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET count = excluded.count, "
             "last_mac = excluded.last_mac, mac_key_version = excluded.mac_key_version, "
             "mac = excluded.mac";
    case kScanAudit:
      return "SELECT " + std::string(kAuditColumns) +
             " FROM audit_log WHERE sequence >= ?1 ORDER BY sequence LIMIT ?2";
    case kReadAuditHead:
      return "SELECT count, last_mac, mac_key_version, mac FROM audit_head WHERE id = 1";
    case kBindingsOfAccount:
      return std::string("SELECT ") + kBindingColumns +
             " FROM bindings WHERE account_id = ?1 ORDER BY channel";
    case kBindingsWithKeyVersion:
      return std::string("SELECT ") + kBindingColumns +
             " FROM bindings WHERE key_version = ?1 AND (account_id, channel) > (?2, ?3) "
             "ORDER BY account_id, channel LIMIT ?4";
    case kReindexBinding:
      return "UPDATE bindings SET blind_index = ?5, key_version = ?6, sealed_contact = ?7 "
             "WHERE account_id = ?1 AND channel = ?2 AND blind_index = ?3 AND key_version = ?4";
    case kCountBindingsOfVersion: return "SELECT count(*) FROM bindings WHERE key_version = ?1";
    case kCountChallengesOfVersion:
      return "SELECT count(*) FROM challenges WHERE key_version = ?1 AND expires_at > ?2";
    case kStmtCount: break;
  }
  return {};
}

Status sqlite_error(std::string_view operation, int rc) {
  return internal::sqlite_status("sqlite store", operation, rc);
}

Status store_error(std::string_view operation, std::string_view why) {
  std::string message = "sqlite store: ";
  message.append(operation);
  message.append(": ");
  message.append(why);
  return {ErrorCode::kStoreError, std::move(message)};
}

std::int64_t to_ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp from_ms(std::int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

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

int bind_blob(sqlite3_stmt* s, int index, std::span<const std::uint8_t> bytes) {
  return sqlite3_bind_blob(s, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
}
int bind_text(sqlite3_stmt* s, int index, std::string_view text) {
  return sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
int bind_int(sqlite3_stmt* s, int index, std::int64_t value) {
  return sqlite3_bind_int64(s, index, value);
}

// Copies a blob column into a fixed-size array; false if the stored size differs.
template <std::size_t N>
bool read_blob(sqlite3_stmt* s, int column, std::array<std::uint8_t, N>& out) {
  const void* data = sqlite3_column_blob(s, column);
  if (data == nullptr || sqlite3_column_bytes(s, column) != static_cast<int>(N)) return false;
  std::memcpy(out.data(), data, N);
  return true;
}

bool read_byte(sqlite3_stmt* s, int column, std::uint8_t& out) {
  const std::int64_t v = sqlite3_column_int64(s, column);
  if (v < 0 || v > 255) return false;
  out = static_cast<std::uint8_t>(v);
  return true;
}

bool bind_challenge_row(sqlite3_stmt* s, const ChallengeRecord& r, int& rc) {
  rc = bind_blob(s, 1, r.id.bytes);
  if (rc == SQLITE_OK) rc = bind_blob(s, 2, r.code_tag);
  if (rc == SQLITE_OK) rc = bind_blob(s, 3, r.index.value);
  if (rc == SQLITE_OK) rc = bind_int(s, 4, r.index.key_version);
  if (rc == SQLITE_OK) rc = bind_int(s, 5, to_ms(r.expires_at));
  if (rc == SQLITE_OK) rc = bind_int(s, 6, static_cast<std::int64_t>(r.purpose));
  if (rc == SQLITE_OK) rc = bind_int(s, 7, static_cast<std::int64_t>(r.channel));
  if (rc == SQLITE_OK) rc = bind_int(s, 8, static_cast<std::int64_t>(r.phone_type));
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_text(s, 9, r.region.data(), static_cast<int>(r.region.size()), SQLITE_STATIC);
  }
  if (rc == SQLITE_OK) rc = bind_int(s, 10, r.attempts);
  if (rc == SQLITE_OK) rc = bind_int(s, 11, r.max_attempts);
  if (rc == SQLITE_OK) rc = bind_int(s, 12, r.provider_canonical ? 1 : 0);
  if (rc == SQLITE_OK) rc = bind_int(s, 13, r.calling_code);
  return rc == SQLITE_OK;
}

// Reads a row laid out as kChallengeColumns; false if any stored value is out of shape.
bool read_challenge_row(sqlite3_stmt* s, ChallengeRecord& r) {
  if (!read_blob(s, 0, r.id.bytes) || !read_blob(s, 1, r.code_tag) ||
      !read_blob(s, 2, r.index.value)) {
    return false;
  }
  const std::int64_t key_version = sqlite3_column_int64(s, 3);
  if (key_version < 0 || key_version > std::numeric_limits<std::uint32_t>::max()) return false;
  r.index.key_version = static_cast<std::uint32_t>(key_version);
  r.expires_at = from_ms(sqlite3_column_int64(s, 4));
  std::uint8_t purpose = 0, channel = 0, phone_type = 0;
  if (!read_byte(s, 5, purpose) || !read_byte(s, 6, channel) || !read_byte(s, 7, phone_type)) {
    return false;
  }
  // The table's CHECK constraints hold the same ranges; reading defensively keeps a row edited
  // behind SQLite's back from becoming an out-of-range enum.
  r.purpose = static_cast<Purpose>(purpose);
  r.channel = static_cast<Channel>(channel);
  r.phone_type = static_cast<PhoneType>(phone_type);
  if (!is_valid_purpose(r.purpose) ||
      (r.channel != Channel::kPhone && r.channel != Channel::kEmail) ||
      phone_type > static_cast<std::uint8_t>(PhoneType::kUnknown)) {
    return false;
  }
  const unsigned char* region = sqlite3_column_text(s, 8);
  if (region == nullptr || sqlite3_column_bytes(s, 8) != 2) return false;
  const auto upper = [](unsigned char c) { return c >= 'A' && c <= 'Z'; };
  if (!upper(region[0]) || !upper(region[1])) return false;
  r.region = {static_cast<char>(region[0]), static_cast<char>(region[1])};
  std::uint8_t provider_canonical = 0;
  if (!read_byte(s, 9, r.attempts) || !read_byte(s, 10, r.max_attempts) ||
      !read_byte(s, 11, provider_canonical) || provider_canonical > 1) {
    return false;
  }
  r.provider_canonical = provider_canonical == 1;
  const std::int64_t calling_code = sqlite3_column_int64(s, 12);
  if (calling_code < 0 || calling_code > 999) return false;
  r.calling_code = static_cast<std::uint16_t>(calling_code);
  return true;
}

// Runs SQL text that returns no rows we need (open-time setup only; the hot paths use prepared
// statements).
int exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

// Runs a one-row, one-column integer query (open-time only). `out` is 0 when there is no row.
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

// Runs a one-row, one-column text query (open-time only).
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

constexpr const char* kOpen = "open";

// Decides, without writing anything, whether the file may be used: it must be an SQLite database
// (reading sqlite_master fails with SQLITE_NOTADB otherwise), and either empty or a veribind
// database of a version this code knows. Another application's database is refused rather than
// having our tables added to it.
Status check_existing_database(sqlite3* db) {
  // One statement, so one snapshot: read as two queries, another process's migration could
  // complete in between and make a healthy database look like another application's.
  std::int64_t kind = 0;  // 0 empty, 1 veribind, 2 something else
  int rc = query_int(db,
                     "SELECT CASE "
                     "WHEN EXISTS (SELECT 1 FROM sqlite_master "
                     "             WHERE type = 'table' AND name = 'schema_version') THEN 1 "
                     "WHEN EXISTS (SELECT 1 FROM sqlite_master "
                     "             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\') THEN 2 "
                     "ELSE 0 END",
                     kind);
  if (rc != SQLITE_OK) return sqlite_error(kOpen, rc);
  if (kind == 2) return store_error(kOpen, "the file is an SQLite database of another application");
  if (kind == 0) return {};
  std::int64_t version = 0;
  rc = query_int(db, "SELECT coalesce(max(version), 0) FROM schema_version", version);
  if (rc != SQLITE_OK) return sqlite_error(kOpen, rc);
  if (version > kSchemaVersion) {
    return store_error(kOpen, "the database schema version is newer than this veribind supports");
  }
  return {};
}

// Brings the schema up to kSchemaVersion inside one IMMEDIATE transaction. An up-to-date
// database is left alone without taking the write lock (opening must not wait for a busy writer).
// Otherwise the version is read again under the lock: another process may have migrated since.
Status migrate(sqlite3* db) {
  // On a new file the table does not exist yet and the query fails: that falls through to the
  // locked path, which creates it.
  std::int64_t current = 0;
  if (query_int(db, "SELECT coalesce(max(version), 0) FROM schema_version", current) == SQLITE_OK &&
      current == kSchemaVersion) {
    return {};
  }
  int rc = exec(db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return sqlite_error("open: begin migration", rc);
  auto rollback = [db] {
    if (sqlite3_get_autocommit(db) == 0) exec(db, "ROLLBACK");
  };
  rc = exec(
      db,
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY) STRICT");
  std::int64_t version = 0;
  if (rc == SQLITE_OK)
    rc = query_int(db, "SELECT coalesce(max(version), 0) FROM schema_version", version);
  if (rc != SQLITE_OK) {
    rollback();
    return sqlite_error("open: read schema version", rc);
  }
  if (version > kSchemaVersion) {
    rollback();
    return store_error(kOpen, "the database schema version is newer than this veribind supports");
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    rc = exec(db, m.sql);
    if (rc == SQLITE_OK) {
      const std::string record =
          "INSERT INTO schema_version (version) VALUES (" + std::to_string(m.version) + ")";
      rc = exec(db, record.c_str());
    }
    if (rc != SQLITE_OK) {
      rollback();
      return sqlite_error("open: schema migration", rc);
    }
  }
  rc = exec(db, "COMMIT");
  if (rc != SQLITE_OK) {
    rollback();
    return sqlite_error("open: commit migration", rc);
  }
  return {};
}

// The database holds blind indexes, code tags and bindings: readable by the owner only. SQLite
// creates a new file with 0644 (less the umask) and gives its -wal and -shm files the permissions
// of the main file, so creating the main file ourselves with 0600 covers all three.
Status create_private_file(const std::string& path) {
  if (path.empty() || path == ":memory:") return {};  // no file
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::string message = "sqlite store: open failed: cannot open or create the database file: ";
    message.append(std::strerror(errno));
    return {ErrorCode::kUnavailable, std::move(message)};
  }
  ::close(fd);
  return {};
}

}  // namespace

struct SqliteStore::Impl {
  std::mutex mutex;
  sqlite3* db = nullptr;
  std::array<sqlite3_stmt*, kStmtCount> stmts{};

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);  // no-op on nullptr
    sqlite3_close_v2(db);
  }

  [[nodiscard]] sqlite3_stmt* stmt(Stmt which) const { return stmts[which]; }

  // Runs a statement that returns no rows to completion.
  int run(Stmt which) const {
    Use s(stmt(which));
    const int rc = sqlite3_step(s.get());
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }

  // Rolls back the open transaction, if SQLite has not already done so after an error.
  void rollback_if_open() const {
    if (sqlite3_get_autocommit(db) == 0) (void)run(kRollback);
  }

  // Runs `body` (which returns Result<T>) inside BEGIN IMMEDIATE ... COMMIT. The transaction is
  // committed only if `body` succeeds and `keep(value)` is true; otherwise it is rolled back, so a
  // failed or refused operation changes nothing.
  template <typename Body, typename Keep>
  auto in_write_transaction(std::string_view operation, Body body, Keep keep) -> decltype(body()) {
    int rc = run(kBegin);
    if (rc != SQLITE_OK) return sqlite_error(operation, rc);
    auto result = body();
    if (!result.is_ok() || !keep(result.value())) {
      rollback_if_open();
      return result;
    }
    rc = run(kCommit);
    if (rc != SQLITE_OK) {
      rollback_if_open();
      return sqlite_error(operation, rc);
    }
    return result;
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  if (Status created = create_private_file(path); !created) return created;

  auto impl = std::make_unique<Impl>();
  // NOMUTEX: the Impl mutex serialises every use of the connection.
  int rc = sqlite3_open_v2(
      path.c_str(), &impl->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  if (rc != SQLITE_OK) return sqlite_error(kOpen, rc);
  sqlite3* db = impl->db;
  sqlite3_extended_result_codes(db, 1);
  // Set before anything touches the file, so that opening while another process holds the write
  // lock (or runs its own migration) waits rather than fails.
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // The file is data, not code: no triggers or views from the file run with our privileges, and
  // the schema cannot be corrupted through writable_schema tricks.
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);

  // Before anything writes (switching to WAL rewrites the header): a file that is not ours is
  // left exactly as it was.
  if (Status ok = check_existing_database(db); !ok) return ok;

  // WAL: readers never block the writer and the writer never blocks readers, and each commit
  // appends to the log instead of rewriting pages. "memory" is what an in-memory database reports.
  // Switching needs an exclusive lock, and when several processes open a new file at once the
  // switch can fail busy at once (SQLite does not wait when waiting could deadlock), so it is
  // retried here within one overall deadline; the busy handler is off meanwhile so that each try
  // is quick and the deadline is the only wait. A file already in WAL mode is not switched again.
  std::string mode;
  rc = query_text(db, "PRAGMA journal_mode", mode);
  if (rc == SQLITE_OK && mode != "wal" && mode != "memory") {
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
  if (mode != "wal" && mode != "memory") return store_error(kOpen, "WAL journal mode unavailable");
  // FULL: every commit is synced to the WAL before it is acknowledged. With NORMAL, a power loss
  // could roll back the last commits; for this store that means attempts already charged (an
  // attacker's guesses given back), bindings already confirmed, or rate-limit counts lost. The
  // cost is one fsync of the WAL per write: on the project machine a wrong-code check (one
  // UPDATE) takes ~150 us, ~6,800/s per file (bench/README.md). That is ample for the
  // deployments this backend is for; several nodes share state through PostgreSQL (planned).
  rc = exec(db, "PRAGMA synchronous = FULL");
  if (rc != SQLITE_OK) return sqlite_error("open: set synchronous", rc);
  // Deleted rows (consumed challenges, unlinked bindings) are overwritten with zeros instead of
  // lingering in free pages. Old versions can still sit in the WAL until its next checkpoint.
  rc = exec(db, "PRAGMA secure_delete = ON");
  if (rc != SQLITE_OK) return sqlite_error("open: set secure_delete", rc);

  if (Status ok = migrate(db); !ok) return ok;

  for (std::size_t i = 0; i < kStmtCount; ++i) {
    const std::string sql = statement_sql(static_cast<Stmt>(i));
    rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()),
                            SQLITE_PREPARE_PERSISTENT, &impl->stmts[i], nullptr);
    if (rc != SQLITE_OK) return sqlite_error("open: prepare statements", rc);
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

// --- challenges ---------------------------------------------------------------------------------

Status SqliteStore::create_challenge(const ChallengeRecord& record) {
  constexpr std::string_view op = "create_challenge";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kInsertChallenge));
  int rc = SQLITE_OK;
  if (!bind_challenge_row(s.get(), record, rc)) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return {};
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return store_error(op, "the challenge id exists already");
  return sqlite_error(op, rc);
}

Result<ChargeResult> SqliteStore::charge_attempt(const ChallengeId& id, Timestamp now) {
  constexpr std::string_view op = "charge_attempt";
  std::lock_guard lock(impl_->mutex);
  // The UPDATE is the atomic step. When it matches nothing, a second read says why; if another
  // process changed the row in between (a reissue, say) so that it is chargeable again, try the
  // UPDATE again rather than report an outcome that was never true.
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    {
      Use s(impl_->stmt(kChargeAttempt));
      int rc = bind_blob(s.get(), 1, id.bytes);
      if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, to_ms(now));
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(s.get());
      if (rc == SQLITE_ROW) {
        ChargeResult charged;
        charged.outcome = ChargeOutcome::kCharged;
        const bool well_formed = read_challenge_row(s.get(), charged.record);
        // The autocommit transaction commits when the statement runs to completion; only then is
        // the attempt durably charged. A failed commit rolls the increment back.
        rc = sqlite3_step(s.get());
        if (rc != SQLITE_DONE) return sqlite_error(op, rc);
        if (!well_formed) return store_error(op, "a stored challenge is malformed");
        return charged;
      }
      if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    }
    Use s(impl_->stmt(kChallengeState));
    int rc = bind_blob(s.get(), 1, id.bytes);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) return ChargeResult{ChargeOutcome::kNotFound, {}};
    if (rc != SQLITE_ROW) return sqlite_error(op, rc);
    if (sqlite3_column_int64(s.get(), 0) <= to_ms(now)) {
      return ChargeResult{ChargeOutcome::kExpired, {}};
    }
    if (sqlite3_column_int64(s.get(), 1) >= sqlite3_column_int64(s.get(), 2)) {
      return ChargeResult{ChargeOutcome::kExhausted, {}};
    }
  }
  return Status(ErrorCode::kUnavailable,
                "sqlite store: charge_attempt failed: the challenge kept changing under "
                "concurrent writers");
}

Result<bool> SqliteStore::consume_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "consume_challenge";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kConsumeChallenge));
  int rc = bind_blob(s.get(), 1, id.bytes);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  // Two callers racing (in any process) both run the DELETE; the write lock orders them and only
  // the first one finds the row.
  return sqlite3_changes64(impl_->db) == 1;
}

Result<std::optional<ChallengeRecord>> SqliteStore::find_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "find_challenge";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kFindChallenge));
  int rc = bind_blob(s.get(), 1, id.bytes);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<ChallengeRecord>();
  if (rc != SQLITE_ROW) return sqlite_error(op, rc);
  ChallengeRecord record;
  if (!read_challenge_row(s.get(), record))
    return store_error(op, "a stored challenge is malformed");
  return std::optional<ChallengeRecord>(record);
}

Result<bool> SqliteStore::reissue_challenge(const ChallengeId& id,
                                            const std::array<std::uint8_t, 16>& code_tag,
                                            Timestamp expires_at, Timestamp now) {
  constexpr std::string_view op = "reissue_challenge";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kReissueChallenge));
  int rc = bind_blob(s.get(), 1, id.bytes);
  if (rc == SQLITE_OK) rc = bind_blob(s.get(), 2, code_tag);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, to_ms(expires_at));
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, to_ms(now));
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return sqlite3_changes64(impl_->db) == 1;
}

// --- rate-limit counters ------------------------------------------------------------------------

Result<CounterState> SqliteStore::add_to_counter(const CounterKey& key, std::uint32_t delta,
                                                 Timestamp window_end, Timestamp now) {
  constexpr std::string_view op = "add_to_counter";
  std::lock_guard lock(impl_->mutex);
  // A read (delta 0) must not create a row: a plain SELECT of the live counter.
  Use s(impl_->stmt(delta == 0 ? kReadCounter : kAddToCounter));
  int rc = bind_blob(s.get(), 1, key);
  if (delta == 0) {
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, to_ms(now));
  } else {
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, to_ms(window_end));
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, delta);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, to_ms(now));
  }
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE && delta == 0) return CounterState{};
  if (rc != SQLITE_ROW) return sqlite_error(op, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc);
  const std::int64_t count = sqlite3_column_int64(s.get(), 0);
  const Timestamp ends = from_ms(sqlite3_column_int64(s.get(), 1));
  rc = sqlite3_step(s.get());  // commits a write
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  if (count < 1 || count > std::numeric_limits<std::uint32_t>::max()) {
    return store_error(op, "a stored counter is malformed");
  }
  return CounterState{static_cast<std::uint32_t>(count), ends};
}

Status SqliteStore::reset_counter(const CounterKey& key) {
  constexpr std::string_view op = "reset_counter";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kResetCounter));
  int rc = bind_blob(s.get(), 1, key);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return {};
}

// --- bindings -----------------------------------------------------------------------------------

Result<BindOutcome> SqliteStore::insert_binding(const BindingRecord& binding,
                                                std::uint32_t max_accounts) {
  return insert_binding_across(binding, {}, max_accounts);
}

Result<std::vector<std::string>> SqliteStore::find_accounts(const BlindIndex& index) {
  constexpr std::string_view op = "find_accounts";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kFindAccounts));
  int rc = bind_blob(s.get(), 1, index.value);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, index.key_version);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  std::vector<std::string> accounts;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(s.get(), 0);
    const int size = sqlite3_column_bytes(s.get(), 0);
    accounts.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text),
                          static_cast<std::size_t>(size));
  }
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return accounts;
}

Result<std::size_t> SqliteStore::delete_bindings(std::string_view account_id) {
  constexpr std::string_view op = "delete_bindings";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kDeleteBindings));
  int rc = bind_text(s.get(), 1, account_id);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return static_cast<std::size_t>(sqlite3_changes64(impl_->db));
}

// --- retention ----------------------------------------------------------------------------------

Result<PurgeCounts> SqliteStore::purge_expired(Timestamp now, std::size_t batch) {
  constexpr std::string_view op = "purge_expired";
  if (batch == 0) return PurgeCounts{};
  const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(
      batch, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  auto purge = [&](Stmt which) -> Result<std::size_t> {
    Use s(impl.stmt(which));
    int rc = bind_int(s.get(), 1, to_ms(now));
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, limit);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    return static_cast<std::size_t>(sqlite3_changes64(impl.db));
  };
  // Both kinds in one transaction, so a failure part-way leaves both as they were.
  auto body = [&]() -> Result<PurgeCounts> {
    Result<std::size_t> challenges = purge(kPurgeChallenges);
    if (!challenges) return challenges.status();
    Result<std::size_t> counters = purge(kPurgeCounters);
    if (!counters) return counters.status();
    return PurgeCounts{*challenges, *counters};
  };
  return impl.in_write_transaction(op, body, [](const PurgeCounts&) { return true; });
}

// --- audit log -----------------------------------------------------------------------------------

namespace {

bool read_u32(sqlite3_stmt* s, int column, std::uint32_t& out) {
  const std::int64_t v = sqlite3_column_int64(s, column);
  if (v < 0 || v > std::numeric_limits<std::uint32_t>::max()) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool read_text(sqlite3_stmt* s, int column, std::string& out) {
  const unsigned char* text = sqlite3_column_text(s, column);
  if (text == nullptr) return false;
  out.assign(reinterpret_cast<const char*>(text),
             static_cast<std::size_t>(sqlite3_column_bytes(s, column)));
  return true;
}

// Reads a row laid out as kAuditColumns; false if any stored value is out of shape.
bool read_audit_row(sqlite3_stmt* s, AuditRecord& r) {
  const std::int64_t sequence = sqlite3_column_int64(s, 0);
  if (sequence < 1) return false;
  r.sequence = static_cast<std::uint64_t>(sequence);
  r.time = from_ms(sqlite3_column_int64(s, 1));
  if (!read_text(s, 2, r.authority) || !read_text(s, 3, r.reference) ||
      !read_text(s, 4, r.legal_basis) || !read_text(s, 5, r.requested_by) ||
      !read_blob(s, 6, r.index.value) || !read_u32(s, 7, r.index.key_version)) {
    return false;
  }
  std::uint8_t channel = 0;
  if (!read_byte(s, 8, channel) || (channel != static_cast<std::uint8_t>(Channel::kPhone) &&
                                    channel != static_cast<std::uint8_t>(Channel::kEmail))) {
    return false;
  }
  r.channel = static_cast<Channel>(channel);
  return read_u32(s, 9, r.accounts_returned) && read_u32(s, 10, r.mac_key_version) &&
         read_blob(s, 11, r.prev_mac) && read_blob(s, 12, r.mac);
}

}  // namespace

// --- sealed contacts and key rotation ----------------------------------------------------------

namespace {

// An empty sealed contact is stored as NULL (none retained).
int bind_sealed(sqlite3_stmt* s, int index, std::span<const std::uint8_t> sealed) {
  return sealed.empty() ? sqlite3_bind_null(s, index) : bind_blob(s, index, sealed);
}

// Reads a row laid out as kBindingColumns; false if any stored value is out of shape.
bool read_binding_row(sqlite3_stmt* s, BindingRecord& r) {
  const unsigned char* text = sqlite3_column_text(s, 0);
  if (text == nullptr) return false;
  r.account_id.assign(reinterpret_cast<const char*>(text),
                      static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
  if (!read_blob(s, 1, r.index.value)) return false;
  const std::int64_t key_version = sqlite3_column_int64(s, 2);
  if (key_version < 0 || key_version > std::numeric_limits<std::uint32_t>::max()) return false;
  r.index.key_version = static_cast<std::uint32_t>(key_version);
  const std::int64_t channel = sqlite3_column_int64(s, 3);
  if (channel != static_cast<std::int64_t>(Channel::kPhone) &&
      channel != static_cast<std::int64_t>(Channel::kEmail)) {
    return false;
  }
  r.channel = static_cast<Channel>(channel);
  r.created_at = from_ms(sqlite3_column_int64(s, 4));
  r.sealed_contact.clear();
  if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 5));
    const int size = sqlite3_column_bytes(s, 5);
    if (data == nullptr || size <= 0) return false;
    r.sealed_contact.assign(data, data + size);
  }
  return true;
}

// Every row a bound statement returns, laid out as kBindingColumns.
Result<std::vector<BindingRecord>> read_binding_rows(sqlite3_stmt* s, std::string_view op) {
  std::vector<BindingRecord> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    BindingRecord record;
    if (!read_binding_row(s, record)) return store_error(op, "a stored binding is malformed");
    out.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return out;
}

}  // namespace

Result<AuditAppendOutcome> SqliteStore::append_audit(const AuditRecord& entry,
                                                     const AuditHead& head) {
  constexpr std::string_view op = "append_audit";
  if (entry.sequence == 0 ||
      entry.sequence > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
      head.count != entry.sequence) {
    return store_error(op, "the entry's sequence and the new head disagree");
  }
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  auto body = [&]() -> Result<AuditAppendOutcome> {
    {
      Use s(impl.stmt(kAuditHeadCount));
      const int rc = sqlite3_step(s.get());
      std::int64_t count = 0;
      if (rc == SQLITE_ROW) {
        count = sqlite3_column_int64(s.get(), 0);
      } else if (rc != SQLITE_DONE) {
        return sqlite_error(op, rc);
      }
      if (count != static_cast<std::int64_t>(entry.sequence - 1)) {
        return AuditAppendOutcome::kConflict;
      }
    }
    {
      Use s(impl.stmt(kInsertAudit));
      sqlite3_stmt* st = s.get();
      int rc = bind_int(st, 1, static_cast<std::int64_t>(entry.sequence));
      if (rc == SQLITE_OK) rc = bind_int(st, 2, to_ms(entry.time));
      if (rc == SQLITE_OK) rc = bind_text(st, 3, entry.authority);
      if (rc == SQLITE_OK) rc = bind_text(st, 4, entry.reference);
      if (rc == SQLITE_OK) rc = bind_text(st, 5, entry.legal_basis);
      if (rc == SQLITE_OK) rc = bind_text(st, 6, entry.requested_by);
      if (rc == SQLITE_OK) rc = bind_blob(st, 7, entry.index.value);
      if (rc == SQLITE_OK) rc = bind_int(st, 8, entry.index.key_version);
      if (rc == SQLITE_OK) rc = bind_int(st, 9, static_cast<std::int64_t>(entry.channel));
      if (rc == SQLITE_OK) rc = bind_int(st, 10, entry.accounts_returned);
      if (rc == SQLITE_OK) rc = bind_int(st, 11, entry.mac_key_version);
      if (rc == SQLITE_OK) rc = bind_blob(st, 12, entry.prev_mac);
      if (rc == SQLITE_OK) rc = bind_blob(st, 13, entry.mac);
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(st);
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return store_error(op,
                           "an audit entry with that sequence exists although the head "
                           "says otherwise");
      }
      if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    }
    Use s(impl.stmt(kUpsertAuditHead));
    sqlite3_stmt* st = s.get();
    int rc = bind_int(st, 1, static_cast<std::int64_t>(head.count));
    if (rc == SQLITE_OK) rc = bind_blob(st, 2, head.last_mac);
    if (rc == SQLITE_OK) rc = bind_int(st, 3, head.mac_key_version);
    if (rc == SQLITE_OK) rc = bind_blob(st, 4, head.mac);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    return AuditAppendOutcome::kAppended;
  };
  // The entry and the head that counts it commit together, or neither does.
  return impl.in_write_transaction(op, body, [](AuditAppendOutcome outcome) {
    return outcome == AuditAppendOutcome::kAppended;
  });
}

Result<std::vector<AuditRecord>> SqliteStore::scan_audit(std::uint64_t from, std::size_t limit) {
  constexpr std::string_view op = "scan_audit";
  std::vector<AuditRecord> entries;
  if (limit == 0 || from > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return entries;
  }
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kScanAudit));
  int rc = bind_int(s.get(), 1, static_cast<std::int64_t>(from));
  if (rc == SQLITE_OK) {
    rc = bind_int(s.get(), 2,
                  static_cast<std::int64_t>(std::min<std::size_t>(
                      limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));
  }
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    AuditRecord record;
    if (!read_audit_row(s.get(), record)) {
      return store_error(op, "the audit entry with sequence " +
                                 std::to_string(sqlite3_column_int64(s.get(), 0)) +
                                 " is malformed");
    }
    entries.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return entries;
}

Result<std::optional<AuditHead>> SqliteStore::audit_head() {
  constexpr std::string_view op = "audit_head";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kReadAuditHead));
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<AuditHead>();
  if (rc != SQLITE_ROW) return sqlite_error(op, rc);
  AuditHead head;
  const std::int64_t count = sqlite3_column_int64(s.get(), 0);
  if (count < 1 || !read_blob(s.get(), 1, head.last_mac) ||
      !read_u32(s.get(), 2, head.mac_key_version) || !read_blob(s.get(), 3, head.mac)) {
    return store_error(op, "the audit head is malformed");
  }
  head.count = static_cast<std::uint64_t>(count);
  return std::optional<AuditHead>(head);
}

// --- retention statistics -----------------------------------------------------------------------

namespace {

// Runs a one-row query with ?1 bound to `now` and hands the row to `read`. Not a hot path: the
// statement is prepared for this one use.
template <typename Read>
int query_row(sqlite3* db, const char* sql, Timestamp now, Read read) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_bind_parameter_count(s) >= 1) rc = bind_int(s, 1, to_ms(now));
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    read(s);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc;
}

std::optional<Timestamp> optional_time(sqlite3_stmt* s, int column) {
  if (sqlite3_column_type(s, column) == SQLITE_NULL) return std::nullopt;
  return from_ms(sqlite3_column_int64(s, column));
}

std::uint64_t column_count(sqlite3_stmt* s, int column) {
  const std::int64_t v = sqlite3_column_int64(s, column);
  return v < 0 ? 0 : static_cast<std::uint64_t>(v);
}

// Per-row byte estimates for an SQLite library built without dbstat, from the record format:
// blobs at their size, integers at 8 bytes (their largest varint-free encoding), a record header
// and cell pointer of about 16 bytes per row, and each index entry again at its key size plus the
// same overhead. Bindings add their account id twice more (two indexes hold it).
constexpr std::uint64_t kEstimateChallengeBytes = (16 + 16 + 32 + 2 + 8 * 8 + 16) + (8 + 16 + 16);
constexpr std::uint64_t kEstimateCounterBytes = (32 + 8 + 8 + 16) + (8 + 32 + 16);
constexpr std::uint64_t kEstimateBindingBytes =
    (32 + 8 * 4 + 16) + (1 + 8 + 16) + (32 + 8 + 8 + 8 + 16);  // + 3 x account id
// An audit entry: sequence, time, index, versions, count, channel (~40) and two 32-byte MACs, plus
// its four texts (added per row) and record overhead.
constexpr std::uint64_t kEstimateAuditBytes = 130;

}  // namespace

Result<std::vector<RowKindStats>> SqliteStore::retention_stats(Timestamp now) {
  constexpr std::string_view op = "retention_stats";
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->db;
  std::vector<RowKindStats> stats(4);
  stats[0].kind = "challenges";
  stats[1].kind = "counters";
  stats[2].kind = "bindings";
  stats[3].kind = "audit_log";
  std::uint64_t account_id_bytes = 0;
  std::uint64_t audit_text_bytes = 0;

  // A deferred transaction: one read snapshot for every query, and no write lock taken.
  int rc = exec(db, "BEGIN");
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  auto read_expiring = [&](RowKindStats& kind, const char* sql) {
    return query_row(db, sql, now, [&](sqlite3_stmt* s) {
      kind.rows = column_count(s, 0);
      kind.expired = column_count(s, 1);
      kind.earliest_expiry = optional_time(s, 2);
    });
  };
  rc = read_expiring(stats[0],
                     "SELECT count(*), coalesce(sum(expires_at <= ?1), 0), min(expires_at) "
                     "FROM challenges");
  if (rc == SQLITE_OK) {
    rc = read_expiring(stats[1],
                       "SELECT count(*), coalesce(sum(window_end <= ?1), 0), min(window_end) "
                       "FROM counters");
  }
  if (rc == SQLITE_OK) {
    rc = query_row(db,
                   "SELECT count(*), min(created_at), "
                   "coalesce(sum(length(CAST(account_id AS BLOB))), 0) FROM bindings",
                   now, [&](sqlite3_stmt* s) {
                     stats[2].rows = column_count(s, 0);
                     stats[2].oldest_created = optional_time(s, 1);
                     account_id_bytes = column_count(s, 2);
                   });
  }
  if (rc == SQLITE_OK) {
    rc = query_row(db,
                   "SELECT count(*), min(time), coalesce(sum(length(CAST(authority AS BLOB)) + "
                   "length(CAST(reference AS BLOB)) + length(CAST(legal_basis AS BLOB)) + "
                   "length(CAST(requested_by AS BLOB))), 0) FROM audit_log WHERE ?1 = ?1",
                   now, [&](sqlite3_stmt* s) {
                     stats[3].rows = column_count(s, 0);
                     stats[3].oldest_created = optional_time(s, 1);
                     audit_text_bytes = column_count(s, 2);
                   });
  }
  // dbstat lists every page of the file by the table or index it belongs to; an index is counted
  // with its table. SQLite builds without SQLITE_ENABLE_DBSTAT_VTAB fail to prepare this.
  bool measured = false;
  if (rc == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat AS d "
                           "LEFT JOIN sqlite_schema AS m ON m.name = d.name GROUP BY 1",
                           -1, &s, nullptr) == SQLITE_OK) {
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char* name = sqlite3_column_text(s, 0);
        const std::string_view table =
            name == nullptr
                ? std::string_view()
                : std::string_view(reinterpret_cast<const char*>(name),
                                   static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
        for (RowKindStats& kind : stats) {
          if (kind.kind == table) kind.bytes += column_count(s, 1);
        }
        if (table == "audit_head") stats[3].bytes += column_count(s, 1);  // the log's own head
      }
      sqlite3_finalize(s);
      if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
        measured = true;
      }
    }
  }
  (void)exec(db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK");
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  if (measured) {
    for (RowKindStats& kind : stats) kind.bytes_method = BytesMethod::kMeasured;
  } else {
    stats[0].bytes = stats[0].rows * kEstimateChallengeBytes;
    stats[1].bytes = stats[1].rows * kEstimateCounterBytes;
    stats[2].bytes = stats[2].rows * kEstimateBindingBytes + 3 * account_id_bytes;
    stats[3].bytes = stats[3].rows * kEstimateAuditBytes + audit_text_bytes;
  }
  return stats;
}

Result<BindOutcome> SqliteStore::insert_binding_across(const BindingRecord& binding,
                                                       std::span<const BlindIndex> same_identifier,
                                                       std::uint32_t max_accounts) {
  constexpr std::string_view op = "insert_binding";
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  // Bounded: each count stops at max_accounts, however many rows an index holds.
  auto holders = [&](const BlindIndex& index) -> Result<std::int64_t> {
    Use s(impl.stmt(kCountBindings));
    int rc = bind_blob(s.get(), 1, index.value);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, index.key_version);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, max_accounts);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) return sqlite_error(op, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc);
    return sqlite3_column_int64(s.get(), 0);
  };
  auto body = [&]() -> Result<BindOutcome> {
    {
      Use s(impl.stmt(kAccountHasBinding));
      int rc = bind_text(s.get(), 1, binding.account_id);
      if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, static_cast<std::int64_t>(binding.channel));
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(s.get());
      if (rc == SQLITE_ROW) return BindOutcome::kAccountHasBinding;
      if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    }
    Result<std::int64_t> total = holders(binding.index);
    if (!total) return total.status();
    for (const BlindIndex& alias : same_identifier) {
      if (alias == binding.index) continue;
      Result<std::int64_t> more = holders(alias);
      if (!more) return more.status();
      *total += *more;
    }
    if (*total >= static_cast<std::int64_t>(max_accounts)) return BindOutcome::kIdentifierFull;
    Use s(impl.stmt(kInsertBinding));
    int rc = bind_text(s.get(), 1, binding.account_id);
    if (rc == SQLITE_OK) rc = bind_blob(s.get(), 2, binding.index.value);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, binding.index.key_version);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, static_cast<std::int64_t>(binding.channel));
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 5, to_ms(binding.created_at));
    if (rc == SQLITE_OK) rc = bind_sealed(s.get(), 6, binding.sealed_contact);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    return BindOutcome::kBound;
  };
  // Only a new binding is committed; a refusal rolls back (it wrote nothing anyway).
  return impl.in_write_transaction(
      op, body, [](BindOutcome outcome) { return outcome == BindOutcome::kBound; });
}

Result<std::vector<BindingRecord>> SqliteStore::bindings_of_account(std::string_view account_id) {
  constexpr std::string_view op = "bindings_of_account";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kBindingsOfAccount));
  int rc = bind_text(s.get(), 1, account_id);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  return read_binding_rows(s.get(), op);
}

Result<std::vector<BindingRecord>> SqliteStore::bindings_with_key_version(
    std::uint32_t key_version, const BindingCursor& after, std::size_t limit) {
  constexpr std::string_view op = "bindings_with_key_version";
  const auto bounded = static_cast<std::int64_t>(std::min<std::size_t>(
      limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kBindingsWithKeyVersion));
  int rc = bind_int(s.get(), 1, key_version);
  if (rc == SQLITE_OK) rc = bind_text(s.get(), 2, after.account_id);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, static_cast<std::int64_t>(after.channel));
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, bounded);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  return read_binding_rows(s.get(), op);
}

Result<bool> SqliteStore::reindex_binding(std::string_view account_id, Channel channel,
                                          const BlindIndex& from, const BlindIndex& to,
                                          std::span<const std::uint8_t> sealed_contact) {
  constexpr std::string_view op = "reindex_binding";
  std::lock_guard lock(impl_->mutex);
  Use s(impl_->stmt(kReindexBinding));
  int rc = bind_text(s.get(), 1, account_id);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, static_cast<std::int64_t>(channel));
  if (rc == SQLITE_OK) rc = bind_blob(s.get(), 3, from.value);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, from.key_version);
  if (rc == SQLITE_OK) rc = bind_blob(s.get(), 5, to.value);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 6, to.key_version);
  if (rc == SQLITE_OK) rc = bind_sealed(s.get(), 7, sealed_contact);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return sqlite3_changes64(impl_->db) == 1;
}

Result<KeyVersionUsage> SqliteStore::key_version_usage(std::uint32_t key_version, Timestamp now) {
  constexpr std::string_view op = "key_version_usage";
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  auto count = [&](Stmt which) -> Result<std::size_t> {
    Use s(impl.stmt(which));
    int rc = bind_int(s.get(), 1, key_version);
    if (rc == SQLITE_OK && which == kCountChallengesOfVersion)
      rc = bind_int(s.get(), 2, to_ms(now));
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) return sqlite_error(op, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc);
    return static_cast<std::size_t>(sqlite3_column_int64(s.get(), 0));
  };
  // One read transaction, so both counts describe the same moment.
  if (int rc = exec(impl.db, "BEGIN"); rc != SQLITE_OK) return sqlite_error(op, rc);
  Result<std::size_t> bindings = count(kCountBindingsOfVersion);
  Result<std::size_t> challenges =
      bindings ? count(kCountChallengesOfVersion) : Result<std::size_t>(bindings.status());
  impl.rollback_if_open();
  if (!bindings) return bindings.status();
  if (!challenges) return challenges.status();
  return KeyVersionUsage{*bindings, *challenges};
}

}  // namespace veribind
