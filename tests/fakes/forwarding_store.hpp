// A store double that implements every store interface by forwarding to a MemoryStore, after a
// hook that sees the operation's name (and, for the operations that take counter steps, how many)
// and may refuse it. The doubles in this folder derive from it and override what they change.
#pragma once

#include <string>
#include <string_view>

#include "veribind/store.hpp"

namespace veribind::testing {

class ForwardingStore : public VerificationStore,
                        public AccountStore,
                        public AuditStore,
                        public RetentionReport {
 public:
  MemoryStore inner;

  Status create_challenge(const ChallengeRecord& record, std::span<CounterUpdate> counters,
                          Timestamp now) override {
    if (Status s = before("create_challenge", counters.size()); !s) return s;
    return inner.create_challenge(record, counters, now);
  }
  Result<bool> reissue_challenge(const ChallengeId& id, const std::array<std::uint8_t, 16>& tag,
                                 Timestamp expires_at, std::span<CounterUpdate> counters,
                                 Timestamp now) override {
    if (Status s = before("reissue_challenge", counters.size()); !s) return s;
    return inner.reissue_challenge(id, tag, expires_at, counters, now);
  }
  Status add_to_counters(std::span<CounterUpdate> counters, Timestamp now) override {
    if (Status s = before("add_to_counters", counters.size()); !s) return s;
    return inner.add_to_counters(counters, now);
  }
  Result<CounterState> read_counters(const BlindIndex& identifier, std::span<const CounterKey> keys,
                                     std::span<CounterState> out, Timestamp now) override {
    if (Status s = before("read_counters", keys.size()); !s) return s;
    return inner.read_counters(identifier, keys, out, now);
  }
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now,
                                      Timestamp failure_window_end) override {
    if (Status s = before("charge_attempt"); !s) return s;
    return inner.charge_attempt(id, now, failure_window_end);
  }
  Result<bool> consume_challenge(const ChallengeId& id) override {
    if (Status s = before("consume_challenge"); !s) return s;
    return inner.consume_challenge(id);
  }
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override {
    if (Status s = before("find_challenge"); !s) return s;
    return inner.find_challenge(id);
  }
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch) override {
    if (Status s = before("purge_expired"); !s) return s;
    return inner.purge_expired(now, batch);
  }
  Result<std::size_t> live_challenges(std::uint32_t key_version, Timestamp now) override {
    if (Status s = before("live_challenges"); !s) return s;
    return inner.live_challenges(key_version, now);
  }

  Result<BindOutcome> insert_binding(const BindingRecord& b, std::span<const BlindIndex> same,
                                     std::uint32_t max) override {
    if (Status s = before("insert_binding"); !s) return s;
    return inner.insert_binding(b, same, max);
  }
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override {
    if (Status s = before("find_accounts"); !s) return s;
    return inner.find_accounts(index);
  }
  Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) override {
    if (Status s = before("bindings_of_account"); !s) return s;
    return inner.bindings_of_account(account_id);
  }
  Result<std::size_t> delete_bindings(std::string_view account_id) override {
    if (Status s = before("delete_bindings"); !s) return s;
    return inner.delete_bindings(account_id);
  }
  Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                               const BindingCursor& after,
                                                               std::size_t limit) override {
    if (Status s = before("bindings_with_key_version"); !s) return s;
    return inner.bindings_with_key_version(key_version, after, limit);
  }
  Result<bool> reindex_binding(std::string_view account_id, Channel channel, const BlindIndex& from,
                               const BlindIndex& to,
                               std::span<const std::uint8_t> sealed_contact) override {
    if (Status s = before("reindex_binding"); !s) return s;
    return inner.reindex_binding(account_id, channel, from, to, sealed_contact);
  }
  Result<std::size_t> count_bindings(std::uint32_t key_version) override {
    if (Status s = before("count_bindings"); !s) return s;
    return inner.count_bindings(key_version);
  }

  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry,
                                          const AuditHead& head) override {
    if (Status s = before("append_audit"); !s) return s;
    return inner.append_audit(entry, head);
  }
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override {
    if (Status s = before("scan_audit"); !s) return s;
    return inner.scan_audit(from, limit);
  }
  Result<std::optional<AuditHead>> audit_head() override {
    if (Status s = before("audit_head"); !s) return s;
    return inner.audit_head();
  }
  Result<AuditBinding> audit_binding() override {
    if (Status s = before("audit_binding"); !s) return s;
    return inner.audit_binding();
  }

  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override {
    if (Status s = before("retention_stats"); !s) return s;
    return inner.retention_stats(now);
  }

 protected:
  // Called before every operation; a failed Status is returned instead of forwarding.
  // `counter_steps` is the number of counter steps (or keys) the operation was given.
  virtual Status before(std::string_view operation, std::size_t counter_steps = 0) {
    (void)operation;
    (void)counter_steps;
    return Status::ok();
  }
};

}  // namespace veribind::testing
