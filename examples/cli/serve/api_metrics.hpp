// The server's metrics, for GET /metrics in the Prometheus text format (version 0.0.4).
//
// Every label value comes from a fixed set (route patterns, status codes, limit, outcome, error
// code and delivery state names, provider names from the configuration): no identifier, code,
// account id or key id ever becomes a label, so the exposition holds no personal data and its
// size stays bounded. Counting is lock-free (relaxed atomics), so the hot path pays a few atomic
// increments.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "veribind/delivery_events.hpp"
#include "veribind/result.hpp"
#include "veribind/verifier.hpp"

namespace veribind::serve {

class ApiMetrics {
 public:
  ApiMetrics();
  ~ApiMetrics();
  ApiMetrics(const ApiMetrics&) = delete;
  ApiMetrics& operator=(const ApiMetrics&) = delete;

  // Every status the API and the transport answer with; others are counted as "other".
  static constexpr std::array<int, 18> kStatuses = {200, 201, 400, 401, 403, 404, 405, 408, 409,
                                                    410, 411, 413, 415, 422, 429, 431, 500, 503};
  // Upper bounds of the latency histogram, in seconds: 50 us .. 5 s.
  static constexpr std::array<double, 16> kBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};

  void count_start(const Challenge& challenge) noexcept;
  void count_start_refused(Limit limit) noexcept;  // also the outbox's refusals (kNone)
  void count_check(CheckOutcome outcome) noexcept;
  // A binding made (ErrorCode::kOk) or refused with `code`; `invalid_or_expired` for a check
  // that did not verify.
  void count_binding(ErrorCode code) noexcept;
  void count_binding_not_verified() noexcept;
  // One answered request: its route pattern (kRoutes in api_routes.hpp; anything else counts as
  // "-"), status and latency.
  void count_request(std::string_view route, int status, std::chrono::nanoseconds latency) noexcept;

  // Where the delivery counts and the open connections come from (set once, before serving).
  void set_delivery_counters(const DeliveryCounters* counters) noexcept { deliveries_ = counters; }
  void set_open_connections(std::function<std::size_t()> open) {
    open_connections_ = std::move(open);
  }

  // The exposition text.
  [[nodiscard]] std::string render() const;

 private:
  static constexpr std::size_t kLimits = 10;      // Limit values 0..9
  static constexpr std::size_t kOutcomes = 6;     // CheckOutcome values
  static constexpr std::size_t kErrorCodes = 96;  // ErrorCode values 0..95
  // Tied to the enums' last values: an enumerator added there must grow these counts with it.
  static_assert(kLimits == static_cast<std::size_t>(Limit::kClientChecks) + 1);
  static_assert(kOutcomes == static_cast<std::size_t>(CheckOutcome::kRateLimited) + 1);
  static_assert(kErrorCodes == static_cast<std::size_t>(ErrorCode::kContactKeyMissing) + 1);
  using Counter = std::atomic<std::uint64_t>;
  struct RouteStats {
    std::array<Counter, kStatuses.size() + 1> by_status{};  // last: other
    std::array<Counter, kBuckets.size()> buckets{};         // not cumulative; summed on render
    Counter count{0};
    Counter sum_ns{0};
  };

  Counter starts_sent_{0};
  Counter starts_refused_{0};
  std::array<Counter, kLimits> refusals_{};
  std::array<Counter, kOutcomes> checks_{};
  std::array<Counter, kErrorCodes> bindings_{};  // index 0: bound
  Counter bindings_not_verified_{0};
  std::unique_ptr<RouteStats[]> routes_;  // "-", then each of kRoutes
  const DeliveryCounters* deliveries_ = nullptr;
  std::function<std::size_t()> open_connections_;
};

}  // namespace veribind::serve
