// PostgresStore: the Store contract on a PostgreSQL database shared by several nodes.
//
// Concurrency model. A small pool of connections, each used by one thread at a time (a mutex and
// a condition variable hand them out). Across nodes the database does the work: every operation
// is one statement, which PostgreSQL runs atomically (an UPDATE or DELETE that waits on a row a
// concurrent transaction changed re-checks its WHERE clause against the new row version), or one
// transaction that the database serialises with a transaction-scoped advisory lock. Nothing is
// decided by a read in C++ followed by a write.
//
// Wire format. Parameters and results are binary (bytea as raw bytes, integers big-endian), so
// no value is ever spelled into SQL text and nothing needs escaping. The one exception is the
// list of blind indexes insert_binding_across counts: an array parameter in text format (hex
// bytea and decimal integers only), still a parameter, never part of the SQL. Every statement is
// prepared once per connection (PQprepare) right after it connects.
//
// Failure model. Errors the server reports are classified by SQLSTATE: connection, resource,
// shutdown, timeout and serialisation failures are kUnavailable (a retry, or an operator, may fix
// them); the rest is kStoreError. A connection that broke, or that the server closed while it sat
// idle in the pool (a restart), is replaced on its next use. Messages name the operation and the
// SQLSTATE, never the server's message text, which can quote values.
#include "veribind/postgres_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace veribind {
namespace {

constexpr std::string_view kPrefix = "postgres store: ";

// Taken (pg_advisory_xact_lock) by every migration, so that nodes starting together migrate one
// after the other. "veribind" in ASCII. Binding locks use keys derived from blind indexes; a
// collision with this one would only make two operations wait for each other.
constexpr std::int64_t kMigrationLockKey = 0x7665726962696e64;
// Taken by every append_audit, so that appends from all nodes follow one another. "vbaudlog".
constexpr std::int64_t kAuditLockKey = 0x76626175646c6f67;

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
    // v4: sealed contacts and key rotation (issue 5).
    {4, R"sql(
ALTER TABLE bindings ADD COLUMN IF NOT EXISTS sealed_contact bytea
  CHECK (sealed_contact IS NULL OR octet_length(sealed_contact) BETWEEN 1 AND 4096);
-- Re-indexing walks the bindings of one key version in (account_id, channel) order.
CREATE INDEX IF NOT EXISTS bindings_by_key_version ON bindings (key_version, account_id, channel);
CREATE INDEX IF NOT EXISTS challenges_by_key_version ON challenges (key_version, expires_at);
)sql"},
};

static_assert(std::size(kMigrations) == PostgresStore::kSchemaVersion,
              "one migration per schema version");

// Parameter type OIDs (pg_type.h), declared at prepare time so the server never guesses.
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;
constexpr Oid kBool = 16;

// Array parameters are sent in text format ({...}), the only non-binary parameters.
constexpr Oid kByteaArray = 1001;
constexpr Oid kInt8Array = 1016;

#define VB_CHALLENGE_COLUMNS                                                                   \
  "id, code_tag, blind_index, key_version, expires_at, purpose, channel, phone_type, region, " \
  "attempts, max_attempts, provider_canonical, calling_code"

#define VB_AUDIT_COLUMNS                                                                        \
  "sequence, time, authority, reference, legal_basis, requested_by, blind_index, key_version, " \
  "channel, accounts_returned, mac_key_version, prev_mac, mac"

#define VB_BINDING_COLUMNS \
  "account_id, blind_index, key_version, channel, created_at, sealed_contact"

enum Stmt : std::size_t {
  kInsertChallenge,
  kChargeAttempt,
  kConsumeChallenge,
  kFindChallenge,
  kReissueChallenge,
  kAddToCounter,
  kReadCounter,
  kResetCounter,
  kLockIdentifier,
  kInsertBinding,
  kFindAccounts,
  kDeleteBindings,
  kPurgeExpired,
  kAppendAudit,
  kScanAudit,
  kReadAuditHead,
  kRetentionStats,
  kBindingsOfAccount,
  kBindingsWithKeyVersion,
  kReindexBinding,
  kKeyVersionUsage,
  kStmtCount,
};

struct StatementDef {
  const char* name;
  const char* sql;
  std::vector<Oid> types;
};

// Outcome numbers of kChargeAttempt's first column.
constexpr std::int64_t kChargedRow = 0;
constexpr std::int64_t kExpiredRow = 2;
constexpr std::int64_t kExhaustedRow = 3;
constexpr std::int64_t kRacedRow = 4;

