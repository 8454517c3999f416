// PostgresStore: every store interface (VerificationStore, AccountStore, AuditStore,
// RetentionReport) for several backend nodes sharing one PostgreSQL database (libpq).
// Link veribind::postgres.
//
//   auto store = veribind::PostgresStore::open("postgresql://veribind@db.internal/veribind");
//   if (!store) { /* store.code() is kUnavailable (unreachable) or kStoreError / kInvalidArgument
//   */ }
//
// Guarantees, across threads, processes and nodes (each is one statement or one transaction that
// the database serialises, never a read-then-write in C++):
// - charge_attempt is one statement: an UPDATE ... WHERE attempts < max_attempts and the upsert of
//   the identifier's failure count, so racing callers on any number of nodes never charge a
//   challenge past its maximum nor miss a failure;
// - consume_challenge is one statement deleting the challenge and its identifier's failure
//   count: exactly one caller anywhere gets true;
// - create_challenge, reissue_challenge and add_to_counters apply their counter steps in the same
//   statement as the challenge (an upsert per counter: concurrent steps on one counter add up);
// - insert_binding counts and inserts inside one transaction holding a transaction-scoped
//   advisory lock for every blind index involved (taken in a fixed order, so two nodes never
//   deadlock), and a primary key enforces one binding per account and channel, so max_accounts
//   holds however many nodes link at once;
// - append_audit checks the head and appends inside one transaction holding the audit log's
//   advisory lock, so appends from any number of nodes get consecutive sequences; triggers
//   refuse UPDATE, DELETE and TRUNCATE of entries and any change of the head but forward;
// - a failed operation changes nothing (one transaction per operation).
// Connection failures, timeouts and a server that is shutting down are ErrorCode::kUnavailable;
// a broken connection is replaced on its next use, so the store recovers by itself once the
// server is back. Error messages name the operation and the SQLSTATE, never a stored value.
//
// Durability: verification state commits asynchronously (see PostgresOptions::sync_every_commit);
// account and audit writes commit synchronously, in a transaction of their own.
//
// The schema (tables challenges, counters, identifier_failures, bindings, audit_log, audit_head,
// store_meta, schema_version) is created and upgraded by versioned migrations under a
// transaction-scoped advisory lock, so nodes starting together are safe, and a node starting
// against an up-to-date database writes nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/account_store.hpp"
#include "veribind/audit_store.hpp"
#include "veribind/retention.hpp"
#include "veribind/verification_store.hpp"

namespace veribind {

struct PostgresOptions {
  // Connections in the pool, 1..64. Each is used by one thread at a time; a caller that finds
  // none free waits up to acquire_timeout.
  std::size_t pool_size = 4;
  // How long a connection attempt may take (libpq connect_timeout, whole seconds, at least 2).
  std::chrono::seconds connect_timeout{5};
  // Server-side limit on one statement (statement_timeout), and on a transaction left idle
  // (idle_in_transaction_session_timeout). 1 ms .. 1 h.
  std::chrono::milliseconds statement_timeout{5000};
  // How long a caller waits for a free connection before kUnavailable. 1 ms .. 1 h.
  std::chrono::milliseconds acquire_timeout{10000};
  // The schema that holds veribind's tables, created if missing. Empty: the connection's default
  // (search_path, normally "public"). Otherwise 1..63 characters of [a-z0-9_], not starting with
  // a digit, not starting with "pg_".
  std::string schema;
  // Durability of verification state (challenges, counters, failure counts). false (the
  // default): its commits do not wait for the WAL to reach disk (synchronous_commit = off on
  // every connection of the pool): a process crash loses nothing, but an OS crash or power loss
  // can roll back the last commits, up to three times the server's wal_writer_delay (200 ms by
  // default: about 600 ms); SECURITY.md says what that gives an attacker. Bindings and the audit
  // log commit synchronously either way. true: every commit waits for the flush (the server's
  // own synchronous_commit, or on where the server's is off), at the cost of one disk flush per
  // check and per start.
  bool sync_every_commit = false;
};

class PostgresStore final : public VerificationStore,
                            public AccountStore,
                            public AuditStore,
                            public RetentionReport {
 public:
  // Connects (one connection now, the rest of the pool on demand), brings the schema up to date,
  // and prepares the statements. `conninfo` is a libpq connection URI (postgresql://... or
  // postgres://...) or key=value string; settings in it override the defaults this store passes
  // (connect_timeout, TCP keepalives, application_name).
  // Errors: kInvalidArgument (options out of range, or conninfo that libpq cannot parse; the
  // message never repeats the conninfo, which may hold a password), kUnavailable (server
  // unreachable, refused login, timed out), kStoreError (a database of a newer schema version, or
  // a schema that cannot be created).
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& conninfo,
                                                     const PostgresOptions& options = {});
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // VerificationStore. Each operation is one statement (one round trip), committed without
  // waiting for the WAL flush unless PostgresOptions::sync_every_commit.
  Status create_challenge(const ChallengeRecord& record, std::span<CounterUpdate> counters,
                          Timestamp now) override;
  Result<bool> reissue_challenge(const ChallengeId& id,
                                 const std::array<std::uint8_t, 16>& code_tag, Timestamp expires_at,
                                 std::span<CounterUpdate> counters, Timestamp now) override;
  Status add_to_counters(std::span<CounterUpdate> counters, Timestamp now) override;
  Result<CounterState> read_counters(const BlindIndex& identifier, std::span<const CounterKey> keys,
                                     std::span<CounterState> out, Timestamp now) override;
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now,
                                      Timestamp failure_window_end) override;
  Result<bool> consume_challenge(const ChallengeId& id) override;
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override;
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch = 10000) override;
  Result<std::size_t> live_challenges(std::uint32_t key_version, Timestamp now) override;

  // AccountStore. Every write commits synchronously (durable at commit).
  Result<BindOutcome> insert_binding(const BindingRecord& binding,
                                     std::span<const BlindIndex> same_identifier,
                                     std::uint32_t max_accounts) override;
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override;
  Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) override;
  Result<std::size_t> delete_bindings(std::string_view account_id) override;
  Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                               const BindingCursor& after,
                                                               std::size_t limit) override;
  Result<bool> reindex_binding(std::string_view account_id, Channel channel, const BlindIndex& from,
                               const BlindIndex& to,
                               std::span<const std::uint8_t> sealed_contact) override;
  Result<std::size_t> count_bindings(std::uint32_t key_version) override;

  // AuditStore. Every append commits synchronously (durable at commit).
  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry, const AuditHead& head) override;
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override;
  Result<std::optional<AuditHead>> audit_head() override;
  Result<AuditBinding> audit_binding() override;

  // RetentionReport. bytes are measured (BytesMethod::kMeasured): pg_total_relation_size of each
  // table, which includes its indexes and TOAST data, in whole pages.
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override;

  // The schema version this code reads and writes.
  static constexpr int kSchemaVersion = 6;

 private:
  struct Impl;
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
