// check() on MemoryStore: the hot path (one attempt charge, one PRF, one constant-time compare,
// the identifier's failure count). Working set: 10^5 or 10^6 live challenges, each for its own
// identifier. Public API only: Verifier::create over a MemoryStore, start() to make challenges,
// check() to measure.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <optional>

#include "bench_support.hpp"

namespace vb = veribind;
using vb::bench::LiveChallenge;

namespace {

// Every challenge allows 100 checks, the most VerifierConfig allows; a benchmark that walks its
// challenges over and over rebuilds them (timer paused) before any reaches that limit, so it never
// measures the locked path.
constexpr int kMaxChecks = 100;
constexpr int kPassesPerWorld = 90;

// A store, its verifier and `live` challenges started through it.
struct World {
  explicit World(std::size_t live)
      : ring(vb::bench::bench_ring()),
        verifier(
            vb::Verifier::create(vb::bench::bench_config(kMaxChecks), ring, store, sender, clock)
                .value()) {
    vb::bench::start_many(verifier, sender, live, challenges);
    next_identifier = live;
  }
  vb::KeyRing ring;
  vb::MemoryStore store;
  vb::bench::LastCodeSender sender;
  vb::SystemClock clock;
  vb::Verifier verifier;
  std::vector<LiveChallenge> challenges;
  std::size_t next_identifier = 0;
  int passes = 0;          // full walks of `challenges` with wrong codes
  std::size_t cursor = 0;  // the next unused pool challenge (right-code benchmark)
};

// One world per size, kept across the runs Google Benchmark makes of the same benchmark.
World& world_of(std::unique_ptr<World>& world, std::size_t live) {
  if (!world || world->challenges.size() != live || world->passes >= kPassesPerWorld) {
    world.reset();
    world = std::make_unique<World>(live);
  }
  return *world;
}

// A wrong code: charges an attempt, compares, counts the identifier's failure; the challenge stays
// live. Challenges are walked in order (as a request buffer is hot in a server); their records
// are reached in random order (ids are random).
void BM_Check_Memory_WrongCode(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  static std::unique_ptr<World> world;
  World* w = &world_of(world, live);
  std::size_t i = 0;
  for (auto _ : state) {
    const LiveChallenge& c = w->challenges[i];
    auto r = w->verifier.check(c.id(), c.wrong_code(), vb::Purpose::kSignup);
    if (!r || r->outcome != vb::CheckOutcome::kWrongCode) {
      state.SkipWithError("a wrong code was not answered kWrongCode");
      break;
    }
    benchmark::DoNotOptimize(r);
    if (++i == live) {
      i = 0;
      if (++w->passes == kPassesPerWorld) {
        state.PauseTiming();
        w = &world_of(world, live);
        state.ResumeTiming();
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_Check_Memory_WrongCode)->Arg(100000)->Arg(1000000);

// The right code: verifies and consumes. A separate pool of challenges is consumed, and refilled
// (timer paused) when used up, so that `live` challenges stay resident: the live count moves
// between live and live + 10^5 during a run.
void BM_Check_Memory_RightCode(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kPool = 100000;
  static std::unique_ptr<World> world;
  if (!world || world->challenges.size() != live + kPool) {
    world.reset();
    world = std::make_unique<World>(live + kPool);
    world->cursor = live;
  }
  World& w = *world;
  for (auto _ : state) {
    if (w.cursor == w.challenges.size()) {
      state.PauseTiming();
      w.challenges.resize(live);
      vb::bench::start_many(w.verifier, w.sender, kPool, w.challenges, w.next_identifier);
      w.next_identifier += kPool;
      w.cursor = live;
      state.ResumeTiming();
    }
    const LiveChallenge& c = w.challenges[w.cursor++];
    auto r = w.verifier.check(c.id(), c.code(), vb::Purpose::kSignup);
    if (!r || r->outcome != vb::CheckOutcome::kVerified) {
      state.SkipWithError("a right code was not verified");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_Check_Memory_RightCode)->Arg(100000)->Arg(1000000);

// Memory per live challenge: heap growth (mallinfo2: in use plus mmapped) of a MemoryStore while
// `live` challenges are started through a Verifier, divided by `live`. The challenges are spread
// over 2000 identifiers (500 sends each, within the hourly budget of 1000), so the per-identifier
// counters (lock, cooldown, hourly sends) add well under a byte per challenge: the figure is the
// challenge records and their index. Time: starting the challenges (freeing them is paused).
void BM_Memory_PerLiveChallenge(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kIdentifiers = 2000;
  std::vector<vb::Identifier> identifiers;
  identifiers.reserve(kIdentifiers);
  for (std::size_t k = 0; k < kIdentifiers; ++k) {
    identifiers.emplace_back(
        vb::EmailAddress::parse("user" + std::to_string(k) + "@example.com").value());
  }
  const vb::KeyRing ring = vb::bench::bench_ring();
  vb::bench::DiscardSender sender;
  vb::SystemClock clock;
  double bytes_per_challenge = 0;
  for (auto _ : state) {
    const std::size_t before = vb::bench::heap_in_use();
    auto store = std::make_unique<vb::MemoryStore>();
    std::optional<vb::Verifier> verifier =
        vb::Verifier::create(vb::bench::bench_config(), ring, *store, sender, clock).value();
    for (std::size_t n = 0; n < live; ++n) {
      auto c = verifier->start(identifiers[n % kIdentifiers], vb::Purpose::kSignup);
      if (!c || !c->sent()) {
        state.SkipWithError("start failed");
        break;
      }
    }
    const std::size_t after = vb::bench::heap_in_use();
    bytes_per_challenge = static_cast<double>(after - before) / static_cast<double>(live);
    state.PauseTiming();
    verifier.reset();
    store.reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_challenge"] = bytes_per_challenge;
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_Memory_PerLiveChallenge)->Arg(1000000)->Unit(benchmark::kMillisecond);

// Scaling: each thread checks wrong codes against its own 2 x 10^5 challenges, all in one shared
// MemoryStore, each with its own Verifier over it. items_per_second is over all threads (real
// time), so threads:2 / threads:1 is the speed-up of a second thread.
constexpr std::size_t kScalingPerThread = 200000;
constexpr int kScalingSlots = 3;  // one for the single-thread run, two for the two-thread run

struct SharedWorld {
  SharedWorld() : ring(vb::bench::bench_ring()) {
    vb::Verifier starter =
        vb::Verifier::create(vb::bench::bench_config(kMaxChecks), ring, store, sender, clock)
            .value();
    for (int slot = 0; slot < kScalingSlots; ++slot) {
      const auto first = static_cast<std::size_t>(slot) * kScalingPerThread;
      vb::bench::start_many(starter, sender, kScalingPerThread, challenges[slot], first);
    }
  }
  vb::KeyRing ring;
  vb::MemoryStore store;
  vb::bench::LastCodeSender sender;
  vb::SystemClock clock;
  std::array<std::vector<LiveChallenge>, kScalingSlots> challenges;
};

void BM_Check_Memory_Scaling(benchmark::State& state) {
  static SharedWorld world;  // built once, by the first thread to get here
  const int slot = state.threads() == 1 ? 0 : 1 + state.thread_index();
  if (slot >= kScalingSlots) {
    state.SkipWithError("registered for one and two threads only");
    return;
  }
  vb::bench::DiscardSender sender;
  vb::Verifier verifier = vb::Verifier::create(vb::bench::bench_config(kMaxChecks), world.ring,
                                               world.store, sender, world.clock)
                              .value();
  const std::vector<LiveChallenge>& mine = world.challenges[slot];
  std::size_t i = 0;
  for (auto _ : state) {
    const LiveChallenge& c = mine[i];
    auto r = verifier.check(c.id(), c.wrong_code(), vb::Purpose::kSignup);
    if (!r || r->outcome != vb::CheckOutcome::kWrongCode) {
      state.SkipWithError("a wrong code was not answered kWrongCode (attempts used up?)");
      break;
    }
    benchmark::DoNotOptimize(r);
    if (++i == mine.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Check_Memory_Scaling)->Threads(1)->Threads(2)->UseRealTime();

// Decoding the challenge id (32 hex characters to 16 bytes), the first step of check(). The PRF
// alone is BM_Baseline_SipHashx24_Keyed_42B.
void BM_CheckPart_ParseChallengeId(benchmark::State& state) {
  const std::string text = vb::ChallengeId::random().to_string();
  for (auto _ : state) benchmark::DoNotOptimize(vb::ChallengeId::parse(text));
}
BENCHMARK(BM_CheckPart_ParseChallengeId);

}  // namespace
