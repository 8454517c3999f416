// A fresh SqliteStore per benchmark: a new database file in its own directory under /tmp,
// default durability.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "veribind/sqlite_store.hpp"

namespace veribind::bench {

inline std::unique_ptr<SqliteStore> open_fresh_sqlite_store() {
  char dir[] = "/tmp/veribind-uniform-XXXXXX";
  if (::mkdtemp(dir) == nullptr) std::abort();
  auto store = SqliteStore::open((std::filesystem::path(dir) / "bench.db").string());
  if (!store) std::abort();
  return std::move(store).value();
}

}  // namespace veribind::bench
