// The one open-addressing table behind MemoryStore's challenges, counters and failure counts:
// linear probing over a flat array of slots, load at most 7/8, backward-shift deletion (so no
// tombstones and no probe chain is ever broken), any capacity (a home slot is the hash scaled to
// the capacity, not masked), growing by half. A lookup is one probe run in one array.
//
// `Ops` says what a slot is: `bool empty(const Slot&)`, `Slot empty_slot()` and
// `std::uint64_t hash(const Slot&)` (uniform in all 64 bits: keys here are PRF outputs or
// random ids). It may hold state (the challenge shard's record chunks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace veribind::internal {

template <typename Slot, typename Ops>
class ProbeTable {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  explicit ProbeTable(Ops ops = Ops()) : ops_(ops) {}

  // The position of the first slot of the probe run of `hash` for which match(slot) holds, or
  // kNone if the run ends first.
  template <typename Match>
  [[nodiscard]] std::size_t find(std::uint64_t hash, Match match) const {
    if (slots_.empty()) return kNone;
    for (std::size_t s = home(hash);; s = next(s)) {
      if (ops_.empty(slots_[s])) return kNone;
      if (match(slots_[s])) return s;
    }
  }

  // Places `slot` (not yet in the table) and returns its position.
  std::size_t insert(const Slot& slot) {
    if (8 * (size_ + 1) > 7 * slots_.size()) grow();
    std::size_t s = home(ops_.hash(slot));
    while (!ops_.empty(slots_[s])) s = next(s);
    slots_[s] = slot;
    ++size_;
    return s;
  }

  // Removes the slot at `position` (from find()).
  void erase_at(std::size_t hole) {
    for (std::size_t s = next(hole); !ops_.empty(slots_[s]); s = next(s)) {
      const std::size_t h = home(ops_.hash(slots_[s]));
      // Move s back into the hole unless its home lies cyclically in (hole, s].
      if (distance(h, s) >= distance(hole, s)) {
        slots_[hole] = slots_[s];
        hole = s;
      }
    }
    slots_[hole] = ops_.empty_slot();
    --size_;
  }

  Slot& at(std::size_t position) { return slots_[position]; }
  [[nodiscard]] const Slot& at(std::size_t position) const { return slots_[position]; }

  template <typename F>
  void for_each(F f) const {
    for (const Slot& slot : slots_) {
      if (!ops_.empty(slot)) f(slot);
    }
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t bytes() const { return slots_.capacity() * sizeof(Slot); }
  Ops& ops() { return ops_; }

 private:
  [[nodiscard]] std::size_t home(std::uint64_t hash) const {
    // The top 32 bits scaled to the capacity (which stays far below 2^32).
    return static_cast<std::size_t>(((hash >> 32) * slots_.size()) >> 32);
  }
  [[nodiscard]] std::size_t next(std::size_t s) const { return s + 1 == slots_.size() ? 0 : s + 1; }
  // Steps from a to b going forward, cyclically.
  [[nodiscard]] std::size_t distance(std::size_t a, std::size_t b) const {
    return b >= a ? b - a : b + slots_.size() - a;
  }

  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    const std::size_t capacity = old.empty() ? 16 : old.size() + old.size() / 2;
    slots_.assign(capacity, ops_.empty_slot());
    size_ = 0;
    for (const Slot& slot : old) {
      if (!ops_.empty(slot)) insert(slot);
    }
  }

  Ops ops_;
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace veribind::internal
