// PostgresStore's schema: versioned migrations, applied under a transaction-scoped advisory lock
// so that nodes starting together migrate one after the other.
#include "store/postgres/schema.hpp"

#include <charconv>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

#include "store/postgres/errors.hpp"
#include "store/postgres/wire.hpp"
#include "veribind/postgres_store.hpp"

namespace veribind::postgres {
namespace {

// Taken (pg_advisory_xact_lock) by every migration. "veribind" in ASCII. Binding locks use keys
// derived from blind indexes; a collision with this one would only make two operations wait for
// each other.
constexpr std::int64_t kMigrationLockKey = 0x7665726962696e64;

struct Migration {
  int version;
  const char* sql;
};

// Migration N takes the schema from version N-1 to N. Each runs in the migration transaction
// together with the row that records it, so it is applied completely or not at all; each is also
// idempotent (IF NOT EXISTS). Never edit a migration once released: add the next one.
//
// CHECK constraints repeat the ranges the code relies on, so even a bug here cannot store a
// challenge charged past its maximum or an out-of-range enum.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE IF NOT EXISTS challenges (
  id bytea NOT NULL PRIMARY KEY CHECK (octet_length(id) = 16),
  code_tag bytea NOT NULL CHECK (octet_length(code_tag) = 16),
  blind_index bytea NOT NULL CHECK (octet_length(blind_index) = 32),
  key_version bigint NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
  expires_at bigint NOT NULL,
  purpose smallint NOT NULL CHECK (purpose BETWEEN 1 AND 4),
  channel smallint NOT NULL CHECK (channel IN (1, 2)),
  phone_type smallint NOT NULL CHECK (phone_type BETWEEN 0 AND 11),
  region text COLLATE "C" NOT NULL CHECK (region ~ '^[A-Z][A-Z]$'),
  attempts smallint NOT NULL CHECK (attempts >= 0 AND attempts <= max_attempts),
  max_attempts smallint NOT NULL CHECK (max_attempts BETWEEN 0 AND 255),
  provider_canonical boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS challenges_by_expiry ON challenges (expires_at);

CREATE TABLE IF NOT EXISTS counters (
  key bytea NOT NULL PRIMARY KEY CHECK (octet_length(key) = 32),
  window_end bigint NOT NULL,
  count bigint NOT NULL CHECK (count BETWEEN 1 AND 4294967295)
);
CREATE INDEX IF NOT EXISTS counters_by_window_end ON counters (window_end);

CREATE TABLE IF NOT EXISTS bindings (
  account_id text COLLATE "C" NOT NULL,
  blind_index bytea NOT NULL CHECK (octet_length(blind_index) = 32),
  key_version bigint NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
  channel smallint NOT NULL CHECK (channel IN (1, 2)),
  created_at bigint NOT NULL,
  PRIMARY KEY (account_id, channel)
);
CREATE INDEX IF NOT EXISTS bindings_by_index
  ON bindings (blind_index, key_version, created_at, account_id);
)sql"},
    // v2: a challenge records the phone's calling code, for per-calling-code budgets and metrics
    // (a region cannot tell +870 from +882). Rows from v1 get 0, as an email has.
    {2, R"sql(
ALTER TABLE challenges ADD COLUMN IF NOT EXISTS
  calling_code smallint NOT NULL DEFAULT 0 CHECK (calling_code BETWEEN 0 AND 999);
)sql"},
    // v3: the audit log of lawful lookups. Append-only: triggers refuse UPDATE, DELETE and
    // TRUNCATE of entries, and any change to the head other than moving it forward. They stop
    // mistakes and casual edits, not the table's owner (who can drop them); the MAC chain is what
    // makes such edits evident (veribind/audit.hpp).
    {3, R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  sequence bigint NOT NULL PRIMARY KEY CHECK (sequence >= 1),
  time bigint NOT NULL,
  authority text NOT NULL CHECK (octet_length(authority) BETWEEN 1 AND 1024),
  reference text NOT NULL CHECK (octet_length(reference) BETWEEN 1 AND 1024),
  legal_basis text NOT NULL CHECK (octet_length(legal_basis) BETWEEN 1 AND 1024),
  requested_by text NOT NULL CHECK (octet_length(requested_by) BETWEEN 1 AND 1024),
  blind_index bytea NOT NULL CHECK (octet_length(blind_index) = 32),
  key_version bigint NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
  channel smallint NOT NULL CHECK (channel IN (1, 2)),
  accounts_returned bigint NOT NULL CHECK (accounts_returned BETWEEN 0 AND 4294967295),
  mac_key_version bigint NOT NULL CHECK (mac_key_version BETWEEN 0 AND 4294967295),
  prev_mac bytea NOT NULL CHECK (octet_length(prev_mac) = 32),
  mac bytea NOT NULL CHECK (octet_length(mac) = 32)
);
CREATE OR REPLACE FUNCTION veribind_audit_log_append_only() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE OR REPLACE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION veribind_audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION veribind_audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION veribind_audit_log_append_only();

CREATE TABLE IF NOT EXISTS audit_head (
  id smallint NOT NULL PRIMARY KEY CHECK (id = 1),
  count bigint NOT NULL CHECK (count >= 1),
  last_mac bytea NOT NULL CHECK (octet_length(last_mac) = 32),
  mac_key_version bigint NOT NULL CHECK (mac_key_version BETWEEN 0 AND 4294967295),
  mac bytea NOT NULL CHECK (octet_length(mac) = 32)
);
CREATE OR REPLACE FUNCTION veribind_audit_head_only_forward() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_head only moves forward';
END
$$;
CREATE OR REPLACE TRIGGER audit_head_only_forward BEFORE UPDATE ON audit_head
  FOR EACH ROW WHEN (NEW.count <= OLD.count OR NEW.id <> OLD.id)
  EXECUTE FUNCTION veribind_audit_head_only_forward();
CREATE OR REPLACE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION veribind_audit_head_only_forward();
CREATE OR REPLACE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION veribind_audit_head_only_forward();
)sql"},
    // v4: sealed contacts and key rotation.
    {4, R"sql(
ALTER TABLE bindings ADD COLUMN IF NOT EXISTS sealed_contact bytea
  CHECK (sealed_contact IS NULL OR octet_length(sealed_contact) BETWEEN 1 AND 4096);
-- Re-indexing walks the bindings of one key version in (account_id, channel) order.
CREATE INDEX IF NOT EXISTS bindings_by_key_version ON bindings (key_version, account_id, channel);
CREATE INDEX IF NOT EXISTS challenges_by_key_version ON challenges (key_version, expires_at);
)sql"},
    // v5: the failure count of an identifier (its blind index with its key version), counted by
    // charge_attempt in the same statement as the attempt and cleared by consume_challenge.
    // Before v5 failure counts were rate-limit counters under a keyed hash that SQL cannot map to
    // a blind index: they are left to expire, so an identifier's count restarts once, at the
    // upgrade. The verification tables' range checks become domains (see below).
    {5, R"sql(
-- The ranges the code relies on, as domains: a domain's check runs when a value is stored in the
-- column, never when an UPDATE leaves the column as it was. A table's CHECK constraints, in
-- contrast, are all prepared and evaluated anew by every UPDATE statement (tens of microseconds
-- for the challenges' eleven), and a check's UPDATE changes one column of each row it touches.
DO $$
BEGIN
  IF to_regtype('veribind_bytes16') IS NULL THEN
    CREATE DOMAIN veribind_bytes16 AS bytea CHECK (octet_length(VALUE) = 16);
  END IF;
  IF to_regtype('veribind_bytes32') IS NULL THEN
    CREATE DOMAIN veribind_bytes32 AS bytea CHECK (octet_length(VALUE) = 32);
  END IF;
  IF to_regtype('veribind_u32') IS NULL THEN
    CREATE DOMAIN veribind_u32 AS bigint CHECK (VALUE BETWEEN 0 AND 4294967295);
  END IF;
  IF to_regtype('veribind_purpose') IS NULL THEN
    CREATE DOMAIN veribind_purpose AS smallint CHECK (VALUE BETWEEN 1 AND 4);
  END IF;
  IF to_regtype('veribind_channel') IS NULL THEN
    CREATE DOMAIN veribind_channel AS smallint CHECK (VALUE IN (1, 2));
  END IF;
  IF to_regtype('veribind_phone_type') IS NULL THEN
    CREATE DOMAIN veribind_phone_type AS smallint CHECK (VALUE BETWEEN 0 AND 11);
  END IF;
  IF to_regtype('veribind_region') IS NULL THEN
    CREATE DOMAIN veribind_region AS text COLLATE "C" CHECK (VALUE ~ '^[A-Z][A-Z]$');
  END IF;
  IF to_regtype('veribind_max_attempts') IS NULL THEN
    CREATE DOMAIN veribind_max_attempts AS smallint CHECK (VALUE BETWEEN 0 AND 255);
  END IF;
  IF to_regtype('veribind_calling_code') IS NULL THEN
    CREATE DOMAIN veribind_calling_code AS smallint CHECK (VALUE BETWEEN 0 AND 999);
  END IF;
END
$$;
-- The attempts check stays a table constraint: it is the one a check's UPDATE can break.
ALTER TABLE challenges
  DROP CONSTRAINT IF EXISTS challenges_id_check,
  DROP CONSTRAINT IF EXISTS challenges_code_tag_check,
  DROP CONSTRAINT IF EXISTS challenges_blind_index_check,
  DROP CONSTRAINT IF EXISTS challenges_key_version_check,
  DROP CONSTRAINT IF EXISTS challenges_purpose_check,
  DROP CONSTRAINT IF EXISTS challenges_channel_check,
  DROP CONSTRAINT IF EXISTS challenges_phone_type_check,
  DROP CONSTRAINT IF EXISTS challenges_region_check,
  DROP CONSTRAINT IF EXISTS challenges_max_attempts_check,
  DROP CONSTRAINT IF EXISTS challenges_calling_code_check,
  ALTER COLUMN id TYPE veribind_bytes16,
  ALTER COLUMN code_tag TYPE veribind_bytes16,
  ALTER COLUMN blind_index TYPE veribind_bytes32,
  ALTER COLUMN key_version TYPE veribind_u32,
  ALTER COLUMN purpose TYPE veribind_purpose,
  ALTER COLUMN channel TYPE veribind_channel,
  ALTER COLUMN phone_type TYPE veribind_phone_type,
  ALTER COLUMN region TYPE veribind_region,
  ALTER COLUMN max_attempts TYPE veribind_max_attempts,
  ALTER COLUMN calling_code TYPE veribind_calling_code;
-- A counter may hold 0: a refused request writes its counters as an admitted one does (so that
-- the two cost the same), adding 0, and a counter it creates so starts at 0 and reads as absent.
ALTER TABLE counters DROP CONSTRAINT IF EXISTS counters_key_check,
  DROP CONSTRAINT IF EXISTS counters_count_check,
  ALTER COLUMN key TYPE veribind_bytes32,
  ALTER COLUMN count TYPE veribind_u32;

CREATE TABLE IF NOT EXISTS identifier_failures (
  blind_index veribind_bytes32 NOT NULL,
  key_version veribind_u32 NOT NULL,
  window_end bigint NOT NULL,
  count bigint NOT NULL CHECK (count BETWEEN 1 AND 4294967295),
  PRIMARY KEY (blind_index, key_version)
);
CREATE INDEX IF NOT EXISTS identifier_failures_by_window_end ON identifier_failures (window_end);
-- A check rewrites its challenge's and its identifier's rows: room on every page lets the new
-- row version stay on the page without touching the indexes (a HOT update).
ALTER TABLE identifier_failures SET (fillfactor = 70);
ALTER TABLE challenges SET (fillfactor = 70);
ALTER TABLE counters SET (fillfactor = 70);
)sql"},
    // v6: the store's metadata, one row written once: a random store id that every audit entry's
    // MAC covers from audit_bound_from on (veribind/audit_store.hpp, AuditBinding). A database
    // upgraded with entries in its log binds from the next one, and keeps the last unbound
    // entry's mac so that the older part cannot be swapped for another store's. The id is the
    // 16 bytes of gen_random_uuid() (122 random bits from the server's strong random source):
    // it needs to be unique, not secret. Triggers refuse any change afterwards.
    {6, R"sql(
CREATE TABLE IF NOT EXISTS store_meta (
  id smallint NOT NULL PRIMARY KEY CHECK (id = 1),
  store_id bytea NOT NULL CHECK (octet_length(store_id) = 16),
  audit_bound_from bigint NOT NULL CHECK (audit_bound_from >= 1),
  audit_unbound_last_mac bytea NOT NULL CHECK (octet_length(audit_unbound_last_mac) = 32)
);
INSERT INTO store_meta (id, store_id, audit_bound_from, audit_unbound_last_mac)
  SELECT 1, decode(replace(gen_random_uuid()::text, '-', ''), 'hex'),
    coalesce((SELECT count FROM audit_head WHERE id = 1), 0) + 1,
    coalesce((SELECT last_mac FROM audit_head WHERE id = 1), decode(repeat('00', 32), 'hex'))
  ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION veribind_store_meta_written_once() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'store_meta is written once';
END
$$;
CREATE OR REPLACE TRIGGER store_meta_no_update BEFORE UPDATE ON store_meta
  FOR EACH ROW EXECUTE FUNCTION veribind_store_meta_written_once();
CREATE OR REPLACE TRIGGER store_meta_no_delete BEFORE DELETE ON store_meta
  FOR EACH ROW EXECUTE FUNCTION veribind_store_meta_written_once();
CREATE OR REPLACE TRIGGER store_meta_no_truncate BEFORE TRUNCATE ON store_meta
  FOR EACH STATEMENT EXECUTE FUNCTION veribind_store_meta_written_once();
)sql"},
};

