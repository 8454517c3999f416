// CredentialTagger: how a bearer credential (an API key) is stored. A keyed 256-bit hash (BLAKE2b
// keyed with the API-key subkey of one key version) over a domain-separated input:
//   "veribind.apikey.v1" || credential.
// A copy of the stored tags authenticates nobody and, without the master key, cannot be used to
// test guesses; a credential is compared against its tag in constant time.
//
// Example:
//   auto tagger = CredentialTagger::create(ring);            // the ring's current version
//   const CredentialTag stored = tagger->tag(key_text);      // kept in the key file
//   if (tagger->matches(offered, stored)) { ... }            // on each request
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "veribind/keys.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind {

struct CredentialTag {
  static constexpr std::size_t kBytes = 32;
  std::array<std::uint8_t, kBytes> value{};
  std::uint32_t key_version = 0;

  // Lower-case hex of value (64 characters); the version is not included.
  [[nodiscard]] std::string hex() const;
  // Parses 64 hex digits (either case) as the tag of `key_version`. kInvalidArgument otherwise.
  [[nodiscard]] static Result<CredentialTag> from_hex(std::string_view hex,
                                                      std::uint32_t key_version);
};

class CredentialTagger {
 public:
  // A tagger for the ring's current version. kKeyUnavailable if the subkey cannot be derived.
  static Result<CredentialTagger> create(const KeyRing& ring);
  // A tagger for master key `version`; kKeyUnavailable if the ring does not hold it.
  static Result<CredentialTagger> create(const KeyRing& ring, std::uint32_t version);

  // Thread-safe; no allocation.
  [[nodiscard]] CredentialTag tag(std::string_view credential) const noexcept;
  // True if `credential` has the tag `stored`: the tags are compared in constant time
  // (sodium_memcmp). False if `stored` was made under another key version than this tagger's.
  [[nodiscard]] bool matches(std::string_view credential,
                             const CredentialTag& stored) const noexcept;
  [[nodiscard]] std::uint32_t key_version() const noexcept { return version_; }

 private:
  CredentialTagger(SecretBytes key, std::uint32_t version)
      : key_(std::move(key)), version_(version) {}
  SecretBytes key_;
  std::uint32_t version_;
};

}  // namespace veribind
