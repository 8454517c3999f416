// The SQL text of every statement a SqliteStore prepares. Column lists come from the shared row
// codec, so that what a statement returns is laid out as sql::decode_* reads it.
#include "store/sqlite/statements.hpp"

#include "store/sql/row_codec.hpp"

namespace veribind::sqlite {

std::string statement_sql(StmtId which) {
  const std::string challenge_cols = sql::kChallengeColumns;
  const std::string binding_cols = sql::kBindingColumns;
  const std::string audit_cols = sql::kAuditColumns;
  switch (which) {
    case StmtId::kBeginImmediate: return "BEGIN IMMEDIATE";
    case StmtId::kBeginDeferred: return "BEGIN DEFERRED";
    case StmtId::kCommit: return "COMMIT";
    case StmtId::kRollback: return "ROLLBACK";

    case StmtId::kInsertChallenge:
      return "INSERT INTO challenges (" + challenge_cols +
             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    // The whole hot path of a check in one statement, under the write lock: the condition, the
    // increment, and (by the trigger challenges_count_failure, which reads charged_at and
    // failure_window_end from the updated row) the identifier's failure count. RETURNING runs
    // after the BEFORE UPDATE trigger, so its subqueries see the count this charge made.
    case StmtId::kChargeAttempt:
      return "UPDATE challenges SET attempts = attempts + 1, charged_at = ?2, "
             "failure_window_end = ?3 "
             "WHERE id = ?1 AND expires_at > ?2 AND attempts < max_attempts RETURNING " +
             challenge_cols +
             ", (SELECT f.count FROM identifier_failures AS f WHERE f.blind_index = "
             "challenges.blind_index AND f.key_version = challenges.key_version), "
             "(SELECT f.window_end FROM identifier_failures AS f WHERE f.blind_index = "
             "challenges.blind_index AND f.key_version = challenges.key_version)";
    case StmtId::kFindChallenge:
      return "SELECT " + challenge_cols + " FROM challenges WHERE id = ?1";
    case StmtId::kConsumeChallenge:
      return "DELETE FROM challenges WHERE id = ?1 RETURNING blind_index, key_version";
    case StmtId::kClearFailures:
      return "DELETE FROM identifier_failures WHERE blind_index = ?1 AND key_version = ?2";
    case StmtId::kReissueChallenge:
      return "UPDATE challenges SET code_tag = ?2, expires_at = ?3 "
             "WHERE id = ?1 AND expires_at > ?4";
    // Every counter step, whatever its delta, is this one write: a refused request (delta 0)
    // costs what an admitted one costs. A counter at 0 (made by delta-0 steps only) counts as
    // absent: the next real step starts its window. SET expressions see the row as it was before
    // the update, so both CASEs test the old row. The count saturates at UINT32_MAX. `touches`
    // changes on every step: SQLite leaves a page clean when an update writes the bytes it
    // already holds, so without it a delta-0 step would skip the WAL write that an admitted one
    // makes, and its time would tell a refusal.
    case StmtId::kAddToCounter:
      return "INSERT INTO counters (key, window_end, count) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (key) DO UPDATE SET touches = (touches + 1) % 65536, "
             "count = CASE WHEN window_end > ?4 AND count > 0 "
             "  THEN min(count + ?3, 4294967295) ELSE ?3 END, "
             "window_end = CASE WHEN window_end > ?4 AND count > 0 "
             "  THEN window_end ELSE excluded.window_end END "
             "RETURNING count, window_end";
    case StmtId::kReadCounter:
      return "SELECT count, window_end FROM counters "
             "WHERE key = ?1 AND window_end > ?2 AND count > 0";
    case StmtId::kReadFailures:
      return "SELECT count, window_end FROM identifier_failures "
             "WHERE blind_index = ?1 AND key_version = ?2 AND window_end > ?3";
    case StmtId::kPurgeChallenges:
      return "DELETE FROM challenges WHERE id IN "
             "(SELECT id FROM challenges WHERE expires_at <= ?1 LIMIT ?2)";
    case StmtId::kPurgeCounters:
      return "DELETE FROM counters WHERE key IN "
             "(SELECT key FROM counters WHERE window_end <= ?1 LIMIT ?2)";
    case StmtId::kPurgeFailures:
      return "DELETE FROM identifier_failures WHERE (blind_index, key_version) IN "
             "(SELECT blind_index, key_version FROM identifier_failures "
             "WHERE window_end <= ?1 LIMIT ?2)";
    case StmtId::kLiveChallenges:
      return "SELECT count(*) FROM challenges WHERE key_version = ?1 AND expires_at > ?2";

    case StmtId::kAccountHasBinding:
      return "SELECT 1 FROM bindings WHERE account_id = ?1 AND channel = ?2";
    // Bounded: counting stops at max_accounts, however many rows an index holds.
    case StmtId::kCountHolders:
      return "SELECT count(*) FROM (SELECT 1 FROM bindings "
             "WHERE blind_index = ?1 AND key_version = ?2 LIMIT ?3)";
    case StmtId::kInsertBinding:
      return "INSERT INTO bindings (" + binding_cols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    case StmtId::kFindAccounts:
      return "SELECT account_id FROM bindings WHERE blind_index = ?1 AND key_version = ?2 "
             "ORDER BY created_at, account_id";
    case StmtId::kDeleteBindings: return "DELETE FROM bindings WHERE account_id = ?1";
    case StmtId::kBindingsOfAccount:
      return "SELECT " + binding_cols + " FROM bindings WHERE account_id = ?1 ORDER BY channel";
    case StmtId::kBindingsWithKeyVersion:
      return "SELECT " + binding_cols +
             " FROM bindings WHERE key_version = ?1 AND (account_id, channel) > (?2, ?3) "
             "ORDER BY account_id, channel LIMIT ?4";
    case StmtId::kReindexBinding:
      return "UPDATE bindings SET blind_index = ?5, key_version = ?6, sealed_contact = ?7 "
             "WHERE account_id = ?1 AND channel = ?2 AND blind_index = ?3 AND key_version = ?4";
    case StmtId::kCountBindings: return "SELECT count(*) FROM bindings WHERE key_version = ?1";

    case StmtId::kAuditHeadCount: return "SELECT count FROM audit_head WHERE id = 1";
    case StmtId::kInsertAudit:
      return "INSERT INTO audit_log (" + audit_cols +
             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    case StmtId::kUpsertAuditHead:
      return "INSERT INTO audit_head (id, count, last_mac, mac_key_version, mac) "
             "VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET count = excluded.count, "
             "last_mac = excluded.last_mac, mac_key_version = excluded.mac_key_version, "
             "mac = excluded.mac";
    case StmtId::kScanAudit:
      return "SELECT " + audit_cols +
             " FROM audit_log WHERE sequence >= ?1 ORDER BY sequence LIMIT ?2";
    case StmtId::kReadAuditHead:
      return std::string("SELECT ") + sql::kAuditHeadColumns + " FROM audit_head WHERE id = 1";
    case StmtId::kReadAuditBinding:
      return std::string("SELECT ") + sql::kAuditBindingColumns + " FROM store_meta WHERE id = 1";
    case StmtId::kCount: break;
  }
  return {};
}

}  // namespace veribind::sqlite
