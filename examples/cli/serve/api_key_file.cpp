// The API keys file: its format, its one reader, and the commands' atomic rewrites under a lock
// (api_keys.hpp states the contract, api_key_format.hpp the format). Writers take an exclusive
// flock on "<file>.lock": the file itself is replaced by rename, so a lock on it would guard an
// inode nobody opens any more.
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <utility>

#include "serve/api_key_format.hpp"
#include "serve/api_keys.hpp"
#include "veribind/credential.hpp"

namespace veribind::serve {
namespace key_file {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxFileBytes = 4 << 20;
static_assert(sodium_base64_ENCODED_LEN(kSecretBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
              kSecretChars + 1);

// A descriptor closed on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_base64url(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

std::int64_t unix_seconds(Timestamp time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

Timestamp from_unix_seconds(std::uint64_t seconds) {
  return Timestamp(std::chrono::seconds(static_cast<std::int64_t>(seconds)));
}

Status malformed(const std::string& path, std::size_t line, const std::string& what) {
  return Status(ErrorCode::kKeyFileMalformed,
                "API keys file " + path + ":" + std::to_string(line) + ": " + what);
}

// One key line; `line` counts from 1 (the format line).
Result<Entry> parse_line(std::string_view text, const std::string& path, std::size_t line) {
  std::array<std::string_view, 6> fields;
  std::size_t count = 0;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    if (count == fields.size()) return malformed(path, line, "more than 6 fields");
    fields[count++] = text.substr(start, end - start);
    start = end + 1;
  }
  if (count != fields.size()) {
    return malformed(path, line,
                     "expected <id> <scope> <created> <revoked or -> <key version> <tag>");
  }
  Entry entry;
  if (fields[0].size() != kIdChars || !is_lower_hex(fields[0])) {
    return malformed(path, line, "the id is not 16 lowercase hex digits");
  }
  entry.info.id = std::string(fields[0]);
  auto scope = parse_scope(fields[1]);
  if (!scope) return malformed(path, line, "the scope is not verify or operator");
  entry.info.scope = *scope;
  constexpr std::uint64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  const auto created = parse_decimal(fields[2], kMaxSeconds);
  if (!created) return malformed(path, line, "the creation time is not unix seconds");
  entry.info.created_at = from_unix_seconds(*created);
  if (fields[3] != "-") {
    const auto revoked = parse_decimal(fields[3], kMaxSeconds);
    if (!revoked) return malformed(path, line, "the revocation time is not unix seconds or -");
    entry.info.revoked_at = from_unix_seconds(*revoked);
  }
  const auto version = parse_decimal(fields[4], UINT32_MAX);
  if (!version || *version == 0) return malformed(path, line, "the key version is not >= 1");
  auto tag = CredentialTag::from_hex(fields[5], static_cast<std::uint32_t>(*version));
  if (!tag || !is_lower_hex(fields[5])) {
    return malformed(path, line, "the tag is not 64 lowercase hex digits");
  }
  entry.tag = *tag;
  return entry;
}

Result<std::vector<Entry>> parse_file(std::string_view text, const std::string& path) {
  if (text.empty() || text.back() != '\n') {
    return malformed(path, 1, "not an API keys file (it must end with a newline)");
  }
  std::vector<Entry> entries;
  std::size_t line = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    const std::string_view current = text.substr(start, end - start);
    start = end + 1;
    ++line;
    if (line == 1) {
      if (current != kFormatLine) {
        return malformed(
            path, 1,
            "not an API keys file (the first line must be \"" + std::string(kFormatLine) + "\")");
      }
      continue;
    }
    auto entry = parse_line(current, path, line);
    if (!entry) return entry.status();
    for (const Entry& seen : entries) {
      if (seen.info.id == entry->info.id) return malformed(path, line, "the id is used twice");
    }
    entries.push_back(std::move(entry).value());
  }
  return entries;
}

std::string serialize(const std::vector<Entry>& entries) {
  std::string out(kFormatLine);
  out += '\n';
  for (const Entry& e : entries) {
    out += e.info.id;
    out += ' ';
    out += scope_name(e.info.scope);
    out += ' ';
    out += std::to_string(unix_seconds(e.info.created_at));
    out += ' ';
    out += e.info.revoked_at ? std::to_string(unix_seconds(*e.info.revoked_at)) : "-";
    out += ' ';
    out += std::to_string(e.tag.key_version);
    out += ' ';
    out += e.tag.hex();
    out += '\n';
  }
  return out;
}

}  // namespace

Result<LoadedFile> read(const std::string& path) {
  LoadedFile loaded;
  // O_NONBLOCK: a FIFO planted at the path is refused below instead of hanging the caller.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return loaded;
    if (errno == ELOOP) {
      return Status(ErrorCode::kKeyFileMalformed,
                    "API keys file " + path + " is a symbolic link: name the file itself");
    }
    return Status(ErrorCode::kStoreError,
                  "cannot read the API keys file " + path + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return Status(ErrorCode::kStoreError, "cannot read the API keys file " + path);
  }
  if (!S_ISREG(info.st_mode)) {
    return Status(ErrorCode::kKeyFileMalformed, "API keys file " + path + " is not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    return Status(ErrorCode::kKeyFileInsecure, "API keys file " + path +
                                                   " is readable or writable by group or others "
                                                   "(chmod 600 it)");
  }
  if (static_cast<std::uint64_t>(info.st_size) > kMaxFileBytes) {
    return Status(ErrorCode::kKeyFileMalformed, "API keys file " + path + " is larger than 4 MiB");
  }
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(ErrorCode::kStoreError, "cannot read the API keys file " + path);
    done += static_cast<std::size_t>(n);
  }
  auto entries = parse_file(text, path);
  if (!entries) return entries.status();
  loaded.entries = std::move(entries).value();
  loaded.identity = identity_of(info);
  return loaded;
}

