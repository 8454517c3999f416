// BlindIndex: how an identifier is stored. A keyed 256-bit hash (BLAKE2b keyed with the
// blind-index subkey of one key version) over a channel-separated canonical form:
//   "veribind.bi.v1" || channel byte || canonical identifier.
// The same person typing a number in any spelling gets the same index (canonicalisation happens
// before), and a phone and an email never share an input (the channel byte), so never an index.
// Without the key, an index reveals nothing; with the key, low-entropy identifiers such as phone
// numbers can be enumerated (SECURITY.md gives the measured rate).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind {

struct BlindIndex {
  static constexpr std::size_t kBytes = 32;
  std::array<std::uint8_t, kBytes> value{};
  std::uint32_t key_version = 0;

  bool operator==(const BlindIndex&) const = default;
  // Lower-case hex of value (64 characters); the version is not included.
  [[nodiscard]] std::string hex() const;
};

class BlindIndexer {
 public:
  // An indexer for the ring's current version. kKeyUnavailable if the subkey cannot be derived.
  static Result<BlindIndexer> create(const KeyRing& ring);
  // An indexer for a given version (lookups across versions).
  static Result<BlindIndexer> create(const KeyRing& ring, std::uint32_t version);

  // Thread-safe; no allocation.
  [[nodiscard]] BlindIndex compute(const Identifier& identifier) const noexcept;
  [[nodiscard]] BlindIndex compute(Channel channel, std::string_view canonical) const noexcept;
  [[nodiscard]] std::uint32_t key_version() const noexcept { return version_; }

 private:
  BlindIndexer(SecretBytes key, std::uint32_t version) : key_(std::move(key)), version_(version) {}
  SecretBytes key_;
  std::uint32_t version_;
};

}  // namespace veribind
