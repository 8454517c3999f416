// PostgresStore: the audit log (AuditStore). An append is one transaction holding the audit
// log's advisory lock, committed synchronously (Pool::run_durable).
#include <limits>
#include <vector>

#include "store/postgres/postgres_impl.hpp"
#include "store/sql/row_codec.hpp"

namespace veribind {

using postgres::Params;
using postgres::PgResult;
using postgres::PgRow;
using postgres::result_error;
using postgres::run_prepared;
using postgres::store_error;
using postgres::tuples_ok;
using postgres::unexpected_shape;

Result<AuditAppendOutcome> PostgresStore::append_audit(const AuditRecord& entry,
                                                       const AuditHead& head) {
  constexpr std::string_view op = "append_audit";
  if (entry.sequence == 0 ||
      entry.sequence > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
      head.count != entry.sequence) {
    return store_error(op, "the entry's sequence and the new head disagree");
  }
  return impl_->pool->run_durable(op, [&](PGconn* conn) -> Result<AuditAppendOutcome> {
    // Appends from every node take the audit lock first, so the head that kAppendAudit reads (in
    // a snapshot taken after the lock was granted) is the latest committed one and cannot move
    // until this transaction ends: appends get consecutive sequences, and a stale head is a
    // conflict rather than a duplicate key.
    {
      PgResult r = run_prepared(conn, postgres::kLockAudit, Params());
      if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    }
    Params p;
    p.int8(static_cast<std::int64_t>(entry.sequence));
    p.int8(sql::to_ms(entry.time));
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
    PgResult r = run_prepared(conn, postgres::kAppendAudit, p);
    if (!tuples_ok(r.get())) {
      if (postgres::sqlstate_of(r.get()) == "23505") {
        return store_error(op,
                           "an audit entry with that sequence exists although the head says "
                           "otherwise");
      }
      return result_error(op, conn, r.get());
    }
    std::int64_t written = -1;
    if (!postgres::read_counts(r.get(), 0, std::span(&written, 1)) ||
        (written != 0 && written != 2)) {
      return unexpected_shape(op);
    }
    // The entry and the head that counts it commit together; a conflict wrote nothing.
    return written == 2 ? AuditAppendOutcome::kAppended : AuditAppendOutcome::kConflict;
  });
}

Result<std::vector<AuditRecord>> PostgresStore::scan_audit(std::uint64_t from, std::size_t limit) {
  constexpr std::string_view op = "scan_audit";
  if (limit == 0 || from > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::vector<AuditRecord>();
  }
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::vector<AuditRecord>> {
    Params p;
    p.int8(static_cast<std::int64_t>(from));
    p.int8(sql::clamp_limit(limit));
    PgResult r = run_prepared(conn, postgres::kScanAudit, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::vector<AuditRecord> entries;
    const int rows = PQntuples(r.get());
    entries.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      AuditRecord record;
      if (!sql::decode_audit(PgRow(r.get(), row), 0, record)) {
        return store_error(op, "a stored audit entry is malformed");
      }
      entries.push_back(std::move(record));
    }
    return entries;
  });
}

Result<std::optional<AuditHead>> PostgresStore::audit_head() {
  constexpr std::string_view op = "audit_head";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::optional<AuditHead>> {
    PgResult r = run_prepared(conn, postgres::kReadAuditHead, Params());
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    if (PQntuples(r.get()) == 0) return std::optional<AuditHead>();
    AuditHead head;
    if (PQntuples(r.get()) != 1 || !sql::decode_audit_head(PgRow(r.get(), 0), 0, head) ||
        head.count == 0) {
      return store_error(op, "the audit head is malformed");
    }
    return std::optional<AuditHead>(head);
  });
}

Result<AuditBinding> PostgresStore::audit_binding() {
  constexpr std::string_view op = "audit_binding";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<AuditBinding> {
    PgResult r = run_prepared(conn, postgres::kReadAuditBinding, Params());
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    // Written by the migration that created the schema, and never deleted (a trigger refuses it).
    if (PQntuples(r.get()) == 0) return store_error(op, "the store's metadata row is missing");
    AuditBinding binding;
    if (PQntuples(r.get()) != 1 || !sql::decode_audit_binding(PgRow(r.get(), 0), 0, binding)) {
      return store_error(op, "the store's metadata row is malformed");
    }
    return binding;
  });
}

}  // namespace veribind
