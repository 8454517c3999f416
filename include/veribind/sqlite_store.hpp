// SqliteStore: the embedded default. One database file in WAL mode, holding every kind of row;
// safe to share between threads of one process and between processes (SQLite's file locks; every
// operation is one statement or one IMMEDIATE transaction). Link veribind::sqlite.
//
// Durability, as DESIGN.md asks of each kind of state. The store holds two connections to the
// file, each behind its own mutex:
// - verification state (challenges, counters, failure counts) commits with synchronous NORMAL:
//   a commit is in the WAL, and survives a crash of the process, at once; it reaches the disk at
//   the next WAL checkpoint or the next FULL commit on the file. After an OS crash or a power
//   loss the commits since then may roll back (SECURITY.md states the window and what it gives
//   an attacker). SqliteOptions::sync_every_commit makes these commits FULL too.
// - bindings and the audit log commit with synchronous FULL: durable when the call returns.
#pragma once

#include <memory>
#include <string>

#include "veribind/account_store.hpp"
#include "veribind/audit_store.hpp"
#include "veribind/retention.hpp"
#include "veribind/verification_store.hpp"

namespace veribind {

struct SqliteOptions {
  // false (the default): verification commits are not synced one by one (see above); a
  // wrong-code check then costs no fsync. true: every commit of every kind is synced before it
  // is acknowledged, so nothing acknowledged rolls back after a power loss, at the price of one
  // fsync of the WAL per check and per start.
  bool sync_every_commit = false;
};

class SqliteStore final : public VerificationStore,
                          public AccountStore,
                          public AuditStore,
                          public RetentionReport {
 public:
  // Opens (creating with mode 0600 if needed) the database at `path` and brings its schema up to
  // date (a database of an earlier schema version is upgraded in place). kInvalidArgument for an
  // empty path or ":memory:" (the two connections need one file); kUnavailable if the file cannot
  // be opened or stays locked by another process; kStoreError if it is not a veribind database,
  // or one of a newer schema version than this code knows.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   const SqliteOptions& options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // VerificationStore
  Status create_challenge(const ChallengeRecord& record, std::span<CounterUpdate> counters,
                          Timestamp now) override;
  Result<bool> reissue_challenge(const ChallengeId& id,
                                 const std::array<std::uint8_t, 16>& code_tag, Timestamp expires_at,
                                 std::span<CounterUpdate> counters, Timestamp now) override;
  Status add_to_counters(std::span<CounterUpdate> counters, Timestamp now) override;
  Result<CounterState> read_counters(const BlindIndex& identifier, std::span<const CounterKey> keys,
                                     std::span<CounterState> out, Timestamp now) override;
  // One UPDATE ... RETURNING charges the attempt and (by a trigger) counts the failure.
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now,
                                      Timestamp failure_window_end) override;
  Result<bool> consume_challenge(const ChallengeId& id) override;
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override;
  // Counters and failure counts share the batch: PurgeCounts::counters is at most `batch`.
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch = 10000) override;
  Result<std::size_t> live_challenges(std::uint32_t key_version, Timestamp now) override;

  // AccountStore
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

  // AuditStore
  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry, const AuditHead& head) override;
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override;
  Result<std::optional<AuditHead>> audit_head() override;
  Result<AuditBinding> audit_binding() override;

  // RetentionReport. bytes are the file pages of each table and its indexes (SQLite's dbstat
  // virtual table, BytesMethod::kMeasured); where the SQLite library lacks dbstat, a per-row
  // estimate.
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override;

  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
