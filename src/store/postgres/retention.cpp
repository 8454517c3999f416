// PostgresStore: what it holds, per kind of row (RetentionReport), from one statement (one
// snapshot); bytes are pg_total_relation_size (table, indexes and TOAST, in whole pages).
#include <array>
#include <vector>

#include "store/postgres/postgres_impl.hpp"
#include "store/sql/row_codec.hpp"

namespace veribind {

Result<std::vector<RowKindStats>> PostgresStore::retention_stats(Timestamp now) {
  constexpr std::string_view op = "retention_stats";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::vector<RowKindStats>> {
    postgres::Params p;
    p.int8(sql::to_ms(now));
    postgres::PgResult r = postgres::run_prepared(conn, postgres::kRetentionStats, p);
    if (!postgres::tuples_ok(r.get())) return postgres::result_error(op, conn, r.get());
    // The order of kRetentionStats's rows (statements.cpp).
    static constexpr std::array<std::string_view, 5> kKinds = {
        "challenges", "counters", "failure_counts", "bindings", "audit_log"};
    if (PQntuples(r.get()) != static_cast<int>(kKinds.size())) {
      return postgres::unexpected_shape(op);
    }
    std::vector<RowKindStats> stats(kKinds.size());
    for (int row = 0; row < static_cast<int>(kKinds.size()); ++row) {
      const postgres::PgRow pg(r.get(), row);
      std::int64_t kind = -1, rows = -1, expired = -1, bytes = -1;
      if (!pg.integer(0, kind) || kind != row || !pg.integer(1, rows) || rows < 0 ||
          !pg.integer(2, expired) || expired < 0 || !pg.integer(5, bytes) || bytes < 0) {
        return postgres::unexpected_shape(op);
      }
      RowKindStats& s = stats[static_cast<std::size_t>(row)];
      s.kind = kKinds[static_cast<std::size_t>(row)];
      s.rows = static_cast<std::uint64_t>(rows);
      s.expired = static_cast<std::uint64_t>(expired);
      Timestamp t{};
      if (sql::read_time(pg, 3, t)) s.oldest_created = t;
      if (sql::read_time(pg, 4, t)) s.earliest_expiry = t;
      s.bytes = static_cast<std::uint64_t>(bytes);
      s.bytes_method = BytesMethod::kMeasured;
    }
    return stats;
  });
}

}  // namespace veribind
