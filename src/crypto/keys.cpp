#include "veribind/keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "internal/fd.hpp"
#include "internal/sodium.hpp"

namespace veribind {

namespace {

using internal::Fd;

// crypto_kdf contexts: exactly crypto_kdf_CONTEXTBYTES (8) characters, one per purpose.
const char* kdf_context(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kBlindIndex: return "vbblindx";
    case KeyPurpose::kCodeTag: return "vbcodtag";
    case KeyPurpose::kContactSeal: return "vbsealkk";
    case KeyPurpose::kAuditChain: return "vbauditc";
    case KeyPurpose::kCounter: return "vbcountr";
    case KeyPurpose::kApiKey: return "vbapikey";
  }
  return nullptr;
}

// The last component of `path`, opened relative to its directory.
std::string leaf_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// The directory that holds `path`, opened without following a symbolic link at its last
// component: a key reached through a linked directory is whatever the link's owner points it at
// next. (Links higher up the path are the system's business, such as /var on some systems.) The
// file itself is then opened relative to this descriptor, so the check cannot be raced.
Result<Fd> open_key_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() >= 0) return fd;
  const int error = errno;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return Status(ErrorCode::kKeyFileInsecure,
                  "the key file's directory is a symbolic link; refusing it (use the real "
                  "directory's path)");
  }
  return Status(ErrorCode::kKeyUnavailable,
                std::string("cannot open the key file's directory: ") + std::strerror(error));
}

// --- the manifest of key versions in use ---

constexpr std::size_t kMaxManifestBytes = 4096;
constexpr std::string_view kManifestHeader =
    "# veribind: the master key versions in use, one a line, ascending. Written by keygen and\n"
    "# rotate --retire; a key file whose version is not listed here is never loaded.\n";

// The versions a manifest's text lists: decimal numbers >= 1 without leading zeros, one a line,
// strictly ascending; empty lines and lines starting with '#' are skipped.
Result<std::vector<std::uint32_t>> parse_manifest(std::string_view text) {
  std::vector<std::uint32_t> versions;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    std::uint32_t version = 0;
    const auto [end_ptr, err] = std::from_chars(line.data(), line.data() + line.size(), version);
    if (err != std::errc() || end_ptr != line.data() + line.size() || line.front() == '0' ||
        line.front() == '+' || version == 0 || (!versions.empty() && version <= versions.back())) {
      return Status(ErrorCode::kKeyFileMalformed,
                    "key version manifest, line " + std::to_string(line_number) +
                        ": not a key version above the previous one (one decimal number a line, "
                        "ascending)");
    }
    versions.push_back(version);
  }
  return versions;
}

