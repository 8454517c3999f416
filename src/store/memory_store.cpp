// MemoryStore. Challenges live in 64 shards chosen by the id's last byte; each shard keeps its
// records in fixed-size chunks (no reallocation, no per-record node) and finds them through an
// open-addressing table of 32-bit record numbers (linear probing, load <= 1/2, backward-shift
// deletion, so no tombstones). A deleted record's place goes on a free list and is reused by the
// next insert: deleting touches nothing but the record's own slot run, which keeps consume() on
// the hot path cheap. About 100 bytes per live challenge: 88 for the record, 8-16 for its slot,
// and chunk slack. Record chunks are kept at the peak count and reused, never returned.
#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "veribind/store.hpp"

namespace veribind {

namespace {

static_assert(sizeof(ChallengeRecord) == 88, "ChallengeRecord grew: revisit the memory budget");

constexpr std::size_t kShards = 64;
constexpr std::size_t kChunkRecords = 1024;
constexpr std::uint32_t kEmptySlot = 0xffffffffu;

// Ids come from a CSPRNG, so their leading bytes are already uniform; the shard uses the last.
std::uint64_t slot_hash(const ChallengeId& id) {
  std::uint64_t h;
  std::memcpy(&h, id.bytes.data(), sizeof h);
  return h;
}

// Two 8-byte compares; std::array's == is a call to memcmp.
bool same_id(const ChallengeId& a, const ChallengeId& b) {
  std::uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.bytes.data(), 8);
  std::memcpy(&a1, a.bytes.data() + 8, 8);
  std::memcpy(&b0, b.bytes.data(), 8);
  std::memcpy(&b1, b.bytes.data() + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// Marks a record place that is on the free list (no live record has this expiry).
constexpr Timestamp kFreePlace = Timestamp::min();

class ChallengeShard {
 public:
  std::mutex mutex;

  ChallengeRecord* find(const ChallengeId& id) {
    const std::size_t slot = find_slot(id);
    return slot == kNoSlot ? nullptr : &record(slots_[slot]);
  }

  bool insert(const ChallengeRecord& r) {
    if (find_slot(r.id) != kNoSlot) return false;
    if (2 * (size() + 1) > slots_.size()) grow();
    std::uint32_t n;
    if (!free_.empty()) {
      n = free_.back();
      free_.pop_back();
    } else {
      if (used_ == chunks_.size() * kChunkRecords) {
        chunks_.push_back(std::make_unique<ChallengeRecord[]>(kChunkRecords));
      }
      n = static_cast<std::uint32_t>(used_++);
    }
    record(n) = r;
    place(n);
    return true;
  }

  bool erase(const ChallengeId& id) {
    const std::size_t slot = find_slot(id);
    if (slot == kNoSlot) return false;
    const std::uint32_t n = slots_[slot];
    remove_slot(slot);
    record(n).expires_at = kFreePlace;
    free_.push_back(n);
    return true;
  }

  // Removes up to `limit` records with expires_at <= now; returns how many.
  std::size_t purge(Timestamp now, std::size_t limit) {
    std::size_t removed = 0;
    for (std::size_t n = 0; n < used_ && removed < limit; ++n) {
      const ChallengeRecord& r = record(n);
      if (r.expires_at != kFreePlace && r.expires_at <= now) {
        erase(ChallengeId(r.id));
        ++removed;
      }
    }
    return removed;
  }

  [[nodiscard]] std::size_t size() const { return used_ - free_.size(); }

  // Adds this shard's live records to the retention figures.
  void tally(Timestamp now, RowKindStats& stats) {
    for (std::size_t n = 0; n < used_; ++n) {
      const Timestamp expiry = record(n).expires_at;
      if (expiry == kFreePlace) continue;
      ++stats.rows;
      if (expiry <= now) ++stats.expired;
      if (!stats.earliest_expiry || expiry < *stats.earliest_expiry) stats.earliest_expiry = expiry;
    }
  }

  // Live records (not expired at `now`) whose index has key version `key_version`.
  std::size_t count_key_version(std::uint32_t key_version, Timestamp now) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < used_; ++i) {
      const ChallengeRecord& r = record(i);
      if (r.expires_at != kFreePlace && r.expires_at > now && r.index.key_version == key_version) {
        ++n;
      }
    }
    return n;
  }

 private:
  static constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);

  ChallengeRecord& record(std::size_t n) { return chunks_[n / kChunkRecords][n % kChunkRecords]; }
  [[nodiscard]] std::size_t mask() const { return slots_.size() - 1; }

