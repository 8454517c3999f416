// The server's view of the API keys file (api_keys.hpp states the contract): the keys as last
// read, swapped whole when the file changes, and the check of a request's bearer credential.
#include "serve/api_keys.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "serve/api_key_format.hpp"
#include "veribind/credential.hpp"

namespace veribind::serve {
namespace {

using key_file::Entry;
using key_file::FileIdentity;
using key_file::LoadedFile;

constexpr std::chrono::milliseconds kReloadInterval{1000};

// "bearer", in any case, then exactly one space.
bool has_bearer_scheme(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = header[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return false;
  }
  return true;
}

}  // namespace

struct ApiKeys::Impl {
  // The keys as last read, sorted by id so that a request finds its key without allocating.
  struct Snapshot {
    std::vector<Entry> by_id;
  };

  Impl(std::string file, PacingClock pacing) : path(std::move(file)), now(std::move(pacing)) {}

  const std::string path;
  const PacingClock now;
  std::vector<CredentialTagger> taggers;  // one per version of the ring
  CredentialTag decoy;                    // what an unknown id is compared against

  mutable std::shared_mutex mutex;  // guards snapshot and problem
  std::shared_ptr<const Snapshot> snapshot;
  std::string problem;

  std::mutex reload_mutex;  // one reloader at a time; guards seen
  FileIdentity seen;
  std::atomic<std::chrono::steady_clock::rep> next_check{0};  // steady ticks

  [[nodiscard]] const CredentialTagger* tagger_for(std::uint32_t version) const {
    for (const CredentialTagger& t : taggers) {
      if (t.key_version() == version) return &t;
    }
    return nullptr;
  }

  // The problem to report for keys the ring cannot check (a retired key version), or empty.
  [[nodiscard]] std::string unusable_keys(const std::vector<Entry>& entries) const {
    std::size_t unusable = 0;
    for (const Entry& e : entries) {
      if (tagger_for(e.tag.key_version) == nullptr) ++unusable;
    }
    if (unusable == 0) return {};
    return std::to_string(unusable) +
           " API keys were made under a key version the key ring does not hold: they are refused";
  }

  void install(LoadedFile loaded) {
    auto next = std::make_shared<Snapshot>();
    next->by_id = std::move(loaded.entries);
    std::sort(next->by_id.begin(), next->by_id.end(),
              [](const Entry& a, const Entry& b) { return a.info.id < b.info.id; });
    std::string note = unusable_keys(next->by_id);
    const std::unique_lock lock(mutex);
    snapshot = std::move(next);
    problem = std::move(note);
  }

  void report(std::string what) {
    const std::unique_lock lock(mutex);
    problem = std::move(what);
  }

  // When the file is next looked at, from `at`, in steady_clock ticks.
  static std::chrono::steady_clock::rep next_check_after(std::chrono::steady_clock::time_point at) {
    return (at + kReloadInterval).time_since_epoch().count();
  }

  // At most once per kReloadInterval, and by one thread: a stat, and a read only if the file
  // changed. A bad new file leaves the keys as they were.
  void maybe_reload() {
    const std::chrono::steady_clock::time_point at = now();
    const auto ticks = at.time_since_epoch().count();
    if (ticks < next_check.load(std::memory_order_relaxed)) return;
    const std::unique_lock reloading(reload_mutex, std::try_to_lock);
    if (!reloading.owns_lock() || ticks < next_check.load()) return;
    next_check.store(next_check_after(at));

    struct stat info {};
    const FileIdentity current =
        ::stat(path.c_str(), &info) == 0 ? key_file::identity_of(info) : FileIdentity{};
    if (current == seen) return;
    seen = current;
    if (!current.exists) {
      return report("the API keys file " + path + " is gone: keeping the keys read before");
    }
    auto loaded = key_file::read(path);
    if (!loaded) return report(loaded.status().message() + " (keeping the keys read before)");
    if (!loaded->identity.exists) {
      return report("the API keys file " + path + " is gone: keeping the keys read before");
    }
    seen = loaded->identity;
    install(std::move(loaded).value());
  }
};

Result<std::unique_ptr<ApiKeys>> ApiKeys::open(const std::string& path, const KeyRing& ring,
                                               PacingClock pacing) {
  if (sodium_init() < 0) return Status(ErrorCode::kInternal, "libsodium did not initialise");
  auto loaded = key_file::read(path);
  if (!loaded) return loaded.status();
  const bool any_usable =
      std::any_of(loaded->entries.begin(), loaded->entries.end(),
                  [](const Entry& e) { return !e.info.revoked_at.has_value(); });
  if (!loaded->identity.exists || !any_usable) {
    return Status(ErrorCode::kInvalidConfig, "no API keys: run veribind apikey create");
  }
  auto impl = std::make_unique<Impl>(path, std::move(pacing));
  for (std::uint32_t version : ring.versions()) {
    auto tagger = CredentialTagger::create(ring, version);
    if (!tagger) return tagger.status();
    impl->taggers.push_back(std::move(tagger).value());
  }
  if (impl->taggers.empty()) return Status(ErrorCode::kKeyUnavailable, "the key ring is empty");
  randombytes_buf(impl->decoy.value.data(), impl->decoy.value.size());
  impl->decoy.key_version = impl->taggers.back().key_version();
  impl->seen = loaded->identity;
  impl->next_check = Impl::next_check_after(impl->now());
  impl->install(std::move(loaded).value());
  return std::unique_ptr<ApiKeys>(new ApiKeys(std::move(impl)));
}

ApiKeys::ApiKeys(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiKeys::~ApiKeys() = default;

std::optional<Caller> ApiKeys::authenticate(std::string_view authorization_header) {
  impl_->maybe_reload();
  if (!has_bearer_scheme(authorization_header)) return std::nullopt;
  const std::string_view key = authorization_header.substr(std::string_view("bearer ").size());
  if (!key_file::is_key_text(key)) return std::nullopt;
  const std::string_view id = key.substr(key_file::kKeyPrefix.size(), key_file::kIdChars);

  std::shared_ptr<const Impl::Snapshot> keys;
  {
    const std::shared_lock lock(impl_->mutex);
    keys = impl_->snapshot;
  }
  const auto found =
      std::lower_bound(keys->by_id.begin(), keys->by_id.end(), id,
                       [](const Entry& e, std::string_view wanted) { return e.info.id < wanted; });
  const Entry* entry = found != keys->by_id.end() && found->info.id == id ? &*found : nullptr;
  const CredentialTagger* tagger =
      entry != nullptr ? impl_->tagger_for(entry->tag.key_version) : nullptr;
  if (tagger == nullptr) {
    // The same hash and compare as a known id, so the time taken does not tell which ids exist.
    (void)impl_->taggers.back().matches(key, impl_->decoy);
    return std::nullopt;
  }
  const bool matched = tagger->matches(key, entry->tag);
  if (!matched || entry->info.revoked_at) return std::nullopt;
  return Caller{entry->info.id, entry->info.scope};
}

std::string ApiKeys::problem() const {
  const std::shared_lock lock(impl_->mutex);
  return impl_->problem;
}
}  // namespace veribind::serve
