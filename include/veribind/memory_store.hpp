// MemoryStore: every store interface in one process's memory, for tests, benchmarks and
// single-process deployments. Nothing survives the process.
#pragma once

#include <cstddef>
#include <memory>

#include "veribind/account_store.hpp"
#include "veribind/audit_store.hpp"
#include "veribind/retention.hpp"
#include "veribind/verification_store.hpp"

namespace veribind {

// Challenges and counters live in sharded open-addressing tables, each shard behind its own
// mutex: a check locks one challenge shard and one failure-count shard, probes each once, and
// allocates nothing. About 95 bytes per live challenge. Bindings and the audit log sit behind a
// mutex each (they are not on a hot path).
class MemoryStore final : public VerificationStore,
                          public AccountStore,
                          public AuditStore,
                          public RetentionReport {
 public:
  MemoryStore();
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // VerificationStore
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

  // RetentionReport. bytes are estimates (BytesMethod::kEstimate) of the heap the rows take; see
  // src/store/memory/.
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override;

  // Challenges held (expired ones included until purged).
  [[nodiscard]] std::size_t challenge_count() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
