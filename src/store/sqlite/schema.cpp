// The SqliteStore schema, version by version.
#include "store/sqlite/schema.hpp"

#include <iterator>
#include <string>

#include "store/sqlite/connection.hpp"

namespace veribind::sqlite {
namespace {

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
    // Sealed contacts and key rotation. ADD COLUMN has no IF NOT EXISTS; the migration
    // runs once, in the transaction that records it.
    {4, R"sql(
ALTER TABLE bindings ADD COLUMN sealed_contact BLOB
  CHECK (sealed_contact IS NULL OR length(sealed_contact) BETWEEN 1 AND 4096);
-- Re-indexing walks the bindings of one key version in (account_id, channel) order.
CREATE INDEX IF NOT EXISTS bindings_by_key_version ON bindings (key_version, account_id, channel);
CREATE INDEX IF NOT EXISTS challenges_by_key_version ON challenges (key_version, expires_at);
)sql"},
    // v5: the failure count of each identifier (blind index and key version), counted by the
    // same statement that charges an attempt. That statement (kChargeAttempt) sets charged_at and
    // failure_window_end on the challenge it charges, and the trigger reads them from the new
    // row: a trigger has no statement parameters, and passing them through the row keeps the
    // charge and the count one statement, hence one atomic step under the write lock, whichever
    // process runs it. Only a charge (attempts up by exactly one) counts; a consume deletes the
    // count in its own transaction (not a DELETE trigger: purging a challenge must not clear it).
    {5, R"sql(
ALTER TABLE challenges ADD COLUMN charged_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE challenges ADD COLUMN failure_window_end INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS identifier_failures (
  blind_index BLOB NOT NULL CHECK (length(blind_index) = 32),
  key_version INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
  count INTEGER NOT NULL CHECK (count BETWEEN 1 AND 4294967295),
  window_end INTEGER NOT NULL,
  PRIMARY KEY (blind_index, key_version)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifier_failures_by_window_end ON identifier_failures (window_end);
-- A counter may now hold 0: a refused request writes its counters as an admitted one does (so
-- that the two cost the same), adding 0, and a counter it creates so starts at 0 and reads as
-- absent. SQLite cannot relax a CHECK in place: the table is rebuilt, its rows kept.
DROP TABLE IF EXISTS counters_v5;
CREATE TABLE counters_v5 (
  key BLOB NOT NULL PRIMARY KEY CHECK (length(key) = 32),
  window_end INTEGER NOT NULL,
  count INTEGER NOT NULL CHECK (count BETWEEN 0 AND 4294967295)
) STRICT, WITHOUT ROWID;
INSERT INTO counters_v5 (key, window_end, count) SELECT key, window_end, count FROM counters;
DROP TABLE counters;
ALTER TABLE counters_v5 RENAME TO counters;
CREATE INDEX IF NOT EXISTS counters_by_window_end ON counters (window_end);
-- A live count (window_end > now) is incremented, saturating at UINT32_MAX; an ended or absent one
-- starts again at 1 with the new window end. Two plain statements rather than one upsert whose
-- SET also rewrites window_end: a charge within the window then leaves the window_end index
-- alone, which makes the hot path about a fifth cheaper.
CREATE TRIGGER IF NOT EXISTS challenges_count_failure BEFORE UPDATE OF attempts ON challenges
WHEN NEW.attempts = OLD.attempts + 1
BEGIN
  UPDATE identifier_failures SET count = min(count + 1, 4294967295)
    WHERE blind_index = NEW.blind_index AND key_version = NEW.key_version
      AND window_end > NEW.charged_at;
  INSERT OR REPLACE INTO identifier_failures (blind_index, key_version, count, window_end)
    SELECT NEW.blind_index, NEW.key_version, 1, NEW.failure_window_end
    WHERE NOT EXISTS (SELECT 1 FROM identifier_failures
                      WHERE blind_index = NEW.blind_index AND key_version = NEW.key_version
                        AND window_end > NEW.charged_at);
END;
)sql"},
    // v6: a counter's touches column; the store's metadata, one row written once: a random store id
    // that every audit entry's MAC covers from audit_bound_from on (veribind/audit_store.hpp,
    // AuditBinding). A database upgraded with entries in its log binds from the next one, and keeps
    // the last unbound entry's mac so that the older part cannot be swapped for another store's.
    // randomblob() is SQLite's CSPRNG, seeded from the operating system. Triggers refuse any change
    // afterwards.
    {6, R"sql(
CREATE TABLE IF NOT EXISTS store_meta (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  store_id BLOB NOT NULL CHECK (length(store_id) = 16),
  audit_bound_from INTEGER NOT NULL CHECK (audit_bound_from >= 1),
  audit_unbound_last_mac BLOB NOT NULL CHECK (length(audit_unbound_last_mac) = 32)
) STRICT;
INSERT OR IGNORE INTO store_meta (id, store_id, audit_bound_from, audit_unbound_last_mac)
  SELECT 1, randomblob(16), coalesce((SELECT count FROM audit_head WHERE id = 1), 0) + 1,
    coalesce((SELECT last_mac FROM audit_head WHERE id = 1), zeroblob(32));
CREATE TRIGGER IF NOT EXISTS store_meta_no_update BEFORE UPDATE ON store_meta
BEGIN SELECT RAISE(ABORT, 'store_meta is written once'); END;
CREATE TRIGGER IF NOT EXISTS store_meta_no_delete BEFORE DELETE ON store_meta
BEGIN SELECT RAISE(ABORT, 'store_meta is written once'); END;
-- Changed by every counter step (see the counter upsert), so that a step that adds 0 writes its
-- page as one that adds 1 does.
ALTER TABLE counters ADD COLUMN touches INTEGER NOT NULL DEFAULT 0
  CHECK (touches BETWEEN 0 AND 65535);
)sql"},
};

static_assert(static_cast<std::int64_t>(std::size(kMigrations)) == kSchemaVersion,
              "one migration per schema version");

constexpr const char* kOpen = "open";

}  // namespace

Status check_existing_database(sqlite3* db) {
  // Reading sqlite_master fails with SQLITE_NOTADB when the file is not a database.
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

}  // namespace veribind::sqlite
