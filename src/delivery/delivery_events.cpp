#include "veribind/delivery_events.hpp"

namespace veribind {

std::string_view delivery_state_name(DeliveryState state) noexcept {
  switch (state) {
    case DeliveryState::kQueued: return "queued";
    case DeliveryState::kSent: return "sent";
    case DeliveryState::kRetrying: return "retrying";
    case DeliveryState::kFailed: return "failed";
    case DeliveryState::kAbandoned: return "abandoned";
  }
  return "unknown";
}

std::string_view abandon_reason_name(AbandonReason reason) noexcept {
  switch (reason) {
    case AbandonReason::kNone: return "none";
    case AbandonReason::kPermanent: return "permanent";
    case AbandonReason::kExpired: return "expired";
    case AbandonReason::kMaxAttempts: return "max-attempts";
    case AbandonReason::kShutdown: return "shutdown";
    case AbandonReason::kSuperseded: return "superseded";
  }
  return "unknown";
}

void DeliveryCounters::on_delivery_event(const DeliveryEvent& event) noexcept {
  const auto state = static_cast<std::size_t>(event.state);
  if (state >= kDeliveryStates) return;
  std::lock_guard lock(mutex_);
  ++counts_.total[state];
  if (event.state == DeliveryState::kAbandoned) {
    const auto reason = static_cast<std::size_t>(event.reason);
    if (reason < counts_.abandoned_by_reason.size()) ++counts_.abandoned_by_reason[reason];
  }
  if (event.provider.empty()) return;
  try {
    auto it = counts_.by_provider.find(event.provider);
    if (it == counts_.by_provider.end()) {
      it = counts_.by_provider.emplace(std::string(event.provider), ByState{}).first;
    }
    ++it->second[state];
  } catch (...) {  // out of memory: a count is lost, the delivery is not
  }
}

DeliveryCounters::Snapshot DeliveryCounters::snapshot() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

}  // namespace veribind
