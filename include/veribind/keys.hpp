// KeyRing: the master key, by version, and the subkeys derived from it for each purpose.
//
// A master key is 32 bytes from libsodium's CSPRNG, kept in a file of exactly those 32 bytes with
// mode 0600. Each job gets its own subkey, derived with crypto_kdf_derive_from_key (subkey id = key
// version, context = purpose), so a key used for blind indexes never touches a code tag. All key
// bytes live in SecretBytes and are wiped when the ring is destroyed.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind {

enum class KeyPurpose : std::uint8_t {
  kBlindIndex = 1,
  kCodeTag = 2,
  kContactSeal = 3,
  kAuditChain = 4,
  kCounter = 5,  // keys of rate-limit counters
};

class KeyRing {
 public:
  static constexpr std::size_t kMasterKeyBytes = 32;
  static constexpr std::size_t kSubkeyBytes = 32;

  // Writes a new random master key to `path` with mode 0600. Refuses (kInvalidArgument) to
  // overwrite an existing file; kKeyUnavailable if the file cannot be created or written.
  static Status generate_key_file(const std::string& path);

  // Loads the master key in `path` as key version `version` (>= 1).
  // Errors: kKeyUnavailable (missing or unreadable), kKeyFileInsecure (group/other may read or
  // write it), kKeyFileMalformed (not a regular file of exactly 32 bytes).
  static Result<KeyRing> load_key_file(const std::string& path, std::uint32_t version = 1);

  // A ring holding `master` (kMasterKeyBytes) as version `version`. kInvalidArgument otherwise.
  static Result<KeyRing> from_master_key(SecretBytes master, std::uint32_t version = 1);

  // The version new blind indexes and code tags are made with.
  [[nodiscard]] std::uint32_t current_version() const noexcept { return current_; }

  // The subkey for `purpose` under master key `version`. kKeyUnavailable if the ring does not hold
  // that version. The caller owns the returned secret.
  [[nodiscard]] Result<SecretBytes> derive(KeyPurpose purpose, std::uint32_t version) const;

  KeyRing(KeyRing&&) noexcept = default;
  KeyRing& operator=(KeyRing&&) noexcept = default;

 private:
  KeyRing() = default;
  std::vector<std::pair<std::uint32_t, SecretBytes>> masters_;
  std::uint32_t current_ = 0;
};

}  // namespace veribind
