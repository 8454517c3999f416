// Rate-limit counter keys: SipHash-2-4-128 (libsodium crypto_shorthash_siphashx24) keyed with the
// first 16 bytes of the counter subkey, over
//   "veribind.ck.v1" || kind (1) || window (8, big-endian; 0 for a non-aligned window) || data,
// in the first 16 bytes of the 32-byte CounterKey; the rest is zero. Keyed, so the counters table
// links to no identifier or client without the key; SipHash (~40 ns) rather than BLAKE2b
// (~340 ns) because check() derives one on every call (see code_tag.hpp for why a 128-bit PRF is
// enough for a short-lived value).
#pragma once

#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <span>

#include "internal/mac_count.hpp"
#include "veribind/secret.hpp"
#include "veribind/verification_store.hpp"

namespace veribind::internal {

enum class CounterKind : std::uint8_t {
  kIdentifierFailures = 1,
  kIdentifierCooldown = 2,
  kIdentifierSends = 3,
  kCallingCodeSends = 4,
  kGlobalSends = 5,
  kClientStarts = 6,
  kClientChecks = 7,
};

// Preconditions: key.size() >= 16; data.size() <= 256 (callers pass a blind index, a calling
// code, or a client key capped at that).
inline CounterKey counter_key(const SecretBytes& key, CounterKind kind, std::uint64_t window,
                              std::span<const std::uint8_t> data) noexcept {
  static constexpr char kDomain[] = "veribind.ck.v1";
  constexpr std::size_t kDomainBytes = sizeof kDomain - 1;
  std::uint8_t input[kDomainBytes + 1 + 8 + 256];
  std::size_t n = 0;
  std::memcpy(input, kDomain, kDomainBytes);
  n += kDomainBytes;
  input[n++] = static_cast<std::uint8_t>(kind);
  for (int shift = 56; shift >= 0; shift -= 8)
    input[n++] = static_cast<std::uint8_t>(window >> shift);
  const std::size_t take = data.size() < 256 ? data.size() : 256;
  std::memcpy(input + n, data.data(), take);
  n += take;
  CounterKey out{};
  static_assert(crypto_shorthash_siphashx24_BYTES == 16);
  crypto_shorthash_siphashx24(out.data(), input, n, key.reveal().data());
  sodium_memzero(input, n);  // it may hold a client key
  ++mac_count;
  return out;
}

}  // namespace veribind::internal
