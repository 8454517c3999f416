#include "veribind/credential.hpp"

#include <sodium.h>

#include "internal/hex.hpp"
#include "internal/keyed_hash.hpp"
#include "internal/sodium.hpp"

namespace veribind {

namespace {
constexpr std::string_view kDomain = "veribind.apikey.v1";
static_assert(CredentialTag::kBytes == crypto_generichash_BYTES);
static_assert(KeyRing::kSubkeyBytes >= crypto_generichash_KEYBYTES_MIN &&
              KeyRing::kSubkeyBytes <= crypto_generichash_KEYBYTES_MAX);
}  // namespace

std::string CredentialTag::hex() const { return internal::to_hex(value); }

Result<CredentialTag> CredentialTag::from_hex(std::string_view hex, std::uint32_t key_version) {
  CredentialTag tag;
  tag.key_version = key_version;
  if (!internal::from_hex(hex, tag.value)) {
    return Status(ErrorCode::kInvalidArgument, "a credential tag is 64 hex digits");
  }
  return tag;
}

Result<CredentialTagger> CredentialTagger::create(const KeyRing& ring) {
  return create(ring, ring.current_version());
}

Result<CredentialTagger> CredentialTagger::create(const KeyRing& ring, std::uint32_t version) {
  internal::ensure_sodium();
  auto key = ring.derive(KeyPurpose::kApiKey, version);
  if (!key) return key.status();
  return CredentialTagger(std::move(key).value(), version);
}

CredentialTag CredentialTagger::tag(std::string_view credential) const noexcept {
  // The domain has a fixed length, so the credential is the rest of the input, unambiguously.
  CredentialTag out;
  out.key_version = version_;
  internal::keyed_blake2b(out.value, key_,
                          {internal::bytes_of(kDomain), internal::bytes_of(credential)});
  return out;
}

bool CredentialTagger::matches(std::string_view credential,
                               const CredentialTag& stored) const noexcept {
  const CredentialTag offered = tag(credential);
  // The hash is computed whatever the version, so a version mismatch costs what a match costs.
  const bool same =
      sodium_memcmp(offered.value.data(), stored.value.data(), CredentialTag::kBytes) == 0;
  return same && stored.key_version == version_;
}

}  // namespace veribind