const StatementDef& statement(Stmt which) {
  static const std::array<StatementDef, kStmtCount> defs = {{
      {"vb_insert_challenge",
       "INSERT INTO challenges (" VB_CHALLENGE_COLUMNS
       ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
       {kBytea, kBytea, kBytea, kInt8, kInt8, kInt8, kInt8, kInt8, kText, kInt8, kInt8, kBool,
        kInt8}},
      // The hot path in one round trip. The UPDATE is the atomic step: it increments only while
      // the challenge is live and below its maximum, and a racing UPDATE re-checks that condition
      // on the row as the other transaction left it. Only when it matched nothing does the second
      // branch say why, from the statement's snapshot. If that snapshot shows a chargeable row,
      // a concurrent transaction changed it (charged it to the limit, or consumed it) after the
      // snapshot: "raced", and the caller asks again with a new snapshot.
      {"vb_charge_attempt",
       "WITH charged AS ("
       "  UPDATE challenges SET attempts = attempts + 1"
       "  WHERE id = $1 AND expires_at > $2 AND attempts < max_attempts"
       "  RETURNING " VB_CHALLENGE_COLUMNS ") "
       "SELECT 0::smallint AS outcome, " VB_CHALLENGE_COLUMNS " FROM charged "
       "UNION ALL "
       "SELECT CASE WHEN c.expires_at <= $2 THEN 2 WHEN c.attempts >= c.max_attempts THEN 3 "
       "ELSE 4 END::smallint, c.id, c.code_tag, c.blind_index, c.key_version, c.expires_at, "
       "c.purpose, c.channel, c.phone_type, c.region, c.attempts, c.max_attempts, "
       "c.provider_canonical, c.calling_code "
       "FROM challenges c WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM charged)",
       {kBytea, kInt8}},
      {"vb_consume_challenge", "DELETE FROM challenges WHERE id = $1", {kBytea}},
      {"vb_find_challenge",
       "SELECT " VB_CHALLENGE_COLUMNS " FROM challenges WHERE id = $1",
       {kBytea}},
      {"vb_reissue_challenge",
       "UPDATE challenges SET code_tag = $2, expires_at = $3 WHERE id = $1 AND expires_at > $4",
       {kBytea, kBytea, kInt8, kInt8}},
      // delta > 0. ON CONFLICT DO UPDATE is atomic under concurrency: one of the racing inserts
      // wins and the others update the row it made. SET sees the row as it was, so both CASEs
      // test the old window; the count saturates at UINT32_MAX.
      {"vb_add_to_counter",
       "INSERT INTO counters AS c (key, window_end, count) VALUES ($1, $2, $3) "
       "ON CONFLICT (key) DO UPDATE SET "
       "count = CASE WHEN c.window_end > $4 THEN LEAST(c.count + $3, 4294967295) ELSE $3 END, "
       "window_end = CASE WHEN c.window_end > $4 THEN c.window_end ELSE EXCLUDED.window_end END "
       "RETURNING count, window_end",
       {kBytea, kInt8, kInt8, kInt8}},
      // delta 0: a read must not create a row.
      {"vb_read_counter",
       "SELECT count, window_end FROM counters WHERE key = $1 AND window_end > $2",
       {kBytea, kInt8}},
      {"vb_reset_counter", "DELETE FROM counters WHERE key = $1", {kBytea}},
      {"vb_lock_identifier", "SELECT pg_advisory_xact_lock($1)", {kInt8}},
      // Runs after vb_lock_identifier has locked every index in $8/$9 in the same transaction, so
      // its snapshot (taken when it starts, after the locks were granted) sees every binding of
      // this identifier that an earlier holder of a lock committed. $8/$9 are the blind indexes
      // and key versions of the identifier, the binding's own first; the count, over all of them
      // in one snapshot, stops at max_accounts ($6). Outcomes: 0 bound, 1 identifier full, 2
      // account has a binding on the channel. ON CONFLICT covers an account binding the same
      // channel concurrently through another identifier (another lock): the primary key decides.
      {"vb_insert_binding",
       "WITH has AS (SELECT 1 FROM bindings WHERE account_id = $1 AND channel = $4), "
       "held AS (SELECT count(*) AS n FROM (SELECT 1 FROM bindings b "
       "         JOIN unnest($8::bytea[], $9::bigint[]) AS i(blind_index, key_version) "
       "           ON b.blind_index = i.blind_index AND b.key_version = i.key_version "
       "         LIMIT $6) s), "
       "ins AS (INSERT INTO bindings (" VB_BINDING_COLUMNS ")        SELECT $1, $2, $3, $4, $5, $7 "
       "        WHERE NOT EXISTS (SELECT 1 FROM has) AND (SELECT n FROM held) < $6 "
       "        ON CONFLICT (account_id, channel) DO NOTHING RETURNING 1) "
       "SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 0 "
       "WHEN EXISTS (SELECT 1 FROM has) THEN 2 "
       "WHEN (SELECT n FROM held) >= $6 THEN 1 ELSE 2 END::smallint",
       {kText, kBytea, kInt8, kInt8, kInt8, kInt8, kBytea, kByteaArray, kInt8Array}},
      {"vb_find_accounts",
       "SELECT account_id FROM bindings WHERE blind_index = $1 AND key_version = $2 "
       "ORDER BY created_at, account_id",
       {kBytea, kInt8}},
      {"vb_delete_bindings", "DELETE FROM bindings WHERE account_id = $1", {kText}},
      // Both kinds in one statement, so one transaction. The outer conditions repeat the expiry
      // test so that a row a concurrent reissue made live again is re-checked and kept.
      {"vb_purge_expired",
       "WITH c AS (DELETE FROM challenges WHERE expires_at <= $1 AND id IN "
       "  (SELECT id FROM challenges WHERE expires_at <= $1 LIMIT $2) RETURNING 1), "
       "k AS (DELETE FROM counters WHERE window_end <= $1 AND key IN "
       "  (SELECT key FROM counters WHERE window_end <= $1 LIMIT $2) RETURNING 1) "
       "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM k)",
       {kInt8, kInt8}},
      // Runs after the audit lock is taken in the same transaction, so the head it reads is the
      // latest committed one. The entry is inserted, and the head replaced, only if the head's
      // count ($1 - 1) is what the caller built on. Returns whether it appended.
      {"vb_append_audit",
       "WITH cur AS (SELECT coalesce((SELECT count FROM audit_head WHERE id = 1), 0) AS n), "
       "ins AS (INSERT INTO audit_log (" VB_AUDIT_COLUMNS
       ")        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 "
       "        WHERE (SELECT n FROM cur) = $1 - 1 RETURNING 1), "
       "head AS (INSERT INTO audit_head (id, count, last_mac, mac_key_version, mac) "
       "         SELECT 1, $14, $15, $16, $17 WHERE EXISTS (SELECT 1 FROM ins) "
       "         ON CONFLICT (id) DO UPDATE SET count = EXCLUDED.count, "
       "         last_mac = EXCLUDED.last_mac, mac_key_version = EXCLUDED.mac_key_version, "
       "         mac = EXCLUDED.mac RETURNING 1) "
       "SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM head)",
       {kInt8, kInt8, kText, kText, kText, kText, kBytea, kInt8, kInt8, kInt8, kInt8, kBytea,
        kBytea, kInt8, kBytea, kInt8, kBytea}},
      {"vb_scan_audit",
       "SELECT " VB_AUDIT_COLUMNS " FROM audit_log WHERE sequence >= $1 ORDER BY sequence LIMIT $2",
       {kInt8, kInt8}},
      {"vb_read_audit_head",
       "SELECT count, last_mac, mac_key_version, mac FROM audit_head WHERE id = 1",
       {}},
      // One statement, so one snapshot for every figure. One row per kind, in the fixed order:
      // kind number, rows, expired, oldest created, earliest expiry, bytes (table, indexes and
      // TOAST, in pages).
      {"vb_retention_stats",
       "SELECT 0::smallint, count(*), count(*) FILTER (WHERE expires_at <= $1), NULL::bigint, "
       "min(expires_at), pg_total_relation_size('challenges'::regclass) FROM challenges "
       "UNION ALL "
       "SELECT 1::smallint, count(*), count(*) FILTER (WHERE window_end <= $1), NULL::bigint, "
       "min(window_end), pg_total_relation_size('counters'::regclass) FROM counters "
       "UNION ALL "
       "SELECT 2::smallint, count(*), 0::bigint, min(created_at), NULL::bigint, "
       "pg_total_relation_size('bindings'::regclass) FROM bindings "
       "UNION ALL "
       "SELECT 3::smallint, count(*), 0::bigint, min(time), NULL::bigint, "
       "pg_total_relation_size('audit_log'::regclass) + "
       "pg_total_relation_size('audit_head'::regclass) FROM audit_log "
       "ORDER BY 1",
       {kInt8}},
      {"vb_bindings_of_account",
       "SELECT " VB_BINDING_COLUMNS " FROM bindings WHERE account_id = $1 ORDER BY channel",
       {kText}},
      {"vb_bindings_with_key_version",
       "SELECT " VB_BINDING_COLUMNS
       " FROM bindings WHERE key_version = $1 AND (account_id, channel) > ($2, $3) "
       "ORDER BY account_id, channel LIMIT $4",
       {kInt8, kText, kInt8, kInt8}},
      {"vb_reindex_binding",
       "UPDATE bindings SET blind_index = $5, key_version = $6, sealed_contact = $7 "
       "WHERE account_id = $1 AND channel = $2 AND blind_index = $3 AND key_version = $4",
       {kText, kInt8, kBytea, kInt8, kBytea, kInt8, kBytea}},
      // Both counts in one statement: one snapshot.
      {"vb_key_version_usage",
       "SELECT (SELECT count(*) FROM bindings WHERE key_version = $1), "
       "(SELECT count(*) FROM challenges WHERE key_version = $1 AND expires_at > $2)",
       {kInt8, kInt8}},
  }};
  return defs[which];
}

