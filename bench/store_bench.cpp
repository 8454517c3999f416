// check() on SqliteStore (a file under /tmp, default options: WAL, synchronous=FULL): the same
// hot path with a real database underneath. Working set: 10^4 live challenges and a pool of
// 10^3 that right codes consume.
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

// One store for both benchmarks, built once (start() on SQLite commits several times, so building
// it is slow on a busy disk) and kept for every run: 10^4 live challenges that get wrong codes
// (100 checks allowed each, far more than a run uses) and a pool of 1000 that right codes
// consume, started again (timer paused) when used up.
constexpr std::size_t kSqliteLive = 10000;
constexpr std::size_t kSqlitePool = 1000;

struct SqliteBench {
  SqliteWorld world{kSqliteLive, 100};
  std::size_t next_wrong = 0;
  std::size_t next_right = kSqliteLive;  // the pool is challenges[kSqliteLive, end)
  std::size_t next_identifier = kSqliteLive;

  SqliteBench() { refill_pool(); }
  void refill_pool() {
    world.challenges.resize(kSqliteLive);
    vb::bench::start_many(*world.verifier, world.sender, kSqlitePool, world.challenges,
                          next_identifier);
    next_identifier += kSqlitePool;
    next_right = kSqliteLive;
  }
};

SqliteBench& sqlite_bench() {
  static SqliteBench bench;
  return bench;
}

// A wrong code on one thread, against the 10^4 live challenges in a SqliteStore opened with the
// default options (WAL, synchronous=FULL): every check commits the charge and the failure count.
void BM_Check_Sqlite_WrongCode(benchmark::State& state) {
  SqliteBench& b = sqlite_bench();
  for (auto _ : state) {
    const auto& c = b.world.challenges[b.next_wrong];
    auto r = b.world.verifier->check(c.id(), c.wrong_code(), vb::Purpose::kSignup);
    if (!r || r->outcome != vb::CheckOutcome::kWrongCode) {
      state.SkipWithError("a wrong code was not answered kWrongCode");
      break;
    }
    benchmark::DoNotOptimize(r);
    if (++b.next_wrong == kSqliteLive) b.next_wrong = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live_challenges"] = static_cast<double>(kSqliteLive);
}
BENCHMARK(BM_Check_Sqlite_WrongCode);

// The right code on one thread: verifies and consumes a pool challenge.
void BM_Check_Sqlite_RightCode(benchmark::State& state) {
  SqliteBench& b = sqlite_bench();
  for (auto _ : state) {
    if (b.next_right == b.world.challenges.size()) {
      state.PauseTiming();
      b.refill_pool();
      state.ResumeTiming();
    }
    const auto& c = b.world.challenges[b.next_right++];
    auto r = b.world.verifier->check(c.id(), c.code(), vb::Purpose::kSignup);
    if (!r || r->outcome != vb::CheckOutcome::kVerified) {
      state.SkipWithError("a right code was not verified");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live_challenges"] = static_cast<double>(kSqliteLive);
}
BENCHMARK(BM_Check_Sqlite_RightCode);

}  // namespace
