// Blind index of one canonical identifier: one keyed BLAKE2b-256. Its rate is what an attacker
// holding a leaked key gets per core when enumerating a numbering space (SECURITY.md).
#include <benchmark/benchmark.h>

#include "bench_support.hpp"

namespace vb = veribind;

namespace {

void BM_BlindIndex_Phone(benchmark::State& state) {
  vb::KeyRing ring = vb::bench::bench_ring();
  vb::BlindIndexer indexer = vb::BlindIndexer::create(ring).value();
  std::string e164 = "+923001234567";
  for (auto _ : state) {
    benchmark::DoNotOptimize(indexer.compute(vb::Channel::kPhone, e164));
    // Walk the national number like an enumeration would.
    for (auto d = e164.rbegin(); d != e164.rend() && (*d = *d == '9' ? '0' : *d + 1) == '0'; ++d) {
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlindIndex_Phone);

void BM_BlindIndex_Email(benchmark::State& state) {
  vb::KeyRing ring = vb::bench::bench_ring();
  vb::BlindIndexer indexer = vb::BlindIndexer::create(ring).value();
  const std::string email = "alice.liddell@example.com";
  for (auto _ : state) benchmark::DoNotOptimize(indexer.compute(vb::Channel::kEmail, email));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlindIndex_Email);

}  // namespace
