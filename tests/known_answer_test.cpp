// Known answers for every stored format: subkeys, code tag, counter key, audit MACs, sealed
// contact and wrapped data key (the blind index has its own in blind_index_test). Inputs are fixed
// (master key 0x00..0x1f, fixed ids), the expected bytes were computed once with the code that
// writes them, and each comment states the construction. A refactor that changes any of these
// bytes fails here, before it orphans data already stored. The subkeys and both audit MACs also
// match an independent computation with Python's hashlib.blake2b from the constructions stated.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "internal/audit_chain.hpp"
#include "internal/code_tag.hpp"
#include "internal/contact_seal.hpp"
#include "internal/counter_key.hpp"
#include "internal/hex.hpp"
#include "veribind/keys.hpp"

using namespace veribind;
using internal::to_hex;

namespace {

// 0x00, 0x01, ..., 0x1f.
std::array<std::uint8_t, 32> master_bytes() {
  std::array<std::uint8_t, 32> m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(i);
  return m;
}

// The fixed master key as version 1 and, the same bytes, as version 2.
KeyRing fixed_ring() {
  KeyRing ring = KeyRing::from_master_key(SecretBytes::copy_of(master_bytes()), 1).value();
  REQUIRE(ring.add_version(SecretBytes::copy_of(master_bytes()), 2).is_ok());
  return ring;
}

SecretBytes subkey(KeyPurpose purpose, std::uint32_t version = 1) {
  return fixed_ring().derive(purpose, version).value();
}

template <std::size_t N>
std::array<std::uint8_t, N> filled_from(std::uint8_t first) {
  std::array<std::uint8_t, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>(first + i);
  return a;
}

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out(hex.size() / 2);
  REQUIRE(hex.size() % 2 == 0);
  REQUIRE(internal::from_hex(hex, out));
  return out;
}

std::string hex_of(const SecretBytes& s) { return to_hex(s.reveal()); }

std::string_view text_of(const SecretBytes& s) {
  return {reinterpret_cast<const char*>(s.reveal().data()), s.size()};
}

// The blind index sealed contacts and audit entries below are bound to: 0x30..0x4f, version 1.
BlindIndex fixed_index() {
  BlindIndex index;
  index.value = filled_from<BlindIndex::kBytes>(0x30);
  index.key_version = 1;
  return index;
}

std::array<std::uint8_t, 4> u32_be(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The parts, one after the other, in a buffer sized once.
std::vector<std::uint8_t> concat(std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::size_t size = 0;
  for (const auto& part : parts) size += part.size();
  std::vector<std::uint8_t> out(size);
  std::uint8_t* p = out.data();
  for (const auto& part : parts) p = std::copy(part.begin(), part.end(), p);
  return out;
}

}  // namespace

// subkey(purpose, version) = crypto_kdf_derive_from_key(32 bytes, subkey_id = version,
// ctx = the purpose's 8-character context, master), i.e. BLAKE2b-256 with key = master, empty
// message, salt = version as 8 little-endian bytes || 8 zero bytes, personal = ctx || 8 zero
// bytes. Contexts: kBlindIndex "vbblindx", kCodeTag "vbcodtag", kContactSeal "vbsealkk",
// kAuditChain "vbauditc", kCounter "vbcountr".
TEST_CASE("known answer: each purpose's subkey of a fixed master key, versions 1 and 2", "[kat]") {
  CHECK(hex_of(subkey(KeyPurpose::kBlindIndex, 1)) ==
        "6db6687305e41843fb4ad6e0a537d535be594464adba242f12bb21bea6989cc3");
  CHECK(hex_of(subkey(KeyPurpose::kCodeTag, 1)) ==
        "cd280761228547580c52262fae8fb1521f7fdce14a304176bab48d4ebdd50920");
  CHECK(hex_of(subkey(KeyPurpose::kContactSeal, 1)) ==
        "92097402f098db0f77bf39d04ae17171fc7420a06aac0918c1ef0f529a776c4c");
  CHECK(hex_of(subkey(KeyPurpose::kAuditChain, 1)) ==
        "789a1ba9a7fd61e037ade5feb8a7e7c5bf3f4ac16c30844543ab48365bbdb4e7");
  CHECK(hex_of(subkey(KeyPurpose::kCounter, 1)) ==
        "42f42544a946a680a87b01f8c2e1a3d26aeb520f2821ba2f83eff112333a5421");
  CHECK(hex_of(subkey(KeyPurpose::kBlindIndex, 2)) ==
        "d46e248a62dd22b7dd3ef5c5b1778f649357ec01582f79a2c7be22f98b564575");
  CHECK(hex_of(subkey(KeyPurpose::kCodeTag, 2)) ==
        "a1e90f1497e2369a9bcd2a51c964b7f2ec2fa11c0a9516d6c28c0261483bb2cf");
  CHECK(hex_of(subkey(KeyPurpose::kContactSeal, 2)) ==
        "9a4693c052b0b700927ce5cc64056c9f4c8c66afd9bbc023613e84f53d2aeb59");
  CHECK(hex_of(subkey(KeyPurpose::kAuditChain, 2)) ==
        "67021e7c23ce03ca224109cfad8a1d3dc9800446b0b49bc5703d262c0809d6e7");
  CHECK(hex_of(subkey(KeyPurpose::kCounter, 2)) ==
        "abf775c58afffd6df9fe7018d63981de96d68f55dace5a3d78655ee74b0a1812");
}

