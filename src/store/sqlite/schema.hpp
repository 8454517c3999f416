// The SqliteStore schema: its version, the migrations that build it, and the checks made on a
// file before anything is written to it.
#pragma once

#include <sqlite3.h>

#include <cstdint>

#include "veribind/result.hpp"

namespace veribind::sqlite {

// The schema version this code reads and writes. A database of a newer version is refused:
// writing to it with an older understanding of its tables could break its invariants.
inline constexpr std::int64_t kSchemaVersion = 6;

// Decides, without writing anything, whether the file may be used: it must be an SQLite database
// and either empty or a veribind database of a version this code knows. Another application's
// database is refused rather than having our tables added to it.
Status check_existing_database(sqlite3* db);

// Brings the schema up to kSchemaVersion inside one IMMEDIATE transaction; an up-to-date database
// is left alone without taking the write lock.
Status migrate(sqlite3* db);

}  // namespace veribind::sqlite