  std::size_t find_slot(const ChallengeId& id) {
    if (slots_.empty()) return kNoSlot;
    for (std::size_t s = slot_hash(id) & mask();; s = (s + 1) & mask()) {
      if (slots_[s] == kEmptySlot) return kNoSlot;
      if (same_id(record(slots_[s]).id, id)) return s;
    }
  }

  void place(std::uint32_t n) {
    std::size_t s = slot_hash(record(n).id) & mask();
    while (slots_[s] != kEmptySlot) s = (s + 1) & mask();
    slots_[s] = n;
  }

  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  void remove_slot(std::size_t hole) {
    for (std::size_t s = (hole + 1) & mask(); slots_[s] != kEmptySlot; s = (s + 1) & mask()) {
      const std::size_t home = slot_hash(record(slots_[s]).id) & mask();
      // Move s back into the hole unless its home lies cyclically in (hole, s].
      const bool home_after_hole = ((s - home) & mask()) < ((s - hole) & mask());
      if (!home_after_hole) {
        slots_[hole] = slots_[s];
        hole = s;
      }
    }
    slots_[hole] = kEmptySlot;
  }

  void grow() {
    slots_.assign(std::max<std::size_t>(16, slots_.size() * 2), kEmptySlot);
    for (std::size_t n = 0; n < used_; ++n) {
      if (record(n).expires_at != kFreePlace) place(static_cast<std::uint32_t>(n));
    }
  }

  std::vector<std::unique_ptr<ChallengeRecord[]>> chunks_;
  std::vector<std::uint32_t> slots_;
  std::vector<std::uint32_t> free_;  // record places to reuse
  std::size_t used_ = 0;             // record places ever handed out (live + free)
};

ChallengeShard& shard_for(std::array<ChallengeShard, kShards>& shards, const ChallengeId& id) {
  return shards[id.bytes[ChallengeId::kBytes - 1] % kShards];
}

struct Counter {
  Timestamp window_end;
  std::uint32_t count;
};

// Counters in 64 shards, each an open-addressing table whose slots hold the key and the count
// inline (linear probing, load <= 1/2, backward-shift deletion): check() reads or bumps one on
// every call, and a lookup is then one probe run in one array, usually one cache line, where a
// node-based map costs a bucket load and a node load. Counter keys are keyed-PRF outputs, so their
// leading bytes are uniform already: the home slot uses bytes 0-7, the shard byte 8.
class CounterTable {
 public:
  struct Slot {
    CounterKey key{};
    Counter counter{};
    bool used = false;
  };

  Counter* find(const CounterKey& key) {
    const std::size_t s = find_slot(key);
    return s == kNoSlot ? nullptr : &slots_[s].counter;
  }

  // The counter of `key`, made (zeroed) if absent.
  Counter& find_or_add(const CounterKey& key) {
    if (Counter* c = find(key)) return *c;
    if (2 * (size_ + 1) > slots_.size()) grow();
    std::size_t s = home(key);
    while (slots_[s].used) s = (s + 1) & mask();
    slots_[s] = Slot{key, Counter{}, true};
    ++size_;
    return slots_[s].counter;
  }

  bool erase(const CounterKey& key) {
    const std::size_t s = find_slot(key);
    if (s == kNoSlot) return false;
    remove_slot(s);
    return true;
  }

  template <typename F>
  void for_each(F f) const {
    for (const Slot& slot : slots_) {
      if (slot.used) f(slot.key, slot.counter);
    }
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t bytes() const { return slots_.size() * sizeof(Slot); }

 private:
  static constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);

  [[nodiscard]] std::size_t mask() const { return slots_.size() - 1; }
  [[nodiscard]] std::size_t home(const CounterKey& key) const {
    std::uint64_t h;
    std::memcpy(&h, key.data(), sizeof h);
    return static_cast<std::size_t>(h) & mask();
  }

  std::size_t find_slot(const CounterKey& key) const {
    if (slots_.empty()) return kNoSlot;
    for (std::size_t s = home(key);; s = (s + 1) & mask()) {
      if (!slots_[s].used) return kNoSlot;
      if (slots_[s].key == key) return s;
    }
  }