// The versions the manifest beside `base` lists; nullopt if there is no manifest.
Result<std::optional<std::vector<std::uint32_t>>> read_manifest(const std::string& base) {
  const std::string path = KeyRing::key_manifest_path(base);
  auto dir = open_key_directory(path);
  if (!dir) return dir.status();
  Fd fd(::openat(dir->get(), leaf_name(path).c_str(),
                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::vector<std::uint32_t>>();
    if (errno == ELOOP) {
      return Status(ErrorCode::kKeyFileMalformed,
                    "the key version manifest is a symbolic link; refusing it");
    }
    return Status(ErrorCode::kKeyUnavailable,
                  std::string("cannot open the key version manifest: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status(ErrorCode::kKeyUnavailable, "cannot stat the key version manifest");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status(ErrorCode::kKeyFileMalformed, "the key version manifest is not a regular file");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status(ErrorCode::kKeyFileInsecure,
                  "the key version manifest is writable by group or others; run chmod 600 on it");
  }
  if (st.st_size > static_cast<off_t>(kMaxManifestBytes)) {
    return Status(ErrorCode::kKeyFileMalformed, "the key version manifest is too large");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  auto versions = parse_manifest(text);
  if (!versions) return versions.status();
  return std::optional<std::vector<std::uint32_t>>(std::move(versions).value());
}

// Replaces the manifest beside `base` with one listing `versions` (ascending): written to a
// temporary file with mode 0600, synced, renamed over the old one, and the directory synced, so
// that a crash leaves the old list or the new one, never a mix.
Status write_manifest(const std::string& base, const std::vector<std::uint32_t>& versions) {
  const std::string path = KeyRing::key_manifest_path(base);
  auto dir = open_key_directory(path);
  if (!dir) return dir.status();
  const std::string name = leaf_name(path);
  const std::string temp = name + ".tmp";
  std::string text(kManifestHeader);
  for (std::uint32_t version : versions) text += std::to_string(version) + "\n";
  // A temporary file left by a crash is only ever ours to replace.
  (void)::unlinkat(dir->get(), temp.c_str(), 0);
  Fd fd(::openat(dir->get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 0600));
  if (fd.get() < 0) {
    return {ErrorCode::kKeyUnavailable,
            std::string("cannot create the key version manifest: ") + std::strerror(errno)};
  }
  const auto fail = [&](const char* what) {
    (void)::unlinkat(dir->get(), temp.c_str(), 0);
    return Status(ErrorCode::kKeyUnavailable, what);
  };
  if (::fchmod(fd.get(), 0600) != 0) return fail("cannot set the manifest's mode to 0600");
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write the key version manifest");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync the key version manifest");
  if (::renameat(dir->get(), temp.c_str(), dir->get(), name.c_str()) != 0) {
    return fail("cannot put the key version manifest in place");
  }
  if (::fsync(dir->get()) != 0) {
    return {ErrorCode::kKeyUnavailable, "cannot sync the key file's directory"};
  }
  return Status::ok();
}

std::string version_list(const std::vector<std::uint32_t>& versions) {
  std::string out;
  for (std::uint32_t v : versions) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

// The refusal for a directory of the previous release holding several versions and no manifest.
Status unnamed_versions(const std::string& base, const std::vector<std::uint32_t>& siblings) {
  return {ErrorCode::kKeyFileInsecure,
          "key files of versions " + version_list(siblings) +
              " sit beside the key file, but no manifest names the versions in use, so none is "
              "loaded by its name alone: list the versions in use in " +
              KeyRing::key_manifest_path(base) +
              " (one a line, mode 0600; KeyRing::write_key_manifest writes it)"};
}

// Versions >= 2 present beside `base` ("<base>.vN", N in decimal without leading zeros).
std::vector<std::uint32_t> sibling_versions(const std::string& base) {
  namespace fs = std::filesystem;
  const fs::path base_path(base);
  const fs::path dir = base_path.has_parent_path() ? base_path.parent_path() : fs::path(".");
  const std::string prefix = base_path.filename().string() + ".v";
  std::vector<std::uint32_t> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string_view digits = std::string_view(name).substr(prefix.size());
    if (digits.front() == '0') continue;
    std::uint32_t version = 0;
    const auto [end_ptr, err] =
        std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (err != std::errc() || end_ptr != digits.data() + digits.size() || version < 2) continue;
    found.push_back(version);
  }
  std::sort(found.begin(), found.end());
  return found;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string KeyRing::key_file_path(const std::string& base, std::uint32_t version) {
  return version == 1 ? base : base + ".v" + std::to_string(version);
}

Status KeyRing::generate_key_file(const std::string& base, std::uint32_t version) {
  if (version == 0) return {ErrorCode::kInvalidArgument, "key versions start at 1"};
  auto manifest = read_manifest(base);
  if (!manifest) return manifest.status();
  const std::vector<std::uint32_t> siblings = sibling_versions(base);
  if (!manifest->has_value() && !siblings.empty()) return unnamed_versions(base, siblings);
  std::uint32_t highest = !siblings.empty() ? siblings.back() : (file_exists(base) ? 1 : 0);
  if (manifest->has_value() && !(*manifest)->empty()) {
    highest = std::max(highest, (*manifest)->back());
  }
  if (version <= highest) {
    return {ErrorCode::kInvalidArgument, "key version " + std::to_string(version) +
                                             " is not above the highest present (" +
                                             std::to_string(highest) + "); versions only grow"};
  }
  // Without a manifest (a new directory, or a lone key file of the previous release), the list
  // starts from what is there: the base file alone, checked above.
  std::vector<std::uint32_t> in_use =
      manifest->has_value()
          ? **manifest
          : (file_exists(base) ? std::vector<std::uint32_t>{1} : std::vector<std::uint32_t>{});
  in_use.push_back(version);
  // Version 1 is the base file; a higher version needs no base (version 1 may be retired).
  const std::string path = key_file_path(base, version);
  if (Status s = generate_key_file(path); !s) return s;
  if (Status s = write_manifest(base, in_use); !s) {
    // A key the manifest does not name would never be loaded: take it back, unless the manifest
    // got as far as naming it (only its directory's sync failed), when the key must stay.
    auto now = read_manifest(base);
    const bool listed = now && now->has_value() &&
                        std::find((*now)->begin(), (*now)->end(), version) != (*now)->end();
    if (!listed) (void)::unlink(path.c_str());
    return s;
  }
  return Status::ok();
}

std::string KeyRing::key_manifest_path(const std::string& base) { return base + ".versions"; }

Status KeyRing::write_key_manifest(const std::string& base,
                                   const std::vector<std::uint32_t>& versions) {
  if (versions.empty()) return {ErrorCode::kInvalidArgument, "name at least one key version"};
  std::vector<std::uint32_t> sorted = versions;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.front() == 0 || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return {ErrorCode::kInvalidArgument, "key versions start at 1 and are named once each"};
  }
  for (std::uint32_t version : sorted) {
    auto loaded = load_key_file(key_file_path(base, version), version);
    if (!loaded) {
      return {loaded.code(),
              "key version " + std::to_string(version) + ": " + loaded.status().message()};
    }
  }
  return write_manifest(base, sorted);
}

Result<KeyRing> KeyRing::load_key_files(const std::string& base) {
  auto manifest = read_manifest(base);
  if (!manifest) return manifest.status();
  std::vector<std::uint32_t> versions;
  if (manifest->has_value()) {
    versions = **manifest;
    if (versions.empty()) {
      return Status(ErrorCode::kKeyUnavailable, "the key version manifest lists no version");
    }
  } else {
    // No manifest: the single-file form. Versions beside it are named by nobody, so none of them
    // is taken (a file dropped there must never become the current key by its name).
    const std::vector<std::uint32_t> siblings = sibling_versions(base);
    if (!siblings.empty()) return unnamed_versions(base, siblings);
    if (!file_exists(base)) {
      return Status(ErrorCode::kKeyUnavailable, "no key file (of any version) at " + base);
    }
    versions.push_back(1);
  }
  std::optional<KeyRing> ring;
  for (std::uint32_t version : versions) {
    auto loaded = load_key_file(key_file_path(base, version), version);
    if (!loaded) {
      return Status(loaded.code(),
                    "key version " + std::to_string(version) + ": " + loaded.status().message());
    }
    if (!ring) {
      ring.emplace(std::move(loaded).value());
      continue;
    }
    if (Status s = ring->add_version(std::move(loaded->masters_.front().second), version); !s) {
      return s;
    }
  }
  return std::move(*ring);
}

Status KeyRing::destroy_key_file(const std::string& base, std::uint32_t version) {
  if (version == 0) return {ErrorCode::kInvalidArgument, "key versions start at 1"};
  const std::string path = key_file_path(base, version);
  auto manifest = read_manifest(base);
  if (!manifest) return manifest.status();
  auto dir = open_key_directory(path);
  if (!dir) return dir.status();
  Fd fd(::openat(dir->get(), leaf_name(path).c_str(),
                 O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    return {ErrorCode::kKeyUnavailable, "no key file for version " + std::to_string(version)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return {ErrorCode::kKeyFileMalformed, "the key file is not a regular file"};
  }
  // Out of the manifest first: if the rest fails, the version is no longer loaded, and running
  // this again finishes destroying its file.
  if (manifest->has_value()) {
    std::vector<std::uint32_t> in_use = **manifest;
    const auto listed = std::find(in_use.begin(), in_use.end(), version);
    if (listed != in_use.end()) {
      in_use.erase(listed);
      if (Status s = write_manifest(base, in_use); !s) return s;
    }
  }
  // Overwrite before unlinking, so the bytes do not linger in the freed blocks of a simple file
  // system (journaling, copy-on-write and SSD remapping may keep copies; SECURITY.md says so).
  const std::array<std::uint8_t, kMasterKeyBytes> zeros{};
  std::size_t written = 0;
  const auto size = static_cast<std::size_t>(st.st_size);
  while (written < size) {
    const std::size_t chunk = std::min(zeros.size(), size - written);
    const ssize_t n = ::pwrite(fd.get(), zeros.data(), chunk, static_cast<off_t>(written));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {ErrorCode::kKeyUnavailable, "cannot overwrite the key file"};
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return {ErrorCode::kKeyUnavailable, "cannot sync the key file"};
  if (::unlinkat(dir->get(), leaf_name(path).c_str(), 0) != 0) {
    return {ErrorCode::kKeyUnavailable,
            std::string("cannot remove the key file: ") + std::strerror(errno)};
  }
  return Status::ok();
}

Status KeyRing::add_version(SecretBytes master, std::uint32_t version) {
  if (master.size() != kMasterKeyBytes) {
    return {ErrorCode::kInvalidArgument, "a master key is exactly 32 bytes"};
  }
  if (version == 0) return {ErrorCode::kInvalidArgument, "key versions start at 1"};
  for (const auto& held : masters_) {
    if (held.first == version) {
      return {ErrorCode::kInvalidArgument, "the ring already holds that key version"};
    }
  }
  masters_.emplace_back(version, std::move(master));
  current_ = std::max(current_, version);
  return Status::ok();
}

std::vector<std::uint32_t> KeyRing::versions() const {
  std::vector<std::uint32_t> out;
  for (const auto& held : masters_) out.push_back(held.first);
  std::sort(out.begin(), out.end());
  return out;
}

Status KeyRing::generate_key_file(const std::string& path) {
  internal::ensure_sodium();
  auto dir = open_key_directory(path);
  if (!dir) return dir.status();
  const std::string name = leaf_name(path);
  Fd fd(::openat(dir->get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return {ErrorCode::kInvalidArgument, "key file exists already; refusing to overwrite it"};
    }
    return {ErrorCode::kKeyUnavailable,
            std::string("cannot create key file: ") + std::strerror(errno)};
  }
  // The umask may have narrowed 0600 further; it can never have widened it, but be explicit.
  if (::fchmod(fd.get(), 0600) != 0) {
    (void)::unlinkat(dir->get(), name.c_str(), 0);
    return {ErrorCode::kKeyUnavailable, "cannot set key file mode to 0600"};
  }
  SecretBytes key = SecretBytes::random(kMasterKeyBytes);
  const auto bytes = key.reveal();
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      (void)::unlinkat(dir->get(), name.c_str(), 0);
      return {ErrorCode::kKeyUnavailable, "cannot write key file"};
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    (void)::unlinkat(dir->get(), name.c_str(), 0);
    return {ErrorCode::kKeyUnavailable, "cannot sync key file to disk"};
  }
  return Status::ok();
}

Result<KeyRing> KeyRing::load_key_file(const std::string& path, std::uint32_t version) {
  auto dir = open_key_directory(path);
  if (!dir) return dir.status();
  // O_NONBLOCK: a FIFO (or a device) opens at once instead of waiting for a writer, and fstat
  // below refuses it; on a regular file the flag changes nothing.
  Fd fd(::openat(dir->get(), leaf_name(path).c_str(),
                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP) {
      return Status(ErrorCode::kKeyFileMalformed, "key file is a symbolic link; refusing it");
    }
    return Status(ErrorCode::kKeyUnavailable,
                  std::string("cannot open key file: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status(ErrorCode::kKeyUnavailable, "cannot stat key file");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status(ErrorCode::kKeyFileMalformed, "key file is not a regular file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status(ErrorCode::kKeyFileInsecure,
                  "key file is accessible by group or others; run chmod 600 on it");
  }
  if (st.st_size != static_cast<off_t>(kMasterKeyBytes)) {
    return Status(ErrorCode::kKeyFileMalformed, "key file must hold exactly 32 bytes");
  }
  SecretBytes master(kMasterKeyBytes);
  auto out = master.reveal_mutable();
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(ErrorCode::kKeyFileMalformed, "key file is shorter than 32 bytes");
    got += static_cast<std::size_t>(n);
  }
  return from_master_key(std::move(master), version);
}

Result<KeyRing> KeyRing::from_master_key(SecretBytes master, std::uint32_t version) {
  internal::ensure_sodium();
  if (master.size() != kMasterKeyBytes) {
    return Status(ErrorCode::kInvalidArgument, "a master key is exactly 32 bytes");
  }
  if (version == 0) return Status(ErrorCode::kInvalidArgument, "key versions start at 1");
  KeyRing ring;
  ring.masters_.emplace_back(version, std::move(master));
  ring.current_ = version;
  return ring;
}

Result<SecretBytes> KeyRing::derive(KeyPurpose purpose, std::uint32_t version) const {
  static_assert(kMasterKeyBytes == crypto_kdf_KEYBYTES);
  static_assert(kSubkeyBytes >= crypto_kdf_BYTES_MIN && kSubkeyBytes <= crypto_kdf_BYTES_MAX);
  const char* context = kdf_context(purpose);
  if (context == nullptr) return Status(ErrorCode::kInvalidArgument, "unknown key purpose");
  for (const auto& [v, master] : masters_) {
    if (v != version) continue;
    SecretBytes subkey(kSubkeyBytes);
    if (crypto_kdf_derive_from_key(subkey.reveal_mutable().data(), kSubkeyBytes, version, context,
                                   master.reveal().data()) != 0) {
      return Status(ErrorCode::kInternal, "subkey derivation failed");
    }
    return subkey;
  }
  return Status(ErrorCode::kKeyUnavailable, "the key ring does not hold that key version");
}

}  // namespace veribind
