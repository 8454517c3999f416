// What the outbox reports about each message: a state change per event, to an observer the
// application gives it (logs, metrics, an alert on abandoned messages). An event names the
// message by its challenge id and never holds the code, the destination or the text.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "veribind/channel.hpp"
#include "veribind/delivery.hpp"

namespace veribind {

enum class DeliveryState : std::uint8_t {
  kQueued,     // accepted by send(); provider is empty
  kSent,       // final: a provider accepted it
  kRetrying,   // another attempt is scheduled after retry_in
  kFailed,     // one attempt failed (not final: kRetrying or kAbandoned follows)
  kAbandoned,  // final: no more attempts (see AbandonReason)
};
inline constexpr std::size_t kDeliveryStates = 5;

// "queued", "sent", "retrying", "failed", "abandoned".
[[nodiscard]] std::string_view delivery_state_name(DeliveryState state) noexcept;

// Why a message was abandoned; kNone for every other state.
enum class AbandonReason : std::uint8_t {
  kNone,
  kPermanent,    // a provider refused it permanently: no retry, no failover
  kExpired,      // the next attempt would be at or after the code's expiry
  kMaxAttempts,  // OutboxConfig::max_attempts were made
  kShutdown,     // the outbox shut down before it was sent
  kSuperseded,   // a newer message for the same challenge (a resend) was queued: its code is void
};
inline constexpr std::size_t kAbandonReasons = 6;
// "none", "permanent", "expired", "max-attempts", "shutdown", "superseded".
[[nodiscard]] std::string_view abandon_reason_name(AbandonReason reason) noexcept;

// Valid only during on_delivery_event(): copy what you keep.
struct DeliveryEvent {
  std::string_view challenge_id;
  Channel channel = Channel::kPhone;
  // The provider the attempt went to (kSent, kFailed; for kRetrying and kAbandoned the one whose
  // attempt came last); empty for kQueued and for a message abandoned before any attempt.
  std::string_view provider;
  DeliveryState state = DeliveryState::kQueued;
  int attempt = 0;  // attempts made so far, this one included; 0 for kQueued
  // The last attempt's class and reply code (meaningful once an attempt was made).
  AttemptClass attempt_class = AttemptClass::kTemporary;
  int reply_code = 0;
  std::string_view detail;  // the provider's fixed text (AttemptResult::detail)
  AbandonReason reason = AbandonReason::kNone;
  std::chrono::milliseconds retry_in{0};  // kRetrying: the wait before the next attempt
};

class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  // Timing: the kQueued call runs on the request thread for a sent code only (a refused request's
  // decoy reports nothing), so its cost shows in start()'s time: keep it to a counter or a
  // queue push, never I/O. A kAbandoned event with reason kSuperseded names a challenge whose
  // newer code is still on its way: do not void the challenge on that one.
  // Called from send() (kQueued, on the request thread) and from the outbox's workers, never with
  // an outbox lock held, possibly from several threads at once; one message's events arrive in
  // order. Must be fast, must not throw and must not call back into the outbox.
  virtual void on_delivery_event(const DeliveryEvent& event) noexcept = 0;
};

// The metrics hook: counts events by state, in all and per provider. Thread-safe.
class DeliveryCounters final : public DeliveryObserver {
 public:
  using ByState = std::array<std::uint64_t, kDeliveryStates>;  // index: DeliveryState
  struct Snapshot {
    ByState total{};
    std::map<std::string, ByState, std::less<>> by_provider;           // events with a provider
    std::array<std::uint64_t, kAbandonReasons> abandoned_by_reason{};  // index: AbandonReason
  };

  void on_delivery_event(const DeliveryEvent& event) noexcept override;
  // A consistent copy of every count so far.
  [[nodiscard]] Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  Snapshot counts_;
};

}  // namespace veribind
