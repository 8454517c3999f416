// SqliteStore's state: two connections to the one file, each behind its own mutex, so that the
// verification hot path and the account and audit operations never wait for each other in this
// process (across processes they share SQLite's one write lock per file).
#pragma once

#include "store/sqlite/connection.hpp"
#include "veribind/sqlite_store.hpp"

namespace veribind {

struct SqliteStore::Impl {
  // Challenges, counters and failure counts: synchronous NORMAL unless sync_every_commit.
  sqlite::Connection verification;
  // Bindings, the audit log and the retention report: synchronous FULL.
  sqlite::Connection accounts;
};

}  // namespace veribind
