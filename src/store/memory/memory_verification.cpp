// MemoryStore: challenges, counters and failure counts (VerificationStore).
#include <algorithm>
#include <cstring>
#include <limits>

#include "store/memory/memory_impl.hpp"

namespace veribind {
namespace memory {

static_assert(sizeof(ChallengeRecord) == 88, "ChallengeRecord grew: revisit the memory budget");

void ChallengeShard::insert(const ChallengeRecord& r) {
  std::uint32_t n;
  if (free_head_ != kEmptySlot) {
    n = free_head_;
    std::memcpy(&free_head_, record(n).code_tag.data(), sizeof free_head_);
    --free_count_;
  } else {
    if (used_ == chunks_.size() * kChunkRecords) {
      chunks_.push_back(std::make_unique<ChallengeRecord[]>(kChunkRecords));
    }
    n = static_cast<std::uint32_t>(used_++);
  }
  record(n) = r;
  table_.insert(n);
}

bool ChallengeShard::erase(const ChallengeId& id) {
  const std::size_t s = find_slot(id);
  if (s == Table::kNone) return false;
  const std::uint32_t n = table_.at(s);
  table_.erase_at(s);
  ChallengeRecord& freed = record(n);
  freed = ChallengeRecord{};  // nothing of the challenge stays behind in its place
  freed.expires_at = kFreePlace;
  std::memcpy(freed.code_tag.data(), &free_head_, sizeof free_head_);
  free_head_ = n;
  ++free_count_;
  return true;
}

std::size_t ChallengeShard::purge(Timestamp now, std::size_t limit) {
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

template <typename Key>
CounterState CounterShard<Key>::add(const Key& key, std::uint32_t delta, Timestamp window_end,
                                    Timestamp now) {
  std::size_t s = find(key);
  if (s == decltype(table)::kNone) {
    if (delta == 0) return {};
    s = table.insert(CounterSlot<Key>{key, Counter{window_end, delta}});
    return {delta, window_end};
  }
  Counter& c = table.at(s).counter;
  if (now >= c.window_end) {  // ended: a new window, or nothing for a read
    if (delta == 0) return {};
    c = Counter{window_end, delta};
  } else {
    c.count = delta > std::numeric_limits<std::uint32_t>::max() - c.count
                  ? std::numeric_limits<std::uint32_t>::max()
                  : c.count + delta;
  }
  return {c.count, c.window_end};
}

template <typename Key>
std::size_t CounterShard<Key>::purge(Timestamp now, std::size_t limit) {
  std::vector<Key> ended;
  table.for_each([&](const CounterSlot<Key>& s) {
    if (s.counter.window_end <= now && ended.size() < limit) ended.push_back(s.key);
  });
  for (const Key& key : ended) erase(key);
  return ended.size();
}

template struct CounterShard<CounterKey>;
template struct CounterShard<IndexKey>;

namespace {

// Locks the counter shards a batch touches, each once, in ascending order (the order every
// batch uses, so two batches never wait on each other in a cycle).
class CounterLocks {
 public:
  CounterLocks(MemoryStore::Impl& impl, std::span<const CounterUpdate> updates) {
    std::array<std::uint8_t, kShards> wanted{};
    for (const CounterUpdate& u : updates) wanted[impl.counter_shard_of(u.key)] = 1;
    for (std::size_t i = 0; i < kShards; ++i) {
      if (wanted[i] != 0) impl.counters[i].mutex.lock(), held_[count_++] = &impl.counters[i].mutex;
    }
  }
  ~CounterLocks() {
    for (std::size_t i = count_; i > 0; --i) held_[i - 1]->unlock();
  }
  CounterLocks(const CounterLocks&) = delete;
  CounterLocks& operator=(const CounterLocks&) = delete;

 private:
  std::array<std::mutex*, kShards> held_{};
  std::size_t count_ = 0;
};

void apply(MemoryStore::Impl& impl, std::span<CounterUpdate> updates, Timestamp now) {
  for (CounterUpdate& u : updates) {
    u.after = impl.counters[impl.counter_shard_of(u.key)].add(u.key, u.delta, u.window_end, now);
  }
}

}  // namespace
}  // namespace memory

using memory::CounterLocks;

MemoryStore::MemoryStore() : impl_(std::make_unique<Impl>()) {}
MemoryStore::~MemoryStore() = default;

Status MemoryStore::create_challenge(const ChallengeRecord& record,
                                     std::span<CounterUpdate> counters, Timestamp now) {
  if (record.expires_at == memory::kFreePlace) {
    return {ErrorCode::kStoreError, "a challenge must have a real expiry"};
  }
  memory::ChallengeShard& shard = impl_->challenge_shard(record.id);
  std::lock_guard lock(shard.mutex);
  if (shard.contains(record.id)) return {ErrorCode::kStoreError, "a challenge with that id exists"};
  CounterLocks counter_locks(*impl_, counters);
  shard.insert(record);
  memory::apply(*impl_, counters, now);
  return Status::ok();
}

Result<bool> MemoryStore::reissue_challenge(const ChallengeId& id,
                                            const std::array<std::uint8_t, 16>& code_tag,
                                            Timestamp expires_at, std::span<CounterUpdate> counters,
                                            Timestamp now) {
  memory::ChallengeShard& shard = impl_->challenge_shard(id);
  std::lock_guard lock(shard.mutex);
  ChallengeRecord* r = shard.find(id);
  if (r == nullptr || now >= r->expires_at) return false;
  CounterLocks counter_locks(*impl_, counters);
  r->code_tag = code_tag;
  r->expires_at = expires_at;
  memory::apply(*impl_, counters, now);
  return true;
}

Status MemoryStore::add_to_counters(std::span<CounterUpdate> counters, Timestamp now) {
  CounterLocks counter_locks(*impl_, counters);
  memory::apply(*impl_, counters, now);
  return Status::ok();
}

Result<CounterState> MemoryStore::read_counters(const BlindIndex& identifier,
                                                std::span<const CounterKey> keys,
                                                std::span<CounterState> out, Timestamp now) {
  if (out.size() != keys.size()) {
    return Status(ErrorCode::kInvalidArgument, "memory store: one output per counter key");
  }
  const memory::IndexKey failure_key = memory::index_key(identifier);
  auto& failure_shard = impl_->failure_shard(failure_key);
  std::lock_guard failure_lock(failure_shard.mutex);
  std::array<CounterUpdate, 8> probe;
  if (keys.size() > probe.size()) {
    return Status(ErrorCode::kInvalidArgument, "memory store: at most 8 counters per read");
  }
  for (std::size_t i = 0; i < keys.size(); ++i) probe[i].key = keys[i];
  CounterLocks counter_locks(*impl_, std::span(probe.data(), keys.size()));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    out[i] = impl_->counters[impl_->counter_shard_of(keys[i])].read(keys[i], now);
  }
  return failure_shard.read(failure_key, now);
}

Result<ChargeResult> MemoryStore::charge_attempt(const ChallengeId& id, Timestamp now,
                                                 Timestamp failure_window_end) {
  memory::ChallengeShard& shard = impl_->challenge_shard(id);
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
    const memory::IndexKey key = memory::index_key(r->index);
    auto& failures = impl_->failure_shard(key);
    std::lock_guard failure_lock(failures.mutex);
    result.failures = failures.add(key, 1, failure_window_end, now);
  }
  return result;
}