  void remove_slot(std::size_t hole) {
    slots_[hole].used = false;
    for (std::size_t s = (hole + 1) & mask(); slots_[s].used; s = (s + 1) & mask()) {
      const std::size_t h = home(slots_[s].key);
      // Move s back into the hole unless its home lies cyclically in (hole, s].
      if (((s - h) & mask()) >= ((s - hole) & mask())) {
        slots_[hole] = slots_[s];
        slots_[s].used = false;
        hole = s;
      }
    }
    --size_;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.used) find_or_add(slot.key) = slot.counter;
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

struct CounterShard {
  std::mutex mutex;
  CounterTable counters;
};

using IndexKey = std::pair<std::array<std::uint8_t, BlindIndex::kBytes>, std::uint32_t>;

struct StoredBinding {
  std::string account_id;
  Channel channel;
  Timestamp created_at;
  std::vector<std::uint8_t> sealed_contact;
};

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

struct MemoryStore::Impl {
  std::array<ChallengeShard, kShards> shards;

  std::array<CounterShard, kShards> counter_shards;
  CounterShard& counter_shard(const CounterKey& key) { return counter_shards[key[8] % kShards]; }

  std::mutex bindings_mutex;
  std::map<IndexKey, std::vector<StoredBinding>> bindings_by_index;
  std::map<std::string, std::vector<std::pair<Channel, IndexKey>>, std::less<>> bindings_by_account;