bool is_key_text(std::string_view key) noexcept {
  return key.size() == kKeyChars && key.substr(0, kKeyPrefix.size()) == kKeyPrefix &&
         is_lower_hex(key.substr(kKeyPrefix.size(), kIdChars)) &&
         key[kKeyPrefix.size() + kIdChars] == '_' &&
         is_base64url(key.substr(kKeyPrefix.size() + kIdChars + 1));
}

namespace {

Status write_failed(const std::string& path) {
  return Status(ErrorCode::kStoreError,
                "cannot write the API keys file " + path + ": " + std::strerror(errno));
}

// Replaces the file with `content`: a temporary file (mode 0600) in the same directory, synced,
// renamed over it, and the directory synced, so a reader sees the old file or the new one.
Status write_file(const std::string& path, const std::string& content) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int raw = ::mkostemp(temp.data(), O_CLOEXEC);
  if (raw < 0) return write_failed(path);
  {
    const Fd fd(raw);
    bool ok = ::fchmod(fd.get(), 0600) == 0;
    for (std::size_t done = 0; ok && done < content.size();) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd.get()) == 0;
    if (!ok) {
      const Status failed = write_failed(path);
      ::unlink(temp.c_str());
      return failed;
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const Status failed = write_failed(path);
    ::unlink(temp.c_str());
    return failed;
  }
  const Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return Status::ok();
}

// The writers' lock, held until the returned descriptor closes.
Result<Fd> lock_exclusive(const std::string& path) {
  const std::string lock_path = path + ".lock";
  Fd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return Status(ErrorCode::kStoreError,
                  "cannot lock the API keys file " + path + ": " + std::strerror(errno));
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return Status(ErrorCode::kStoreError, "cannot lock the API keys file " + path);
    }
  }
  return fd;
}

std::string hex_of(std::span<const std::uint8_t> bytes) {
  std::string out(2 * bytes.size() + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

}  // namespace
}  // namespace key_file

