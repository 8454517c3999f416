#include "veribind/metrics.hpp"

#include <array>
#include <cmath>
#include <mutex>

namespace veribind {

namespace {

constexpr std::int64_t kBuckets = 12;

struct Bucket {
  std::int64_t slot = -1;  // which window/12 slice of time these counts are for
  std::uint64_t sent = 0;
  std::uint64_t verified = 0;
};

// One calling code's counts behind its own lock: a send to +92 never waits for one to +44, and
// no lock is shared by every check (calling codes are 0 for email, else 1..999).
struct CodeCounts {
  std::mutex mutex;
  std::array<Bucket, kBuckets> buckets;
  Timestamp last_alert = Timestamp::min();
};
constexpr std::size_t kCallingCodes = 1000;

}  // namespace

Status PumpingMonitorConfig::validate() const {
  if (!(min_verified_ratio > 0.0 && min_verified_ratio <= 1.0)) {
    return {ErrorCode::kInvalidConfig, "min_verified_ratio must be in (0, 1]"};
  }
  if (window < std::chrono::minutes(1) || window > std::chrono::hours(24 * 7)) {
    return {ErrorCode::kInvalidConfig, "window must be 1 min..7 days"};
  }
  if (min_sends < 1) return {ErrorCode::kInvalidConfig, "min_sends must be at least 1"};
  return Status::ok();
}

struct PumpingMonitor::Impl {
  PumpingMonitorConfig config;
  std::function<void(const PumpingAlert&)> alert;
  std::chrono::milliseconds slice{};
  std::array<CodeCounts, kCallingCodes> codes;

  CodeCounts& counts_of(std::uint16_t code) { return codes[code < kCallingCodes ? code : 0]; }

  [[nodiscard]] std::int64_t slot_of(Timestamp at) const {
    const std::int64_t ms = at.time_since_epoch().count();
    const std::int64_t width = slice.count();
    return ms >= 0 ? ms / width : (ms - width + 1) / width;
  }

  Bucket& bucket(CodeCounts& counts, Timestamp at) const {
    const std::int64_t slot = slot_of(at);
    Bucket& b = counts.buckets[static_cast<std::size_t>(((slot % kBuckets) + kBuckets) % kBuckets)];
    // A late event from another thread (older slot) counts in the newer bucket it shares.
    if (b.slot < slot) b = Bucket{slot, 0, 0};
    return b;
  }

  // Sums the buckets of the kBuckets slots ending with the one holding `at`.
  [[nodiscard]] PumpingAlert sum(std::uint16_t code, const CodeCounts& counts, Timestamp at) const {
    const std::int64_t last = slot_of(at);
    PumpingAlert out{code, 0, 0, at};
    for (const Bucket& b : counts.buckets) {
      if (b.slot > last - kBuckets && b.slot <= last) {
        out.sent += b.sent;
        out.verified += b.verified;
      }
    }
    return out;
  }
};

Result<std::unique_ptr<PumpingMonitor>> PumpingMonitor::create(
    const PumpingMonitorConfig& config, std::function<void(const PumpingAlert&)> alert) {
  if (Status s = config.validate(); !s) return s;
  if (!alert) return Status(ErrorCode::kInvalidConfig, "alert callback is empty");
  return std::unique_ptr<PumpingMonitor>(new PumpingMonitor(config, std::move(alert)));
}

PumpingMonitor::PumpingMonitor(const PumpingMonitorConfig& config,
                               std::function<void(const PumpingAlert&)> alert)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = config;
  impl_->alert = std::move(alert);
  impl_->slice = std::chrono::duration_cast<std::chrono::milliseconds>(config.window) / kBuckets;
}

PumpingMonitor::~PumpingMonitor() = default;

void PumpingMonitor::on_send(std::uint16_t calling_code, Timestamp at) noexcept {
  PumpingAlert verdict;
  {
    CodeCounts& counts = impl_->counts_of(calling_code);
    std::lock_guard lock(counts.mutex);
    ++impl_->bucket(counts, at).sent;
    verdict = impl_->sum(calling_code, counts, at);
    const bool enough = verdict.sent >= impl_->config.min_sends;
    const bool low = static_cast<double>(verdict.verified) <
                     impl_->config.min_verified_ratio * static_cast<double>(verdict.sent);
    const bool quiet =
        counts.last_alert == Timestamp::min() || at - counts.last_alert >= impl_->config.window;
    if (!(enough && low && quiet)) return;
    counts.last_alert = at;
  }
  impl_->alert(verdict);  // outside the lock: the callback may call window_counts()
}

void PumpingMonitor::on_verified(std::uint16_t calling_code, Timestamp at) noexcept {
  CodeCounts& counts = impl_->counts_of(calling_code);
  std::lock_guard lock(counts.mutex);
  ++impl_->bucket(counts, at).verified;
}

PumpingAlert PumpingMonitor::window_counts(std::uint16_t calling_code, Timestamp at) const {
  CodeCounts& counts = impl_->counts_of(calling_code);
  std::lock_guard lock(counts.mutex);
  return impl_->sum(calling_code, counts, at);
}

}  // namespace veribind
