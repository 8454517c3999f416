#include "verify/internal/send_limiter.hpp"

#include <algorithm>

#include "internal/counter_key.hpp"
#include "internal/keyed_hash.hpp"
#include "verify/internal/window.hpp"

namespace veribind::internal {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::span<const std::uint8_t> code_bytes(const std::uint16_t& calling_code) {
  return {reinterpret_cast<const std::uint8_t*>(&calling_code), sizeof calling_code};
}

}  // namespace

SendLimiter::Plan SendLimiter::plan(const ChallengeRecord& record, Refusal statically_refused,
                                    const RequestContext& context, Timestamp now) const {
  const VerifierConfig& config = *config_;
  Plan plan;
  plan.refusal = statically_refused;
  const auto use = [&plan](Step step, const CounterKey& key, Timestamp window_end,
                           std::uint32_t limit) {
    plan.active[step] = true;
    plan.keys[step] = key;
    plan.window_ends[step] = window_end;
    plan.limits[step] = limit;
    plan.read_keys[plan.reads] = key;
    plan.read_steps[plan.reads++] = step;
  };
  const std::span<const std::uint8_t> index = record.index.value;

  if (!context.client_key.empty()) {
    const Window w = window_of(now, config.client_window);
    use(kClientStarts,
        counter_key(*counter_key_, CounterKind::kClientStarts, w.number,
                    bytes_of(context.client_key)),
        w.end, config.client_starts_per_window);
  }
  // Resend cooldown: a window of resend_cooldown opened by each admitted send (none if 0 s).
  if (config.resend_cooldown > std::chrono::seconds(0)) {
    use(kCooldown, counter_key(*counter_key_, CounterKind::kIdentifierCooldown, 0, index),
        now + duration_cast<milliseconds>(config.resend_cooldown), 1);
  }
  // Sends per rolling hour: this clock hour's count plus the previous one's stays within the
  // limit, which bounds every 60-minute span (it lies within two consecutive clock hours). A count
  // lives two hours, so that it can be read as the previous hour's.
  const Window hour = window_of(now, std::chrono::hours(1));
  const auto per_hour = static_cast<std::uint32_t>(config.max_sends_per_hour);
  use(kHourBefore,
      counter_key(*counter_key_, CounterKind::kIdentifierSends, hour.number - 1, index), {},
      per_hour);
  use(kHourNow, counter_key(*counter_key_, CounterKind::kIdentifierSends, hour.number, index),
      hour.end + std::chrono::hours(1), per_hour);
  if (record.calling_code != 0) {
    const auto it = config.calling_code_budgets.find(record.calling_code);
    const std::uint32_t budget =
        it != config.calling_code_budgets.end() ? it->second : config.default_calling_code_budget;
    if (budget > 0) {
      use(kCallingCode,
          counter_key(*counter_key_, CounterKind::kCallingCodeSends, hour.number,
                      code_bytes(record.calling_code)),
          hour.end, budget);
    }
  }
  if (config.global_sends_per_hour > 0) {
    use(kGlobal, counter_key(*counter_key_, CounterKind::kGlobalSends, hour.number, {}), hour.end,
        config.global_sends_per_hour);
  }
  return plan;
}

void SendLimiter::decide(Plan& plan, const CounterState& failures,
                         std::span<const CounterState> counts) const {
  std::array<CounterState, kSteps> read{};
  for (std::size_t i = 0; i < plan.reads && i < counts.size(); ++i) {
    read[plan.read_steps[i]] = counts[i];
  }
  plan.hour_before = read[kHourBefore];
  Refusal& refusal = plan.refusal;
  const auto refuse = [&refusal](Limit limit, Timestamp retry_at) {
    if (!refusal) refusal = Refusal{limit, retry_at};
  };
  std::array<std::uint32_t, kSteps> delta{};
  const auto admitted = [&refusal]() -> std::uint32_t { return refusal ? 0 : 1; };

  // The client's starts count every request, refused or not: that is what they limit.
  if (plan.active[kClientStarts]) {
    delta[kClientStarts] = 1;
    if (read[kClientStarts].count >= plan.limits[kClientStarts]) {
      refuse(Limit::kClientStarts, read[kClientStarts].window_end);
    }
  }
  if (failures.count >= static_cast<std::uint32_t>(config_->max_failed_checks)) {
    refuse(Limit::kIdentifierLocked, failures.window_end);
  }
  if (plan.active[kCooldown]) {
    delta[kCooldown] = admitted();
    if (delta[kCooldown] == 1 && read[kCooldown].count >= 1) {
      refuse(Limit::kResendCooldown, read[kCooldown].window_end);
    }
  }
  {
    // A refused request is not counted here, so that retrying does not push the wait further.
    // From the end of this hour, it is the previous one: room again then if it left some.
    const std::uint64_t so_far = std::uint64_t{read[kHourBefore].count} + read[kHourNow].count;
    const std::uint32_t limit = plan.limits[kHourNow];
    delta[kHourNow] = so_far < limit ? admitted() : 0;
    if (delta[kHourNow] == 0) {
      const Timestamp hour_end = plan.window_ends[kHourNow] - std::chrono::hours(1);
      refuse(Limit::kIdentifierSends,
             read[kHourNow].count < limit ? hour_end : hour_end + std::chrono::hours(1));
    }
  }
  for (const auto& [step, limit] : {std::pair{kCallingCode, Limit::kCallingCodeBudget},
                                    std::pair{kGlobal, Limit::kGlobalBudget}}) {
    if (!plan.active[step]) continue;
    delta[step] = admitted();
    if (delta[step] == 1 && read[step].count >= plan.limits[step]) {
      refuse(limit, plan.window_ends[step]);
    }
  }

  plan.write_count = 0;
  for (std::size_t i = 0; i < plan.reads; ++i) {
    const Step step = plan.read_steps[i];
    if (step == kHourBefore) continue;
    plan.writes[plan.write_count] =
        CounterUpdate{plan.keys[step], delta[step], plan.window_ends[step], CounterState{}};
    plan.write_steps[plan.write_count++] = step;
  }
}

Refusal SendLimiter::recheck(const Plan& plan) const {
  for (std::size_t i = 0; i < plan.write_count; ++i) {
    const Step step = plan.write_steps[i];
    const CounterUpdate& u = plan.writes[i];
    if (u.delta == 0) continue;
    switch (step) {
      case kClientStarts:
        if (u.after.count > plan.limits[step]) return {Limit::kClientStarts, u.after.window_end};
        break;
      case kCooldown:
        if (u.after.count > 1) return {Limit::kResendCooldown, u.after.window_end};
        break;
      case kHourNow:
        if (std::uint64_t{plan.hour_before.count} + u.after.count > plan.limits[step]) {
          const Timestamp hour_end = plan.window_ends[step] - std::chrono::hours(1);
          return {Limit::kIdentifierSends,
                  u.after.count < plan.limits[step] ? hour_end : hour_end + std::chrono::hours(1)};
        }
        break;
      case kCallingCode:
        if (u.after.count > plan.limits[step]) return {Limit::kCallingCodeBudget, u.window_end};
        break;
      case kGlobal:
        if (u.after.count > plan.limits[step]) return {Limit::kGlobalBudget, u.window_end};
        break;
      case kHourBefore:
      case kSteps: break;
    }
  }
  return {};
}

}  // namespace veribind::internal