using namespace key_file;

std::string_view scope_name(ApiScope scope) noexcept {
  switch (scope) {
    case ApiScope::kVerify: return "verify";
    case ApiScope::kOperator: return "operator";
  }
  return "verify";
}

Result<ApiScope> parse_scope(std::string_view text) {
  if (text == "verify") return ApiScope::kVerify;
  if (text == "operator") return ApiScope::kOperator;
  return Status(ErrorCode::kInvalidArgument, "scope must be verify or operator");
}

Result<SecretText> ApiKeyFile::create(const std::string& path, const KeyRing& ring, ApiScope scope,
                                      const Clock& clock, ApiKeyInfo* info) {
  if (sodium_init() < 0) return Status(ErrorCode::kInternal, "libsodium did not initialise");
  auto tagger = CredentialTagger::create(ring);
  if (!tagger) return tagger.status();
  auto lock = lock_exclusive(path);
  if (!lock) return lock.status();
  auto loaded = read(path);
  if (!loaded) return loaded.status();
  std::vector<Entry>& entries = loaded->entries;

  // A fresh id: 64 random bits, redrawn in the (astronomically unlikely) case it is taken, since
  // an id names one key forever.
  std::string id;
  do {
    std::array<std::uint8_t, kIdBytes> id_bytes{};
    randombytes_buf(id_bytes.data(), id_bytes.size());
    id = hex_of(id_bytes);
  } while (std::any_of(entries.begin(), entries.end(),
                       [&id](const Entry& e) { return e.info.id == id; }));

  // The key is built in buffers that are wiped before returning; it leaves only as SecretText.
  std::array<std::uint8_t, kSecretBytes> secret{};
  std::array<char, kKeyChars + 1> text{};
  randombytes_buf(secret.data(), secret.size());
  std::memcpy(text.data(), kKeyPrefix.data(), kKeyPrefix.size());
  std::memcpy(text.data() + kKeyPrefix.size(), id.data(), kIdChars);
  text[kKeyPrefix.size() + kIdChars] = '_';
  sodium_bin2base64(text.data() + kKeyPrefix.size() + kIdChars + 1, kSecretChars + 1, secret.data(),
                    secret.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  SecretText key = SecretText::copy_of(std::string_view(text.data(), kKeyChars));
  sodium_memzero(secret.data(), secret.size());
  sodium_memzero(text.data(), text.size());

  Entry entry;
  entry.info.id = id;
  entry.info.scope = scope;
  entry.info.created_at = from_unix_seconds(static_cast<std::uint64_t>(unix_seconds(clock.now())));
  entry.tag = tagger->tag(key.reveal());
  entries.push_back(entry);
  if (Status written = write_file(path, serialize(entries)); !written) return written;
  if (info != nullptr) *info = entry.info;
  return key;
}

Status ApiKeyFile::revoke(const std::string& path, std::string_view id, const Clock& clock) {
  auto lock = lock_exclusive(path);
  if (!lock) return lock.status();
  auto loaded = read(path);
  if (!loaded) return loaded.status();
  for (Entry& e : loaded->entries) {
    if (e.info.id != id) continue;
    if (e.info.revoked_at) return Status::ok();
    e.info.revoked_at = from_unix_seconds(static_cast<std::uint64_t>(unix_seconds(clock.now())));
    return write_file(path, serialize(loaded->entries));
  }
  return Status(ErrorCode::kInvalidArgument, "no such API key");
}

Result<std::vector<ApiKeyInfo>> ApiKeyFile::list(const std::string& path) {
  auto loaded = read(path);
  if (!loaded) return loaded.status();
  std::vector<ApiKeyInfo> out;
  out.reserve(loaded->entries.size());
  for (Entry& e : loaded->entries) out.push_back(std::move(e.info));
  return out;
}
}  // namespace veribind::serve
