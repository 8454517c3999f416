// Sealing of contacts: XChaCha20-Poly1305 (libsodium's IETF variant), never hand-rolled.
//
// A sealed contact, as stored in BindingRecord::sealed_contact:
//   format (1 byte, 0x01) || data key id (16) || nonce (24) || ciphertext || tag (16)
// encrypted under a fresh random per-binding data key, with associated data that binds it to
// its binding: "veribind.contact.v1" || format || key id || account id length (2, big endian) ||
// account id || channel || blind index (32) || blind index key version (4, big endian). Moved to
// another account or another index, it fails authentication.
//
// A wrapped data key, as stored in a ContactKeyStore: nonce (24) || ciphertext (32) || tag (16),
// the data key encrypted under the contact-seal subkey of one master key version, with associated
// data "veribind.dek.v1" || key id || kek version (4, big endian).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "veribind/blind_index.hpp"
#include "veribind/contact_key_store.hpp"
#include "veribind/identifier.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind::internal {

inline constexpr std::uint8_t kSealFormat = 0x01;
inline constexpr std::size_t kDataKeyBytes = 32;

// What the seal binds the contact to.
struct SealContext {
  std::string_view account_id;
  Channel channel;
  const BlindIndex& index;
};

// A fresh random data key and its random id.
struct DataKey {
  DataKeyId id{};
  SecretBytes key;
};
DataKey new_data_key();

std::vector<std::uint8_t> seal_contact(const DataKey& key, const SealContext& context,
                                       std::string_view contact);
// The id of the data key a sealed contact names; nullopt if it is not a sealed contact of a
// known format.
std::optional<DataKeyId> sealed_key_id(std::span<const std::uint8_t> sealed);
// The contact; kContactSealBroken if authentication fails (tampered, or moved to another binding).
Result<SecretBytes> open_contact(const SecretBytes& data_key, const SealContext& context,
                                 std::span<const std::uint8_t> sealed);

WrappedDataKey wrap_data_key(const DataKey& key, const SecretBytes& kek, std::uint32_t kek_version);
// kContactSealBroken if the wrapped key fails authentication under `kek`.
Result<SecretBytes> unwrap_data_key(const WrappedDataKey& wrapped, const SecretBytes& kek);

}  // namespace veribind::internal