// tag = SipHash-2-4-128 (crypto_shorthash_siphashx24), key = the first 16 bytes of the kCodeTag
// subkey (version 1), over "veribind.ct.v1" || challenge id (16 bytes) || purpose (1 byte) ||
// code length (1 byte) || code digits (ASCII).
TEST_CASE("known answer: the code tag of a fixed challenge, purpose and code", "[kat]") {
  const SecretBytes key = subkey(KeyPurpose::kCodeTag);
  ChallengeId id;
  id.bytes = filled_from<ChallengeId::kBytes>(0xa0);
  CHECK(to_hex(internal::compute_code_tag(key, id, Purpose::kSignup, "123456")) ==
        "8397b56ced940a407a229a028919e1d3");
  CHECK(to_hex(internal::compute_code_tag(key, id, Purpose::kLogin, "123456")) ==
        "6e8ad4919f023333a7dbfdbaf4320aec");
  CHECK(to_hex(internal::compute_code_tag(key, id, Purpose::kRecovery, "0000000000")) ==
        "bda3d0d50833a0e079602cdf223b00b5");
}

// key = SipHash-2-4-128 (crypto_shorthash_siphashx24), key = the first 16 bytes of the kCounter
// subkey (version 1), over "veribind.ck.v1" || kind (1 byte) || window (8 bytes, big-endian) ||
// data, in the first 16 bytes of the 32-byte counter key; the last 16 bytes are zero.
TEST_CASE("known answer: the counter key of a fixed kind, window and blind index", "[kat]") {
  const SecretBytes key = subkey(KeyPurpose::kCounter);
  const BlindIndex index = fixed_index();
  CHECK(to_hex(internal::counter_key(key, internal::CounterKind::kIdentifierFailures, 0,
                                     index.value)) ==
        "c5324c0cdf4ddc40ab2ec97352d687a800000000000000000000000000000000");
  CHECK(to_hex(internal::counter_key(key, internal::CounterKind::kIdentifierSends, 493'000,
                                     index.value)) ==
        "5132adec2f5031152fefd3063ce3dc3d00000000000000000000000000000000");
  const std::array<std::uint8_t, 2> calling_code{0x00, 0x5c};  // 92
  CHECK(to_hex(internal::counter_key(key, internal::CounterKind::kCallingCodeSends, 0x0102030405,
                                     calling_code)) ==
        "a84984a3e7323dc1bb3ddd9c6490bed500000000000000000000000000000000");
}

