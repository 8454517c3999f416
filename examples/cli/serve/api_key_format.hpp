// The API keys file's format, shared by ApiKeyFile (the apikey commands) and ApiKeys (the
// server): the key text's shape, a parsed line, and the one reader of the file.
//
// The file, one key a line after a line naming the format:
//   veribind-api-keys v1
//   <id> <scope> <created unix s> <revoked unix s or -> <key version> <tag: 64 hex digits>
// The tag is CredentialTagger's over the whole key text ("vbk_<id>_<secret>"), so a line's tag
// cannot be moved to another id.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "serve/api_keys.hpp"
#include "veribind/credential.hpp"
#include "veribind/result.hpp"

namespace veribind::serve::key_file {

inline constexpr std::string_view kFormatLine = "veribind-api-keys v1";
inline constexpr std::string_view kKeyPrefix = "vbk_";
inline constexpr std::size_t kIdBytes = 8;
inline constexpr std::size_t kIdChars = 2 * kIdBytes;
inline constexpr std::size_t kSecretBytes = 32;
inline constexpr std::size_t kSecretChars = 43;  // base64url of 32 bytes, without padding
inline constexpr std::size_t kKeyChars = kKeyPrefix.size() + kIdChars + 1 + kSecretChars;

struct Entry {
  ApiKeyInfo info;
  CredentialTag tag;
};

// What tells one version of the file from the next without reading it.
struct FileIdentity {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

[[nodiscard]] inline FileIdentity identity_of(const struct stat& info) {
  return {true, info.st_dev, info.st_ino, info.st_size,
          static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
}

struct LoadedFile {
  std::vector<Entry> entries;  // in the order made
  FileIdentity identity;       // exists == false: no file (no keys)
};

// Reads and parses the whole file, opened without following a symbolic link and checked on its
// descriptor. A missing file is no keys. Errors as ApiKeyFile::list.
[[nodiscard]] Result<LoadedFile> read(const std::string& path);

// True if `key` has the shape "vbk_<16 lowercase hex>_<43 base64url>".
[[nodiscard]] bool is_key_text(std::string_view key) noexcept;

}  // namespace veribind::serve::key_file
