// KeyRing: the master key, by version, and the subkeys derived from it for each purpose.
//
// A master key is 32 bytes from libsodium's CSPRNG, kept in a file of exactly those 32 bytes with
// mode 0600. Each job gets its own subkey, derived with crypto_kdf_derive_from_key (subkey id = key
// version, context = purpose), so a key used for blind indexes never touches a code tag. All key
// bytes live in SecretBytes and are wiped when the ring is destroyed.
//
// Versions (key rotation). A ring holds one or more master key versions; the highest is current
// and makes every new blind index, code tag and sealing; older ones stay usable for lookups and
// checks until they are retired. On disk, version 1 is the key file itself (the single-file form)
// and version N >= 2 lives beside it in "<key file>.vN", each file 32 bytes with mode 0600.
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

  // --- versions (key rotation) ---

  // The file that holds version `version` of the key whose version-1 file is `base`: `base`
  // itself for version 1, "<base>.vN" otherwise.
  [[nodiscard]] static std::string key_file_path(const std::string& base, std::uint32_t version);

  // Writes a new random master key as version `version` (>= 1) of the key at `base`, with mode
  // 0600. Key versions only grow: kInvalidArgument if `version` is 0 or not above every version
  // already present beside `base` (retired versions are gone, so a retired number is never
  // reused by accident), or if the file exists; kKeyUnavailable if it cannot be written.
  static Status generate_key_file(const std::string& base, std::uint32_t version);

  // Loads every version present: `base` as version 1 (if it exists) and each "<base>.vN". Each
  // file gets load_key_file's checks, and any failing file fails the whole load (a ring missing a
  // version would silently stop finding its bindings). kKeyUnavailable if no version exists.
  static Result<KeyRing> load_key_files(const std::string& base);

  // Destroys version `version` of the key at `base`: overwrites the file with zeros, syncs it and
  // removes it. What it indexed can never be matched again; call it only when nothing uses the
  // version (Registry::key_version_usage). kKeyUnavailable if there is no such file.
  static Status destroy_key_file(const std::string& base, std::uint32_t version);

  // Adds `master` (kMasterKeyBytes) as version `version`; the current version becomes the highest
  // held. kInvalidArgument for a wrong size, version 0 or a version the ring holds already.
  Status add_version(SecretBytes master, std::uint32_t version);

  // Versions held, ascending; the last is current_version().
  [[nodiscard]] std::vector<std::uint32_t> versions() const;

  KeyRing(KeyRing&&) noexcept = default;
  KeyRing& operator=(KeyRing&&) noexcept = default;

 private:
  KeyRing() = default;
  std::vector<std::pair<std::uint32_t, SecretBytes>> masters_;
  std::uint32_t current_ = 0;
};

}  // namespace veribind
