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

#include "internal/sodium.hpp"

namespace veribind {

namespace {

// crypto_kdf contexts: exactly crypto_kdf_CONTEXTBYTES (8) characters, one per purpose.
const char* kdf_context(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kBlindIndex: return "vbblindx";
    case KeyPurpose::kCodeTag: return "vbcodtag";
    case KeyPurpose::kContactSeal: return "vbsealkk";
    case KeyPurpose::kAuditChain: return "vbauditc";
    case KeyPurpose::kCounter: return "vbcountr";
  }
  return nullptr;
}

// Closes a file descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

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
  const std::vector<std::uint32_t> siblings = sibling_versions(base);
  const std::uint32_t highest = !siblings.empty() ? siblings.back() : (file_exists(base) ? 1 : 0);
  if (version <= highest) {
    return {ErrorCode::kInvalidArgument, "key version " + std::to_string(version) +
                                             " is not above the highest present (" +
                                             std::to_string(highest) + "); versions only grow"};
  }
  // Version 1 is the base file; a higher version needs no base (version 1 may be retired).
  return generate_key_file(key_file_path(base, version));
}

Result<KeyRing> KeyRing::load_key_files(const std::string& base) {
  std::vector<std::uint32_t> versions = sibling_versions(base);
  if (file_exists(base)) versions.insert(versions.begin(), 1);
  if (versions.empty()) {
    return Status(ErrorCode::kKeyUnavailable, "no key file (of any version) at " + base);
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
  Fd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    return {ErrorCode::kKeyUnavailable, "no key file for version " + std::to_string(version)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return {ErrorCode::kKeyFileMalformed, "the key file is not a regular file"};
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
  if (::unlink(path.c_str()) != 0) {
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
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return {ErrorCode::kInvalidArgument, "key file exists already; refusing to overwrite it"};
    }
    return {ErrorCode::kKeyUnavailable,
            std::string("cannot create key file: ") + std::strerror(errno)};
  }
  // The umask may have narrowed 0600 further; it can never have widened it, but be explicit.
  if (::fchmod(fd.get(), 0600) != 0) {
    ::unlink(path.c_str());
    return {ErrorCode::kKeyUnavailable, "cannot set key file mode to 0600"};
  }
  SecretBytes key = SecretBytes::random(kMasterKeyBytes);
  const auto bytes = key.reveal();
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::unlink(path.c_str());
      return {ErrorCode::kKeyUnavailable, "cannot write key file"};
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    ::unlink(path.c_str());
    return {ErrorCode::kKeyUnavailable, "cannot sync key file to disk"};
  }
  return Status::ok();
}

Result<KeyRing> KeyRing::load_key_file(const std::string& path, std::uint32_t version) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
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
