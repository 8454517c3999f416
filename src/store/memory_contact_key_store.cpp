// MemoryContactKeyStore: one ordered map behind one mutex. Erased entries' wrapped bytes are
// wiped before they are freed.
#include <sodium.h>

#include <map>
#include <mutex>

#include "veribind/contact_key_store.hpp"

namespace veribind {

namespace {
struct Entry {
  std::uint32_t kek_version = 0;
  std::vector<std::uint8_t> wrapped;
};
void wipe(std::vector<std::uint8_t>& bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
}
}  // namespace

struct MemoryContactKeyStore::Impl {
  std::mutex mutex;
  std::map<DataKeyId, Entry> keys;
  ~Impl() {
    for (auto& [id, entry] : keys) wipe(entry.wrapped);
  }
};

MemoryContactKeyStore::MemoryContactKeyStore() : impl_(std::make_unique<Impl>()) {}
MemoryContactKeyStore::~MemoryContactKeyStore() = default;

Status MemoryContactKeyStore::put(const WrappedDataKey& key) {
  if (key.wrapped.empty()) return {ErrorCode::kStoreError, "a wrapped key cannot be empty"};
  std::lock_guard lock(impl_->mutex);
  auto [it, inserted] = impl_->keys.try_emplace(key.key_id, Entry{key.kek_version, key.wrapped});
  if (!inserted) return {ErrorCode::kStoreError, "a data key with that id exists"};
  return Status::ok();
}

Result<std::optional<WrappedDataKey>> MemoryContactKeyStore::get(const DataKeyId& id) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->keys.find(id);
  if (it == impl_->keys.end()) return std::optional<WrappedDataKey>();
  return std::optional<WrappedDataKey>(
      WrappedDataKey{id, it->second.kek_version, it->second.wrapped});
}

Result<bool> MemoryContactKeyStore::erase(const DataKeyId& id) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->keys.find(id);
  if (it == impl_->keys.end()) return false;
  wipe(it->second.wrapped);
  impl_->keys.erase(it);
  return true;
}

Result<bool> MemoryContactKeyStore::rewrap(const WrappedDataKey& key,
                                           std::uint32_t expected_kek_version) {
  if (key.wrapped.empty()) return Status(ErrorCode::kStoreError, "a wrapped key cannot be empty");
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->keys.find(key.key_id);
  if (it == impl_->keys.end() || it->second.kek_version != expected_kek_version) return false;
  wipe(it->second.wrapped);
  it->second = Entry{key.kek_version, key.wrapped};
  return true;
}

Result<std::vector<WrappedDataKey>> MemoryContactKeyStore::with_kek_version(
    std::uint32_t kek_version, const std::optional<DataKeyId>& after, std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  std::vector<WrappedDataKey> out;
  auto it = after ? impl_->keys.upper_bound(*after) : impl_->keys.begin();
  for (; it != impl_->keys.end() && out.size() < limit; ++it) {
    if (it->second.kek_version == kek_version) {
      out.push_back({it->first, it->second.kek_version, it->second.wrapped});
    }
  }
  return out;
}

Result<std::size_t> MemoryContactKeyStore::count_kek_version(std::uint32_t kek_version) {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& [id, entry] : impl_->keys) n += entry.kek_version == kek_version ? 1 : 0;
  return n;
}

}  // namespace veribind