// --- errors -------------------------------------------------------------------------------------

std::string first_line(const char* text) {
  if (text == nullptr) return {};
  std::string line(text);
  line = line.substr(0, line.find('\n'));
  return line;
}

Status store_error(std::string_view operation, std::string_view why) {
  std::string message(kPrefix);
  message.append(operation);
  message.append(": ");
  message.append(why);
  return {ErrorCode::kStoreError, std::move(message)};
}

// The connection is gone (or never came up): libpq's own message says why (refused, timed out,
// closed by the server). It names hosts and ports, never values or passwords.
Status connection_error(std::string_view operation, PGconn* conn) {
  std::string message(kPrefix);
  message.append(operation);
  message.append(" failed: the database server is unreachable: ");
  std::string why = conn != nullptr ? first_line(PQerrorMessage(conn)) : "out of memory";
  if (why.empty()) why = "connection lost";
  message.append(why);
  return {ErrorCode::kUnavailable, std::move(message)};
}

// What a failed result means. No SQLSTATE, or a connection that is no longer OK: the server was
// not reached (or went away). Otherwise the SQLSTATE class decides.
Status result_error(std::string_view operation, PGconn* conn, const PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return connection_error(operation, conn);
  }
  const std::string_view sqlstate(state);
  const std::string_view category = sqlstate.substr(0, 2);
  std::string why;
  ErrorCode code = ErrorCode::kStoreError;
  if (sqlstate == "57014") {
    why = "the statement timed out (statement_timeout)";
    code = ErrorCode::kUnavailable;
  } else if (category == "57") {
    why = "the server is shutting down or refused the session";
    code = ErrorCode::kUnavailable;
  } else if (category == "08") {
    why = "connection failure";
    code = ErrorCode::kUnavailable;
  } else if (category == "53") {
    why = "the server is out of resources";
    code = ErrorCode::kUnavailable;
  } else if (category == "40" || sqlstate == "55P03") {
    why = "a serialisation failure, deadlock or lock timeout";
    code = ErrorCode::kUnavailable;
  } else if (category == "58") {
    why = "a system error on the server";
    code = ErrorCode::kUnavailable;
  } else if (category == "23") {
    why = "a constraint was violated";
  } else if (category == "42") {
    why = "the schema does not match this version of veribind";
  } else {
    why = "the server refused the operation";
  }
  std::string message(kPrefix);
  message.append(operation);
  message.append(" failed: ");
  message.append(why);
  message.append(" (SQLSTATE ");
  message.append(sqlstate);
  message.append(")");
  return {code, std::move(message)};
}

// --- values on the wire -------------------------------------------------------------------------

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Up to 17 parameters, binary except for arrays. Integers are sent as int8 in network byte
// order; the pointers into caller-owned bytes and strings must outlive the call that uses them.
class Params {
 public:
  void bytes(std::span<const std::uint8_t> value) {
    add(reinterpret_cast<const char*>(value.data()), value.size());
  }
  void text(std::string_view value) { add(value.empty() ? "" : value.data(), value.size()); }
  void int8(std::int64_t value) {
    auto& slot = ints_[count_];
    auto bits = static_cast<std::uint64_t>(value);
    for (int i = 7; i >= 0; --i) {
      slot[static_cast<std::size_t>(i)] = static_cast<char>(bits & 0xff);
      bits >>= 8;
    }
    add(slot.data(), slot.size());
  }
  void boolean(bool value) {
    ints_[count_][0] = value ? 1 : 0;
    add(ints_[count_].data(), 1);
  }
  // SQL NULL.
  void null() { add(nullptr, 0); }
  // bytea, or NULL when empty (a sealed contact that is not retained).
  void bytes_or_null(std::span<const std::uint8_t> value) {
    if (value.empty()) {
      null();
    } else {
      bytes(value);
    }
  }
  // A value in text format (array literals); `value` must be NUL-terminated.
  void text_format(const std::string& value) {
    add(value.c_str(), value.size());
    formats_[count_ - 1] = 0;
  }

  [[nodiscard]] int count() const { return static_cast<int>(count_); }
  [[nodiscard]] const char* const* values() const { return values_.data(); }
  [[nodiscard]] const int* lengths() const { return lengths_.data(); }
  [[nodiscard]] const int* formats() const { return formats_.data(); }

 private:
  static constexpr std::size_t kMax = 17;
  void add(const char* data, std::size_t size) {
    values_[count_] = data;
    lengths_[count_] = static_cast<int>(size);
    formats_[count_] = 1;
    ++count_;
  }
  std::array<const char*, kMax> values_{};
  std::array<int, kMax> lengths_{};
  std::array<int, kMax> formats_{};
  std::array<std::array<char, 8>, kMax> ints_{};
  std::size_t count_ = 0;
};

std::int64_t to_ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp from_ms(std::int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

// A binary integer column (int2, int4 or int8); false if NULL or of another size.
bool read_int(const PGresult* r, int row, int column, std::int64_t& out) {
  if (PQgetisnull(r, row, column)) return false;
  const int size = PQgetlength(r, row, column);
  if (size != 2 && size != 4 && size != 8) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, column));
  std::uint64_t bits = 0;
  for (int i = 0; i < size; ++i) bits = (bits << 8) | bytes[i];
  // Sign-extend from the column's width.
  const int shift = 64 - 8 * size;
  out = static_cast<std::int64_t>(bits << shift) >> shift;
  return true;
}

template <std::size_t N>
bool read_bytes(const PGresult* r, int row, int column, std::array<std::uint8_t, N>& out) {
  if (PQgetisnull(r, row, column) || PQgetlength(r, row, column) != static_cast<int>(N)) {
    return false;
  }
  std::memcpy(out.data(), PQgetvalue(r, row, column), N);
  return true;
}

bool read_byte(const PGresult* r, int row, int column, std::uint8_t& out) {
  std::int64_t v = 0;
  if (!read_int(r, row, column, v) || v < 0 || v > 255) return false;
  out = static_cast<std::uint8_t>(v);
  return true;
}

