// stored_columns() describes exactly the tables and columns a fresh SqliteStore creates: a column
// added to the schema without a description, or a description left behind by a dropped column,
// fails here. (tests/stored_columns_postgres_test.cpp does the same for PostgresStore.)
#include "veribind/stored_columns.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "veribind/sqlite_store.hpp"

namespace {

namespace fs = std::filesystem;
using Column = std::pair<std::string, std::string>;  // (table, column)

// Columns only the PostgreSQL schema has.
const std::set<Column> kPostgresOnly = {{"schema_version", "applied_at"}};

std::vector<std::string> strings(sqlite3* db, const std::string& sql, int column) {
  sqlite3_stmt* statement = nullptr;
  INFO(sql << ": " << sqlite3_errmsg(db));
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
  std::vector<std::string> values;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    values.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(statement, column)));
  }
  sqlite3_finalize(statement);
  return values;
}

}  // namespace

TEST_CASE("stored_columns: every description is unique and says something", "[stored_columns]") {
  std::set<Column> seen;
  for (const veribind::ColumnDescription& c : veribind::stored_columns()) {
    INFO(c.table << "." << c.column);
    CHECK_FALSE(c.table.empty());
    CHECK_FALSE(c.column.empty());
    CHECK(c.meaning.size() > 10);
    CHECK(seen.emplace(std::string(c.table), std::string(c.column)).second);
  }
}

TEST_CASE("stored_columns: describes exactly the tables and columns of a fresh SQLite store",
          "[stored_columns][sqlite]") {
  std::string dir = (fs::temp_directory_path() / "veribind-columns-XXXXXX").string();
  REQUIRE(::mkdtemp(dir.data()) != nullptr);
  const std::string path = (fs::path(dir) / "fresh.db").string();
  {
    auto store = veribind::SqliteStore::open(path);
    INFO(store.status().message());
    REQUIRE(store.is_ok());
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::set<Column> stored;
  for (const std::string& table :
       strings(db,
               "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
               "ESCAPE '\\'",
               0)) {
    for (const std::string& column : strings(db, "PRAGMA table_info(\"" + table + "\")", 1)) {
      stored.emplace(table, column);
    }
  }
  sqlite3_close_v2(db);
  std::error_code ec;
  fs::remove_all(dir, ec);

  std::set<Column> described;
  for (const veribind::ColumnDescription& c : veribind::stored_columns()) {
    const Column column{std::string(c.table), std::string(c.column)};
    if (kPostgresOnly.count(column) == 0) described.insert(column);
  }
  for (const Column& c : stored) {
    INFO(c.first << "." << c.second
                 << " is stored but not described: add it to src/store/stored_columns.cpp");
    CHECK(described.count(c) == 1);
  }
  for (const Column& c : described) {
    INFO(c.first << "." << c.second << " is described but not in the SQLite schema");
    CHECK(stored.count(c) == 1);
  }
  CHECK(stored.size() > 30);
}
