// MemoryStore: bindings (AccountStore), the audit log (AuditStore) and the retention report.
#include <algorithm>
#include <tuple>

#include "internal/sodium.hpp"
#include "store/memory/memory_impl.hpp"

namespace veribind {

using memory::BindingKey;
using memory::StoredBinding;
using IndexKey = BindingKey;

namespace {

BindingRecord to_record(const IndexKey& key, const StoredBinding& b) {
  BindingRecord r;
  r.account_id = b.account_id;
  r.index.value = key.first;
  r.index.key_version = key.second;
  r.channel = b.channel;
  r.created_at = b.created_at;
  r.sealed_contact = b.sealed_contact;
  return r;
}

}  // namespace

Result<std::vector<std::string>> MemoryStore::find_accounts(const BlindIndex& index) {
  std::lock_guard lock(impl_->bindings_mutex);
  std::vector<std::string> accounts;
  auto it = impl_->bindings_by_index.find(IndexKey{index.value, index.key_version});
  if (it == impl_->bindings_by_index.end()) return accounts;
  std::vector<const StoredBinding*> sorted;
  for (const StoredBinding& b : it->second) sorted.push_back(&b);
  std::sort(sorted.begin(), sorted.end(), [](const StoredBinding* a, const StoredBinding* b) {
    return std::tie(a->created_at, a->account_id) < std::tie(b->created_at, b->account_id);
  });
  for (const StoredBinding* b : sorted) accounts.push_back(b->account_id);
  return accounts;
}

Result<std::size_t> MemoryStore::delete_bindings(std::string_view account_id) {
  std::lock_guard lock(impl_->bindings_mutex);
  auto it = impl_->bindings_by_account.find(account_id);
  if (it == impl_->bindings_by_account.end()) return std::size_t{0};
  const std::size_t removed = it->second.size();
  for (const auto& [channel, key] : it->second) {
    auto holders = impl_->bindings_by_index.find(key);
    if (holders == impl_->bindings_by_index.end()) continue;
    std::erase_if(holders->second,
                  [&](const StoredBinding& b) { return b.account_id == account_id; });
    if (holders->second.empty()) impl_->bindings_by_index.erase(holders);
  }
  impl_->bindings_by_account.erase(it);
  return removed;
}

// --- audit log ---

Result<AuditAppendOutcome> MemoryStore::append_audit(const AuditRecord& entry,
                                                     const AuditHead& head) {
  std::lock_guard lock(impl_->audit_mutex);
  const std::uint64_t count = impl_->audit_head ? impl_->audit_head->count : 0;
  if (entry.sequence == 0 || count != entry.sequence - 1) return AuditAppendOutcome::kConflict;
  if (impl_->audit.size() != count) {
    return Status(ErrorCode::kStoreError,
                  "memory store: the audit head disagrees with its entries");
  }
  impl_->audit.push_back(entry);
  impl_->audit_head = head;
  return AuditAppendOutcome::kAppended;
}

Result<std::vector<AuditRecord>> MemoryStore::scan_audit(std::uint64_t from, std::size_t limit) {
  std::lock_guard lock(impl_->audit_mutex);
  const std::vector<AuditRecord>& all = impl_->audit;
  auto first = std::lower_bound(
      all.begin(), all.end(), from,
      [](const AuditRecord& r, std::uint64_t sequence) { return r.sequence < sequence; });
  const auto available = static_cast<std::size_t>(all.end() - first);
  return std::vector<AuditRecord>(first,
                                  first + static_cast<std::ptrdiff_t>(std::min(limit, available)));
}

Result<std::optional<AuditHead>> MemoryStore::audit_head() {
  std::lock_guard lock(impl_->audit_mutex);
  return impl_->audit_head;
}

// A new store's log is bound from its first entry.
AuditBinding MemoryStore::Impl::new_audit_binding() {
  internal::ensure_sodium();
  AuditBinding binding;
  randombytes_buf(binding.store_id.data(), binding.store_id.size());
  return binding;
}

Result<AuditBinding> MemoryStore::audit_binding() { return impl_->audit_binding; }

// --- sealed contacts and key rotation ----------------------------------------------------------

Result<BindOutcome> MemoryStore::insert_binding(const BindingRecord& binding,
                                                std::span<const BlindIndex> same_identifier,
                                                std::uint32_t max_accounts) {
  std::lock_guard lock(impl_->bindings_mutex);
  auto& by_account = impl_->bindings_by_account;
  if (auto it = by_account.find(binding.account_id); it != by_account.end()) {
    for (const auto& [channel, key] : it->second) {
      if (channel == binding.channel) return BindOutcome::kAccountHasBinding;
    }
  }
  const IndexKey key{binding.index.value, binding.index.key_version};
  std::size_t holders = 0;
  auto count = [&](const IndexKey& k) {
    if (auto it = impl_->bindings_by_index.find(k); it != impl_->bindings_by_index.end()) {
      holders += it->second.size();
    }
  };
  count(key);
  for (const BlindIndex& alias : same_identifier) {
    const IndexKey k{alias.value, alias.key_version};
    if (k != key) count(k);
  }
  if (holders >= max_accounts) return BindOutcome::kIdentifierFull;
  impl_->bindings_by_index[key].push_back(
      {binding.account_id, binding.channel, binding.created_at, binding.sealed_contact});
  by_account[binding.account_id].emplace_back(binding.channel, key);
  return BindOutcome::kBound;
}

Result<std::vector<BindingRecord>> MemoryStore::bindings_of_account(std::string_view account_id) {
  std::lock_guard lock(impl_->bindings_mutex);
  std::vector<BindingRecord> out;
  auto it = impl_->bindings_by_account.find(account_id);
  if (it == impl_->bindings_by_account.end()) return out;
  for (const auto& [channel, key] : it->second) {
    auto holders = impl_->bindings_by_index.find(key);
    if (holders == impl_->bindings_by_index.end()) continue;
    for (const StoredBinding& b : holders->second) {
      if (b.account_id == account_id && b.channel == channel) out.push_back(to_record(key, b));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const BindingRecord& a, const BindingRecord& b) { return a.channel < b.channel; });
  return out;
}

Result<std::vector<BindingRecord>> MemoryStore::bindings_with_key_version(
    std::uint32_t key_version, const BindingCursor& after, std::size_t limit) {
  std::lock_guard lock(impl_->bindings_mutex);
  std::vector<BindingRecord> out;
  for (const auto& [key, holders] : impl_->bindings_by_index) {
    if (key.second != key_version) continue;
    for (const StoredBinding& b : holders) {
      if (std::tie(b.account_id, b.channel) > std::tie(after.account_id, after.channel)) {
        out.push_back(to_record(key, b));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const BindingRecord& a, const BindingRecord& b) {
    return std::tie(a.account_id, a.channel) < std::tie(b.account_id, b.channel);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<bool> MemoryStore::reindex_binding(std::string_view account_id, Channel channel,
                                          const BlindIndex& from, const BlindIndex& to,
                                          std::span<const std::uint8_t> sealed_contact) {
  std::lock_guard lock(impl_->bindings_mutex);
  auto account = impl_->bindings_by_account.find(account_id);
  if (account == impl_->bindings_by_account.end()) return false;
  const IndexKey from_key{from.value, from.key_version};
  const IndexKey to_key{to.value, to.key_version};
  for (auto& [bound_channel, key] : account->second) {
    if (bound_channel != channel || key != from_key) continue;
    auto holders = impl_->bindings_by_index.find(from_key);
    if (holders == impl_->bindings_by_index.end()) return false;
    auto held = std::find_if(holders->second.begin(), holders->second.end(),
                             [&](const StoredBinding& b) { return b.account_id == account_id; });
    if (held == holders->second.end()) return false;
    StoredBinding moved = std::move(*held);
    holders->second.erase(held);
    if (holders->second.empty()) impl_->bindings_by_index.erase(holders);
    moved.sealed_contact.assign(sealed_contact.begin(), sealed_contact.end());
    impl_->bindings_by_index[to_key].push_back(std::move(moved));
    key = to_key;
    return true;
  }
  return false;
}

Result<std::size_t> MemoryStore::count_bindings(std::uint32_t key_version) {
  std::lock_guard lock(impl_->bindings_mutex);
  std::size_t n = 0;
  for (const auto& [key, holders] : impl_->bindings_by_index) {
    if (key.second == key_version) n += holders.size();
  }
  return n;
}

// Byte estimates (BytesMethod::kEstimate) of the heap each row takes, from the sizes of what is
// allocated for it on a 64-bit libstdc++: a challenge is its record plus its share of the slot
// table (load 4/7..7/8 of 4-byte slots: about 6 bytes); counters and failure counts are the slot
// arrays themselves, empty slots included; a std::map entry is its value plus the tree node's
// header (colour and three pointers, 32 bytes) and a typical malloc header (16 bytes); a string
// longer than its small-string buffer (15 characters) adds a heap block of its capacity + 1.
constexpr std::uint64_t kMapNodeOverhead = 32 + 16;
constexpr std::uint64_t kChallengeBytes = sizeof(ChallengeRecord) + 6;

std::uint64_t heap_bytes(const std::string& s) {
  return s.capacity() > 15 ? static_cast<std::uint64_t>(s.capacity()) + 1 : 0;
}

template <typename Shards>
RowKindStats counter_stats(const char* kind, Shards& shards, Timestamp now) {
  RowKindStats stats;
  stats.kind = kind;
  for (auto& shard : shards) {
    std::lock_guard lock(shard.mutex);
    shard.table.for_each([&](const auto& slot) {
      ++stats.rows;
      if (slot.counter.window_end <= now) ++stats.expired;
      if (!stats.earliest_expiry || slot.counter.window_end < *stats.earliest_expiry) {
        stats.earliest_expiry = slot.counter.window_end;
      }
    });
    stats.bytes += shard.table.bytes();
  }
  return stats;
}

Result<std::vector<RowKindStats>> MemoryStore::retention_stats(Timestamp now) {
  RowKindStats challenges;
  challenges.kind = "challenges";
  for (memory::ChallengeShard& shard : impl_->challenges) {
    std::lock_guard lock(shard.mutex);
    shard.for_each_live([&](const ChallengeRecord& r) {
      ++challenges.rows;
      if (r.expires_at <= now) ++challenges.expired;
      if (!challenges.earliest_expiry || r.expires_at < *challenges.earliest_expiry) {
        challenges.earliest_expiry = r.expires_at;
      }
    });
  }
  challenges.bytes = challenges.rows * kChallengeBytes;
  RowKindStats counters = counter_stats("counters", impl_->counters, now);
  RowKindStats failures = counter_stats("failure_counts", impl_->failures, now);

  RowKindStats bindings;
  bindings.kind = "bindings";
  {
    std::lock_guard lock(impl_->bindings_mutex);
    for (const auto& [key, holders] : impl_->bindings_by_index) {
      bindings.bytes += sizeof(std::pair<const IndexKey, std::vector<StoredBinding>>) +
                        kMapNodeOverhead + holders.capacity() * sizeof(StoredBinding);
      for (const StoredBinding& b : holders) {
        ++bindings.rows;
        bindings.bytes += heap_bytes(b.account_id);
        if (!bindings.oldest_created || b.created_at < *bindings.oldest_created) {
          bindings.oldest_created = b.created_at;
        }
      }
    }
    for (const auto& [account, keys] : impl_->bindings_by_account) {
      bindings.bytes += sizeof(std::pair<const std::string, decltype(keys)>) + kMapNodeOverhead +
                        heap_bytes(account) + keys.capacity() * sizeof(keys.front());
    }
  }
  RowKindStats audit;
  audit.kind = "audit_log";
  {
    std::lock_guard lock(impl_->audit_mutex);
    audit.rows = impl_->audit.size();
    if (!impl_->audit.empty()) audit.oldest_created = impl_->audit.front().time;
    for (const AuditRecord& e : impl_->audit) {
      audit.bytes += sizeof(AuditRecord);
      for (const std::string* text :
           {&e.authority, &e.reference, &e.legal_basis, &e.requested_by}) {
        if (text->capacity() > 15) audit.bytes += text->capacity() + 1;  // beyond the SSO buffer
      }
    }
    if (impl_->audit_head) audit.bytes += sizeof(AuditHead);
  }
  return std::vector<RowKindStats>{std::move(challenges), std::move(counters), std::move(failures),
                                   std::move(bindings), std::move(audit)};
}

}  // namespace veribind