static_assert(std::size(kMigrations) == PostgresStore::kSchemaVersion,
              "one migration per schema version");

void discard(PGresult* r) { PQclear(r); }

// One-row, one-column integer from a text-format (simple query) result.
bool read_text_int(const PGresult* r, std::int64_t& out) {
  if (PQntuples(r) != 1 || PQnfields(r) != 1 || PQgetisnull(r, 0, 0)) return false;
  const char* text = PQgetvalue(r, 0, 0);
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && ptr == end;
}

constexpr std::string_view kOpen = "open";
constexpr const char* kReadVersion = "SELECT coalesce(max(version), 0) FROM schema_version";

Status newer_schema() {
  return store_error(kOpen, "the database schema version is newer than this veribind supports");
}

}  // namespace

Status migrate(PGconn* conn, const std::string& schema) {
  {
    PgResult r(PQexec(conn, kReadVersion));
    std::int64_t version = 0;
    if (tuples_ok(r.get())) {
      if (!read_text_int(r.get(), version)) return store_error(kOpen, "unreadable schema version");
      if (version == PostgresStore::kSchemaVersion) return {};
      if (version > PostgresStore::kSchemaVersion) return newer_schema();
    } else {
      const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
      // 42P01: no schema_version table yet (a new database or schema): migrate from scratch.
      if (state == nullptr || std::string_view(state) != "42P01") {
        return result_error("open: read schema version", conn, r.get());
      }
    }
  }
  auto exec_ok = [conn](const std::string& sql) {
    PgResult r(PQexec(conn, sql.c_str()));
    return std::make_pair(command_ok(r.get()) || tuples_ok(r.get()), std::move(r));
  };
  auto fail = [conn](std::string_view what, const PGresult* r) {
    Status status = result_error(what, conn, r);
    if (PQstatus(conn) == CONNECTION_OK) discard(PQexec(conn, "ROLLBACK"));
    return status;
  };
  if (auto [ok, r] = exec_ok("BEGIN"); !ok)
    return result_error("open: begin migration", conn, r.get());
  if (auto [ok, r] =
          exec_ok("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")");
      !ok) {
    return fail("open: take the migration lock", r.get());
  }
  if (!schema.empty()) {
    // The name was validated: lower-case letters, digits and underscores only.
    if (auto [ok, r] = exec_ok("CREATE SCHEMA IF NOT EXISTS \"" + schema + "\""); !ok) {
      return fail("open: create schema", r.get());
    }
  }
  if (auto [ok, r] = exec_ok(
          "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL PRIMARY KEY, "
          "applied_at timestamptz NOT NULL DEFAULT now())");
      !ok) {
    return fail("open: create schema_version", r.get());
  }
  std::int64_t version = 0;
  {
    auto [ok, r] = exec_ok(kReadVersion);
    if (!ok) return fail("open: read schema version", r.get());
    if (!read_text_int(r.get(), version)) {
      discard(PQexec(conn, "ROLLBACK"));
      return store_error(kOpen, "unreadable schema version");
    }
  }
  if (version > PostgresStore::kSchemaVersion) {
    discard(PQexec(conn, "ROLLBACK"));
    return newer_schema();
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    if (auto [ok, r] = exec_ok(m.sql); !ok) return fail("open: schema migration", r.get());
    if (auto [ok, r] = exec_ok("INSERT INTO schema_version (version) VALUES (" +
                               std::to_string(m.version) + ")");
        !ok) {
      return fail("open: record schema version", r.get());
    }
  }
  if (auto [ok, r] = exec_ok("COMMIT"); !ok) return fail("open: commit migration", r.get());
  return {};
}

}  // namespace veribind::postgres
