// Values on the wire between PostgresStore and libpq: parameters and results are binary (bytea as
// raw bytes, integers big-endian, arrays in the binary array format), so no value is ever spelled
// into SQL text and nothing needs escaping.
//
// PgRow is the row reader that the shared SQL codec (store/sql/row_codec.hpp) decodes through.
#pragma once

#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace veribind::postgres {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

[[nodiscard]] inline bool command_ok(const PGresult* r) {
  return r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
}
[[nodiscard]] inline bool tuples_ok(const PGresult* r) {
  return r != nullptr && PQresultStatus(r) == PGRES_TUPLES_OK;
}

// The SQLSTATE of a failed result, or "" (no result, or none reported).
[[nodiscard]] inline std::string_view sqlstate_of(const PGresult* r) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return state != nullptr ? std::string_view(state) : std::string_view();
}

// Rows changed by an INSERT, UPDATE or DELETE.
std::size_t affected_rows(const PGresult* r);

// Up to 20 binary parameters. The pointers into caller-owned bytes and strings must outlive the
// call that uses them; integers and arrays are copied into the Params.
class Params {
 public:
  static constexpr std::size_t kMax = 20;

  void bytes(std::span<const std::uint8_t> value) {
    add(reinterpret_cast<const char*>(value.data()), value.size());
  }
  void text(std::string_view value) { add(value.empty() ? "" : value.data(), value.size()); }
  void int8(std::int64_t value);
  void boolean(bool value);
  void null() { add(nullptr, 0); }
  // bytea, or NULL when empty (a sealed contact that is not retained).
  void bytes_or_null(std::span<const std::uint8_t> value) {
    if (value.empty()) {
      null();
    } else {
      bytes(value);
    }
  }
  // One-dimensional bytea[] and int8[] (binary array format, no NULL elements).
  void bytea_array(std::span<const std::span<const std::uint8_t>> elements);
  void int8_array(std::span<const std::int64_t> elements);

  [[nodiscard]] int count() const { return static_cast<int>(count_); }
  [[nodiscard]] const char* const* values() const { return values_.data(); }
  [[nodiscard]] const int* lengths() const { return lengths_.data(); }
  [[nodiscard]] const int* formats() const { return formats_.data(); }

 private:
  void add(const char* data, std::size_t size);
  // Storage of an owned value (an integer or an array); stable while the Params lives.
  std::string& owned();

  std::array<const char*, kMax> values_{};
  std::array<int, kMax> lengths_{};
  std::array<int, kMax> formats_{};
  std::array<std::array<char, 8>, kMax> ints_{};
  std::vector<std::unique_ptr<std::string>> arrays_;
  std::size_t count_ = 0;
};

// One row of a binary-format result, read the way store/sql/row_codec.hpp expects.
class PgRow {
 public:
  PgRow(const PGresult* result, int row) : r_(result), row_(row) {}

  // int2, int4 or int8; false if NULL or of another size.
  bool integer(int column, std::int64_t& out) const;
  bool bytes(int column, std::span<std::uint8_t> out) const {
    if (null(column) || PQgetlength(r_, row_, column) != static_cast<int>(out.size())) return false;
    std::memcpy(out.data(), PQgetvalue(r_, row_, column), out.size());
    return true;
  }
  bool any_bytes(int column, std::span<const std::uint8_t>& out) const {
    if (null(column)) return false;
    out = {reinterpret_cast<const std::uint8_t*>(PQgetvalue(r_, row_, column)),
           static_cast<std::size_t>(PQgetlength(r_, row_, column))};
    return true;
  }
  bool text(int column, std::string_view& out) const {
    if (null(column)) return false;
    out = {PQgetvalue(r_, row_, column), static_cast<std::size_t>(PQgetlength(r_, row_, column))};
    return true;
  }
  // A boolean (one byte, 0 or 1), or an integer 0 or 1.
  bool flag(int column, bool& out) const;
  [[nodiscard]] bool null(int column) const { return PQgetisnull(r_, row_, column) != 0; }

 private:
  const PGresult* r_;
  int row_;
};

// A one-row result's integer columns `first`.. into `out`, each >= 0; false if the result has
// another shape.
bool read_counts(const PGresult* r, int first, std::span<std::int64_t> out);

}  // namespace veribind::postgres
