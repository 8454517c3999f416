// SqliteStore: the audit log and its head (AuditStore), on the account connection (synchronous
// FULL: an appended entry is on disk). The tables' triggers refuse updates and deletes of entries
// and any move of the head other than forward (schema.cpp).
#include <cstdint>
#include <limits>
#include <mutex>

#include "store/sql/row_codec.hpp"
#include "store/sqlite/sqlite_impl.hpp"

namespace veribind {

using sqlite::bind_blob;
using sqlite::bind_int;
using sqlite::bind_text;
using sqlite::sqlite_error;
using sqlite::StmtId;
using sqlite::StmtRow;
using sqlite::store_error;
using sqlite::Use;

namespace {

int bind_audit(sqlite3_stmt* st, const AuditRecord& entry) {
  int rc = bind_int(st, 1, static_cast<std::int64_t>(entry.sequence));
  if (rc == SQLITE_OK) rc = bind_int(st, 2, sql::to_ms(entry.time));
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
  return rc;
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
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  auto body = [&]() -> Result<AuditAppendOutcome> {
    {
      Use s(c.stmt(StmtId::kAuditHeadCount));
      const int rc = sqlite3_step(s.get());
      std::int64_t count = 0;
      if (rc == SQLITE_ROW) {
        if (!StmtRow(s.get()).integer(0, count))
          return store_error(op, "the audit head is malformed");
      } else if (rc != SQLITE_DONE) {
        return sqlite_error(op, rc);
      }
      if (count != static_cast<std::int64_t>(entry.sequence - 1)) {
        return AuditAppendOutcome::kConflict;
      }
    }
    {
      Use s(c.stmt(StmtId::kInsertAudit));
      int rc = bind_audit(s.get(), entry);
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(s.get());
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return store_error(op,
                           "an audit entry with that sequence exists although the head "
                           "says otherwise");
      }
      if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    }
    Use s(c.stmt(StmtId::kUpsertAuditHead));
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
  return c.in_write_transaction(op, body, [](AuditAppendOutcome outcome) {
    return outcome == AuditAppendOutcome::kAppended;
  });
}

Result<std::vector<AuditRecord>> SqliteStore::scan_audit(std::uint64_t from, std::size_t limit) {
  constexpr std::string_view op = "scan_audit";
  std::vector<AuditRecord> entries;
  if (limit == 0 || from > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return entries;
  }
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kScanAudit));
  int rc = bind_int(s.get(), 1, static_cast<std::int64_t>(from));
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, sql::clamp_limit(limit));
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    AuditRecord record;
    if (!sql::decode_audit(StmtRow(s.get()), 0, record)) {
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
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kReadAuditHead));
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<AuditHead>();
  if (rc != SQLITE_ROW) return sqlite_error(op, rc);
  AuditHead head;
  if (!sql::decode_audit_head(StmtRow(s.get()), 0, head) || head.count == 0) {
    return store_error(op, "the audit head is malformed");
  }
  return std::optional<AuditHead>(head);
}

Result<AuditBinding> SqliteStore::audit_binding() {
  constexpr std::string_view op = "audit_binding";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kReadAuditBinding));
  const int rc = sqlite3_step(s.get());
  // Written by the migration that opened the file, and never deleted (a trigger refuses it).
  if (rc == SQLITE_DONE) return store_error(op, "the store's metadata row is missing");
  if (rc != SQLITE_ROW) return sqlite_error(op, rc);
  AuditBinding binding;
  if (!sql::decode_audit_binding(StmtRow(s.get()), 0, binding)) {
    return store_error(op, "the store's metadata row is malformed");
  }
  return binding;
}

}  // namespace veribind
