// A Store that records the name of every operation called on it, in order, then forwards it.
#pragma once

#include <string>
#include <vector>

#include "veribind/store.hpp"

namespace veribind::testing {

class CountingStore final : public Store {
 public:
  MemoryStore inner;
  std::vector<std::string> calls;

  Status create_challenge(const ChallengeRecord& record) override {
    calls.emplace_back("create_challenge");
    return inner.create_challenge(record);
  }
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now) override {
    calls.emplace_back("charge_attempt");
    return inner.charge_attempt(id, now);
  }
  Result<bool> consume_challenge(const ChallengeId& id) override {
    calls.emplace_back("consume_challenge");
    return inner.consume_challenge(id);
  }
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override {
    calls.emplace_back("find_challenge");
    return inner.find_challenge(id);
  }
  Result<bool> reissue_challenge(const ChallengeId& id, const std::array<std::uint8_t, 16>& tag,
                                 Timestamp expires_at, Timestamp now) override {
    calls.emplace_back("reissue_challenge");
    return inner.reissue_challenge(id, tag, expires_at, now);
  }
  Result<CounterState> add_to_counter(const CounterKey& key, std::uint32_t delta,
                                      Timestamp window_end, Timestamp now) override {
    calls.emplace_back("add_to_counter");
    return inner.add_to_counter(key, delta, window_end, now);
  }
  Status reset_counter(const CounterKey& key) override {
    calls.emplace_back("reset_counter");
    return inner.reset_counter(key);
  }
  Result<BindOutcome> insert_binding(const BindingRecord& b, std::uint32_t max) override {
    calls.emplace_back("insert_binding");
    return inner.insert_binding(b, max);
  }
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override {
    calls.emplace_back("find_accounts");
    return inner.find_accounts(index);
  }
  Result<std::size_t> delete_bindings(std::string_view account_id) override {
    calls.emplace_back("delete_bindings");
    return inner.delete_bindings(account_id);
  }
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch) override {
    calls.emplace_back("purge_expired");
    return inner.purge_expired(now, batch);
  }
  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry,
                                          const AuditHead& head) override {
    calls.emplace_back("append_audit");
    return inner.append_audit(entry, head);
  }
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override {
    calls.emplace_back("scan_audit");
    return inner.scan_audit(from, limit);
  }
  Result<std::optional<AuditHead>> audit_head() override {
    calls.emplace_back("audit_head");
    return inner.audit_head();
  }
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override {
    calls.emplace_back("retention_stats");
    return inner.retention_stats(now);
  }
  Result<BindOutcome> insert_binding_across(const BindingRecord& b,
                                            std::span<const BlindIndex> same_identifier,
                                            std::uint32_t max) override {
    calls.emplace_back("insert_binding_across");
    return inner.insert_binding_across(b, same_identifier, max);
  }
  Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) override {
    calls.emplace_back("bindings_of_account");
    return inner.bindings_of_account(account_id);
  }
  Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                               const BindingCursor& after,
                                                               std::size_t limit) override {
    calls.emplace_back("bindings_with_key_version");
    return inner.bindings_with_key_version(key_version, after, limit);
  }
  Result<bool> reindex_binding(std::string_view account_id, Channel channel, const BlindIndex& from,
                               const BlindIndex& to,
                               std::span<const std::uint8_t> sealed_contact) override {
    calls.emplace_back("reindex_binding");
    return inner.reindex_binding(account_id, channel, from, to, sealed_contact);
  }
  Result<KeyVersionUsage> key_version_usage(std::uint32_t key_version, Timestamp now) override {
    calls.emplace_back("key_version_usage");
    return inner.key_version_usage(key_version, now);
  }
};

}  // namespace veribind::testing
