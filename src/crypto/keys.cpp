#include "veribind/keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

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

}  // namespace

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
