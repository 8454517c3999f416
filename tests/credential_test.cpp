// CredentialTagger: the stored form of an API key. The known answers were computed independently
// with Python's hashlib.blake2b from the construction the header states (crypto_kdf subkey:
// BLAKE2b keyed with the master key, salt = version as 8 little-endian bytes, personal =
// "vbapikey"; tag: BLAKE2b-256 keyed with the subkey over "veribind.apikey.v1" || credential),
// so a refactor that changes the format fails here before it locks every API key out.
#include "veribind/credential.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "veribind/keys.hpp"

using namespace veribind;

namespace {

// 0x00, 0x01, ..., 0x1f: the master key every known-answer test uses.
SecretBytes fixed_master(std::uint8_t offset = 0) {
  std::array<std::uint8_t, 32> m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(i + offset);
  return SecretBytes::copy_of(m);
}

KeyRing fixed_ring() {
  KeyRing ring = KeyRing::from_master_key(fixed_master(), 1).value();
  REQUIRE(ring.add_version(fixed_master(), 2).is_ok());
  return ring;
}

constexpr std::string_view kCredential =
    "vbk_0123456789abcdef_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

}  // namespace

TEST_CASE("credential tag: a fixed key and credential give the known tag for each version",
          "[credential][kat]") {
  const KeyRing ring = fixed_ring();
  const CredentialTagger v1 = CredentialTagger::create(ring, 1).value();
  const CredentialTagger v2 = CredentialTagger::create(ring, 2).value();
  const CredentialTag t1 = v1.tag(kCredential);
  const CredentialTag t2 = v2.tag(kCredential);
  CHECK(t1.hex() == "e5f028ac732b3897bbb7743e6db1a9f61b9800fa3ec619533eaaf6e263a516ce");
  CHECK(t1.key_version == 1);
  CHECK(t2.hex() == "4db3d076dd12ca48079307bd337a7029a3f742bdbadc3e98880f0846f84c5b45");
  CHECK(t2.key_version == 2);
  // The API-key subkey is its own: no other purpose's subkey equals it.
  const SecretBytes api = ring.derive(KeyPurpose::kApiKey, 1).value();
  for (KeyPurpose other : {KeyPurpose::kBlindIndex, KeyPurpose::kCodeTag, KeyPurpose::kContactSeal,
                           KeyPurpose::kAuditChain, KeyPurpose::kCounter}) {
    CHECK_FALSE(ring.derive(other, 1).value() == api);
  }
}

TEST_CASE("credential tag: the credential matches its own tag and nothing else matches",
          "[credential]") {
  const KeyRing ring = fixed_ring();
  const CredentialTagger tagger = CredentialTagger::create(ring).value();
  CHECK(tagger.key_version() == 2);
  const CredentialTag stored = tagger.tag(kCredential);
  CHECK(tagger.matches(kCredential, stored));

  std::string other(kCredential);
  other.back() = 'g';
  CHECK_FALSE(tagger.matches(other, stored));
  CHECK_FALSE(tagger.matches("", stored));
  CHECK_FALSE(tagger.matches(std::string(kCredential) + "x", stored));

  // Another master key, or another version of the same one, does not match.
  const KeyRing stranger = KeyRing::from_master_key(fixed_master(1), 2).value();
  CHECK_FALSE(CredentialTagger::create(stranger).value().matches(kCredential, stored));
  const CredentialTagger v1 = CredentialTagger::create(ring, 1).value();
  CHECK_FALSE(v1.matches(kCredential, stored));
  // Same bytes, but labelled with another version: refused, not trusted.
  CredentialTag relabelled = stored;
  relabelled.key_version = 1;
  CHECK_FALSE(tagger.matches(kCredential, relabelled));
}

TEST_CASE("credential tag: a version the ring does not hold is refused with key_unavailable",
          "[credential]") {
  const KeyRing ring = fixed_ring();
  const auto tagger = CredentialTagger::create(ring, 3);
  REQUIRE_FALSE(tagger.is_ok());
  CHECK(tagger.code() == ErrorCode::kKeyUnavailable);
}

TEST_CASE("credential tag: hex round-trips and anything but 64 hex digits is refused",
          "[credential]") {
  const CredentialTagger tagger = CredentialTagger::create(fixed_ring()).value();
  const CredentialTag stored = tagger.tag(kCredential);
  const auto parsed = CredentialTag::from_hex(stored.hex(), 2);
  REQUIRE(parsed.is_ok());
  CHECK(parsed->value == stored.value);
  CHECK(tagger.matches(kCredential, *parsed));
  CHECK(CredentialTag::from_hex(stored.hex().substr(1), 2).code() == ErrorCode::kInvalidArgument);
  CHECK(CredentialTag::from_hex(std::string(64, 'z'), 2).code() == ErrorCode::kInvalidArgument);
}
