#include "veribind/outbox.hpp"

namespace veribind {
namespace {

Status bad(std::string_view field, std::string_view why) {
  std::string message = "OutboxConfig.";
  message += field;
  message += ": ";
  message += why;
  return {ErrorCode::kInvalidConfig, std::move(message)};
}

}  // namespace

Status OutboxConfig::validate() const {
  using std::chrono::milliseconds;
  if (workers < 1 || workers > 64) return bad("workers", "must be 1-64");
  if (capacity < 1) return bad("capacity", "must be at least 1");
  if (initial_backoff < milliseconds(1)) return bad("initial_backoff", "must be at least 1 ms");
  if (max_backoff < initial_backoff) {
    return bad("max_backoff", "must be at least initial_backoff");
  }
  // 2^32 ms is 49 days; randombytes_uniform takes a 32-bit bound.
  if (max_backoff > milliseconds(24LL * 3600 * 1000)) return bad("max_backoff", "at most a day");
  if (jitter != Jitter::kNone && jitter != Jitter::kHalf && jitter != Jitter::kFull) {
    return bad("jitter", "unknown value");
  }
  if (max_attempts < 1 || max_attempts > 100) return bad("max_attempts", "must be 1-100");
  if (provider_failure_threshold < 1) {
    return bad("provider_failure_threshold", "must be at least 1");
  }
  if (provider_skip_for < milliseconds(0)) return bad("provider_skip_for", "must not be negative");
  if (recent_results < 1) return bad("recent_results", "must be at least 1");
  return Status::ok();
}

}  // namespace veribind
