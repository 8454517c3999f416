#include "veribind/blind_index.hpp"

#include <sodium.h>

#include "internal/hex.hpp"
#include "internal/keyed_hash.hpp"

namespace veribind {

namespace {
constexpr std::string_view kDomain = "veribind.bi.v1";
static_assert(BlindIndex::kBytes == crypto_generichash_BYTES);
static_assert(KeyRing::kSubkeyBytes >= crypto_generichash_KEYBYTES_MIN &&
              KeyRing::kSubkeyBytes <= crypto_generichash_KEYBYTES_MAX);
}  // namespace

std::string BlindIndex::hex() const { return internal::to_hex(value); }

Result<BlindIndexer> BlindIndexer::create(const KeyRing& ring) {
  return create(ring, ring.current_version());
}

Result<BlindIndexer> BlindIndexer::create(const KeyRing& ring, std::uint32_t version) {
  auto key = ring.derive(KeyPurpose::kBlindIndex, version);
  if (!key) return key.status();
  return BlindIndexer(std::move(key).value(), version);
}

BlindIndex BlindIndexer::compute(const Identifier& identifier) const noexcept {
  return compute(identifier.channel(), identifier.canonical());
}

BlindIndex BlindIndexer::compute(Channel channel, std::string_view canonical) const noexcept {
  // Keyed BLAKE2b over domain || channel || canonical. The domain string has a fixed length and
  // the channel is one byte, so no two (channel, canonical) pairs share an input.
  const auto channel_byte = static_cast<std::uint8_t>(channel);
  BlindIndex index;
  index.key_version = version_;
  internal::keyed_blake2b(
      index.value, key_,
      {internal::bytes_of(kDomain), {&channel_byte, 1}, internal::bytes_of(canonical)});
  return index;
}

}  // namespace veribind
