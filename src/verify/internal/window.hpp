// Aligned time windows: the same window number and end on every node for the same instant.
#pragma once

#include <chrono>
#include <cstdint>

#include "veribind/clock.hpp"

namespace veribind::internal {

struct Window {
  std::uint64_t number;
  Timestamp end;
};

// The aligned window of `width` that holds `now`.
inline Window window_of(Timestamp now, std::chrono::seconds width) {
  using std::chrono::milliseconds;
  const std::int64_t ms = now.time_since_epoch().count();
  const std::int64_t w = std::chrono::duration_cast<milliseconds>(width).count();
  const std::int64_t number = ms >= 0 ? ms / w : (ms - w + 1) / w;
  return {static_cast<std::uint64_t>(number), Timestamp(milliseconds((number + 1) * w))};
}

}  // namespace veribind::internal