// A row laid out as VB_CHALLENGE_COLUMNS from column `first` on; false if any value is out of
// shape (the table's CHECK constraints hold the same ranges: this guards against rows edited
// behind the constraints' back becoming out-of-range enums).
bool read_challenge_row(const PGresult* r, int row, int first, ChallengeRecord& out) {
  if (!read_bytes(r, row, first, out.id.bytes) || !read_bytes(r, row, first + 1, out.code_tag) ||
      !read_bytes(r, row, first + 2, out.index.value)) {
    return false;
  }
  std::int64_t key_version = 0, expires_at = 0;
  if (!read_int(r, row, first + 3, key_version) || key_version < 0 ||
      key_version > std::numeric_limits<std::uint32_t>::max() ||
      !read_int(r, row, first + 4, expires_at)) {
    return false;
  }
  out.index.key_version = static_cast<std::uint32_t>(key_version);
  out.expires_at = from_ms(expires_at);
  std::uint8_t purpose = 0, channel = 0, phone_type = 0;
  if (!read_byte(r, row, first + 5, purpose) || !read_byte(r, row, first + 6, channel) ||
      !read_byte(r, row, first + 7, phone_type)) {
    return false;
  }
  out.purpose = static_cast<Purpose>(purpose);
  out.channel = static_cast<Channel>(channel);
  out.phone_type = static_cast<PhoneType>(phone_type);
  if (!is_valid_purpose(out.purpose) ||
      (out.channel != Channel::kPhone && out.channel != Channel::kEmail) ||
      phone_type > static_cast<std::uint8_t>(PhoneType::kUnknown)) {
    return false;
  }
  if (PQgetisnull(r, row, first + 8) || PQgetlength(r, row, first + 8) != 2) return false;
  const char* region = PQgetvalue(r, row, first + 8);
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!upper(region[0]) || !upper(region[1])) return false;
  out.region = {region[0], region[1]};
  if (!read_byte(r, row, first + 9, out.attempts) ||
      !read_byte(r, row, first + 10, out.max_attempts)) {
    return false;
  }
  if (PQgetisnull(r, row, first + 11) || PQgetlength(r, row, first + 11) != 1) return false;
  const char flag = *PQgetvalue(r, row, first + 11);
  if (flag != 0 && flag != 1) return false;
  out.provider_canonical = flag == 1;
  std::int64_t calling_code = 0;
  if (!read_int(r, row, first + 12, calling_code) || calling_code < 0 || calling_code > 999) {
    return false;
  }
  out.calling_code = static_cast<std::uint16_t>(calling_code);
  return true;
}

bool read_u32(const PGresult* r, int row, int column, std::uint32_t& out) {
  std::int64_t v = 0;
  if (!read_int(r, row, column, v) || v < 0 || v > std::numeric_limits<std::uint32_t>::max()) {
    return false;
  }
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool read_channel(const PGresult* r, int row, int column, Channel& out) {
  std::int64_t v = 0;
  if (!read_int(r, row, column, v) || (v != static_cast<std::int64_t>(Channel::kPhone) &&
                                       v != static_cast<std::int64_t>(Channel::kEmail))) {
    return false;
  }
  out = static_cast<Channel>(v);
  return true;
}

bool read_string(const PGresult* r, int row, int column, std::string& out) {
  if (PQgetisnull(r, row, column)) return false;
  out.assign(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column)));
  return true;
}

// A row laid out as VB_BINDING_COLUMNS; a NULL sealed contact is an empty one.
bool read_binding_row(const PGresult* r, int row, BindingRecord& out) {
  std::int64_t created_at = 0;
  if (!read_string(r, row, 0, out.account_id) || !read_bytes(r, row, 1, out.index.value) ||
      !read_u32(r, row, 2, out.index.key_version) || !read_channel(r, row, 3, out.channel) ||
      !read_int(r, row, 4, created_at)) {
    return false;
  }
  out.created_at = from_ms(created_at);
  out.sealed_contact.clear();
  if (!PQgetisnull(r, row, 5)) {
    const int size = PQgetlength(r, row, 5);
    if (size <= 0) return false;
    const auto* data = reinterpret_cast<const std::uint8_t*>(PQgetvalue(r, row, 5));
    out.sealed_contact.assign(data, data + size);
  }
  return true;
}

// A row laid out as VB_AUDIT_COLUMNS.
bool read_audit_row(const PGresult* r, int row, AuditRecord& out) {
  std::int64_t sequence = 0, time = 0;
  if (!read_int(r, row, 0, sequence) || sequence < 1 || !read_int(r, row, 1, time)) return false;
  out.sequence = static_cast<std::uint64_t>(sequence);
  out.time = from_ms(time);
  return read_string(r, row, 2, out.authority) && read_string(r, row, 3, out.reference) &&
         read_string(r, row, 4, out.legal_basis) && read_string(r, row, 5, out.requested_by) &&
         read_bytes(r, row, 6, out.index.value) && read_u32(r, row, 7, out.index.key_version) &&
         read_channel(r, row, 8, out.channel) && read_u32(r, row, 9, out.accounts_returned) &&
         read_u32(r, row, 10, out.mac_key_version) && read_bytes(r, row, 11, out.prev_mac) &&
         read_bytes(r, row, 12, out.mac);
}

