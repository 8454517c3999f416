// The server's API keys: bearer credentials for backends, each with one scope.
//
// A key is shown once, when `veribind apikey create` makes it, as "vbk_<id>_<secret>": <id> is 16
// lowercase hex digits (public: it names the key in logs and in `apikey revoke`), <secret> is 32
// random bytes in base64url without padding. The key file keeps, per key, only its id, scope,
// creation time, revocation time and a keyed hash of the secret (CredentialTag, under a subkey of
// the master key), so a copy of the file does not authenticate anyone. The file is refused if
// group or others can read or write it, and it is rewritten atomically (a temporary file renamed
// over it), so a reader never sees half a file. Writers serialise on an flock of "<file>.lock"
// beside it (the file itself is replaced, so a lock on it would not hold across a rewrite).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/clock.hpp"
#include "veribind/keys.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind::serve {

enum class ApiScope : std::uint8_t {
  kVerify = 1,    // /v1/verifications, /v1/verifications/{id}/check, /v1/accounts/{id}/bindings
  kOperator = 2,  // /v1/operator/...: find, unlink, erase, disclose, audit, retention, purge, keys
};
// "verify" / "operator".
[[nodiscard]] std::string_view scope_name(ApiScope scope) noexcept;
// kInvalidArgument "scope must be verify or operator".
[[nodiscard]] Result<ApiScope> parse_scope(std::string_view text);

struct ApiKeyInfo {
  std::string id;  // 16 hex digits
  ApiScope scope = ApiScope::kVerify;
  Timestamp created_at{};
  std::optional<Timestamp> revoked_at;
};

// The key file, for the `apikey` commands. Each call reads (and for create/revoke rewrites) the
// whole file under an exclusive lock (flock), so two commands never lose each other's change.
class ApiKeyFile {
 public:
  // Makes a key with `scope`, appends it (creating the file, mode 0600, if missing) and returns
  // the key's text, the only time it exists outside the caller. Errors: kKeyFileInsecure (the
  // file's mode), kKeyFileMalformed (a line that does not parse, a symbolic link or not a regular
  // file), kKeyUnavailable (the ring), kStoreError (cannot lock, read or write). On any error the
  // file is as it was.
  static Result<SecretText> create(const std::string& path, const KeyRing& ring, ApiScope scope,
                                   const Clock& clock, ApiKeyInfo* info = nullptr);
  // Marks the key revoked (kept, so its id is never reused and the log stays readable).
  // kInvalidArgument "no such API key" for an unknown id (the file unchanged); ok, changing
  // nothing, if it was revoked already. Other errors as create, but it needs no key ring.
  static Status revoke(const std::string& path, std::string_view id, const Clock& clock);
  // Every key, revoked ones included, in the order made. A missing file is an empty list; other
  // errors as create. Takes no lock: the file is only ever replaced whole.
  static Result<std::vector<ApiKeyInfo>> list(const std::string& path);
};

// What a request's credential turned out to be.
struct Caller {
  std::string key_id;
  ApiScope scope = ApiScope::kVerify;
};

// The server's view of the key file: loaded at start, and reloaded when the file changes (checked
// at most once a second, by its modification time, size and inode), so a revocation takes effect
// within about a second without a restart. A file that becomes unreadable or malformed keeps the
// last good keys and is reported through `problem()`. Thread-safe.
class ApiKeys {
 public:
  // Monotonic time, which paces the reloads: the wall clock would not do, since one stepped back
  // would hold off reloads, and with them revocations, for as long as it was stepped.
  using PacingClock = std::function<std::chrono::steady_clock::time_point()>;

  // Errors as ApiKeyFile, and kInvalidConfig "no API keys: run veribind apikey create" when the
  // file is missing or holds no key that is not revoked. The subkeys of every version of `ring`
  // are derived here (the ring may go). `pacing` is steady_clock's own unless a test gives one.
  // A key made under a version the ring does not hold is refused, and problem() says so.
  static Result<std::unique_ptr<ApiKeys>> open(
      const std::string& path, const KeyRing& ring,
      PacingClock pacing = [] { return std::chrono::steady_clock::now(); });
  ~ApiKeys();
  ApiKeys(const ApiKeys&) = delete;
  ApiKeys& operator=(const ApiKeys&) = delete;

  // The caller for an Authorization header "Bearer vbk_<id>_<secret>", or nullopt for a missing,
  // malformed, unknown or revoked key or a wrong secret. The secret's hash is compared in constant
  // time (sodium_memcmp via CredentialTag), and an unknown id costs the same hash as a known one.
  [[nodiscard]] std::optional<Caller> authenticate(std::string_view authorization_header);
  // The last reload's problem (empty when the file read cleanly).
  [[nodiscard]] std::string problem() const;

  struct Impl;

 private:
  explicit ApiKeys(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind::serve
