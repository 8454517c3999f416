// Metrics hook and SMS-pumping alert.
//
// SMS pumping: an attacker makes a platform send codes to numbers whose terminating operator pays
// the attacker a share (premium ranges, satellite networks, small countries' mobile ranges). The
// codes are never entered, so the tell is a calling code whose sends stop turning into
// verifications. The Verifier reports each send and each verification per calling code to a
// VerificationMetrics hook; PumpingMonitor is one that raises an alert when, for a calling code,
// the ratio of verified to sent over a window drops below a threshold.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "veribind/clock.hpp"
#include "veribind/result.hpp"

namespace veribind {

// Called by the Verifier on the calling thread, after the fact; must be thread-safe and quick.
// `calling_code` is the phone's (92, 882, ...) or 0 for email.
class VerificationMetrics {
 public:
  virtual ~VerificationMetrics() = default;
  virtual void on_send(std::uint16_t calling_code, Timestamp at) noexcept = 0;
  virtual void on_verified(std::uint16_t calling_code, Timestamp at) noexcept = 0;
};

struct PumpingAlert {
  std::uint16_t calling_code = 0;
  std::uint64_t sent = 0;      // in the window ending at `at`
  std::uint64_t verified = 0;  // in the same window
  Timestamp at{};
};

struct PumpingMonitorConfig {
  double min_verified_ratio = 0.2;  // alert below this verified/sent ratio; (0, 1]
  std::chrono::seconds window{std::chrono::hours(1)};  // 1 min .. 7 days
  std::uint32_t min_sends = 20;  // no verdict on fewer sends than this in the window; >= 1

  // kInvalidConfig with the offending field named, or ok.
  [[nodiscard]] Status validate() const;
};

// `alert` runs on the thread that made the send, outside the monitor's lock; it must not throw.
// Counts per calling code in time buckets (window / 12 each) and, on a send that leaves the
// window's ratio below the threshold with at least min_sends sends, calls `alert` once; it calls
// again for the same calling code only after a further full window. Counts are this process's
// own: a deployment of several nodes aggregates its own metrics (the budgets that refuse sends
// are store-backed and shared; this is an alarm, not a limit).
class PumpingMonitor final : public VerificationMetrics {
 public:
  static Result<std::unique_ptr<PumpingMonitor>> create(
      const PumpingMonitorConfig& config, std::function<void(const PumpingAlert&)> alert);
  ~PumpingMonitor() override;
  PumpingMonitor(const PumpingMonitor&) = delete;
  PumpingMonitor& operator=(const PumpingMonitor&) = delete;

  void on_send(std::uint16_t calling_code, Timestamp at) noexcept override;
  void on_verified(std::uint16_t calling_code, Timestamp at) noexcept override;

  // Sends and verifications of `calling_code` in the window ending at `at`.
  [[nodiscard]] PumpingAlert window_counts(std::uint16_t calling_code, Timestamp at) const;

 private:
  PumpingMonitor(const PumpingMonitorConfig& config,
                 std::function<void(const PumpingAlert&)> alert);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
