// ContactKeyStore: where the data keys of sealed contacts live, apart from the main Store.
//
// A sealed contact (LinkPolicy::retain_contact = kSealed) is ciphertext in the main store; the
// per-binding data key that opens it is kept here, itself encrypted ("wrapped") under the
// contact-seal subkey of one master key version. Keeping the two apart is the point: a backup or
// a leak of the main store holds ciphertext without keys, and deleting a data key here
// (Registry::erase) makes every copy of that ciphertext, backups included, unreadable for good
// (crypto-shredding). Put this store in its own file or database, backed up on its own schedule
// (or not at all: losing it loses the contacts, never the bindings).
//
// Contract for every backend: keys arrive wrapped (never plaintext); each operation is atomic;
// failures are values (kStoreError refused, kUnavailable unreachable) and change nothing; erase
// leaves no copy of the wrapped key in the backend's live files where the backend can help it,
// and erased_copies_remain() says when it could not (yet).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "veribind/result.hpp"

namespace veribind {

// A random identifier of one data key; it names no account.
using DataKeyId = std::array<std::uint8_t, 16>;

struct WrappedDataKey {
  DataKeyId key_id{};
  std::uint32_t kek_version = 0;      // the master key version whose contact-seal subkey wraps it
  std::vector<std::uint8_t> wrapped;  // nonce || ciphertext || tag (XChaCha20-Poly1305)

  bool operator==(const WrappedDataKey&) const = default;
};

class ContactKeyStore {
 public:
  virtual ~ContactKeyStore() = default;

  // Stores a new key. kStoreError if the id exists already.
  virtual Status put(const WrappedDataKey& key) = 0;
  // The key, or nullopt if there is none (never stored, or erased).
  virtual Result<std::optional<WrappedDataKey>> get(const DataKeyId& id) = 0;
  // Removes the key; true if this call removed it.
  virtual Result<bool> erase(const DataKeyId& id) = 0;
  // Atomically: if the key exists with kek_version `expected_kek_version`, replaces its
  // kek_version and wrapped bytes with those of `key` (re-wrapping after a rotation). false if it
  // is gone or already re-wrapped.
  virtual Result<bool> rewrap(const WrappedDataKey& key, std::uint32_t expected_kek_version) = 0;
  // Up to `limit` keys wrapped under `kek_version`, ordered by id, with id > `after` if given.
  virtual Result<std::vector<WrappedDataKey>> with_kek_version(
      std::uint32_t kek_version, const std::optional<DataKeyId>& after, std::size_t limit) = 0;
  // How many keys are wrapped under `kek_version`.
  virtual Result<std::size_t> count_kek_version(std::uint32_t kek_version) = 0;
  // Whether copies of keys erased from this store may still be in its live files (SQLite: a
  // reader in another process holds back the checkpoint that removes them). Each call first
  // tries that clean-up again, waiting a bounded time (about 2 s); false once it completed. The
  // default is for backends that keep no such copies.
  virtual Result<bool> erased_copies_remain() { return false; }
};

// In-process key store, for tests and single-process use (its keys die with the process).
class MemoryContactKeyStore final : public ContactKeyStore {
 public:
  MemoryContactKeyStore();
  ~MemoryContactKeyStore() override;
  MemoryContactKeyStore(const MemoryContactKeyStore&) = delete;
  MemoryContactKeyStore& operator=(const MemoryContactKeyStore&) = delete;

  Status put(const WrappedDataKey& key) override;
  Result<std::optional<WrappedDataKey>> get(const DataKeyId& id) override;
  Result<bool> erase(const DataKeyId& id) override;
  Result<bool> rewrap(const WrappedDataKey& key, std::uint32_t expected_kek_version) override;
  Result<std::vector<WrappedDataKey>> with_kek_version(std::uint32_t kek_version,
                                                       const std::optional<DataKeyId>& after,
                                                       std::size_t limit) override;
  Result<std::size_t> count_kek_version(std::uint32_t kek_version) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
