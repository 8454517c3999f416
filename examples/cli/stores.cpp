// open_stores(): the one place the CLI opens a database, so that every command reads --db the
// same way, SQLite file or PostgreSQL URL, and refuses a missing file with the same error.
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "cli.hpp"
#include "veribind/postgres_store.hpp"
#include "veribind/sqlite_contact_key_store.hpp"
#include "veribind/sqlite_store.hpp"

namespace veribind::cli {

namespace {

Result<Stores> open_database(const std::string& db, OpenMode mode,
                             std::unique_ptr<SqliteContactKeyStore> keys) {
  if (is_postgres_url(db)) {
    auto store = PostgresStore::open(db);
    // The URL is not repeated: it may hold a password.
    if (!store) return Status(store.code(), "PostgreSQL database: " + store.status().message());
    return Stores(std::move(store).value(), std::move(keys));
  }
  std::error_code missing;
  const auto size = std::filesystem::file_size(db, missing);
  if (mode == OpenMode::kExisting && (missing || size == 0)) {  // an empty file holds nothing
    return Status(ErrorCode::kUnavailable,
                  "no database at " + db + " (veribind start creates it; or pass --db)");
  }
  auto store = SqliteStore::open(db);
  if (!store) return Status(store.code(), "database " + db + ": " + store.status().message());
  return Stores(std::move(store).value(), std::move(keys));
}

Result<std::unique_ptr<SqliteContactKeyStore>> open_contact_keys(const std::string& path,
                                                                 ContactKeyUse use) {
  if (use == ContactKeyUse::kNone) return std::unique_ptr<SqliteContactKeyStore>();
  std::error_code ec;
  if (use == ContactKeyUse::kIfPresent && !std::filesystem::exists(path, ec)) {
    return std::unique_ptr<SqliteContactKeyStore>();
  }
  auto keys = SqliteContactKeyStore::open(path);
  if (!keys) return Status(keys.code(), "--contact-keys: " + keys.status().message());
  return std::move(keys).value();
}

}  // namespace

Result<Registry> Stores::registry(LinkPolicy policy, const KeyRing& ring,
                                  const Clock& clock) const {
  if (contact_keys_) {
    return Registry::create(std::move(policy), ring, accounts(), audit(), clock, *contact_keys_);
  }
  return Registry::create(std::move(policy), ring, accounts(), audit(), clock);
}

Result<Stores> open_stores(const CommonOptions& common, OpenMode mode, ContactKeyUse contact_keys,
                           const std::string& contact_keys_path) {
  auto keys = open_contact_keys(contact_keys_path, contact_keys);
  if (!keys) return keys.status();
  return open_database(common.db, mode, std::move(keys).value());
}

}  // namespace veribind::cli