// A text-format array literal: {"\\x0a1b...","\\x..."} for bytea[], {1,2} for bigint[].
std::string bytea_array(std::span<const BlindIndex> indexes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "{";
  for (const BlindIndex& index : indexes) {
    if (out.size() > 1) out += ',';
    out += "\"\\\\x";
    for (std::uint8_t byte : index.value) {
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string key_version_array(std::span<const BlindIndex> indexes) {
  std::string out = "{";
  for (const BlindIndex& index : indexes) {
    if (out.size() > 1) out += ',';
    out += std::to_string(index.key_version);
  }
  out += '}';
  return out;
}

// Rows changed by an INSERT/UPDATE/DELETE.
std::size_t affected_rows(const PGresult* r) {
  const char* text = PQcmdTuples(const_cast<PGresult*>(r));
  std::size_t n = 0;
  if (text != nullptr) std::from_chars(text, text + std::strlen(text), n);
  return n;
}

PgResult run_prepared(PGconn* conn, Stmt which, const Params& params) {
  return PgResult(PQexecPrepared(conn, statement(which).name, params.count(), params.values(),
                                 params.lengths(), params.formats(), 1));
}

// Runs a statement whose result does not matter (a best-effort ROLLBACK after a failure).
void discard(PGresult* r) { PQclear(r); }

bool command_ok(const PGresult* r) { return r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK; }
bool tuples_ok(const PGresult* r) { return r != nullptr && PQresultStatus(r) == PGRES_TUPLES_OK; }

// A per-identifier advisory lock key: the first 8 bytes of the blind index mixed with its key
// version. Two identifiers that share a key only wait for each other.
std::int64_t identifier_lock_key(const BlindIndex& index) {
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < 8; ++i) bits = (bits << 8) | index.value[i];
  bits ^= static_cast<std::uint64_t>(index.key_version) * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::int64_t>(bits);
}

bool valid_schema_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  if (name.substr(0, 3) == "pg_") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// --- schema -------------------------------------------------------------------------------------

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

// Brings the schema up to kSchemaVersion. An up-to-date database is only read (no lock, no
// write). Otherwise everything happens in one transaction holding the migration lock, and the
// version is read again under the lock: another node may have migrated meanwhile.
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

// True if an idle connection has something to read. Idle, it should receive nothing; a server
// that shut down or restarted sends a FATAL message and closes the socket, so the connection is
// replaced before a statement is lost on it.
bool idle_connection_disturbed(PGconn* conn) {
  pollfd fd{};
  fd.fd = PQsocket(conn);
  if (fd.fd < 0) return true;
  fd.events = POLLIN;
  return ::poll(&fd, 1, 0) != 0;
}

}  // namespace

// --- the pool -----------------------------------------------------------------------------------

struct PostgresStore::Impl {
  PostgresOptions options;
  // Connection parameters for PQconnectdbParams: our defaults first, the caller's conninfo last
  // (expanded), so that its settings win.
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  std::string session_setup;  // SET ... run on every new connection

  struct Connection {
    PGconn* conn = nullptr;
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { drop(); }
    void drop() {
      if (conn != nullptr) PQfinish(conn);
      conn = nullptr;
    }
  };

  std::mutex mutex;
  std::condition_variable freed;
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<Connection*> idle;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Opens a new connection: connect, session settings, prepared statements. With `migrate_first`,
  // migrates before preparing (the statements need the tables).
  Status connect(Connection& c, std::string_view operation, bool migrate_first = false) {
    c.drop();
    std::vector<const char*> kw, val;
    for (std::size_t i = 0; i < keywords.size(); ++i) {
      kw.push_back(keywords[i].c_str());
      val.push_back(values[i].c_str());
    }
    kw.push_back(nullptr);
    val.push_back(nullptr);
    c.conn = PQconnectdbParams(kw.data(), val.data(), 1);
    if (c.conn == nullptr || PQstatus(c.conn) != CONNECTION_OK) {
      Status status = connection_error(operation, c.conn);
      c.drop();
      return status;
    }
    // Notices ("relation already exists, skipping") are not for stderr.
    PQsetNoticeProcessor(
        c.conn, [](void*, const char*) {}, nullptr);
    {
      PgResult r(PQexec(c.conn, session_setup.c_str()));
      if (!command_ok(r.get())) {
        Status status = result_error(std::string(operation) + ": session setup", c.conn, r.get());
        c.drop();
        return status;
      }
    }
    if (migrate_first) {
      if (Status migrated = migrate(c.conn, options.schema); !migrated) {
        c.drop();
        return migrated;
      }
    }
    for (std::size_t i = 0; i < kStmtCount; ++i) {
      const StatementDef& def = statement(static_cast<Stmt>(i));
      PgResult r(PQprepare(c.conn, def.name, def.sql, static_cast<int>(def.types.size()),
                           def.types.data()));
      if (!command_ok(r.get())) {
        Status status =
            result_error(std::string(operation) + ": prepare statements", c.conn, r.get());
        c.drop();
        return status;
      }
    }
    return {};
  }

  // Runs `body(PGconn*)` (which returns Result<T> or Status) on a connection of the pool, which
  // is (re)connected first if it is not usable.
  template <typename Body>
  auto with_connection(std::string_view operation, Body body) -> decltype(body(nullptr)) {
    Connection* c = nullptr;
    {
      std::unique_lock lock(mutex);
      if (!freed.wait_for(lock, options.acquire_timeout, [this] { return !idle.empty(); })) {
        std::string message(kPrefix);
        message.append(operation);
        message.append(" failed: no database connection became free within acquire_timeout");
        return Status(ErrorCode::kUnavailable, std::move(message));
      }
      c = idle.back();
      idle.pop_back();
    }
    struct Return {
      Impl* impl;
      Connection* c;
      ~Return() {
        {
          std::lock_guard lock(impl->mutex);
          impl->idle.push_back(c);
        }
        impl->freed.notify_one();
      }
    } give_back{this, c};

    const bool usable = c->conn != nullptr && PQstatus(c->conn) == CONNECTION_OK &&
                        PQtransactionStatus(c->conn) == PQTRANS_IDLE &&
                        !idle_connection_disturbed(c->conn);
    if (!usable) {
      if (Status connected = connect(*c, operation); !connected) return connected;
    }
    return body(c->conn);
  }
};

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& conninfo,
                                                           const PostgresOptions& options) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  if (options.pool_size < 1 || options.pool_size > 64) {
    return Status(ErrorCode::kInvalidArgument, "postgres store: pool_size must be 1..64");
  }
  if (options.connect_timeout.count() < 1 || options.connect_timeout > hours(1)) {
    return Status(ErrorCode::kInvalidArgument, "postgres store: connect_timeout must be 1 s..1 h");
  }
  if (options.statement_timeout < milliseconds(1) || options.statement_timeout > hours(1)) {
    return Status(ErrorCode::kInvalidArgument,
                  "postgres store: statement_timeout must be 1 ms..1 h");
  }
  if (options.acquire_timeout < milliseconds(1) || options.acquire_timeout > hours(1)) {
    return Status(ErrorCode::kInvalidArgument, "postgres store: acquire_timeout must be 1 ms..1 h");
  }
  if (!options.schema.empty() && !valid_schema_name(options.schema)) {
    return Status(ErrorCode::kInvalidArgument,
                  "postgres store: schema must be 1..63 characters of [a-z0-9_], not starting "
                  "with a digit or pg_");
  }
  {
    // Parsed here only to refuse a malformed string with a clear code; libpq's own message is
    // not passed on, because it can quote the string, password included.
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
    const bool ok = parsed != nullptr;
    PQconninfoFree(parsed);
    PQfreemem(error);
    if (!ok) {
      return Status(ErrorCode::kInvalidArgument,
                    "postgres store: the connection string could not be parsed (expected "
                    "postgresql://user@host:port/database or key=value pairs)");
    }
  }

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const auto add = [&](std::string key, std::string value) {
    impl->keywords.push_back(std::move(key));
    impl->values.push_back(std::move(value));
  };
  add("connect_timeout", std::to_string(options.connect_timeout.count()));
  // A peer that vanishes without closing (a crashed host, a cut network) is noticed within about
  // a minute on an idle connection, and within statement_timeout + 10 s on a busy one.
  add("keepalives", "1");
  add("keepalives_idle", "30");
  add("keepalives_interval", "10");
  add("keepalives_count", "3");
  add("tcp_user_timeout", std::to_string(options.statement_timeout.count() + 10000));
  add("application_name", "veribind");
  add("dbname", conninfo);

  const std::string timeout = std::to_string(options.statement_timeout.count());
  impl->session_setup = "SET statement_timeout = " + timeout +
                        "; SET idle_in_transaction_session_timeout = " + timeout +
                        "; SET client_min_messages = warning"
                        // The advisory-lock-then-statement steps (bindings, audit appends) need
                        // each statement to see what committed before it: READ COMMITTED, whatever
                        // the server's or role's default.
                        "; SET default_transaction_isolation = 'read committed'";
  if (!options.schema.empty()) {
    impl->session_setup += "; SET search_path = \"" + options.schema + "\"";
  }

  impl->connections.reserve(options.pool_size);
  for (std::size_t i = 0; i < options.pool_size; ++i) {
    impl->connections.push_back(std::make_unique<Impl::Connection>());
  }
  // The first connection now: an unreachable server or an incompatible schema is reported by
  // open(), not by the first operation. The others connect when first needed.
  if (Status ok = impl->connect(*impl->connections[0], kOpen, true); !ok) return ok;
  for (auto it = impl->connections.rbegin(); it != impl->connections.rend(); ++it) {
    impl->idle.push_back(it->get());
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

// --- challenges ---------------------------------------------------------------------------------

Status PostgresStore::create_challenge(const ChallengeRecord& record) {
  constexpr std::string_view op = "create_challenge";
  return impl_->with_connection(op, [&](PGconn* conn) -> Status {
    Params p;
    p.bytes(record.id.bytes);
    p.bytes(record.code_tag);
    p.bytes(record.index.value);
    p.int8(record.index.key_version);
    p.int8(to_ms(record.expires_at));
    p.int8(static_cast<std::int64_t>(record.purpose));
    p.int8(static_cast<std::int64_t>(record.channel));
    p.int8(static_cast<std::int64_t>(record.phone_type));
    p.text(std::string_view(record.region.data(), record.region.size()));
    p.int8(record.attempts);
    p.int8(record.max_attempts);
    p.boolean(record.provider_canonical);
    p.int8(record.calling_code);
    PgResult r = run_prepared(conn, kInsertChallenge, p);
    if (command_ok(r.get())) return {};
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    if (state != nullptr && std::string_view(state) == "23505") {
      return store_error(op, "the challenge id exists already");
    }
    return result_error(op, conn, r.get());
  });
}

Result<ChargeResult> PostgresStore::charge_attempt(const ChallengeId& id, Timestamp now) {
  constexpr std::string_view op = "charge_attempt";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<ChargeResult> {
    Params p;
    p.bytes(id.bytes);
    p.int8(to_ms(now));
    // One round trip, unless the row changed between the statement's snapshot and its UPDATE
    // (see vb_charge_attempt): then ask again, with a new snapshot.
    constexpr int kRounds = 3;
    for (int round = 0; round < kRounds; ++round) {
      PgResult r = run_prepared(conn, kChargeAttempt, p);
      if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
      if (PQntuples(r.get()) == 0) return ChargeResult{ChargeOutcome::kNotFound, {}};
      std::int64_t outcome = -1;
      if (PQntuples(r.get()) != 1 || !read_int(r.get(), 0, 0, outcome)) {
        return store_error(op, "unexpected result shape");
      }
      switch (outcome) {
        case kChargedRow: {
          ChargeResult charged;
          charged.outcome = ChargeOutcome::kCharged;
          if (!read_challenge_row(r.get(), 0, 1, charged.record)) {
            return store_error(op, "a stored challenge is malformed");
          }
          return charged;
        }
        case kExpiredRow: return ChargeResult{ChargeOutcome::kExpired, {}};
        case kExhaustedRow: return ChargeResult{ChargeOutcome::kExhausted, {}};
        case kRacedRow: continue;
        default: return store_error(op, "unexpected result shape");
      }
    }
    return Status(ErrorCode::kUnavailable,
                  "postgres store: charge_attempt failed: the challenge kept changing under "
                  "concurrent writers");
  });
}

