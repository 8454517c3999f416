// Time, injected. The library never reads the system clock behind the caller's back: every
// component that needs "now" takes a Clock, so tests move time with a fake clock instead of
// sleeping.
#pragma once

#include <chrono>

namespace veribind {

// Milliseconds since the Unix epoch, UTC.
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Must be safe to call from several threads at once.
  [[nodiscard]] virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] Timestamp now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
};

}  // namespace veribind