Result<bool> MemoryStore::consume_challenge(const ChallengeId& id) {
  memory::ChallengeShard& shard = impl_->challenge_shard(id);
  std::lock_guard lock(shard.mutex);
  const ChallengeRecord* r = shard.find(id);
  if (r == nullptr) return false;
  const memory::IndexKey key = memory::index_key(r->index);
  auto& failures = impl_->failure_shard(key);
  std::lock_guard failure_lock(failures.mutex);
  failures.erase(key);
  return shard.erase(id);
}

Result<std::optional<ChallengeRecord>> MemoryStore::find_challenge(const ChallengeId& id) {
  memory::ChallengeShard& shard = impl_->challenge_shard(id);
  std::lock_guard lock(shard.mutex);
  const ChallengeRecord* r = shard.find(id);
  return r == nullptr ? std::optional<ChallengeRecord>() : std::optional<ChallengeRecord>(*r);
}

Result<PurgeCounts> MemoryStore::purge_expired(Timestamp now, std::size_t batch) {
  PurgeCounts counts;
  for (memory::ChallengeShard& shard : impl_->challenges) {
    if (counts.challenges >= batch) break;
    std::lock_guard lock(shard.mutex);
    counts.challenges += shard.purge(now, batch - counts.challenges);
  }
  // Counters and failure counts share the batch: they are one kind of row to the caller.
  for (auto& shard : impl_->counters) {
    if (counts.counters >= batch) break;
    std::lock_guard lock(shard.mutex);
    counts.counters += shard.purge(now, batch - counts.counters);
  }
  for (auto& shard : impl_->failures) {
    if (counts.counters >= batch) break;
    std::lock_guard lock(shard.mutex);
    counts.counters += shard.purge(now, batch - counts.counters);
  }
  return counts;
}

Result<std::size_t> MemoryStore::live_challenges(std::uint32_t key_version, Timestamp now) {
  std::size_t n = 0;
  for (memory::ChallengeShard& shard : impl_->challenges) {
    std::lock_guard lock(shard.mutex);
    shard.for_each_live([&](const ChallengeRecord& r) {
      if (r.expires_at > now && r.index.key_version == key_version) ++n;
    });
  }
  return n;
}

std::size_t MemoryStore::challenge_count() const {
  std::size_t n = 0;
  for (memory::ChallengeShard& shard : impl_->challenges) {
    std::lock_guard lock(shard.mutex);
    n += shard.size();
  }
  return n;
}

}  // namespace veribind