Result<bool> PostgresStore::consume_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "consume_challenge";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<bool> {
    Params p;
    p.bytes(id.bytes);
    PgResult r = run_prepared(conn, kConsumeChallenge, p);
    if (!command_ok(r.get())) return result_error(op, conn, r.get());
    // Racing DELETEs of one row: the second waits for the first to commit, then finds nothing.
    return affected_rows(r.get()) == 1;
  });
}

Result<std::optional<ChallengeRecord>> PostgresStore::find_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "find_challenge";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::optional<ChallengeRecord>> {
    Params p;
    p.bytes(id.bytes);
    PgResult r = run_prepared(conn, kFindChallenge, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    if (PQntuples(r.get()) == 0) return std::optional<ChallengeRecord>();
    ChallengeRecord record;
    if (!read_challenge_row(r.get(), 0, 0, record)) {
      return store_error(op, "a stored challenge is malformed");
    }
    return std::optional<ChallengeRecord>(record);
  });
}

Result<bool> PostgresStore::reissue_challenge(const ChallengeId& id,
                                              const std::array<std::uint8_t, 16>& code_tag,
                                              Timestamp expires_at, Timestamp now) {
  constexpr std::string_view op = "reissue_challenge";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<bool> {
    Params p;
    p.bytes(id.bytes);
    p.bytes(code_tag);
    p.int8(to_ms(expires_at));
    p.int8(to_ms(now));
    PgResult r = run_prepared(conn, kReissueChallenge, p);
    if (!command_ok(r.get())) return result_error(op, conn, r.get());
    return affected_rows(r.get()) == 1;
  });
}

// --- rate-limit counters ------------------------------------------------------------------------

Result<CounterState> PostgresStore::add_to_counter(const CounterKey& key, std::uint32_t delta,
                                                   Timestamp window_end, Timestamp now) {
  constexpr std::string_view op = "add_to_counter";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<CounterState> {
    Params p;
    p.bytes(key);
    if (delta == 0) {
      p.int8(to_ms(now));
    } else {
      p.int8(to_ms(window_end));
      p.int8(delta);
      p.int8(to_ms(now));
    }
    PgResult r = run_prepared(conn, delta == 0 ? kReadCounter : kAddToCounter, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    if (delta == 0 && PQntuples(r.get()) == 0) return CounterState{};
    std::int64_t count = 0, ends = 0;
    if (PQntuples(r.get()) != 1 || !read_int(r.get(), 0, 0, count) ||
        !read_int(r.get(), 0, 1, ends) || count < 1 ||
        count > std::numeric_limits<std::uint32_t>::max()) {
      return store_error(op, "a stored counter is malformed");
    }
    return CounterState{static_cast<std::uint32_t>(count), from_ms(ends)};
  });
}

Status PostgresStore::reset_counter(const CounterKey& key) {
  constexpr std::string_view op = "reset_counter";
  return impl_->with_connection(op, [&](PGconn* conn) -> Status {
    Params p;
    p.bytes(key);
    PgResult r = run_prepared(conn, kResetCounter, p);
    if (!command_ok(r.get())) return result_error(op, conn, r.get());
    return {};
  });
}

// --- bindings -----------------------------------------------------------------------------------

Result<BindOutcome> PostgresStore::insert_binding(const BindingRecord& binding,
                                                  std::uint32_t max_accounts) {
  return insert_binding_across(binding, {}, max_accounts);
}

Result<std::vector<std::string>> PostgresStore::find_accounts(const BlindIndex& index) {
  constexpr std::string_view op = "find_accounts";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::vector<std::string>> {
    Params p;
    p.bytes(index.value);
    p.int8(index.key_version);
    PgResult r = run_prepared(conn, kFindAccounts, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::vector<std::string> accounts;
    const int rows = PQntuples(r.get());
    accounts.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      accounts.emplace_back(PQgetvalue(r.get(), row, 0),
                            static_cast<std::size_t>(PQgetlength(r.get(), row, 0)));
    }
    return accounts;
  });
}

