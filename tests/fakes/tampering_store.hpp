// A MemoryStore whose audit log can be tampered with, as someone who can write a backend's
// storage would: entries edited, deleted or swapped, the tail dropped, the head replaced, the
// store's binding swapped (as a restored copy of another store's file would have it). The
// MemoryStore underneath never changes an entry (it has no way to); this double rewrites what
// scan_audit and audit_head return, ordering entries by sequence as every backend does.
#pragma once

#include <algorithm>
#include <functional>
#include <limits>

#include "fakes/forwarding_store.hpp"

namespace veribind::testing {

class TamperingStore final : public ForwardingStore {
 public:
  // Applied to the whole log before each scan, and to the head before each read.
  std::function<void(std::vector<AuditRecord>&)> tamper_entries;
  std::function<void(std::optional<AuditHead>&)> tamper_head;
  std::function<void(AuditBinding&)> tamper_binding;

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
  Result<AuditBinding> audit_binding() override {
    auto binding = inner.audit_binding();
    if (binding && tamper_binding) tamper_binding(*binding);
    return binding;
  }
};

}  // namespace veribind::testing
