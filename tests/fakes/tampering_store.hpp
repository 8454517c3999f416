// A MemoryStore whose audit log can be tampered with, as someone who can write a backend's
// storage would: entries edited, deleted or swapped, the tail dropped, the head replaced. The
// MemoryStore underneath never changes an entry (it has no way to); this double rewrites what
// scan_audit and audit_head return, ordering entries by sequence as every backend does.
#pragma once

#include <algorithm>
#include <functional>
#include <limits>

#include "veribind/store.hpp"

namespace veribind::testing {

class TamperingStore final : public Store {
 public:
  MemoryStore inner;
  // Applied to the whole log before each scan, and to the head before each read.
  std::function<void(std::vector<AuditRecord>&)> tamper_entries;
  std::function<void(std::optional<AuditHead>&)> tamper_head;

  Status create_challenge(const ChallengeRecord& r) override { return inner.create_challenge(r); }
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now) override {
    return inner.charge_attempt(id, now);
  }
  Result<bool> consume_challenge(const ChallengeId& id) override {
    return inner.consume_challenge(id);
  }
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override {
    return inner.find_challenge(id);
  }
  Result<bool> reissue_challenge(const ChallengeId& id, const std::array<std::uint8_t, 16>& tag,
                                 Timestamp expires_at, Timestamp now) override {
    return inner.reissue_challenge(id, tag, expires_at, now);
  }
  Result<CounterState> add_to_counter(const CounterKey& key, std::uint32_t delta,
                                      Timestamp window_end, Timestamp now) override {
    return inner.add_to_counter(key, delta, window_end, now);
  }
  Status reset_counter(const CounterKey& key) override { return inner.reset_counter(key); }
  Result<BindOutcome> insert_binding(const BindingRecord& b, std::uint32_t max) override {
    return inner.insert_binding(b, max);
  }
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override {
    return inner.find_accounts(index);
  }
  Result<std::size_t> delete_bindings(std::string_view account_id) override {
    return inner.delete_bindings(account_id);
  }
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch) override {
    return inner.purge_expired(now, batch);
  }
  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry,
                                          const AuditHead& head) override {
    return inner.append_audit(entry, head);
  }
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override {
    auto all = inner.scan_audit(0, std::numeric_limits<std::size_t>::max());
    if (!all || !tamper_entries) {
      return all ? inner.scan_audit(from, limit) : all;
    }
    std::vector<AuditRecord> entries = std::move(all).value();
    tamper_entries(entries);
    std::stable_sort(
        entries.begin(), entries.end(),
        [](const AuditRecord& a, const AuditRecord& b) { return a.sequence < b.sequence; });
    std::vector<AuditRecord> out;
    for (AuditRecord& e : entries) {
      if (e.sequence >= from && out.size() < limit) out.push_back(std::move(e));
    }
    return out;
  }
  Result<std::optional<AuditHead>> audit_head() override {
    auto head = inner.audit_head();
    if (head && tamper_head) tamper_head(*head);
    return head;
  }
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override {
    return inner.retention_stats(now);
  }
  Result<BindOutcome> insert_binding_across(const BindingRecord& b,
                                            std::span<const BlindIndex> same_identifier,
                                            std::uint32_t max) override {
    return inner.insert_binding_across(b, same_identifier, max);
  }
  Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) override {
    return inner.bindings_of_account(account_id);
  }
  Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                               const BindingCursor& after,
                                                               std::size_t limit) override {
    return inner.bindings_with_key_version(key_version, after, limit);
  }
  Result<bool> reindex_binding(std::string_view account_id, Channel channel, const BlindIndex& from,
                               const BlindIndex& to,
                               std::span<const std::uint8_t> sealed_contact) override {
    return inner.reindex_binding(account_id, channel, from, to, sealed_contact);
  }
  Result<KeyVersionUsage> key_version_usage(std::uint32_t key_version, Timestamp now) override {
    return inner.key_version_usage(key_version, now);
  }
};

}  // namespace veribind::testing
