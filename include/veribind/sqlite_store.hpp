// SqliteStore: the embedded default. One database file in WAL mode; safe to share between
// threads of one process (one connection behind a mutex) and between processes (SQLite's file
// locks; every operation is one statement or one IMMEDIATE transaction). Link veribind::sqlite.
#pragma once

#include <memory>
#include <string>

#include "veribind/store.hpp"

namespace veribind {

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at `path` and brings its schema up to date.
  // kUnavailable if the file cannot be opened; kStoreError if it is not a veribind database
  // of a known schema version.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status create_challenge(const ChallengeRecord& record) override;
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now) override;
  Result<bool> consume_challenge(const ChallengeId& id) override;
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override;
  Result<bool> reissue_challenge(const ChallengeId& id,
                                 const std::array<std::uint8_t, 16>& code_tag, Timestamp expires_at,
                                 Timestamp now) override;
  Result<CounterState> add_to_counter(const CounterKey& key, std::uint32_t delta,
                                      Timestamp window_end, Timestamp now) override;
  Status reset_counter(const CounterKey& key) override;
  Result<BindOutcome> insert_binding(const BindingRecord& binding,
                                     std::uint32_t max_accounts) override;
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override;
  Result<std::size_t> delete_bindings(std::string_view account_id) override;
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch = 10000) override;
  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry, const AuditHead& head) override;
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override;
  Result<std::optional<AuditHead>> audit_head() override;
  // bytes are the file pages of each table and its indexes (SQLite's dbstat virtual table,
  // BytesMethod::kMeasured); where the SQLite library lacks dbstat, a per-row estimate.
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override;
  Result<BindOutcome> insert_binding_across(const BindingRecord& binding,
                                            std::span<const BlindIndex> same_identifier,
                                            std::uint32_t max_accounts) override;
  Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) override;
  Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                               const BindingCursor& after,
                                                               std::size_t limit) override;
  Result<bool> reindex_binding(std::string_view account_id, Channel channel, const BlindIndex& from,
                               const BlindIndex& to,
                               std::span<const std::uint8_t> sealed_contact) override;
  Result<KeyVersionUsage> key_version_usage(std::uint32_t key_version, Timestamp now) override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
