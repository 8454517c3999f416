// check() and start() on PostgreSQL over loopback, with 1 and 4 threads (each thread has a
// connection of its own: the pool holds as many connections as there are threads), beside the
// floor under every operation (one read round trip) in the same run. The store runs with its
// defaults: verification state commits without waiting for the WAL flush.
//
// Needs a server: scripts/bench-postgres.sh starts a throwaway one, sets VERIBIND_PG_URL, runs
// this, and stops it. Every world gets a schema of its own on that server.
//
// Working set: 1000 live challenges per thread for wrong codes (100 checks allowed each, so the
// runs never reach the locked path); a fresh challenge per iteration for right codes; 1000 email
// identifiers per thread for start().
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "uniform_bench.hpp"
#include "veribind/postgres_store.hpp"

namespace vb = veribind;
using vb::bench::LiveChallenge;

namespace {

enum class Backend { kPostgres };

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "postgres_bench: %s\n", why.c_str());
  std::exit(1);
}

// One store shared by `threads` threads, and per thread a verifier with its own sender and the
// challenges it started.
struct World {
  World(Backend backend, int thread_count, std::size_t per_thread, int max_checks)
      : threads(thread_count) {
    static int worlds = 0;
    ++worlds;
    if (backend != Backend::kPostgres) die("unknown backend");
    const char* url = std::getenv("VERIBIND_PG_URL");
    if (url == nullptr) die("VERIBIND_PG_URL is not set (run scripts/bench-postgres.sh)");
    vb::PostgresOptions options;
    options.pool_size = static_cast<std::size_t>(thread_count);
    options.schema = "bench_";
    options.schema += std::to_string(::getpid());
    options.schema += "_";
    options.schema += std::to_string(worlds);
    auto opened = vb::PostgresStore::open(url, options);
    if (!opened) die(opened.status().message());
    store = std::move(*opened);
    for (int t = 0; t < threads; ++t) {
      senders.emplace_back();
      verifiers.push_back(vb::Verifier::create(vb::bench::bench_config(max_checks), ring, *store,
                                               senders.back(), clock)
                              .value());
      std::vector<vb::EmailAddress> emails;
      for (int i = 0; i < 1000; ++i) {
        // Appended piece by piece: GCC 12 at -O3 misreads "t" + std::string (-Wrestrict).
        std::string address = "t";
        address += std::to_string(t);
        address += "-user";
        address += std::to_string(i);
        address += "@example.com";
        emails.push_back(vb::EmailAddress::parse(address).value());
      }
      identifiers.push_back(std::move(emails));
    }
    challenges.resize(static_cast<std::size_t>(threads));
    std::vector<std::thread> starters;
    for (int t = 0; t < threads; ++t) {
      starters.emplace_back([this, t, per_thread] {
        const auto ti = static_cast<std::size_t>(t);
        for (std::size_t i = 0; i < per_thread; ++i) challenges[ti].push_back(start(ti, i));
      });
    }
    for (std::thread& s : starters) s.join();
  }
  World(const World&) = delete;
  World& operator=(const World&) = delete;
  ~World() {
    verifiers.clear();
    store.reset();
  }

  LiveChallenge start(std::size_t thread, std::size_t i) {
    auto c = verifiers[thread].start(identifiers[thread][i % 1000], vb::Purpose::kSignup);
    if (!c) die("start failed: " + c.status().message());
    LiveChallenge live;
    const std::string& code = senders[thread].last_code;
    std::copy(c->id.begin(), c->id.end(), live.id_text.begin());
    std::copy(code.begin(), code.end(), live.code_text.begin());
    live.code_length = static_cast<std::uint8_t>(code.size());
    return live;
  }

  int threads;
  vb::KeyRing ring = vb::bench::bench_ring();
  std::unique_ptr<vb::PostgresStore> store;
  vb::SystemClock clock;
  std::deque<vb::bench::LastCodeSender> senders;  // a deque: verifiers point at its elements
  std::vector<vb::Verifier> verifiers;
  std::vector<std::vector<vb::EmailAddress>> identifiers;
  std::vector<std::vector<LiveChallenge>> challenges;
};

