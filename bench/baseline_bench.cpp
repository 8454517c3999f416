// Baselines measured in the same run, so figures can be read as ratios on a noisy machine:
// - the code-tag PRF alone (SipHash-2-4-128 of 42 bytes): the floor under check(); and keyed
//   BLAKE2b-128 of the same input, the PRF it replaced (see src/internal/code_tag.hpp);
// - HMAC-SHA256 through a pre-keyed OpenSSL EVP_MAC context, the alternative the design allows
//   for blind indexes (kept out of the library: it needs a context per thread);
// - unkeyed SHA-256, what a naive "hashed phone number" design costs an attacker per guess.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <array>
#include <cstdint>

namespace {

void BM_Baseline_Blake2b128_Keyed_42B(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("libsodium failed to initialise");
  std::array<std::uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  std::array<std::uint8_t, 42> input{};
  std::array<std::uint8_t, 16> out{};
  for (auto _ : state) {
    crypto_generichash(out.data(), out.size(), input.data(), input.size(), key.data(), key.size());
    benchmark::DoNotOptimize(out);
    ++input[0];
  }
}
BENCHMARK(BM_Baseline_Blake2b128_Keyed_42B);

void BM_Baseline_SipHashx24_Keyed_42B(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("libsodium failed to initialise");
  std::array<std::uint8_t, crypto_shorthash_siphashx24_KEYBYTES> key{};
  randombytes_buf(key.data(), key.size());
  std::array<std::uint8_t, 42> input{};
  std::array<std::uint8_t, crypto_shorthash_siphashx24_BYTES> out{};
  for (auto _ : state) {
    crypto_shorthash_siphashx24(out.data(), input.data(), input.size(), key.data());
    benchmark::DoNotOptimize(out);
    ++input[0];
  }
}
BENCHMARK(BM_Baseline_SipHashx24_Keyed_42B);

void BM_Baseline_HmacSha256_EvpMac_30B(benchmark::State& state) {
  std::array<std::uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx, key.data(), key.size(), params);
  std::array<std::uint8_t, 30> input{};
  std::array<std::uint8_t, 32> out{};
  for (auto _ : state) {
    std::size_t len = 0;
    EVP_MAC_init(ctx, nullptr, 0, nullptr);  // re-use the pre-keyed state
    EVP_MAC_update(ctx, input.data(), input.size());
    EVP_MAC_final(ctx, out.data(), &len, out.size());
    benchmark::DoNotOptimize(out);
    ++input[0];
  }
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
}
BENCHMARK(BM_Baseline_HmacSha256_EvpMac_30B);

void BM_Baseline_Sha256_Unkeyed_13B(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("libsodium failed to initialise");
  std::array<std::uint8_t, 13> input{'+', '9', '2', '3', '0', '0', '1',
                                     '2', '3', '4', '5', '6', '7'};
  std::array<std::uint8_t, 32> out{};
  for (auto _ : state) {
    crypto_hash_sha256(out.data(), input.data(), input.size());
    benchmark::DoNotOptimize(out);
    ++input[12];
  }
}
BENCHMARK(BM_Baseline_Sha256_Unkeyed_13B);

}  // namespace