  std::mutex audit_mutex;
  std::vector<AuditRecord> audit;  // in sequence order: audit[i].sequence == i + 1
  std::optional<AuditHead> audit_head;
};

MemoryStore::MemoryStore() : impl_(std::make_unique<Impl>()) {}
MemoryStore::~MemoryStore() = default;

Status MemoryStore::create_challenge(const ChallengeRecord& record) {
  if (record.expires_at == kFreePlace) {
    return {ErrorCode::kStoreError, "a challenge must have a real expiry"};
  }
  ChallengeShard& shard = shard_for(impl_->shards, record.id);
  std::lock_guard lock(shard.mutex);
  if (!shard.insert(record)) return {ErrorCode::kStoreError, "a challenge with that id exists"};
  return Status::ok();
}

Result<ChargeResult> MemoryStore::charge_attempt(const ChallengeId& id, Timestamp now) {
  ChallengeShard& shard = shard_for(impl_->shards, id);
  std::lock_guard lock(shard.mutex);
  ChargeResult result;
  ChallengeRecord* r = shard.find(id);
  if (r == nullptr) {
    result.outcome = ChargeOutcome::kNotFound;
  } else if (now >= r->expires_at) {
    result.outcome = ChargeOutcome::kExpired;
  } else if (r->attempts >= r->max_attempts) {
    result.outcome = ChargeOutcome::kExhausted;
  } else {
    ++r->attempts;
    result.outcome = ChargeOutcome::kCharged;
    result.record = *r;
  }
  return result;
}

Result<bool> MemoryStore::consume_challenge(const ChallengeId& id) {
  ChallengeShard& shard = shard_for(impl_->shards, id);
  std::lock_guard lock(shard.mutex);
  return shard.erase(id);
}

Result<std::optional<ChallengeRecord>> MemoryStore::find_challenge(const ChallengeId& id) {
  ChallengeShard& shard = shard_for(impl_->shards, id);
  std::lock_guard lock(shard.mutex);
  const ChallengeRecord* r = shard.find(id);
  return r == nullptr ? std::optional<ChallengeRecord>() : std::optional<ChallengeRecord>(*r);
}

Result<bool> MemoryStore::reissue_challenge(const ChallengeId& id,
                                            const std::array<std::uint8_t, 16>& code_tag,
                                            Timestamp expires_at, Timestamp now) {
  ChallengeShard& shard = shard_for(impl_->shards, id);
  std::lock_guard lock(shard.mutex);
  ChallengeRecord* r = shard.find(id);
  if (r == nullptr || now >= r->expires_at) return false;
  r->code_tag = code_tag;
  r->expires_at = expires_at;
  return true;
}

Result<CounterState> MemoryStore::add_to_counter(const CounterKey& key, std::uint32_t delta,
                                                 Timestamp window_end, Timestamp now) {
  CounterShard& shard = impl_->counter_shard(key);
  std::lock_guard lock(shard.mutex);
  if (delta == 0) {
    const Counter* c = shard.counters.find(key);
    return c != nullptr && now < c->window_end ? CounterState{c->count, c->window_end}
                                               : CounterState{};
  }
  Counter& c = shard.counters.find_or_add(key);
  if (now >= c.window_end) c = Counter{window_end, 0};  // absent (zeroed) or ended: a new window
  c.count = delta > std::numeric_limits<std::uint32_t>::max() - c.count
                ? std::numeric_limits<std::uint32_t>::max()
                : c.count + delta;
  return CounterState{c.count, c.window_end};
}

Status MemoryStore::reset_counter(const CounterKey& key) {
  CounterShard& shard = impl_->counter_shard(key);
  std::lock_guard lock(shard.mutex);
  shard.counters.erase(key);
  return Status::ok();
}

Result<BindOutcome> MemoryStore::insert_binding(const BindingRecord& binding,
                                                std::uint32_t max_accounts) {
  return insert_binding_across(binding, {}, max_accounts);
}

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

Result<PurgeCounts> MemoryStore::purge_expired(Timestamp now, std::size_t batch) {
  PurgeCounts counts;
  for (ChallengeShard& shard : impl_->shards) {
    if (counts.challenges >= batch) break;
    std::lock_guard lock(shard.mutex);
    counts.challenges += shard.purge(now, batch - counts.challenges);
  }
  std::vector<CounterKey> ended;
  for (CounterShard& shard : impl_->counter_shards) {
    if (counts.counters >= batch) break;
    std::lock_guard lock(shard.mutex);
    ended.clear();
    shard.counters.for_each([&](const CounterKey& key, const Counter& c) {
      if (c.window_end <= now && counts.counters + ended.size() < batch) ended.push_back(key);
    });
    for (const CounterKey& key : ended) shard.counters.erase(key);
    counts.counters += ended.size();
  }
  return counts;
}

// Byte estimates (BytesMethod::kEstimate) of the heap each row takes, from the sizes of what is
// allocated for it on a 64-bit libstdc++: a challenge is its record plus its share of the slot
// table (load <= 1/2, so two 4-byte slots); a std::map entry is its value plus the tree node's
// header (colour and three pointers, 32 bytes) and a typical malloc header (16 bytes); a string
// longer than its small-string buffer (15 characters) adds a heap block of its capacity + 1.
constexpr std::uint64_t kMapNodeOverhead = 32 + 16;
constexpr std::uint64_t kChallengeBytes = sizeof(ChallengeRecord) + 2 * sizeof(std::uint32_t);

std::uint64_t heap_bytes(const std::string& s) {
  return s.capacity() > 15 ? static_cast<std::uint64_t>(s.capacity()) + 1 : 0;
}

Result<std::vector<RowKindStats>> MemoryStore::retention_stats(Timestamp now) {
  RowKindStats challenges;
  challenges.kind = "challenges";
  for (ChallengeShard& shard : impl_->shards) {
    std::lock_guard lock(shard.mutex);
    shard.tally(now, challenges);
  }
  challenges.bytes = challenges.rows * kChallengeBytes;

  RowKindStats counters;
  counters.kind = "counters";
  for (CounterShard& shard : impl_->counter_shards) {
    std::lock_guard lock(shard.mutex);
    shard.counters.for_each([&](const CounterKey&, const Counter& counter) {
      ++counters.rows;
      if (counter.window_end <= now) ++counters.expired;
      if (!counters.earliest_expiry || counter.window_end < *counters.earliest_expiry) {
        counters.earliest_expiry = counter.window_end;
      }
    });
    counters.bytes += shard.counters.bytes();  // the slot arrays, empty slots included
  }

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
  return std::vector<RowKindStats>{std::move(challenges), std::move(counters), std::move(bindings),
                                   std::move(audit)};
}

std::size_t MemoryStore::challenge_count() const {
  std::size_t n = 0;
  for (ChallengeShard& shard : impl_->shards) {
    std::lock_guard lock(shard.mutex);
    n += shard.size();
  }
  return n;
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

// --- sealed contacts and key rotation ----------------------------------------------------------

Result<BindOutcome> MemoryStore::insert_binding_across(const BindingRecord& binding,
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

Result<KeyVersionUsage> MemoryStore::key_version_usage(std::uint32_t key_version, Timestamp now) {
  KeyVersionUsage usage;
  {
    std::lock_guard lock(impl_->bindings_mutex);
    for (const auto& [key, holders] : impl_->bindings_by_index) {
      if (key.second == key_version) usage.bindings += holders.size();
    }
  }
  for (ChallengeShard& shard : impl_->shards) {
    std::lock_guard lock(shard.mutex);
    usage.challenges += shard.count_key_version(key_version, now);
  }
  return usage;
}

}  // namespace veribind