Result<std::size_t> PostgresStore::delete_bindings(std::string_view account_id) {
  constexpr std::string_view op = "delete_bindings";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::size_t> {
    Params p;
    p.text(account_id);
    PgResult r = run_prepared(conn, kDeleteBindings, p);
    if (!command_ok(r.get())) return result_error(op, conn, r.get());
    return affected_rows(r.get());
  });
}

// --- retention ----------------------------------------------------------------------------------

Result<PurgeCounts> PostgresStore::purge_expired(Timestamp now, std::size_t batch) {
  constexpr std::string_view op = "purge_expired";
  if (batch == 0) return PurgeCounts{};
  const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(
      batch, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<PurgeCounts> {
    Params p;
    p.int8(to_ms(now));
    p.int8(limit);
    PgResult r = run_prepared(conn, kPurgeExpired, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::int64_t challenges = 0, counters = 0;
    if (PQntuples(r.get()) != 1 || !read_int(r.get(), 0, 0, challenges) ||
        !read_int(r.get(), 0, 1, counters) || challenges < 0 || counters < 0) {
      return store_error(op, "unexpected result shape");
    }
    return PurgeCounts{static_cast<std::size_t>(challenges), static_cast<std::size_t>(counters)};
  });
}

// --- audit log ----------------------------------------------------------------------------------

Result<AuditAppendOutcome> PostgresStore::append_audit(const AuditRecord& entry,
                                                       const AuditHead& head) {
  constexpr std::string_view op = "append_audit";
  if (entry.sequence == 0 ||
      entry.sequence > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
      head.count != entry.sequence) {
    return store_error(op, "the entry's sequence and the new head disagree");
  }
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<AuditAppendOutcome> {
    auto fail = [&](const PGresult* r) {
      Status status = result_error(op, conn, r);
      if (PQstatus(conn) == CONNECTION_OK) discard(PQexec(conn, "ROLLBACK"));
      return status;
    };
    // Appends from every node take the audit lock, so the head that vb_append_audit reads (in a
    // snapshot taken after the lock was granted) is the latest committed one and cannot move
    // until this transaction ends: appends get consecutive sequences, and a stale head is a
    // conflict rather than a duplicate key.
    {
      const std::string begin =
          "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kAuditLockKey) + ")";
      PgResult r(PQexec(conn, begin.c_str()));
      if (!tuples_ok(r.get())) return fail(r.get());
    }
    Params p;
    p.int8(static_cast<std::int64_t>(entry.sequence));
    p.int8(to_ms(entry.time));
    p.text(entry.authority);
    p.text(entry.reference);
    p.text(entry.legal_basis);
    p.text(entry.requested_by);
    p.bytes(entry.index.value);
    p.int8(entry.index.key_version);
    p.int8(static_cast<std::int64_t>(entry.channel));
    p.int8(entry.accounts_returned);
    p.int8(entry.mac_key_version);
    p.bytes(entry.prev_mac);
    p.bytes(entry.mac);
    p.int8(static_cast<std::int64_t>(head.count));
    p.bytes(head.last_mac);
    p.int8(head.mac_key_version);
    p.bytes(head.mac);
    PgResult r = run_prepared(conn, kAppendAudit, p);
    if (!tuples_ok(r.get())) {
      const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
      if (state != nullptr && std::string_view(state) == "23505") {
        discard(PQexec(conn, "ROLLBACK"));
        return store_error(op,
                           "an audit entry with that sequence exists although the head says "
                           "otherwise");
      }
      return fail(r.get());
    }
    std::int64_t written = -1;
    if (PQntuples(r.get()) != 1 || !read_int(r.get(), 0, 0, written) ||
        (written != 0 && written != 2)) {
      discard(PQexec(conn, "ROLLBACK"));
      return store_error(op, "unexpected result shape");
    }
    // The entry and the head that counts it commit together; a conflict wrote nothing.
    PgResult done(PQexec(conn, written == 2 ? "COMMIT" : "ROLLBACK"));
    if (!command_ok(done.get())) return fail(done.get());
    return written == 2 ? AuditAppendOutcome::kAppended : AuditAppendOutcome::kConflict;
  });
}

Result<std::vector<AuditRecord>> PostgresStore::scan_audit(std::uint64_t from, std::size_t limit) {
  constexpr std::string_view op = "scan_audit";
  if (limit == 0 || from > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::vector<AuditRecord>();
  }
  const auto bounded = static_cast<std::int64_t>(std::min<std::size_t>(
      limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::vector<AuditRecord>> {
    Params p;
    p.int8(static_cast<std::int64_t>(from));
    p.int8(bounded);
    PgResult r = run_prepared(conn, kScanAudit, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::vector<AuditRecord> entries;
    const int rows = PQntuples(r.get());
    entries.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      AuditRecord record;
      if (!read_audit_row(r.get(), row, record)) {
        return store_error(op, "a stored audit entry is malformed");
      }
      entries.push_back(std::move(record));
    }
    return entries;
  });
}

Result<std::optional<AuditHead>> PostgresStore::audit_head() {
  constexpr std::string_view op = "audit_head";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::optional<AuditHead>> {
    PgResult r = run_prepared(conn, kReadAuditHead, Params());
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    if (PQntuples(r.get()) == 0) return std::optional<AuditHead>();
    AuditHead head;
    std::int64_t count = 0;
    if (PQntuples(r.get()) != 1 || !read_int(r.get(), 0, 0, count) || count < 1 ||
        !read_bytes(r.get(), 0, 1, head.last_mac) ||
        !read_u32(r.get(), 0, 2, head.mac_key_version) || !read_bytes(r.get(), 0, 3, head.mac)) {
      return store_error(op, "the audit head is malformed");
    }
    head.count = static_cast<std::uint64_t>(count);
    return std::optional<AuditHead>(head);
  });
}

// --- retention statistics -----------------------------------------------------------------------

Result<std::vector<RowKindStats>> PostgresStore::retention_stats(Timestamp now) {
  constexpr std::string_view op = "retention_stats";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::vector<RowKindStats>> {
    Params p;
    p.int8(to_ms(now));
    // One statement: every figure comes from the same snapshot.
    PgResult r = run_prepared(conn, kRetentionStats, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    static constexpr std::array<std::string_view, 4> kKinds = {"challenges", "counters", "bindings",
                                                               "audit_log"};
    if (PQntuples(r.get()) != static_cast<int>(kKinds.size())) {
      return store_error(op, "unexpected result shape");
    }
    auto optional_time = [&](int row, int column) -> std::optional<Timestamp> {
      std::int64_t ms = 0;
      if (!read_int(r.get(), row, column, ms)) return std::nullopt;
      return from_ms(ms);
    };
    std::vector<RowKindStats> stats(kKinds.size());
    for (int row = 0; row < static_cast<int>(kKinds.size()); ++row) {
      std::int64_t kind = -1, rows = -1, expired = -1, bytes = -1;
      if (!read_int(r.get(), row, 0, kind) || kind != row || !read_int(r.get(), row, 1, rows) ||
          rows < 0 || !read_int(r.get(), row, 2, expired) || expired < 0 ||
          !read_int(r.get(), row, 5, bytes) || bytes < 0) {
        return store_error(op, "unexpected result shape");
      }
      RowKindStats& s = stats[static_cast<std::size_t>(row)];
      s.kind = kKinds[static_cast<std::size_t>(row)];
      s.rows = static_cast<std::uint64_t>(rows);
      s.expired = static_cast<std::uint64_t>(expired);
      s.oldest_created = optional_time(row, 3);
      s.earliest_expiry = optional_time(row, 4);
      s.bytes = static_cast<std::uint64_t>(bytes);
      s.bytes_method = BytesMethod::kMeasured;
    }
    return stats;
  });
}