namespace {

AuditRecord fixed_entry() {
  AuditRecord e;
  e.sequence = 7;
  e.time = Timestamp(std::chrono::milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z
  e.authority = "Example Police";
  e.reference = "REF-2026-001";
  e.legal_basis = "Example Act s. 12";
  e.requested_by = "officer 1234";
  e.index = fixed_index();
  e.channel = Channel::kPhone;
  e.accounts_returned = 2;
  e.mac_key_version = 1;
  e.prev_mac = filled_from<AuditRecord::kMacBytes>(0x60);
  return e;
}

}  // namespace

// mac = BLAKE2b-256 (crypto_generichash), key = the kAuditChain subkey (version 1), over
// text("veribind.audit.entry.v1") || u64 sequence || u64 time (ms since the epoch) ||
// text(authority) || text(reference) || text(legal_basis) || text(requested_by) ||
// blind index (32) || u32 index key version || u8 channel || u32 accounts returned ||
// u32 MAC key version || prev_mac (32), where text(s) = u32 length || bytes and every integer is
// big-endian.
TEST_CASE("known answer: the audit entry MAC of a fixed entry", "[kat]") {
  CHECK(to_hex(internal::audit_entry_mac_unbound(subkey(KeyPurpose::kAuditChain), fixed_entry())) ==
        "d6186b6c4e9aca449ebadb8f5c61377985f489209fe9704eb76253cf1b53b294");
}

// mac = BLAKE2b-256 (crypto_generichash), key = the kAuditChain subkey (version 1), over
// text("veribind.audit.head.v1") || u64 count || last_mac (32) || u32 MAC key version, with
// text and integers encoded as for entries.
TEST_CASE("known answer: the audit head MAC of a fixed head", "[kat]") {
  AuditHead head;
  head.count = 7;
  head.last_mac = filled_from<AuditRecord::kMacBytes>(0x80);
  head.mac_key_version = 1;
  CHECK(to_hex(internal::audit_head_mac_unbound(subkey(KeyPurpose::kAuditChain), head)) ==
        "b283378f30e93b09bc6f02ea8c07f86fe774b6670191bb2c5327f369c21e8f09");
}

// Version 2, bound to a store: text("veribind.audit.entry.v2") || store id (16) || the version 1
// fields after its domain string. The head: text("veribind.audit.head.v2") || store id (16) ||
// u64 bound_from || unbound_last_mac (32) || u64 count || last_mac (32) || u32 MAC key version.
// Store id 0xa0..0xaf, bound_from 3, unbound_last_mac 0xc0..0xdf. The expected values were also
// computed with Python's hashlib.blake2b from this description (it gives the version 1 answers
// above too).
TEST_CASE("known answer: the bound audit entry and head MACs of a fixed entry and head", "[kat]") {
  AuditBinding binding;
  binding.store_id = filled_from<AuditBinding::kStoreIdBytes>(0xA0);
  binding.bound_from = 3;
  binding.unbound_last_mac = filled_from<AuditRecord::kMacBytes>(0xC0);
  const SecretBytes key = subkey(KeyPurpose::kAuditChain);
  CHECK(to_hex(internal::audit_entry_mac_bound(key, binding, fixed_entry())) ==
        "58a0a3da1b9d8ea0a23d07e2f6e5a10d68cc829e907662e1d2d61d516c29101c");
  // Entry 7 is past bound_from: audit_entry_mac picks version 2 for it, version 1 below.
  CHECK(internal::audit_entry_mac(key, binding, fixed_entry()) ==
        internal::audit_entry_mac_bound(key, binding, fixed_entry()));
  binding.bound_from = 8;
  CHECK(to_hex(internal::audit_entry_mac(key, binding, fixed_entry())) ==
        "d6186b6c4e9aca449ebadb8f5c61377985f489209fe9704eb76253cf1b53b294");
  binding.bound_from = 3;
  AuditHead head;
  head.count = 7;
  head.last_mac = filled_from<AuditRecord::kMacBytes>(0x80);
  head.mac_key_version = 1;
  CHECK(to_hex(internal::audit_head_mac(key, binding, head)) ==
        "edd2fbbf84bb60751cf7c0cc2b579e67b6e683cae0cc271b92fa38e2b6913250");
}

namespace {

constexpr std::string_view kAccountId = "account-42";
constexpr std::string_view kContact = "alice@example.com";

internal::DataKey fixed_data_key() {
  internal::DataKey key;
  key.id = filled_from<16>(0x10);
  key.key = SecretBytes::copy_of(filled_from<internal::kDataKeyBytes>(0xc0));
  return key;
}

// "veribind.contact.v1" || format (0x01) || key id (16) || account id length (2, big-endian) ||
// account id || channel (1) || blind index (32) || index key version (4, big-endian).
std::vector<std::uint8_t> contact_aad(const DataKeyId& id, std::string_view account_id,
                                      Channel channel, const BlindIndex& index) {
  constexpr std::string_view kDomain = "veribind.contact.v1";
  const std::array<std::uint8_t, 1> format{0x01};
  const std::array<std::uint8_t, 2> account_id_size{
      static_cast<std::uint8_t>(account_id.size() >> 8),
      static_cast<std::uint8_t>(account_id.size())};
  const std::array<std::uint8_t, 1> channel_byte{static_cast<std::uint8_t>(channel)};
  return concat({bytes_of(kDomain), format, id, account_id_size, bytes_of(account_id), channel_byte,
                 index.value, u32_be(index.key_version)});
}

// Produced once by internal::seal_contact(fixed_data_key(), {kAccountId, kEmail, fixed_index()},
// kContact); its nonce is random, so the bytes are pinned here rather than recomputed.
constexpr std::string_view kSealedContact =
    "01101112131415161718191a1b1c1d1e1f19faa5e9298ef46d9e8ffdd61f1901"
    "271620087f889953c3bc73d62497dfdb21b7edf8187184ca773038070ca2a205"
    "5140303f3529f55c4b36";

// Produced once by internal::wrap_data_key(fixed_data_key(), the kContactSeal subkey of
// version 1, 1); its nonce is random, as above.
constexpr std::string_view kWrappedDataKey =
    "9f0afc472598a87fa0dae2caf2914dda9c6220e3f71fc302ecf31c01e70b8887"
    "9ff2d5317d48b91bbc28ccaef5229607bac20e0e3c1b036f097fed13d469160a"
    "6d19d72dc2b0b033";

}  // namespace

// Sealed contact = 0x01 || data key id (16) || nonce (24) || XChaCha20-Poly1305-IETF ciphertext ||
// tag (16) of the contact, under the binding's data key, with the associated data of
// contact_aad() above.
TEST_CASE("known answer: a sealed contact made by an earlier build opens to its exact contact",
          "[kat]") {
  const std::vector<std::uint8_t> sealed = from_hex(kSealedContact);
  const BlindIndex index = fixed_index();
  const internal::DataKey key = fixed_data_key();

  const auto named = internal::sealed_key_id(sealed);
  REQUIRE(named.has_value());
  CHECK(*named == key.id);

  auto opened = internal::open_contact(key.key, {kAccountId, Channel::kEmail, index}, sealed);
  REQUIRE(opened.is_ok());
  CHECK(text_of(*opened) == kContact);

  // The layout, read with libsodium directly: format, key id, nonce, then the AEAD output.
  REQUIRE(sealed.size() == 1 + 16 + 24 + kContact.size() + 16);
  CHECK(sealed[0] == 0x01);
  const std::vector<std::uint8_t> aad = contact_aad(key.id, kAccountId, Channel::kEmail, index);
  std::vector<std::uint8_t> plain(kContact.size());
  unsigned long long plain_bytes = 0;
  REQUIRE(crypto_aead_xchacha20poly1305_ietf_decrypt(
              plain.data(), &plain_bytes, nullptr, sealed.data() + 41, sealed.size() - 41,
              aad.data(), aad.size(), sealed.data() + 17, key.key.reveal().data()) == 0);
  CHECK(std::string_view(reinterpret_cast<const char*>(plain.data()), plain_bytes) == kContact);

  // Bound to its binding: another account id does not open it.
  CHECK(internal::open_contact(key.key, {"account-43", Channel::kEmail, index}, sealed).code() ==
        ErrorCode::kContactSealBroken);
}

// Wrapped data key = nonce (24) || XChaCha20-Poly1305-IETF ciphertext (32) || tag (16) of the data
// key, under the kContactSeal subkey of the KEK version, with associated data
// "veribind.dek.v1" || data key id (16) || KEK version (4, big-endian).
TEST_CASE("known answer: a wrapped data key made by an earlier build unwraps to its exact key",
          "[kat]") {
  const internal::DataKey key = fixed_data_key();
  const SecretBytes kek = subkey(KeyPurpose::kContactSeal);
  WrappedDataKey wrapped;
  wrapped.key_id = key.id;
  wrapped.kek_version = 1;
  wrapped.wrapped = from_hex(kWrappedDataKey);

  auto unwrapped = internal::unwrap_data_key(wrapped, kek);
  REQUIRE(unwrapped.is_ok());
  CHECK(hex_of(*unwrapped) == hex_of(key.key));

  REQUIRE(wrapped.wrapped.size() == 24 + 32 + 16);
  constexpr std::string_view kDomain = "veribind.dek.v1";
  const std::vector<std::uint8_t> aad = concat({bytes_of(kDomain), key.id, u32_be(1)});
  std::array<std::uint8_t, 32> plain{};
  unsigned long long plain_bytes = 0;
  REQUIRE(crypto_aead_xchacha20poly1305_ietf_decrypt(
              plain.data(), &plain_bytes, nullptr, wrapped.wrapped.data() + 24, 32 + 16, aad.data(),
              aad.size(), wrapped.wrapped.data(), kek.reveal().data()) == 0);
  CHECK(to_hex(plain) == hex_of(key.key));

  // Bound to its KEK version: the same bytes claimed under version 2 do not unwrap.
  wrapped.kek_version = 2;
  CHECK(internal::unwrap_data_key(wrapped, kek).code() == ErrorCode::kContactSealBroken);
}