// Built by thread 0 before the timed loop (Google Benchmark starts every thread's loop together,
// after that); used by all threads inside it.
template <Backend B>
void BM_Check_WrongCode(benchmark::State& state) {
  static std::unique_ptr<World> world;
  if (state.thread_index() == 0 && (!world || world->threads != state.threads())) {
    world.reset();
    world = std::make_unique<World>(B, state.threads(), 1000, 100);
  }
  const auto t = static_cast<std::size_t>(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const LiveChallenge& c = world->challenges[t][i];
    auto r = world->verifiers[t].check(c.id(), c.wrong_code(), vb::Purpose::kSignup);
    if (!r || r->outcome != vb::CheckOutcome::kWrongCode) {
      state.SkipWithError("a wrong-code check did not answer wrong_code");
      break;
    }
    if (++i == world->challenges[t].size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// A fresh world per run: every iteration consumes one challenge.
template <Backend B>
void BM_Check_RightCode(benchmark::State& state) {
  static std::unique_ptr<World> world;
  if (state.thread_index() == 0) {
    world.reset();
    world = std::make_unique<World>(B, state.threads(),
                                    static_cast<std::size_t>(state.max_iterations), 5);
  }
  const auto t = static_cast<std::size_t>(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const LiveChallenge& c = world->challenges[t][i++];
    auto r = world->verifiers[t].check(c.id(), c.code(), vb::Purpose::kSignup);
    if (!r || r->outcome != vb::CheckOutcome::kVerified) {
      state.SkipWithError("a right-code check did not verify");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

template <Backend B>
void BM_Start(benchmark::State& state) {
  static std::unique_ptr<World> world;
  if (state.thread_index() == 0 && (!world || world->threads != state.threads())) {
    world.reset();
    world = std::make_unique<World>(B, state.threads(), 0, 5);
  }
  const auto t = static_cast<std::size_t>(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(world->start(t, i++));
  state.SetItemsProcessed(state.iterations());
}

// The floor under every operation: one read round trip that writes and commits nothing (a
// find_challenge of an id that does not exist: one index probe).
template <Backend B>
void BM_FindChallenge_Miss(benchmark::State& state) {
  static std::unique_ptr<World> world;
  if (state.thread_index() == 0 && (!world || world->threads != state.threads())) {
    world.reset();
    world = std::make_unique<World>(B, state.threads(), 0, 5);
  }
  const vb::ChallengeId missing = vb::ChallengeId::random();
  for (auto _ : state) {
    auto r = world->store->find_challenge(missing);
    if (!r || r->has_value()) {
      state.SkipWithError("find_challenge failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

constexpr auto kPg = Backend::kPostgres;

// Iterations per thread.
BENCHMARK_TEMPLATE(BM_FindChallenge_Miss, kPg)
    ->Threads(1)
    ->Threads(4)
    ->Iterations(2000)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Check_WrongCode, kPg)
    ->Threads(1)
    ->Threads(4)
    ->Iterations(1000)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Check_RightCode, kPg)->Threads(1)->Threads(4)->Iterations(500)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Start, kPg)->Threads(1)->Threads(4)->Iterations(500)->UseRealTime();

// The refusal/send pairs (uniform_bench.hpp), each over a schema of its own.
const bool pairs_registered = [] {
  vb::bench::uniform::register_pairs("postgres", [](int max_failed_checks) {
    static int rigs = 0;
    const char* url = std::getenv("VERIBIND_PG_URL");
    if (url == nullptr) die("VERIBIND_PG_URL is not set (run scripts/bench-postgres.sh)");
    vb::PostgresOptions options;
    options.pool_size = 1;
    options.schema = "bench_pairs_";
    options.schema += std::to_string(::getpid());
    options.schema += "_";
    options.schema += std::to_string(++rigs);
    auto opened = vb::PostgresStore::open(url, options);
    if (!opened) die(opened.status().message());
    return std::make_unique<vb::bench::uniform::Rig>(std::move(opened).value(), max_failed_checks);
  });
  return true;
}();

}  // namespace
