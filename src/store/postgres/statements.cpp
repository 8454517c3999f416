// PostgresStore's SQL. Every operation on verification state is one statement, which PostgreSQL
// runs atomically: an UPDATE or DELETE that meets a row a concurrent transaction changed waits
// for it and re-checks its WHERE clause against the row as that transaction left it, and an
// INSERT ... ON CONFLICT DO UPDATE either inserts or updates, whoever else does the same.
// Data-modifying CTEs run exactly once and to completion, whether or not the query reads them.
#include "store/postgres/statements.hpp"

#include <array>

#include "store/sql/row_codec.hpp"

namespace veribind::postgres {
namespace {

constexpr Oid kBool = 16;
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;
constexpr Oid kByteaArray = 1001;
constexpr Oid kInt8Array = 1016;

// Taken by every append_audit, so that appends from all nodes follow one another. "vbaudlog".
constexpr const char* kAuditLockKey = "8531301519733878631";  // 0x76626175646c6f67

std::string challenge_columns(const char* alias) {
  std::string out;
  std::string_view all = sql::kChallengeColumns;
  while (!all.empty()) {
    const std::size_t comma = all.find(',');
    std::string_view column = all.substr(0, comma);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += alias;
    out += '.';
    out += column;
    all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
  }
  return out;
}

// The counter steps of one batch, as CTEs `step` and `added` and a final SELECT of one row per
// step. The batch's keys are distinct (the caller makes sure: one upsert cannot touch a row
// twice). Every step is the same upsert whatever its delta, so that a refused request (delta 0)
// does the work an admitted one does: it adds to a live counter above 0 (saturating at
// UINT32_MAX) or starts it at delta with the step's window end; a counter at 0 (made by delta-0
// steps only) reads as absent and restarts on the next step. SET sees the row as it was, so
// both CASEs test the old row. Reads by key (kReadCountersSql) are LATERAL subqueries kept apart
// by OFFSET 0 (which stops the planner from flattening them into a join), so that the generic
// plan, which cannot know the arrays' length, probes the index per key instead of scanning.
// `keys`, `deltas`, `ends`, `now` are parameter numbers; `gate` (may be empty) is a
// condition every step is applied under.
std::string counter_steps(int keys, int deltas, int ends, int now, const std::string& gate) {
  const std::string k = "$" + std::to_string(keys), d = "$" + std::to_string(deltas),
                    w = "$" + std::to_string(ends), t = "$" + std::to_string(now);
  return "step AS (SELECT s.key, s.delta, s.window_end, s.n FROM unnest(" + k + "::bytea[], " + d +
         "::int8[], " + w + "::int8[]) WITH ORDINALITY AS s(key, delta, window_end, n)" +
         (gate.empty() ? "" : " WHERE " + gate) +
         "), "
         "added AS (INSERT INTO counters AS c (key, window_end, count) "
         "  SELECT key, window_end, delta FROM step "
         "  ON CONFLICT (key) DO UPDATE SET "
         "  count = CASE WHEN c.window_end > " +
         t +
         " AND c.count > 0 THEN LEAST(c.count + EXCLUDED.count, 4294967295) "
         "    ELSE EXCLUDED.count END, "
         "  window_end = CASE WHEN c.window_end > " +
         t +
         " AND c.count > 0 THEN c.window_end ELSE EXCLUDED.window_end END "
         "  RETURNING key, count, window_end) "
         "SELECT s.n, a.count, a.window_end FROM step s JOIN added a ON a.key = s.key";
}

std::string create_challenge_sql() {
  return std::string("WITH ins AS (INSERT INTO challenges (") + sql::kChallengeColumns +
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING 1), " +
         counter_steps(14, 15, 16, 17, "") + " ORDER BY 1";
}

// The UPDATE re-checks expires_at on the row as it is when it locks it, so a reissue never
// revives a challenge a concurrent purge or consume removed; the counter steps apply only if it
// updated.
std::string reissue_challenge_sql() {
  return "WITH upd AS (UPDATE challenges SET code_tag = $2, expires_at = $3 "
         "  WHERE id = $1 AND expires_at > $4 RETURNING 1), " +
         counter_steps(5, 6, 7, 4, "EXISTS (SELECT 1 FROM upd)") +
         " UNION ALL SELECT 0, count(*), NULL FROM upd ORDER BY 1";
}

std::string add_to_counters_sql() {
  return "WITH " + counter_steps(1, 2, 3, 4, "") + " ORDER BY 1";
}

// One statement, so one snapshot: the identifier's failure count (row 0) and the counters.
const char* const kReadCountersSql =
    "SELECT 0::int8, count, window_end FROM identifier_failures "
    "WHERE blind_index = $1 AND key_version = $2 AND window_end > $4 "
    "UNION ALL "
    "SELECT s.n, c.count, c.window_end FROM unnest($3::bytea[]) WITH ORDINALITY AS s(key, n) "
    "CROSS JOIN LATERAL (SELECT count, window_end FROM counters "
    "  WHERE key = s.key AND window_end > $4 AND count > 0 OFFSET 0) c ORDER BY 1";

// The hot path of a check in one round trip. `charged` is the atomic step: it increments only
// while the challenge is live and below its maximum (a racing UPDATE re-checks that on the row
// as the other transaction left it), and `bumped` or `started` counts the failure of the
// identifier it belongs to, in the same statement: a failure count whose window ended restarts
// at 1 with the new window end ($3); the count saturates at UINT32_MAX. When `charged` matched
// nothing, `seen` says why from the statement's snapshot. If that snapshot shows a chargeable
// row, a concurrent transaction changed it after the snapshot (charged it to the limit, or
// consumed it): `latest` then reads the row as that transaction left it (FOR UPDATE reads the
// newest version, and nothing if it was deleted), so the miss is classified without a second
// round trip. Only that rare race takes a row lock on a miss.
std::string charge_attempt_sql() {
  const std::string columns = sql::kChallengeColumns;
  return "WITH charged AS ("
         "  UPDATE challenges SET attempts = attempts + 1"
         "  WHERE id = $1 AND expires_at > $2 AND attempts < max_attempts"
         "  RETURNING " +
         columns +
         "), "
         // The identifier's failure count: an UPDATE when it exists (the common case: one
         // row version, no tuple lock), an upsert when this statement's snapshot has none
         // (ON CONFLICT covers a count that a concurrent charge inserted meanwhile).
         "bumped AS ("
         "  UPDATE identifier_failures f SET"
         "  count = CASE WHEN f.window_end > $2 THEN LEAST(f.count + 1, 4294967295) ELSE 1 END,"
         "  window_end = CASE WHEN f.window_end > $2 THEN f.window_end ELSE $3 END"
         "  FROM charged c WHERE f.blind_index = c.blind_index AND f.key_version = c.key_version"
         "  RETURNING f.count, f.window_end), "
         "started AS ("
         "  INSERT INTO identifier_failures AS f (blind_index, key_version, window_end, count)"
         "  SELECT blind_index, key_version, $3, 1 FROM charged"
         "  WHERE NOT EXISTS (SELECT 1 FROM bumped)"
         "  ON CONFLICT (blind_index, key_version) DO UPDATE SET"
         "  count = CASE WHEN f.window_end > $2 THEN LEAST(f.count + 1, 4294967295) ELSE 1 END,"
         "  window_end = CASE WHEN f.window_end > $2 THEN f.window_end ELSE EXCLUDED.window_end "
         "END"
         "  RETURNING count, window_end), "
         "failed AS (SELECT count, window_end FROM bumped UNION ALL "
         "  SELECT count, window_end FROM started), "
         "seen AS (SELECT " +
         columns +
         " FROM challenges WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM charged)), "
         "latest AS (SELECT " +
         columns +
         " FROM challenges WHERE id = $1 AND EXISTS (SELECT 1 FROM seen "
         "  WHERE seen.expires_at > $2 AND seen.attempts < seen.max_attempts) FOR UPDATE) "
         "SELECT true, " +
         challenge_columns("charged") +
         ", failed.count, failed.window_end FROM charged, failed "
         "UNION ALL SELECT false, " +
         challenge_columns("seen") +
         ", NULL, NULL FROM seen WHERE seen.expires_at <= $2 OR seen.attempts >= seen.max_attempts "
         "UNION ALL SELECT false, " +
         challenge_columns("latest") + ", NULL, NULL FROM latest";
}

// The challenge and its identifier's failure count, in one statement. Racing DELETEs of one row:
// the second waits for the first to commit, then finds nothing (and deletes no failure count).
const char* const kConsumeChallengeSql =
    "WITH gone AS (DELETE FROM challenges WHERE id = $1 RETURNING blind_index, key_version), "
    "cleared AS (DELETE FROM identifier_failures f USING gone "
    "  WHERE f.blind_index = gone.blind_index AND f.key_version = gone.key_version) "
    "SELECT count(*) FROM gone";

// Every kind in one statement, so one transaction. The outer conditions repeat the expiry test
// so that a row a concurrent reissue made live again is re-checked and kept. Counters and
// failure counts share the batch: the failure counts get what the counters left of it.
const char* const kPurgeExpiredSql =
    "WITH c AS (DELETE FROM challenges WHERE expires_at <= $1 AND id IN "
    "  (SELECT id FROM challenges WHERE expires_at <= $1 LIMIT $2) RETURNING 1), "
    "k AS (DELETE FROM counters WHERE window_end <= $1 AND key IN "
    "  (SELECT key FROM counters WHERE window_end <= $1 LIMIT $2) RETURNING 1), "
    "f AS (DELETE FROM identifier_failures WHERE window_end <= $1 AND "
    "  (blind_index, key_version) IN (SELECT blind_index, key_version FROM identifier_failures "
    "  WHERE window_end <= $1 LIMIT greatest($2 - (SELECT count(*) FROM k), 0)) RETURNING 1) "
    "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM k), (SELECT count(*) FROM f)";

// Runs after kLockIdentifiers has locked every index in $8/$9 in the same transaction, so its
// snapshot (taken when it starts, after the locks were granted) sees every binding of this
// identifier that an earlier holder of a lock committed. $8/$9 are the blind indexes and key
// versions of the identifier, the binding's own first; the count, over all of them in one
// snapshot, stops at max_accounts ($6). Outcomes: 0 bound, 1 identifier full, 2 account has a
// binding on the channel. ON CONFLICT covers an account binding the same channel concurrently
// through another identifier (another lock): the primary key decides.
std::string insert_binding_sql() {
  return std::string(
             "WITH has AS (SELECT 1 FROM bindings WHERE account_id = $1 AND channel = $4), "
             "held AS (SELECT count(*) AS n FROM (SELECT 1 "
             "  FROM unnest($8::bytea[], $9::int8[]) AS i(blind_index, key_version) "
             "  CROSS JOIN LATERAL (SELECT 1 FROM bindings b WHERE b.blind_index = i.blind_index "
             "  AND b.key_version = i.key_version OFFSET 0) b LIMIT $6) s), "
             "ins AS (INSERT INTO bindings (") +
         sql::kBindingColumns +
         ") SELECT $1, $2, $3, $4, $5, $7 "
         "  WHERE NOT EXISTS (SELECT 1 FROM has) AND (SELECT n FROM held) < $6 "
         "  ON CONFLICT (account_id, channel) DO NOTHING RETURNING 1) "
         "SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 0 "
         "WHEN EXISTS (SELECT 1 FROM has) THEN 2 "
         "WHEN (SELECT n FROM held) >= $6 THEN 1 ELSE 2 END::int8";
}

// Runs after kLockAudit in the same transaction, so the head it reads is the latest committed
// one. The entry is inserted, and the head replaced, only if the head's count ($1 - 1) is what
// the caller built on. Returns how many rows it wrote (2: appended; 0: conflict).
std::string append_audit_sql() {
  return std::string(
             "WITH cur AS (SELECT coalesce((SELECT count FROM audit_head WHERE id = 1), 0) AS n), "
             "ins AS (INSERT INTO audit_log (") +
         sql::kAuditColumns +
         ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 "
         "  WHERE (SELECT n FROM cur) = $1 - 1 RETURNING 1), "
         "head AS (INSERT INTO audit_head (id, " +
         sql::kAuditHeadColumns +
         ") SELECT 1, $14, $15, $16, $17 WHERE EXISTS (SELECT 1 FROM ins) "
         "  ON CONFLICT (id) DO UPDATE SET count = EXCLUDED.count, last_mac = EXCLUDED.last_mac, "
         "  mac_key_version = EXCLUDED.mac_key_version, mac = EXCLUDED.mac RETURNING 1) "
         "SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM head)";
}

// One statement, so one snapshot for every figure. One row per kind, in the fixed order: kind
// number, rows, expired, oldest created, earliest expiry, bytes (table, indexes and TOAST, in
// pages).
const char* const kRetentionStatsSql =
    "SELECT 0::int8, count(*), count(*) FILTER (WHERE expires_at <= $1), NULL::int8, "
    "min(expires_at), pg_total_relation_size('challenges'::regclass) FROM challenges "
    "UNION ALL "
    "SELECT 1, count(*), count(*) FILTER (WHERE window_end <= $1), NULL, "
    "min(window_end), pg_total_relation_size('counters'::regclass) FROM counters "
    "UNION ALL "
    "SELECT 2, count(*), count(*) FILTER (WHERE window_end <= $1), NULL, "
    "min(window_end), pg_total_relation_size('identifier_failures'::regclass) "
    "FROM identifier_failures "
    "UNION ALL "
    "SELECT 3, count(*), 0, min(created_at), NULL, "
    "pg_total_relation_size('bindings'::regclass) FROM bindings "
    "UNION ALL "
    "SELECT 4, count(*), 0, min(time), NULL, "
    "pg_total_relation_size('audit_log'::regclass) + "
    "pg_total_relation_size('audit_head'::regclass) FROM audit_log "
    "ORDER BY 1";

std::array<StatementDef, kStmtCount> make_statements() {
  const std::string challenge_columns_list = sql::kChallengeColumns;
  const std::string binding_columns = sql::kBindingColumns;
  return {{
      {"vb_create_challenge",
       create_challenge_sql(),
       {kBytea, kBytea, kBytea, kInt8, kInt8, kInt8, kInt8, kInt8, kText, kInt8, kInt8, kBool,
        kInt8, kByteaArray, kInt8Array, kInt8Array, kInt8}},
      {"vb_reissue_challenge",
       reissue_challenge_sql(),
       {kBytea, kBytea, kInt8, kInt8, kByteaArray, kInt8Array, kInt8Array}},
      {"vb_add_to_counters", add_to_counters_sql(), {kByteaArray, kInt8Array, kInt8Array, kInt8}},
      {"vb_read_counters", kReadCountersSql, {kBytea, kInt8, kByteaArray, kInt8}},
      {"vb_charge_attempt", charge_attempt_sql(), {kBytea, kInt8, kInt8}},
      {"vb_consume_challenge", kConsumeChallengeSql, {kBytea}},
      {"vb_find_challenge",
       "SELECT " + challenge_columns_list + " FROM challenges WHERE id = $1",
       {kBytea}},
      {"vb_purge_expired", kPurgeExpiredSql, {kInt8, kInt8}},
      {"vb_live_challenges",
       "SELECT count(*) FROM challenges WHERE key_version = $1 AND expires_at > $2",
       {kInt8, kInt8}},
      // The keys come sorted; a function scan returns them, and takes the locks, in that order.
      {"vb_lock_identifiers",
       "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::int8[]) AS k",
       {kInt8Array}},
      {"vb_insert_binding",
       insert_binding_sql(),
       {kText, kBytea, kInt8, kInt8, kInt8, kInt8, kBytea, kByteaArray, kInt8Array}},
      {"vb_find_accounts",
       "SELECT account_id FROM bindings WHERE blind_index = $1 AND key_version = $2 "
       "ORDER BY created_at, account_id",
       {kBytea, kInt8}},
      {"vb_bindings_of_account",
       "SELECT " + binding_columns + " FROM bindings WHERE account_id = $1 ORDER BY channel",
       {kText}},
      {"vb_delete_bindings", "DELETE FROM bindings WHERE account_id = $1", {kText}},
      {"vb_bindings_with_key_version",
       "SELECT " + binding_columns +
           " FROM bindings WHERE key_version = $1 AND (account_id, channel) > ($2, $3) "
           "ORDER BY account_id, channel LIMIT $4",
       {kInt8, kText, kInt8, kInt8}},
      // One UPDATE whose WHERE re-checks the old index on the row as it is when it is locked.
      {"vb_reindex_binding",
       "UPDATE bindings SET blind_index = $5, key_version = $6, sealed_contact = $7 "
       "WHERE account_id = $1 AND channel = $2 AND blind_index = $3 AND key_version = $4",
       {kText, kInt8, kBytea, kInt8, kBytea, kInt8, kBytea}},
      {"vb_count_bindings", "SELECT count(*) FROM bindings WHERE key_version = $1", {kInt8}},
      {"vb_lock_audit", std::string("SELECT pg_advisory_xact_lock(") + kAuditLockKey + ")", {}},
      {"vb_append_audit",
       append_audit_sql(),
       {kInt8, kInt8, kText, kText, kText, kText, kBytea, kInt8, kInt8, kInt8, kInt8, kBytea,
        kBytea, kInt8, kBytea, kInt8, kBytea}},
      {"vb_scan_audit",
       std::string("SELECT ") + sql::kAuditColumns +
           " FROM audit_log WHERE sequence >= $1 ORDER BY sequence LIMIT $2",
       {kInt8, kInt8}},
      {"vb_read_audit_head",
       std::string("SELECT ") + sql::kAuditHeadColumns + " FROM audit_head WHERE id = 1",
       {}},
      {"vb_read_audit_binding",
       std::string("SELECT ") + sql::kAuditBindingColumns + " FROM store_meta WHERE id = 1",
       {}},
      {"vb_retention_stats", kRetentionStatsSql, {kInt8}},
  }};
}

}  // namespace

const StatementDef& statement(Stmt which) {
  static const std::array<StatementDef, kStmtCount> defs = make_statements();
  return defs[which];
}

}  // namespace veribind::postgres
