// Refusals cost what a send costs: benchmark pairs on a shared-state backend (SQLite, PostgreSQL).
// Each iteration is one start() or one check(), with a sender that does nothing and a clock that
// stands still (so that cooldowns and windows hold for the whole run), under one configuration:
//   BM_Start_Sent                a code is sent to a mobile number last sent one 40 s ago
//   BM_Start_Sent_FirstContact   a code is sent to a number never seen before
//   BM_Start_Refused_Locked      the number is locked (its failed checks reached the limit)
//   BM_Start_Refused_Cooldown    a code went to the number within the resend cooldown
//   BM_Start_Refused_PhoneType   a fixed-line number (no SMS)
//   BM_Check_LiveWrongCode       a wrong code at a live challenge
//   BM_Check_RefusedChallenge    any code at the challenge a refused start returned
// The medians of each refusal and of its pair must lie within 10% (bench/README.md). Working
// set: 2000 identifiers or challenges per benchmark, each used once or a few times. Every
// identifier of the pairs has history (its counter rows exist), as a refused one always has:
// the first contact of a number writes new rows instead, which BM_Start_Sent_FirstContact
// shows apart (a refused first contact writes them too, at 0).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace veribind::bench::uniform {

// A clock that does not move while a benchmark runs, so that the limits' windows hold for the
// whole run; setup may set it back to write history. The half hour keeps 40 s earlier in the same
// clock hour.
inline const Timestamp kNow = Timestamp(std::chrono::hours(493000) + std::chrono::minutes(30));
class StillClock final : public Clock {
 public:
  [[nodiscard]] Timestamp now() const override { return at; }
  Timestamp at = kNow;
};

inline constexpr int kIterations = 2000;
inline constexpr int kRepetitions = 5;

// One configuration for the benchmarks of a pair, so that every start runs the same steps: a
// cooldown, the hourly count, a calling-code and a global budget (never reached). The start
// benchmarks lock a number with one failed check; the check benchmarks never reach the lock.
inline VerifierConfig pair_config(int max_failed_checks) {
  VerifierConfig c;
  c.max_checks = 100;
  c.max_failed_checks = max_failed_checks;
  c.max_sends_per_hour = 1000;
  c.resend_cooldown = std::chrono::seconds(30);
  c.default_calling_code_budget = 4000000000u;
  c.global_sends_per_hour = 4000000000u;
  return c;
}

// "+92 3xx nnnnnnn": Pakistani mobile numbers; "+92 42 3nnnnnnn": Lahore fixed lines.
inline std::vector<PhoneNumber> numbers(const char* prefix, int first, int count) {
  std::vector<PhoneNumber> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = first; i < first + count; ++i) {
    char text[32];
    std::snprintf(text, sizeof text, "%s%07d", prefix, i);
    auto p = PhoneNumber::parse(text, "", PhoneTypeSet::all());
    if (!p) std::abort();
    out.push_back(std::move(p).value());
  }
  return out;
}

// Everything one benchmark needs over one fresh store: a verifier, and the identifiers or
// challenge ids it walks.
struct Rig {
  std::shared_ptr<void> owner;  // the store
  VerificationStore* store = nullptr;
  KeyRing ring = KeyRing::from_master_key(SecretBytes::random(KeyRing::kMasterKeyBytes)).value();
  LastCodeSender sender;
  StillClock clock;
  std::optional<Verifier> verifier;
  std::vector<PhoneNumber> identifiers;
  std::vector<std::string> challenge_ids;
  std::size_t cursor = 0;  // where the next repetition goes on

  template <typename Store>
  Rig(std::unique_ptr<Store> opened, int max_failed_checks) : store(opened.get()) {
    owner = std::move(opened);
    verifier.emplace(
        Verifier::create(pair_config(max_failed_checks), ring, *store, sender, clock).value());
  }
  Challenge start(const PhoneNumber& number) {
    auto c = verifier->start(number, Purpose::kSignup);
    if (!c) std::abort();
    return std::move(c).value();
  }
};

// Opens a fresh, empty store for one benchmark, in a rig with that max_failed_checks.
using OpenStore = std::function<std::unique_ptr<Rig>(int max_failed_checks)>;

