// check() on MemoryStore: the hot path (one lookup, one PRF, one constant-time compare, one
// atomic attempt update). Working set: 10^5 or 10^6 live challenges (88-byte records plus index).
#include <benchmark/benchmark.h>

#include <memory>

#include "bench_support.hpp"

namespace vb = veribind;
using vb::bench::LiveChallenge;

namespace {

// Built once per size and reused by every benchmark of that size.
struct World {
  explicit World(std::size_t live, int max_checks)
      : ring(vb::bench::bench_ring()),
        verifier(
            vb::Verifier::create(vb::bench::bench_config(max_checks), ring, store, sender, clock)
                .value()),
        challenges(vb::bench::start_many(verifier, sender, live)) {}
  vb::KeyRing ring;
  vb::MemoryStore store;
  vb::bench::LastCodeSender sender;
  vb::SystemClock clock;
  vb::Verifier verifier;
  std::vector<LiveChallenge> challenges;
};

// A wrong code: charges an attempt and compares; the challenge stays live. 100 checks per
// challenge are allowed so the run never reaches the locked path.
void BM_Check_Memory_WrongCode(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  static std::unique_ptr<World> world;
  static std::size_t built_for = 0;
  if (built_for != live) {
    world.reset();
    world = std::make_unique<World>(live, 100);
    built_for = live;
  }
  // 10^6 iterations charge each challenge at most 10 of its 100 attempts.
  std::size_t i = 0;
  for (auto _ : state) {
    const LiveChallenge& c = world->challenges[i];
    auto r = world->verifier.check(c.id(), c.wrong_code(), vb::Purpose::kSignup);
    benchmark::DoNotOptimize(r);
    if (++i == live) i = 0;
  }
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_Check_Memory_WrongCode)->Arg(100000)->Arg(1000000)->Iterations(1000000);

// The right code: verifies and consumes. A separate pool of challenges is consumed so that the
// `live` challenges stay resident; the live count falls from live + pool to live during a run.
void BM_Check_Memory_RightCode(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kPool = 100000;
  World world(live + kPool, 5);
  std::size_t i = 0;
  for (auto _ : state) {
    const LiveChallenge& c = world.challenges[i++];
    auto r = world.verifier.check(c.id(), c.code(), vb::Purpose::kSignup);
    benchmark::DoNotOptimize(r);
  }
  if (world.store.challenge_count() != live + kPool - i) state.SkipWithError("a check failed");
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_Check_Memory_RightCode)->Arg(100000)->Arg(1000000)->Iterations(100000);

// Memory per live challenge at 10^6: heap growth of a MemoryStore holding them / count.
void BM_Memory_PerLiveChallenge(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    vb::SystemClock clock;
    const std::size_t before = vb::bench::heap_in_use();
    auto store = std::make_unique<vb::MemoryStore>();
    // Records are inserted directly (the same 88-byte records start() writes), so that only the
    // challenge table is counted.
    for (std::size_t n = 0; n < live; ++n) {
      vb::ChallengeRecord r;
      r.id = vb::ChallengeId::random();
      r.expires_at = clock.now() + std::chrono::minutes(10);
      r.max_attempts = 5;
      if (!store->create_challenge(r).is_ok()) std::abort();
    }
    const std::size_t after = vb::bench::heap_in_use();
    state.counters["bytes_per_challenge"] =
        static_cast<double>(after - before) / static_cast<double>(live);
    state.counters["live_challenges"] = static_cast<double>(store->challenge_count());
  }
}
BENCHMARK(BM_Memory_PerLiveChallenge)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

namespace {

// The parts of check(), each alone, to read the whole against: decoding the id and the store's
// atomic charge (10^5 live records reached in random order). The PRF alone is
// BM_Baseline_SipHashx24_Keyed_42B.
void BM_CheckPart_ParseChallengeId(benchmark::State& state) {
  const std::string text = vb::ChallengeId::random().to_string();
  for (auto _ : state) benchmark::DoNotOptimize(vb::ChallengeId::parse(text));
}
BENCHMARK(BM_CheckPart_ParseChallengeId);

void BM_CheckPart_MemoryStore_ChargeAttempt(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  vb::MemoryStore store;
  std::vector<vb::ChallengeId> ids(live);
  const vb::Timestamp now = vb::SystemClock().now();
  for (vb::ChallengeId& id : ids) {
    vb::ChallengeRecord r;
    r.id = id = vb::ChallengeId::random();
    r.expires_at = now + std::chrono::hours(1);
    r.max_attempts = 100;
    if (!store.create_challenge(r).is_ok()) std::abort();
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.charge_attempt(ids[i], now));
    if (++i == live) i = 0;
  }
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_CheckPart_MemoryStore_ChargeAttempt)->Arg(100000)->Iterations(1000000);

}  // namespace
