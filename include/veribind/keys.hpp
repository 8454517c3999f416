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
//
// The versions in use are named, not found: a manifest beside the key file, "<key file>.versions"
// (mode 0600, one decimal version a line, ascending; lines starting with '#' are comments), is
// written by generate_key_file(base, version) and destroy_key_file(), and load_key_files() loads
// exactly the versions it lists. A ".vN" file it does not list is never loaded, so a key file
// dropped in the directory cannot become the current key, nor a malformed one stop the load.
// A directory without a manifest (made by a release before manifests) loads its key file alone
// as version 1; if ".vN" files sit beside it, the load is refused (kKeyFileInsecure) until
// write_key_manifest() names the versions in use.
//
// Every key file and the manifest are opened without following a symbolic link, neither at the
// file nor at the directory that holds it (kKeyFileInsecure for a linked directory), and without
// blocking (a FIFO or a device is refused as not a regular file instead of hanging the caller).
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
  kApiKey = 6,   // keys of API-key hashes (CredentialTagger)
};

class KeyRing {
 public:
  static constexpr std::size_t kMasterKeyBytes = 32;
  static constexpr std::size_t kSubkeyBytes = 32;

  // Writes a new random master key to `path` with mode 0600, and nothing else (no manifest: see
  // generate_key_file(base, version) for a key ring's files). Refuses (kInvalidArgument) to
  // overwrite an existing file; kKeyFileInsecure if its directory is a symbolic link;
  // kKeyUnavailable if the file cannot be created or written.
  static Status generate_key_file(const std::string& path);

  // Loads the master key in `path` as key version `version` (>= 1), whatever the manifest says.
  // Errors: kKeyUnavailable (missing or unreadable), kKeyFileInsecure (group/other may read or
  // write it, or its directory is a symbolic link), kKeyFileMalformed (a symbolic link, or not a
  // regular file of exactly 32 bytes: a FIFO is refused at once, never waited on).
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
  // 0600, and adds it to the manifest (creating it: listing `base` as version 1 too if that file
  // exists and no manifest did). Key versions only grow: kInvalidArgument if `version` is 0 or
  // not above every version listed or present beside `base` (retired versions are gone, so a
  // retired number is never reused by accident), or if the file exists. kKeyFileInsecure if
  // ".vN" files sit beside `base` with no manifest naming them (write_key_manifest first), or
  // the manifest is writable by others; kKeyFileMalformed for a malformed manifest;
  // kKeyUnavailable if a file cannot be written (then no new key is left behind).
  static Status generate_key_file(const std::string& base, std::uint32_t version);

  // Loads exactly the versions the manifest lists, or, without a manifest, `base` alone as
  // version 1. Each file gets load_key_file's checks, and any failing file fails the whole load
  // (a ring missing a version would silently stop finding its bindings); the message names the
  // version. Errors: kKeyUnavailable (a listed file is missing, the manifest lists nothing, or
  // there is no key at all); kKeyFileInsecure (the manifest is writable by group or others, a
  // directory is a symbolic link, or ".vN" files sit beside `base` with no manifest);
  // kKeyFileMalformed (the manifest is a symbolic link, not a regular file, or a line is not a
  // version above the previous one); a listed file's own errors. Writes nothing.
  static Result<KeyRing> load_key_files(const std::string& base);

  // The manifest beside the key at `base`: "<base>.versions".
  [[nodiscard]] static std::string key_manifest_path(const std::string& base);

  // Names `versions` as the ones in use at `base`, replacing any manifest: for a directory made
  // before manifests, once its operator has checked which ".vN" files are theirs. Each version's
  // file must pass load_key_file's checks first (its error otherwise, nothing written);
  // kInvalidArgument for an empty list, version 0 or a version named twice. The manifest is
  // written with mode 0600 to a temporary file, synced and renamed into place.
  static Status write_key_manifest(const std::string& base,
                                   const std::vector<std::uint32_t>& versions);

  // Destroys version `version` of the key at `base`: takes it out of the manifest, then
  // overwrites the file with zeros, syncs it and removes it. What it indexed can never be matched
  // again; call it only when nothing uses the version (Registry::key_version_usage).
  // kKeyUnavailable if there is no such file (nothing changed); the manifest's errors as
  // load_key_files.
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
