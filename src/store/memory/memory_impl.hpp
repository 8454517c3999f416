// MemoryStore's state, shared by its two source files (verification state in
// memory_verification.cpp, bindings, the audit log and the retention report in
// memory_accounts.cpp).
//
// Challenges live in 64 shards chosen by the id's last byte; each shard keeps its records in
// fixed-size chunks (no reallocation, no per-record node) and finds them through a ProbeTable of
// 32-bit record numbers. A removed record's place goes on a free list and is reused by the next
// insert. Per live challenge: 88 bytes of record, 4.6-7 bytes of slot (load 4/7..7/8), and at
// most a chunk's slack per shard. Counters and failure counts live in 64 shards each, in
// ProbeTables whose slots hold the key and the count inline.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/memory/probe_table.hpp"
#include "veribind/memory_store.hpp"

namespace veribind {
namespace memory {

constexpr std::size_t kShards = 64;
constexpr std::size_t kChunkRecords = 256;

// Ids and keys come from a CSPRNG or a PRF, so any 8 of their bytes are already uniform.
inline std::uint64_t first_word(const std::uint8_t* bytes) {
  std::uint64_t h;
  std::memcpy(&h, bytes, sizeof h);
  return h;
}

// Two 8-byte compares; std::array's == is a call to memcmp.
inline bool same_id(const ChallengeId& a, const ChallengeId& b) {
  std::uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.bytes.data(), 8);
  std::memcpy(&a1, a.bytes.data() + 8, 8);
  std::memcpy(&b0, b.bytes.data(), 8);
  std::memcpy(&b1, b.bytes.data() + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// Marks a record place that is on the free list (no live record has this expiry).
inline constexpr Timestamp kFreePlace = Timestamp::min();
inline constexpr std::uint32_t kEmptySlot = 0xffffffffu;

using Chunks = std::vector<std::unique_ptr<ChallengeRecord[]>>;

struct RecordSlotOps {
  const Chunks* chunks = nullptr;
  [[nodiscard]] static bool empty(std::uint32_t slot) { return slot == kEmptySlot; }
  [[nodiscard]] static std::uint32_t empty_slot() { return kEmptySlot; }
  [[nodiscard]] std::uint64_t hash(std::uint32_t slot) const {
    return first_word((*chunks)[slot / kChunkRecords][slot % kChunkRecords].id.bytes.data());
  }
};

// Each shard on cache lines of its own: two threads locking neighbouring shards never share a line.
class alignas(64) ChallengeShard {
 public:
  std::mutex mutex;

  ChallengeShard() : table_(RecordSlotOps{&chunks_}) {}
  ChallengeShard(const ChallengeShard&) = delete;
  ChallengeShard& operator=(const ChallengeShard&) = delete;

  ChallengeRecord* find(const ChallengeId& id) {
    const std::size_t s = find_slot(id);
    return s == Table::kNone ? nullptr : &record(table_.at(s));
  }
  [[nodiscard]] bool contains(const ChallengeId& id) const { return find_slot(id) != Table::kNone; }
  void insert(const ChallengeRecord& r);  // r.id must not be present
  bool erase(const ChallengeId& id);
  // Removes up to `limit` records with expires_at <= now; returns how many.
  std::size_t purge(Timestamp now, std::size_t limit);
  [[nodiscard]] std::size_t size() const { return used_ - free_count_; }
  template <typename F>
  void for_each_live(F f) const {
    for (std::size_t n = 0; n < used_; ++n) {
      const ChallengeRecord& r = record(n);
      if (r.expires_at != kFreePlace) f(r);
    }
  }

 private:
  using Table = internal::ProbeTable<std::uint32_t, RecordSlotOps>;
  ChallengeRecord& record(std::size_t n) { return chunks_[n / kChunkRecords][n % kChunkRecords]; }
  [[nodiscard]] const ChallengeRecord& record(std::size_t n) const {
    return chunks_[n / kChunkRecords][n % kChunkRecords];
  }
  [[nodiscard]] std::size_t find_slot(const ChallengeId& id) const {
    return table_.find(first_word(id.bytes.data()),
                       [&](std::uint32_t n) { return same_id(record(n).id, id); });
  }

  Chunks chunks_;
  Table table_;
  // Record places to reuse, as a list threaded through the free records themselves (each holds
  // the next one's number in its code tag): freeing and reusing a place never allocates.
  std::uint32_t free_head_ = kEmptySlot;
  std::size_t free_count_ = 0;
  std::size_t used_ = 0;  // record places ever handed out (live + free)
};

struct Counter {
  Timestamp window_end;
  std::uint32_t count = 0;  // 0 only in an empty slot: a stored counter is at least 1
};

// A counter slot keyed by `Key` (a CounterKey, or a blind index with its key version).
template <typename Key>
struct CounterSlot {
  Key key{};
  Counter counter{};
};

template <typename Key>
struct CounterSlotOps {
  [[nodiscard]] static bool empty(const CounterSlot<Key>& s) { return s.counter.count == 0; }
  [[nodiscard]] static CounterSlot<Key> empty_slot() { return {}; }
  [[nodiscard]] static std::uint64_t hash(const CounterSlot<Key>& s) {
    return first_word(&s.key[0]);
  }
};

struct IndexKey : std::array<std::uint8_t, BlindIndex::kBytes + 4> {};  // value || version (LE)
inline IndexKey index_key(const BlindIndex& index) {
  IndexKey k;
  std::memcpy(k.data(), index.value.data(), BlindIndex::kBytes);
  std::memcpy(k.data() + BlindIndex::kBytes, &index.key_version, 4);
  return k;
}

template <typename Key>
struct alignas(64) CounterShard {
  std::mutex mutex;
  internal::ProbeTable<CounterSlot<Key>, CounterSlotOps<Key>> table;

  [[nodiscard]] std::size_t find(const Key& key) const {
    return table.find(first_word(&key[0]), [&](const CounterSlot<Key>& s) { return s.key == key; });
  }
  // The counter as of `now`: {0, {}} if absent or ended.
  [[nodiscard]] CounterState read(const Key& key, Timestamp now) const {
    const std::size_t s = find(key);
    if (s == decltype(table)::kNone) return {};
    const Counter& c = table.at(s).counter;
    return now < c.window_end ? CounterState{c.count, c.window_end} : CounterState{};
  }
  // The store's counter step (see CounterUpdate).
  CounterState add(const Key& key, std::uint32_t delta, Timestamp window_end, Timestamp now);
  void erase(const Key& key) {
    const std::size_t s = find(key);
    if (s != decltype(table)::kNone) table.erase_at(s);
  }
  // Removes up to `limit` counters whose window ended at or before `now`; returns how many.
  std::size_t purge(Timestamp now, std::size_t limit);
};

struct StoredBinding {
  std::string account_id;
  Channel channel;
  Timestamp created_at;
  std::vector<std::uint8_t> sealed_contact;
};

using BindingKey = std::pair<std::array<std::uint8_t, BlindIndex::kBytes>, std::uint32_t>;

}  // namespace memory

struct MemoryStore::Impl {
  std::array<memory::ChallengeShard, memory::kShards> challenges;
  std::array<memory::CounterShard<memory::IndexKey>, memory::kShards> failures;
  std::array<memory::CounterShard<CounterKey>, memory::kShards> counters;

  memory::ChallengeShard& challenge_shard(const ChallengeId& id) {
    return challenges[id.bytes[ChallengeId::kBytes - 1] % memory::kShards];
  }
  memory::CounterShard<memory::IndexKey>& failure_shard(const memory::IndexKey& key) {
    return failures[key[8] % memory::kShards];
  }
  std::size_t counter_shard_of(const CounterKey& key) const { return key[8] % memory::kShards; }

  std::mutex bindings_mutex;
  std::map<memory::BindingKey, std::vector<memory::StoredBinding>> bindings_by_index;
  std::map<std::string, std::vector<std::pair<Channel, memory::BindingKey>>, std::less<>>
      bindings_by_account;

  std::mutex audit_mutex;
  std::vector<AuditRecord> audit;  // in sequence order: audit[i].sequence == i + 1
  std::optional<AuditHead> audit_head;
  // Made with the store (memory_accounts.cpp), never changed; read without a lock.
  const AuditBinding audit_binding = new_audit_binding();

 private:
  static AuditBinding new_audit_binding();
};

}  // namespace veribind
