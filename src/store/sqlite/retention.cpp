// SqliteStore: the retention report (RetentionReport). Not a hot path: its statements are
// prepared per call, on the account connection, inside one read transaction (one snapshot).
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "store/sql/row_codec.hpp"
#include "store/sqlite/sqlite_impl.hpp"

namespace veribind {

using sqlite::sqlite_error;

namespace {

// The kinds, in the report's order, and the tables that hold each (an index is counted with its
// table; the audit log's head with the log).
struct KindTables {
  const char* kind;
  const char* table;
  const char* extra_table;
};
constexpr KindTables kKinds[] = {
    {"challenges", "challenges", nullptr},
    {"counters", "counters", nullptr},
    {"failure_counts", "identifier_failures", nullptr},
    {"bindings", "bindings", nullptr},
    {"audit_log", "audit_log", "audit_head"},
};
enum Kind : std::size_t { kChallenges, kCounters, kFailureCounts, kBindings, kAuditLog };

// Runs a one-row query with ?1 bound to `now` (if it has a parameter) and hands the row to
// `read`.
template <typename Read>
int query_row(sqlite3* db, const char* sql, Timestamp now, Read read) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_bind_parameter_count(s) >= 1) rc = sqlite3_bind_int64(s, 1, sql::to_ms(now));
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
  return sql::from_ms(sqlite3_column_int64(s, column));
}

std::uint64_t column_count(sqlite3_stmt* s, int column) {
  const std::int64_t v = sqlite3_column_int64(s, column);
  return v < 0 ? 0 : static_cast<std::uint64_t>(v);
}

// Per-row byte estimates for an SQLite library built without dbstat, from the record format:
// blobs at their size, integers at 8 bytes (their largest varint-free encoding), a record header
// and cell pointer of about 16 bytes per row, and each index entry again at its key size plus the
// same overhead. Bindings add their account id twice more (two indexes hold it).
constexpr std::uint64_t kEstimateChallengeBytes =
    (16 + 16 + 32 + 2 + 10 * 8 + 16) + (8 + 16 + 16) + (8 + 8 + 16 + 16);
constexpr std::uint64_t kEstimateCounterBytes = (32 + 8 + 8 + 16) + (8 + 32 + 16);
constexpr std::uint64_t kEstimateFailureBytes = (32 + 8 + 8 + 8 + 16) + (8 + 32 + 8 + 16);
constexpr std::uint64_t kEstimateBindingBytes =
    (32 + 8 * 4 + 16) + (1 + 8 + 16) + (32 + 8 + 8 + 8 + 16);  // + 3 x account id
// An audit entry: sequence, time, index, versions, count, channel (~40) and two 32-byte MACs, plus
// its four texts (added per row) and record overhead.
constexpr std::uint64_t kEstimateAuditBytes = 130;

int read_all(sqlite3* db, Timestamp now, std::vector<RowKindStats>& stats,
             std::uint64_t& account_id_bytes, std::uint64_t& audit_text_bytes) {
  auto read_expiring = [&](RowKindStats& kind, const char* sql) {
    return query_row(db, sql, now, [&](sqlite3_stmt* s) {
      kind.rows = column_count(s, 0);
      kind.expired = column_count(s, 1);
      kind.earliest_expiry = optional_time(s, 2);
    });
  };
  int rc = read_expiring(stats[kChallenges],
                         "SELECT count(*), coalesce(sum(expires_at <= ?1), 0), min(expires_at) "
                         "FROM challenges");
  if (rc == SQLITE_OK) {
    rc = read_expiring(stats[kCounters],
                       "SELECT count(*), coalesce(sum(window_end <= ?1), 0), min(window_end) "
                       "FROM counters");
  }
  if (rc == SQLITE_OK) {
    rc = read_expiring(stats[kFailureCounts],
                       "SELECT count(*), coalesce(sum(window_end <= ?1), 0), min(window_end) "
                       "FROM identifier_failures");
  }
  if (rc == SQLITE_OK) {
    rc = query_row(db,
                   "SELECT count(*), min(created_at), "
                   "coalesce(sum(length(CAST(account_id AS BLOB))), 0) FROM bindings",
                   now, [&](sqlite3_stmt* s) {
                     stats[kBindings].rows = column_count(s, 0);
                     stats[kBindings].oldest_created = optional_time(s, 1);
                     account_id_bytes = column_count(s, 2);
                   });
  }
  if (rc == SQLITE_OK) {
    rc = query_row(db,
                   "SELECT count(*), min(time), coalesce(sum(length(CAST(authority AS BLOB)) + "
                   "length(CAST(reference AS BLOB)) + length(CAST(legal_basis AS BLOB)) + "
                   "length(CAST(requested_by AS BLOB))), 0) FROM audit_log",
                   now, [&](sqlite3_stmt* s) {
                     stats[kAuditLog].rows = column_count(s, 0);
                     stats[kAuditLog].oldest_created = optional_time(s, 1);
                     audit_text_bytes = column_count(s, 2);
                   });
  }
  return rc;
}

// dbstat lists every page of the file by the table or index it belongs to. SQLite builds without
// SQLITE_ENABLE_DBSTAT_VTAB fail to prepare this: then false, and nothing is added.
bool measure_pages(sqlite3* db, std::vector<RowKindStats>& stats, int& rc) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat AS d "
                         "LEFT JOIN sqlite_schema AS m ON m.name = d.name GROUP BY 1",
                         -1, &s, nullptr) != SQLITE_OK) {
    sqlite3_finalize(s);
    return false;
  }
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const unsigned char* name = sqlite3_column_text(s, 0);
    const std::string_view table =
        name == nullptr ? std::string_view()
                        : std::string_view(reinterpret_cast<const char*>(name),
                                           static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    for (std::size_t i = 0; i < std::size(kKinds); ++i) {
      if (table == kKinds[i].table ||
          (kKinds[i].extra_table != nullptr && table == kKinds[i].extra_table)) {
        stats[i].bytes += column_count(s, 1);
      }
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return false;
  rc = SQLITE_OK;
  return true;
}

}  // namespace

Result<std::vector<RowKindStats>> SqliteStore::retention_stats(Timestamp now) {
  constexpr std::string_view op = "retention_stats";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  auto body = [&]() -> Result<std::vector<RowKindStats>> {
    std::vector<RowKindStats> stats(std::size(kKinds));
    for (std::size_t i = 0; i < stats.size(); ++i) stats[i].kind = kKinds[i].kind;
    std::uint64_t account_id_bytes = 0;
    std::uint64_t audit_text_bytes = 0;
    int rc = read_all(c.db(), now, stats, account_id_bytes, audit_text_bytes);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    if (measure_pages(c.db(), stats, rc)) {
      for (RowKindStats& kind : stats) kind.bytes_method = BytesMethod::kMeasured;
      return stats;
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) return sqlite_error(op, rc);
    for (RowKindStats& kind : stats) kind.bytes = 0;  // a scan that failed part-way
    stats[kChallenges].bytes = stats[kChallenges].rows * kEstimateChallengeBytes;
    stats[kCounters].bytes = stats[kCounters].rows * kEstimateCounterBytes;
    stats[kFailureCounts].bytes = stats[kFailureCounts].rows * kEstimateFailureBytes;
    stats[kBindings].bytes = stats[kBindings].rows * kEstimateBindingBytes + 3 * account_id_bytes;
    stats[kAuditLog].bytes = stats[kAuditLog].rows * kEstimateAuditBytes + audit_text_bytes;
    return stats;
  };
  return c.in_read_transaction(op, body);
}

}  // namespace veribind
