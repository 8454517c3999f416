// Parsing what a person typed: libphonenumber for phones (ICU regular expressions), our own
// RFC 5321 checks for email. Neither runs inside check().
#include <benchmark/benchmark.h>

#include "bench_support.hpp"

namespace vb = veribind;

namespace {

void BM_Parse_Phone_International(benchmark::State& state) {
  (void)vb::PhoneNumber::parse("+923001234567");  // the first call loads metadata (~13 ms)
  for (auto _ : state) benchmark::DoNotOptimize(vb::PhoneNumber::parse("+92 300 1234567"));
}
BENCHMARK(BM_Parse_Phone_International);

void BM_Parse_Phone_National(benchmark::State& state) {
  (void)vb::PhoneNumber::parse("+923001234567");
  for (auto _ : state) benchmark::DoNotOptimize(vb::PhoneNumber::parse("0300-1234567", "PK"));
}
BENCHMARK(BM_Parse_Phone_National);

void BM_Parse_Email(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(vb::EmailAddress::parse("Alice@Example.COM"));
}
BENCHMARK(BM_Parse_Email);

void BM_Parse_Email_Idn(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(vb::EmailAddress::parse("alice@bücher.example"));
}
BENCHMARK(BM_Parse_Email_Idn);

}  // namespace
