// stored_columns() describes exactly the tables and columns a fresh PostgresStore creates in its
// schema (information_schema.columns), on the ctest PostgreSQL server.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <utility>

#include "store/postgres_support.hpp"
#include "veribind/stored_columns.hpp"

namespace veribind::testing {
namespace {

using Column = std::pair<std::string, std::string>;  // (table, column)

// Columns only the SQLite schema has: how its one-statement charge passes the time to its
// failure-count trigger, and the counters' write count (PostgreSQL writes a new row version on
// every update anyway).
const std::set<Column> kSqliteOnly = {
    {"challenges", "charged_at"}, {"counters", "touches"}, {"challenges", "failure_window_end"}};

TEST_CASE("stored_columns: describes exactly the tables and columns of a fresh PostgreSQL store",
          "[stored_columns][postgres]") {
  const PgFixture fixture = fresh_postgres_store();
  RawPg raw(fixture.conninfo);
  // new_schema_name() is [a-z0-9_]: safe to quote as a literal.
  std::set<Column> stored;
  for (const std::string& row :
       raw.column("SELECT table_name || '.' || column_name FROM information_schema.columns "
                  "WHERE table_schema = '" +
                  fixture.schema() + "'")) {
    const std::size_t dot = row.find('.');
    REQUIRE(dot != std::string::npos);
    stored.emplace(row.substr(0, dot), row.substr(dot + 1));
  }
  std::set<Column> described;
  for (const ColumnDescription& c : stored_columns()) {
    const Column column{std::string(c.table), std::string(c.column)};
    if (kSqliteOnly.count(column) == 0) described.insert(column);
  }
  for (const Column& c : stored) {
    INFO(c.first << "." << c.second
                 << " is stored but not described: add it to src/store/stored_columns.cpp");
    CHECK(described.count(c) == 1);
  }
  for (const Column& c : described) {
    INFO(c.first << "." << c.second << " is described but not in the PostgreSQL schema");
    CHECK(stored.count(c) == 1);
  }
}

}  // namespace
}  // namespace veribind::testing
