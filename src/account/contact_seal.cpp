#include "internal/contact_seal.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>

#include "internal/sodium.hpp"
#include "veribind/keys.hpp"

namespace veribind::internal {

namespace {

constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kHeaderBytes = 1 + sizeof(DataKeyId) + kNonceBytes;
static_assert(kDataKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(KeyRing::kSubkeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

constexpr std::string_view kContactDomain = "veribind.contact.v1";
constexpr std::string_view kKeyDomain = "veribind.dek.v1";

// The associated data is written into buffers sized up front: growing a vector byte by byte made
// GCC 12 at -O3 report false stringop-overflow and array-bounds warnings inside libstdc++.
std::uint8_t* put_u32(std::uint8_t* out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) *out++ = static_cast<std::uint8_t>(v >> shift);
  return out;
}

std::vector<std::uint8_t> contact_aad(const DataKeyId& id, const SealContext& c) {
  const auto size = static_cast<std::uint16_t>(c.account_id.size());  // <= 128 (Registry)
  std::vector<std::uint8_t> aad(kContactDomain.size() + 1 + id.size() + 2 + size + 1 +
                                c.index.value.size() + 4);
  std::uint8_t* p = std::copy(kContactDomain.begin(), kContactDomain.end(), aad.data());
  *p++ = kSealFormat;
  p = std::copy(id.begin(), id.end(), p);
  *p++ = static_cast<std::uint8_t>(size >> 8);
  *p++ = static_cast<std::uint8_t>(size);
  p = std::copy(c.account_id.begin(), c.account_id.begin() + size, p);
  *p++ = static_cast<std::uint8_t>(c.channel);
  p = std::copy(c.index.value.begin(), c.index.value.end(), p);
  put_u32(p, c.index.key_version);
  return aad;
}

using KeyAad = std::array<std::uint8_t, kKeyDomain.size() + sizeof(DataKeyId) + 4>;

KeyAad key_aad(const DataKeyId& id, std::uint32_t kek_version) {
  KeyAad aad{};
  std::uint8_t* p = std::copy(kKeyDomain.begin(), kKeyDomain.end(), aad.data());
  p = std::copy(id.begin(), id.end(), p);
  put_u32(p, kek_version);
  return aad;
}

}  // namespace

DataKey new_data_key() {
  ensure_sodium();
  DataKey key;
  randombytes_buf(key.id.data(), key.id.size());
  key.key = SecretBytes::random(kDataKeyBytes);
  return key;
}

std::vector<std::uint8_t> seal_contact(const DataKey& key, const SealContext& context,
                                       std::string_view contact) {
  std::vector<std::uint8_t> out(kHeaderBytes + contact.size() + kTagBytes);
  out[0] = kSealFormat;
  std::copy(key.id.begin(), key.id.end(), out.begin() + 1);
  std::uint8_t* nonce = out.data() + 1 + key.id.size();
  randombytes_buf(nonce, kNonceBytes);  // 192-bit random nonces: no counter to keep
  const std::vector<std::uint8_t> aad = contact_aad(key.id, context);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kHeaderBytes, &written, reinterpret_cast<const unsigned char*>(contact.data()),
      contact.size(), aad.data(), aad.size(), nullptr, nonce, key.key.reveal().data());
  out.resize(kHeaderBytes + written);
  return out;
}

std::optional<DataKeyId> sealed_key_id(std::span<const std::uint8_t> sealed) {
  if (sealed.size() < kHeaderBytes + kTagBytes || sealed[0] != kSealFormat) return std::nullopt;
  DataKeyId id;
  std::copy(sealed.begin() + 1, sealed.begin() + 1 + static_cast<std::ptrdiff_t>(id.size()),
            id.begin());
  return id;
}

Result<SecretBytes> open_contact(const SecretBytes& data_key, const SealContext& context,
                                 std::span<const std::uint8_t> sealed) {
  const std::optional<DataKeyId> id = sealed_key_id(sealed);
  if (!id) return Status(ErrorCode::kContactSealBroken, "the sealed contact is malformed");
  const std::vector<std::uint8_t> aad = contact_aad(*id, context);
  const std::uint8_t* nonce = sealed.data() + 1 + id->size();
  const std::size_t cipher_bytes = sealed.size() - kHeaderBytes;
  SecretBytes plain(cipher_bytes - kTagBytes);
  unsigned long long plain_bytes = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.reveal_mutable().data(), &plain_bytes, nullptr, sealed.data() + kHeaderBytes,
          cipher_bytes, aad.data(), aad.size(), nonce, data_key.reveal().data()) != 0) {
    return Status(ErrorCode::kContactSealBroken,
                  "the sealed contact failed authentication (tampered, or not this binding's)");
  }
  return plain;
}

WrappedDataKey wrap_data_key(const DataKey& key, const SecretBytes& kek,
                             std::uint32_t kek_version) {
  WrappedDataKey out;
  out.key_id = key.id;
  out.kek_version = kek_version;
  out.wrapped.resize(kNonceBytes + kDataKeyBytes + kTagBytes);
  randombytes_buf(out.wrapped.data(), kNonceBytes);
  const KeyAad aad = key_aad(key.id, kek_version);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.wrapped.data() + kNonceBytes, &written, key.key.reveal().data(), key.key.size(),
      aad.data(), aad.size(), nullptr, out.wrapped.data(), kek.reveal().data());
  return out;
}

Result<SecretBytes> unwrap_data_key(const WrappedDataKey& wrapped, const SecretBytes& kek) {
  if (wrapped.wrapped.size() != kNonceBytes + kDataKeyBytes + kTagBytes) {
    return Status(ErrorCode::kContactSealBroken, "a wrapped data key is malformed");
  }
  const KeyAad aad = key_aad(wrapped.key_id, wrapped.kek_version);
  SecretBytes key(kDataKeyBytes);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          key.reveal_mutable().data(), &written, nullptr, wrapped.wrapped.data() + kNonceBytes,
          kDataKeyBytes + kTagBytes, aad.data(), aad.size(), wrapped.wrapped.data(),
          kek.reveal().data()) != 0) {
    return Status(ErrorCode::kContactSealBroken, "a wrapped data key failed authentication");
  }
  return key;
}

}  // namespace veribind::internal
