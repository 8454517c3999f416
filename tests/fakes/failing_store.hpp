// A store that fails every operation with kUnavailable while `down` is set, and otherwise
// forwards to a MemoryStore. Counts operations, so tests can show a refused call touched nothing.
#pragma once

#include <atomic>

#include "veribind/store.hpp"

namespace veribind::testing {

class FailingStore final : public Store {
 public:
  std::atomic<bool> down{false};
  std::atomic<int> operations{0};
  MemoryStore inner;

  Status create_challenge(const ChallengeRecord& r) override {
    if (Status s = gate(); !s) return s;
    return inner.create_challenge(r);
  }
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now) override {
    if (Status s = gate(); !s) return s;
    return inner.charge_attempt(id, now);
  }
  Result<bool> consume_challenge(const ChallengeId& id) override {
    if (Status s = gate(); !s) return s;
    return inner.consume_challenge(id);
  }
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override {
    if (Status s = gate(); !s) return s;
    return inner.find_challenge(id);
  }
  Result<bool> reissue_challenge(const ChallengeId& id, const std::array<std::uint8_t, 16>& tag,
                                 Timestamp expires_at, Timestamp now) override {
    if (Status s = gate(); !s) return s;
    return inner.reissue_challenge(id, tag, expires_at, now);
  }
  Result<CounterState> add_to_counter(const CounterKey& key, std::uint32_t delta,
                                      Timestamp window_end, Timestamp now) override {
    if (Status s = gate(); !s) return s;
    return inner.add_to_counter(key, delta, window_end, now);
  }
  Status reset_counter(const CounterKey& key) override {
    if (Status s = gate(); !s) return s;
    return inner.reset_counter(key);
  }
  Result<BindOutcome> insert_binding(const BindingRecord& b, std::uint32_t max) override {
    if (Status s = gate(); !s) return s;
    return inner.insert_binding(b, max);
  }
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override {
    if (Status s = gate(); !s) return s;
    return inner.find_accounts(index);
  }
  Result<std::size_t> delete_bindings(std::string_view account_id) override {
    if (Status s = gate(); !s) return s;
    return inner.delete_bindings(account_id);
  }
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch) override {
    if (Status s = gate(); !s) return s;
    return inner.purge_expired(now, batch);
  }
  // `append_down` fails audit appends only, so a test can let the lookup succeed and the append
  // fail.
  std::atomic<bool> append_down{false};
  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry,
                                          const AuditHead& head) override {
    if (Status s = gate(); !s) return s;
    if (append_down) return Status(ErrorCode::kUnavailable, "audit append is down (test double)");
    return inner.append_audit(entry, head);
  }
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override {
    if (Status s = gate(); !s) return s;
    return inner.scan_audit(from, limit);
  }
  Result<std::optional<AuditHead>> audit_head() override {
    if (Status s = gate(); !s) return s;
    return inner.audit_head();
  }
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override {
    if (Status s = gate(); !s) return s;
    return inner.retention_stats(now);
  }
  Result<BindOutcome> insert_binding_across(const BindingRecord& b,
                                            std::span<const BlindIndex> same_identifier,
                                            std::uint32_t max) override {
    if (Status s = gate(); !s) return s;
    return inner.insert_binding_across(b, same_identifier, max);
  }
  Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) override {
    if (Status s = gate(); !s) return s;
    return inner.bindings_of_account(account_id);
  }
  Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                               const BindingCursor& after,
                                                               std::size_t limit) override {
    if (Status s = gate(); !s) return s;
    return inner.bindings_with_key_version(key_version, after, limit);
  }
  Result<bool> reindex_binding(std::string_view account_id, Channel channel, const BlindIndex& from,
                               const BlindIndex& to,
                               std::span<const std::uint8_t> sealed_contact) override {
    if (Status s = gate(); !s) return s;
    return inner.reindex_binding(account_id, channel, from, to, sealed_contact);
  }
  Result<KeyVersionUsage> key_version_usage(std::uint32_t key_version, Timestamp now) override {
    if (Status s = gate(); !s) return s;
    return inner.key_version_usage(key_version, now);
  }

 private:
  Status gate() {
    ++operations;
    if (down) return {ErrorCode::kUnavailable, "store is down (test double)"};
    return Status::ok();
  }
};

}  // namespace veribind::testing