inline void run_starts(benchmark::State& state, Rig& rig, Limit expected) {
  for (auto _ : state) {
    auto c = rig.verifier->start(rig.identifiers[rig.cursor++ % rig.identifiers.size()],
                                 Purpose::kSignup);
    if (!c || c->refusal.limit != expected) {
      state.SkipWithError("start() did not give the outcome this benchmark measures");
      break;
    }
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
}

inline void run_checks(benchmark::State& state, Rig& rig) {
  for (auto _ : state) {
    auto r = rig.verifier->check(rig.challenge_ids[rig.cursor++ % rig.challenge_ids.size()],
                                 "000000", Purpose::kSignup);
    if (!r || r->outcome != CheckOutcome::kWrongCode) {
      state.SkipWithError("check() did not give the outcome this benchmark measures");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// Registers the six benchmarks as "<name>/<backend>". `open` makes a fresh store; each benchmark
// builds its rig once (setup is not timed) and keeps it across repetitions: the pools below hold
// enough identifiers for every repetition's iterations.
inline void register_pairs(const std::string& backend, OpenStore open) {
  const int uses = kIterations * kRepetitions;
  auto add = [&](const char* name, std::function<void(benchmark::State&, Rig&)> body,
                 std::function<void(Rig&)> setup) {
    auto rig = std::make_shared<std::unique_ptr<Rig>>();
    const bool checks = std::string(name).starts_with("BM_Check");
    benchmark::RegisterBenchmark((std::string(name) + "/" + backend).c_str(),
                                 [rig, open, body, setup, checks](benchmark::State& state) {
                                   if (!*rig) {
                                     *rig = open(checks ? 1000 : 1);
                                     setup(**rig);
                                   }
                                   body(state, **rig);
                                 })
        ->Iterations(kIterations)
        ->Repetitions(kRepetitions)
        ->ReportAggregatesOnly(true)
        ->Unit(benchmark::kMicrosecond);
  };
  // History 40 s back: past the cooldown, in the same clock hour.
  const auto earlier = [](Rig& r) {
    r.clock.at = kNow - std::chrono::seconds(40);
    for (const PhoneNumber& n : r.identifiers) (void)r.start(n);
    r.clock.at = kNow;
  };
  add(
      "BM_Start_Sent", [](benchmark::State& s, Rig& r) { run_starts(s, r, Limit::kNone); },
      [uses, earlier](Rig& r) {
        r.identifiers = numbers("+92300", 1000000, uses);
        earlier(r);
      });
  add(
      "BM_Start_Sent_FirstContact",
      [](benchmark::State& s, Rig& r) { run_starts(s, r, Limit::kNone); },
      [uses](Rig& r) { r.identifiers = numbers("+92305", 1000000, uses); });
  add(
      "BM_Start_Refused_Locked",
      [](benchmark::State& s, Rig& r) { run_starts(s, r, Limit::kIdentifierLocked); },
      [](Rig& r) {
        r.identifiers = numbers("+92301", 1000000, 2000);
        for (const PhoneNumber& n : r.identifiers) {  // one wrong code each locks it
          Challenge c = r.start(n);
          if (r.verifier->check(c.id, "000000", Purpose::kSignup)->outcome ==
              CheckOutcome::kVerified) {
            std::abort();
          }
        }
      });
  add(
      "BM_Start_Refused_Cooldown",
      [](benchmark::State& s, Rig& r) { run_starts(s, r, Limit::kResendCooldown); },
      [](Rig& r) {
        r.identifiers = numbers("+92302", 1000000, 2000);
        for (const PhoneNumber& n : r.identifiers) (void)r.start(n);  // the clock stands still
      });
  add(
      "BM_Start_Refused_PhoneType",
      [](benchmark::State& s, Rig& r) { run_starts(s, r, Limit::kPhoneType); },
      [earlier](Rig& r) {
        r.identifiers = numbers("+92423", 5000000, 2000);
        earlier(r);
      });
  add(
      "BM_Check_LiveWrongCode", [](benchmark::State& s, Rig& r) { run_checks(s, r); },
      [](Rig& r) {
        for (const PhoneNumber& n : numbers("+92303", 1000000, 2000)) {
          r.challenge_ids.push_back(r.start(n).id);
        }
      });
  add(
      "BM_Check_RefusedChallenge", [](benchmark::State& s, Rig& r) { run_checks(s, r); },
      [](Rig& r) {
        for (const PhoneNumber& n : numbers("+92304", 1000000, 2000)) {
          (void)r.start(n);                          // sent: the cooldown starts
          r.challenge_ids.push_back(r.start(n).id);  // refused: the id to check
        }
      });
}

}  // namespace veribind::bench::uniform
