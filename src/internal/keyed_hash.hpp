// Keyed BLAKE2b over a sequence of byte strings (blind indexes, counter keys). Streaming the parts
// avoids building the input in a buffer; the hash state, which holds key-derived material, is
// wiped before returning.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "internal/mac_count.hpp"
#include "veribind/secret.hpp"

namespace veribind::internal {

inline std::span<const std::uint8_t> bytes_of(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Preconditions: crypto_generichash_KEYBYTES_MIN <= key.size() <= crypto_generichash_KEYBYTES_MAX
// and crypto_generichash_BYTES_MIN <= out.size() <= crypto_generichash_BYTES_MAX.
inline void keyed_blake2b(std::span<std::uint8_t> out, const SecretBytes& key,
                          std::initializer_list<std::span<const std::uint8_t>> parts) noexcept {
  crypto_generichash_state state;
  const auto k = key.reveal();
  crypto_generichash_init(&state, k.data(), k.size(), out.size());
  for (const auto& part : parts) crypto_generichash_update(&state, part.data(), part.size());
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof state);
  ++mac_count;
}

}  // namespace veribind::internal
