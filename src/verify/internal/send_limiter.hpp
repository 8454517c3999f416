// The send limits of start() and resend(), as a plan of counter steps that the Verifier runs in
// two store operations: one read of every counter the limits consult (VerificationStore::
// read_counters), then one atomic write of the challenge with every counter step
// (create_challenge or reissue_challenge). The decision is made from the read; the counts after
// the write catch a concurrent request that took the last place in between.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "veribind/verification_store.hpp"
#include "veribind/verifier.hpp"

namespace veribind::internal {

class SendLimiter {
 public:
  // The counters a send consults, in the order the limits apply.
  enum Step : std::uint8_t {
    kClientStarts,  // only with a client key
    kCooldown,      // only with a resend cooldown
    kHourBefore,    // read only: the previous clock hour's sends to the identifier
    kHourNow,
    kCallingCode,  // only for phones with a budget
    kGlobal,       // only with a global budget
    kSteps,
  };

  struct Plan {
    std::array<bool, kSteps> active{};
    std::array<CounterKey, kSteps> keys{};
    std::array<Timestamp, kSteps> window_ends{};  // the window a new count starts
    std::array<std::uint32_t, kSteps> limits{};   // the count a step may reach
    Refusal refusal;                              // the static one, then the decided one
    // The active steps' keys, in order, for read_counters().
    std::array<CounterKey, kSteps> read_keys{};
    std::array<Step, kSteps> read_steps{};
    std::size_t reads = 0;
    // The counter steps of the write (every active step but kHourBefore), filled by decide().
    std::array<CounterUpdate, kSteps> writes{};
    std::array<Step, kSteps> write_steps{};
    std::size_t write_count = 0;
    CounterState hour_before;  // as read

    [[nodiscard]] std::span<const CounterKey> keys_to_read() const {
      return {read_keys.data(), reads};
    }
    [[nodiscard]] std::span<CounterUpdate> counter_writes() { return {writes.data(), write_count}; }
  };

  SendLimiter(const VerifierConfig& config, const SecretBytes& counter_key)
      : config_(&config), counter_key_(&counter_key) {}

  // The counters a send of `record` consults. `statically_refused` is the refusal known without
  // any counter (phone type, region), or none.
  [[nodiscard]] Plan plan(const ChallengeRecord& record, Refusal statically_refused,
                          const RequestContext& context, Timestamp now) const;

  // Decides from what read_counters() returned (`failures`, and `counts` in read_keys() order)
  // and fills the plan's writes: a refused request still counts against the client key and
  // against the limit that refused it, never against later ones.
  void decide(Plan& plan, const CounterState& failures, std::span<const CounterState> counts) const;

  // After the write: the refusal a concurrent request caused by taking the last place between the
  // read and the write (none if every count stayed within its limit).
  [[nodiscard]] Refusal recheck(const Plan& plan) const;

 private:
  const VerifierConfig* config_;
  const SecretBytes* counter_key_;
};

}  // namespace veribind::internal
