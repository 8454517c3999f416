// A clock that moves only when the test says so.
#pragma once

#include <atomic>
#include <chrono>

#include "veribind/clock.hpp"

namespace veribind::testing {

class FakeClock final : public Clock {
 public:
  // 2026-01-01T00:00:00Z by default: a fixed, realistic instant.
  explicit FakeClock(Timestamp start = Timestamp(std::chrono::milliseconds(1767225600000)))
      : now_ms_(start.time_since_epoch().count()) {}
  [[nodiscard]] Timestamp now() const override {
    return Timestamp(std::chrono::milliseconds(now_ms_.load()));
  }
  void advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }
  void set(Timestamp t) { now_ms_ = t.time_since_epoch().count(); }

 private:
  std::atomic<long long> now_ms_;
};

}  // namespace veribind::testing
