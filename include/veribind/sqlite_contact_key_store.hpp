// SqliteContactKeyStore: the contact key store in its own SQLite file (never the main store's
// file: open() refuses a veribind main database). WAL, synchronous FULL and secure_delete as in
// SqliteStore; after each erase the WAL is checkpointed and truncated, so the erased key's page
// images do not stay in the log. While another connection holds a read transaction that
// checkpoint cannot complete, and the key stays in the live files until it can:
// erased_copies_remain() retries it and says so. Link veribind::sqlite.
#pragma once

#include <memory>
#include <string>

#include "veribind/contact_key_store.hpp"

namespace veribind {

class SqliteContactKeyStore final : public ContactKeyStore {
 public:
  // Opens (creating with mode 0600 if needed) the key store at `path`. kUnavailable if the file
  // cannot be opened; kStoreError if it is another database (a veribind main store included).
  static Result<std::unique_ptr<SqliteContactKeyStore>> open(const std::string& path);
  ~SqliteContactKeyStore() override;
  SqliteContactKeyStore(const SqliteContactKeyStore&) = delete;
  SqliteContactKeyStore& operator=(const SqliteContactKeyStore&) = delete;

  Status put(const WrappedDataKey& key) override;
  Result<std::optional<WrappedDataKey>> get(const DataKeyId& id) override;
  Result<bool> erase(const DataKeyId& id) override;
  Result<bool> rewrap(const WrappedDataKey& key, std::uint32_t expected_kek_version) override;
  Result<std::vector<WrappedDataKey>> with_kek_version(std::uint32_t kek_version,
                                                       const std::optional<DataKeyId>& after,
                                                       std::size_t limit) override;
  Result<std::size_t> count_kek_version(std::uint32_t kek_version) override;
  Result<bool> erased_copies_remain() override;

 private:
  struct Impl;
  explicit SqliteContactKeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
