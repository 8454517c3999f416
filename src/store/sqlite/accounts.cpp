// SqliteStore: bindings (AccountStore), on the account connection (synchronous FULL: a binding
// reported made is on disk).
#include <cstdint>
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

// An empty sealed contact is stored as NULL (none retained).
int bind_sealed(sqlite3_stmt* s, int index, std::span<const std::uint8_t> sealed) {
  return sealed.empty() ? sqlite3_bind_null(s, index) : bind_blob(s, index, sealed);
}

// Every row a bound statement returns, laid out as sql::kBindingColumns.
Result<std::vector<BindingRecord>> read_bindings(sqlite3_stmt* s, std::string_view op) {
  std::vector<BindingRecord> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    BindingRecord record;
    if (!sql::decode_binding(StmtRow(s), 0, record)) {
      return store_error(op, "a stored binding is malformed");
    }
    out.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return out;
}

}  // namespace

Result<BindOutcome> SqliteStore::insert_binding(const BindingRecord& binding,
                                                std::span<const BlindIndex> same_identifier,
                                                std::uint32_t max_accounts) {
  constexpr std::string_view op = "insert_binding";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  // Bounded: each count stops at max_accounts, however many rows an index holds.
  auto holders = [&](const BlindIndex& index) -> Result<std::int64_t> {
    Use s(c.stmt(StmtId::kCountHolders));
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
      Use s(c.stmt(StmtId::kAccountHasBinding));
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
    Use s(c.stmt(StmtId::kInsertBinding));
    int rc = bind_text(s.get(), 1, binding.account_id);
    if (rc == SQLITE_OK) rc = bind_blob(s.get(), 2, binding.index.value);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, binding.index.key_version);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, static_cast<std::int64_t>(binding.channel));
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 5, sql::to_ms(binding.created_at));
    if (rc == SQLITE_OK) rc = bind_sealed(s.get(), 6, binding.sealed_contact);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    return BindOutcome::kBound;
  };
  // Only a new binding is committed; a refusal rolls back (it wrote nothing anyway).
  return c.in_write_transaction(op, body,
                                [](BindOutcome outcome) { return outcome == BindOutcome::kBound; });
}

Result<std::vector<std::string>> SqliteStore::find_accounts(const BlindIndex& index) {
  constexpr std::string_view op = "find_accounts";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kFindAccounts));
  int rc = bind_blob(s.get(), 1, index.value);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, index.key_version);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  std::vector<std::string> accounts;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    std::string account;
    if (!sql::read_string(StmtRow(s.get()), 0, account)) {
      return store_error(op, "a stored binding is malformed");
    }
    accounts.push_back(std::move(account));
  }
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return accounts;
}

Result<std::vector<BindingRecord>> SqliteStore::bindings_of_account(std::string_view account_id) {
  constexpr std::string_view op = "bindings_of_account";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kBindingsOfAccount));
  int rc = bind_text(s.get(), 1, account_id);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  return read_bindings(s.get(), op);
}

Result<std::size_t> SqliteStore::delete_bindings(std::string_view account_id) {
  constexpr std::string_view op = "delete_bindings";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kDeleteBindings));
  int rc = bind_text(s.get(), 1, account_id);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return static_cast<std::size_t>(sqlite3_changes64(c.db()));
}

Result<std::vector<BindingRecord>> SqliteStore::bindings_with_key_version(
    std::uint32_t key_version, const BindingCursor& after, std::size_t limit) {
  constexpr std::string_view op = "bindings_with_key_version";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kBindingsWithKeyVersion));
  int rc = bind_int(s.get(), 1, key_version);
  if (rc == SQLITE_OK) rc = bind_text(s.get(), 2, after.account_id);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, static_cast<std::int64_t>(after.channel));
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, sql::clamp_limit(limit));
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  return read_bindings(s.get(), op);
}

Result<bool> SqliteStore::reindex_binding(std::string_view account_id, Channel channel,
                                          const BlindIndex& from, const BlindIndex& to,
                                          std::span<const std::uint8_t> sealed_contact) {
  constexpr std::string_view op = "reindex_binding";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kReindexBinding));
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
  return sqlite3_changes64(c.db()) == 1;
}

Result<std::size_t> SqliteStore::count_bindings(std::uint32_t key_version) {
  constexpr std::string_view op = "count_bindings";
  sqlite::Connection& c = impl_->accounts;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kCountBindings));
  int rc = bind_int(s.get(), 1, key_version);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) return sqlite_error(op, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc);
  return static_cast<std::size_t>(sqlite3_column_int64(s.get(), 0));
}

}  // namespace veribind
