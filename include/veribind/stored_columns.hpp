// What every stored column holds: one fixed description per (table, column) of the schema that
// SqliteStore and PostgresStore create (the same tables and columns in both, except that
// PostgreSQL's schema_version also records when each migration was applied), kept beside the
// schema so that tools (`veribind demo`) explain a database from it instead of guessing.
//
//   for (const veribind::ColumnDescription& c : veribind::stored_columns()) {
//     std::cout << c.table << '.' << c.column << ": " << c.meaning << '\n';
//   }
//
// A test opens a fresh SqliteStore and a fresh PostgresStore and requires that their tables and
// columns are exactly the ones listed here, so a column added to a schema without a description
// fails it.
#pragma once

#include <span>
#include <string_view>

namespace veribind {

struct ColumnDescription {
  std::string_view table;
  std::string_view column;
  std::string_view meaning;  // what the column holds and what it tells whoever reads it
};

// Every column of every table, in schema order (table by table). Static storage; never fails.
[[nodiscard]] std::span<const ColumnDescription> stored_columns() noexcept;

}  // namespace veribind
