// start(): blind index, seven counter keys and operations (lock, cooldown, two hour counts and
// an add; calling code and global budgets are off here), code generation, code tag, challenge
// insert, and a sender that discards. Identifiers are parsed beforehand (parsing has its own
// benchmark). The live set grows by one challenge per iteration.
#include <benchmark/benchmark.h>

#include "bench_support.hpp"

namespace vb = veribind;

namespace {

template <typename MakeIdentifier>
void run_start(benchmark::State& state, MakeIdentifier make) {
  vb::KeyRing ring = vb::bench::bench_ring();
  vb::MemoryStore store;
  vb::bench::DiscardSender sender;
  vb::SystemClock clock;
  vb::Verifier verifier =
      vb::Verifier::create(vb::bench::bench_config(), ring, store, sender, clock).value();
  std::vector<vb::Identifier> identifiers;
  for (int i = 0; i < 1000; ++i) identifiers.push_back(make(i));
  std::size_t i = 0;
  for (auto _ : state) {
    // 1000 identifiers x 1000 sends each (the budget) covers 10^6 iterations.
    auto c = verifier.start(identifiers[i++ % identifiers.size()], vb::Purpose::kSignup);
    if (!c || !c->sent()) {
      state.SkipWithError("start failed");
      break;
    }
    benchmark::DoNotOptimize(c);
  }
}

void BM_Start_Phone(benchmark::State& state) {
  run_start(state, [](int i) {
    return vb::Identifier(
        vb::PhoneNumber::parse("+92300" + std::to_string(1000000 + i), "PK").value());
  });
}
BENCHMARK(BM_Start_Phone)->Iterations(200000);

void BM_Start_Email(benchmark::State& state) {
  run_start(state, [](int i) {
    return vb::Identifier(
        vb::EmailAddress::parse("user" + std::to_string(i) + "@example.com").value());
  });
}
BENCHMARK(BM_Start_Email)->Iterations(200000);

}  // namespace
