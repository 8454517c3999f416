// PostgresStore: bindings (AccountStore). Every write runs in a transaction of its own that
// commits synchronously (Pool::run_durable): a binding reported made survives an OS crash.
#include <algorithm>
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

namespace {

// A per-identifier advisory lock key: the first 8 bytes of the blind index mixed with its key
// version. Two identifiers that share a key only wait for each other.
std::int64_t identifier_lock_key(const BlindIndex& index) {
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < 8; ++i) bits = (bits << 8) | index.value[i];
  bits ^= static_cast<std::uint64_t>(index.key_version) * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::int64_t>(bits);
}

Result<std::vector<BindingRecord>> read_bindings(std::string_view op, PGconn* conn,
                                                 const PGresult* r) {
  if (!tuples_ok(r)) return result_error(op, conn, r);
  std::vector<BindingRecord> out;
  const int rows = PQntuples(r);
  out.reserve(static_cast<std::size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    BindingRecord record;
    if (!sql::decode_binding(PgRow(r, row), 0, record)) {
      return store_error(op, "a stored binding is malformed");
    }
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace

Result<BindOutcome> PostgresStore::insert_binding(const BindingRecord& binding,
                                                  std::span<const BlindIndex> same_identifier,
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
  std::vector<std::span<const std::uint8_t>> index_values;
  std::vector<std::int64_t> key_versions;
  for (const BlindIndex& index : indexes) {
    index_values.emplace_back(index.value);
    key_versions.push_back(index.key_version);
  }

  return impl_->pool->run_durable(op, [&](PGconn* conn) -> Result<BindOutcome> {
    {
      Params p;
      p.int8_array(locks);
      PgResult r = run_prepared(conn, postgres::kLockIdentifiers, p);
      if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    }
    Params p;
    p.text(binding.account_id);
    p.bytes(binding.index.value);
    p.int8(binding.index.key_version);
    p.int8(static_cast<std::int64_t>(binding.channel));
    p.int8(sql::to_ms(binding.created_at));
    p.int8(max_accounts);
    p.bytes_or_null(binding.sealed_contact);
    p.bytea_array(index_values);
    p.int8_array(key_versions);
    PgResult r = run_prepared(conn, postgres::kInsertBinding, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::int64_t n = -1;
    if (!postgres::read_counts(r.get(), 0, std::span(&n, 1)) || n > 2) {
      return unexpected_shape(op);
    }
    // A refusal wrote nothing: its commit is a no-op.
    return n == 0   ? BindOutcome::kBound
           : n == 1 ? BindOutcome::kIdentifierFull
                    : BindOutcome::kAccountHasBinding;
  });
}

Result<std::vector<std::string>> PostgresStore::find_accounts(const BlindIndex& index) {
  constexpr std::string_view op = "find_accounts";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::vector<std::string>> {
    Params p;
    p.bytes(index.value);
    p.int8(index.key_version);
    PgResult r = run_prepared(conn, postgres::kFindAccounts, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::vector<std::string> accounts;
    const int rows = PQntuples(r.get());
    accounts.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      std::string& account = accounts.emplace_back();
      if (!sql::read_string(PgRow(r.get(), row), 0, account)) return unexpected_shape(op);
    }
    return accounts;
  });
}

Result<std::vector<BindingRecord>> PostgresStore::bindings_of_account(std::string_view account_id) {
  constexpr std::string_view op = "bindings_of_account";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::vector<BindingRecord>> {
    Params p;
    p.text(account_id);
    PgResult r = run_prepared(conn, postgres::kBindingsOfAccount, p);
    return read_bindings(op, conn, r.get());
  });
}

Result<std::size_t> PostgresStore::delete_bindings(std::string_view account_id) {
  constexpr std::string_view op = "delete_bindings";
  return impl_->pool->run_durable(op, [&](PGconn* conn) -> Result<std::size_t> {
    Params p;
    p.text(account_id);
    PgResult r = run_prepared(conn, postgres::kDeleteBindings, p);
    if (!postgres::command_ok(r.get())) return result_error(op, conn, r.get());
    return postgres::affected_rows(r.get());
  });
}

Result<std::vector<BindingRecord>> PostgresStore::bindings_with_key_version(
    std::uint32_t key_version, const BindingCursor& after, std::size_t limit) {
  constexpr std::string_view op = "bindings_with_key_version";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::vector<BindingRecord>> {
    Params p;
    p.int8(key_version);
    p.text(after.account_id);
    p.int8(static_cast<std::int64_t>(after.channel));
    p.int8(sql::clamp_limit(limit));
    PgResult r = run_prepared(conn, postgres::kBindingsWithKeyVersion, p);
    return read_bindings(op, conn, r.get());
  });
}

Result<bool> PostgresStore::reindex_binding(std::string_view account_id, Channel channel,
                                            const BlindIndex& from, const BlindIndex& to,
                                            std::span<const std::uint8_t> sealed_contact) {
  constexpr std::string_view op = "reindex_binding";
  return impl_->pool->run_durable(op, [&](PGconn* conn) -> Result<bool> {
    Params p;
    p.text(account_id);
    p.int8(static_cast<std::int64_t>(channel));
    p.bytes(from.value);
    p.int8(from.key_version);
    p.bytes(to.value);
    p.int8(to.key_version);
    p.bytes_or_null(sealed_contact);
    PgResult r = run_prepared(conn, postgres::kReindexBinding, p);
    if (!postgres::command_ok(r.get())) return result_error(op, conn, r.get());
    return postgres::affected_rows(r.get()) == 1;
  });
}

Result<std::size_t> PostgresStore::count_bindings(std::uint32_t key_version) {
  constexpr std::string_view op = "count_bindings";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::size_t> {
    Params p;
    p.int8(key_version);
    PgResult r = run_prepared(conn, postgres::kCountBindings, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::int64_t n = -1;
    if (!postgres::read_counts(r.get(), 0, std::span(&n, 1))) return unexpected_shape(op);
    return static_cast<std::size_t>(n);
  });
}

}  // namespace veribind
