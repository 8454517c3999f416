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
// cooldown, the hourly count, a calling-code and a global budget (never reached).
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
// challenge ids it walks. The verifier sends through `given_sender` when there is one (an
// Outbox, say), else through a sender that keeps the code and does nothing else.
struct Rig {
  std::shared_ptr<void> owner;  // the store
  VerificationStore* store = nullptr;
  KeyRing ring = KeyRing::from_master_key(SecretBytes::random(KeyRing::kMasterKeyBytes)).value();
  LastCodeSender recording_sender;
  std::shared_ptr<Sender> given_sender;  // destroyed after the verifier that uses it
  StillClock clock;
  std::optional<Verifier> verifier;
  std::vector<PhoneNumber> identifiers;
  std::vector<std::string> challenge_ids;
  std::size_t cursor = 0;  // where the next repetition goes on

  template <typename Store>
  Rig(std::unique_ptr<Store> opened, int max_failed_checks,
      std::shared_ptr<Sender> sender = nullptr)
      : store(opened.get()), given_sender(std::move(sender)) {
    owner = std::move(opened);
    Sender& through = given_sender ? *given_sender : recording_sender;
    verifier.emplace(
        Verifier::create(pair_config(max_failed_checks), ring, *store, through, clock).value());
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

using Body = std::function<void(benchmark::State&, Rig&)>;
using Setup = std::function<void(Rig&)>;

// Registers `name`: `open` makes a fresh store in a rig with that max_failed_checks, and `setup`
// fills it, both on the first repetition and untimed; the rig is kept across repetitions, so
// `setup` must leave enough identifiers or challenges for iterations x kRepetitions uses.
inline void register_rigged(const std::string& name, OpenStore open, int max_failed_checks,
                            Body body, Setup setup, int iterations = kIterations) {
  auto rig = std::make_shared<std::unique_ptr<Rig>>();
  benchmark::RegisterBenchmark(
      name.c_str(),
      [rig, open, max_failed_checks, body, setup](benchmark::State& state) {
        if (!*rig) {
          *rig = open(max_failed_checks);
          setup(**rig);
        }
        body(state, **rig);
      })
      ->Iterations(iterations)
      ->Repetitions(kRepetitions)
      ->ReportAggregatesOnly(true)
      ->Unit(benchmark::kMicrosecond);
}

// The start() benchmarks lock a number with one failed check; the check benchmarks never reach
// the lock.
inline constexpr int kStartMaxFailedChecks = 1;
inline constexpr int kCheckMaxFailedChecks = 1000;

// History 40 s back: past the cooldown, in the same clock hour.
inline void start_all_earlier(Rig& r) {
  r.clock.at = kNow - std::chrono::seconds(40);
  for (const PhoneNumber& n : r.identifiers) (void)r.start(n);
  r.clock.at = kNow;
}

// BM_Start_Sent's world: `count` mobile numbers, each sent a code 40 s ago.
inline void setup_sent_with_history(Rig& r, int count) {
  r.identifiers = numbers("+92300", 1000000, count);
  start_all_earlier(r);
}

// BM_Start_Refused_Cooldown's world: `count` mobile numbers, each sent a code now (the clock
// stands still, so every later start is within the cooldown).
inline void setup_refused_cooldown(Rig& r, int count = 2000) {
  r.identifiers = numbers("+92302", 1000000, count);
  for (const PhoneNumber& n : r.identifiers) (void)r.start(n);
}

// Registers the seven benchmarks as "<name>/<backend>". `open` makes a fresh store; each
// benchmark builds its rig once (setup is not timed) and keeps it across repetitions: the pools
// below hold enough identifiers for every repetition's iterations.
inline void register_pairs(const std::string& backend, OpenStore open) {
  const int uses = kIterations * kRepetitions;
  auto add = [&](const char* name, Body body, Setup setup) {
    const bool checks = std::string(name).starts_with("BM_Check");
    register_rigged(std::string(name) + "/" + backend, open,
                    checks ? kCheckMaxFailedChecks : kStartMaxFailedChecks, std::move(body),
                    std::move(setup));
  };
  add(
      "BM_Start_Sent", [](benchmark::State& s, Rig& r) { run_starts(s, r, Limit::kNone); },
      [uses](Rig& r) { setup_sent_with_history(r, uses); });
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
      [](Rig& r) { setup_refused_cooldown(r); });
  add(
      "BM_Start_Refused_PhoneType",
      [](benchmark::State& s, Rig& r) { run_starts(s, r, Limit::kPhoneType); },
      [](Rig& r) {
        r.identifiers = numbers("+92423", 5000000, 2000);
        start_all_earlier(r);
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
