// check() on SqliteStore (a file under /tmp, WAL): the same hot path with a real database
// underneath. Working set: 10^4 live challenges.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "bench_support.hpp"
#include "veribind/sqlite_store.hpp"

namespace vb = veribind;

namespace {

struct SqliteWorld {
  SqliteWorld(std::size_t live, int max_checks) {
    char tmpl[] = "/tmp/veribind-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    store = vb::SqliteStore::open((dir / "bench.db").string()).value();
    verifier.emplace(
        vb::Verifier::create(vb::bench::bench_config(max_checks), ring, *store, sender, clock)
            .value());
    challenges = vb::bench::start_many(*verifier, sender, live);
  }
  ~SqliteWorld() {
    verifier.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  vb::KeyRing ring = vb::bench::bench_ring();
  std::unique_ptr<vb::SqliteStore> store;
  vb::bench::LastCodeSender sender;
  vb::SystemClock clock;
  std::optional<vb::Verifier> verifier;
  std::vector<vb::bench::LiveChallenge> challenges;
};

void BM_Check_Sqlite_WrongCode(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  SqliteWorld world(live, 100);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& c = world.challenges[i];
    auto r = world.verifier->check(c.id(), c.wrong_code(), vb::Purpose::kSignup);
    benchmark::DoNotOptimize(r);
    if (++i == live) i = 0;
  }
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_Check_Sqlite_WrongCode)->Arg(10000)->Iterations(20000);

void BM_Check_Sqlite_RightCode(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kPool = 20000;
  SqliteWorld world(live + kPool, 5);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& c = world.challenges[i++];
    auto r = world.verifier->check(c.id(), c.code(), vb::Purpose::kSignup);
    benchmark::DoNotOptimize(r);
  }
  state.counters["live_challenges"] = static_cast<double>(live);
}
BENCHMARK(BM_Check_Sqlite_RightCode)->Arg(10000)->Iterations(20000);

}  // namespace