// --- sealed contacts and key rotation ----------------------------------------------------------

Result<BindOutcome> PostgresStore::insert_binding_across(
    const BindingRecord& binding, std::span<const BlindIndex> same_identifier,
    std::uint32_t max_accounts) {
  constexpr std::string_view op = "insert_binding";
  // Every index of the identifier, the binding's own first, each once.
  std::vector<BlindIndex> indexes{binding.index};
  for (const BlindIndex& alias : same_identifier) {
    if (std::find(indexes.begin(), indexes.end(), alias) == indexes.end()) {
      indexes.push_back(alias);
    }
  }
  // Their locks in ascending key order, so that two nodes locking overlapping sets never wait
  // for each other in a cycle.
  std::vector<std::int64_t> locks;
  locks.reserve(indexes.size());
  for (const BlindIndex& index : indexes) locks.push_back(identifier_lock_key(index));
  std::sort(locks.begin(), locks.end());
  locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
  const std::string index_array = bytea_array(indexes);
  const std::string version_array = key_version_array(indexes);

  return impl_->with_connection(op, [&](PGconn* conn) -> Result<BindOutcome> {
    auto fail = [&](const PGresult* r) {
      Status status = result_error(op, conn, r);
      if (PQstatus(conn) == CONNECTION_OK) discard(PQexec(conn, "ROLLBACK"));
      return status;
    };
    {
      PgResult r(PQexec(conn, "BEGIN"));
      if (!command_ok(r.get())) return fail(r.get());
    }
    for (std::int64_t key : locks) {
      Params p;
      p.int8(key);
      PgResult r = run_prepared(conn, kLockIdentifier, p);
      if (!tuples_ok(r.get())) return fail(r.get());
    }
    BindOutcome outcome = BindOutcome::kBound;
    {
      Params p;
      p.text(binding.account_id);
      p.bytes(binding.index.value);
      p.int8(binding.index.key_version);
      p.int8(static_cast<std::int64_t>(binding.channel));
      p.int8(to_ms(binding.created_at));
      p.int8(max_accounts);
      p.bytes_or_null(binding.sealed_contact);
      p.text_format(index_array);
      p.text_format(version_array);
      PgResult r = run_prepared(conn, kInsertBinding, p);
      if (!tuples_ok(r.get())) return fail(r.get());
      std::int64_t n = -1;
      if (PQntuples(r.get()) != 1 || !read_int(r.get(), 0, 0, n) || n < 0 || n > 2) {
        discard(PQexec(conn, "ROLLBACK"));
        return store_error(op, "unexpected result shape");
      }
      outcome = n == 0   ? BindOutcome::kBound
                : n == 1 ? BindOutcome::kIdentifierFull
                         : BindOutcome::kAccountHasBinding;
    }
    // A refusal wrote nothing; rolling it back just ends the transaction.
    PgResult r(PQexec(conn, outcome == BindOutcome::kBound ? "COMMIT" : "ROLLBACK"));
    if (!command_ok(r.get())) return fail(r.get());
    return outcome;
  });
}

namespace {

Result<std::vector<BindingRecord>> read_bindings(std::string_view op, PGconn* conn,
                                                 const PGresult* r) {
  if (!tuples_ok(r)) return result_error(op, conn, r);
  std::vector<BindingRecord> out;
  const int rows = PQntuples(r);
  out.reserve(static_cast<std::size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    BindingRecord record;
    if (!read_binding_row(r, row, record)) return store_error(op, "a stored binding is malformed");
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace

Result<std::vector<BindingRecord>> PostgresStore::bindings_of_account(std::string_view account_id) {
  constexpr std::string_view op = "bindings_of_account";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::vector<BindingRecord>> {
    Params p;
    p.text(account_id);
    PgResult r = run_prepared(conn, kBindingsOfAccount, p);
    return read_bindings(op, conn, r.get());
  });
}

Result<std::vector<BindingRecord>> PostgresStore::bindings_with_key_version(
    std::uint32_t key_version, const BindingCursor& after, std::size_t limit) {
  constexpr std::string_view op = "bindings_with_key_version";
  const auto bounded = static_cast<std::int64_t>(std::min<std::size_t>(
      limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<std::vector<BindingRecord>> {
    Params p;
    p.int8(key_version);
    p.text(after.account_id);
    p.int8(static_cast<std::int64_t>(after.channel));
    p.int8(bounded);
    PgResult r = run_prepared(conn, kBindingsWithKeyVersion, p);
    return read_bindings(op, conn, r.get());
  });
}

Result<bool> PostgresStore::reindex_binding(std::string_view account_id, Channel channel,
                                            const BlindIndex& from, const BlindIndex& to,
                                            std::span<const std::uint8_t> sealed_contact) {
  constexpr std::string_view op = "reindex_binding";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<bool> {
    Params p;
    p.text(account_id);
    p.int8(static_cast<std::int64_t>(channel));
    p.bytes(from.value);
    p.int8(from.key_version);
    p.bytes(to.value);
    p.int8(to.key_version);
    p.bytes_or_null(sealed_contact);
    // One UPDATE whose WHERE re-checks the old index on the row as it is when it is locked.
    PgResult r = run_prepared(conn, kReindexBinding, p);
    if (!command_ok(r.get())) return result_error(op, conn, r.get());
    return affected_rows(r.get()) == 1;
  });
}

Result<KeyVersionUsage> PostgresStore::key_version_usage(std::uint32_t key_version, Timestamp now) {
  constexpr std::string_view op = "key_version_usage";
  return impl_->with_connection(op, [&](PGconn* conn) -> Result<KeyVersionUsage> {
    Params p;
    p.int8(key_version);
    p.int8(to_ms(now));
    PgResult r = run_prepared(conn, kKeyVersionUsage, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::int64_t bindings = -1, challenges = -1;
    if (PQntuples(r.get()) != 1 || !read_int(r.get(), 0, 0, bindings) ||
        !read_int(r.get(), 0, 1, challenges) || bindings < 0 || challenges < 0) {
      return store_error(op, "unexpected result shape");
    }
    return KeyVersionUsage{static_cast<std::size_t>(bindings),
                           static_cast<std::size_t>(challenges)};
  });
}

}  // namespace veribind
