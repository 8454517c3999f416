// Binary parameters and the binary row reader (wire.hpp).
#include "store/postgres/wire.hpp"

#include <charconv>

namespace veribind::postgres {
namespace {

constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// The binary array header: one dimension of `n` elements of type `element`, no NULLs, lower
// bound 1 (an empty array has no dimension at all).
void array_header(std::string& out, std::size_t n, Oid element) {
  put_u32(out, n == 0 ? 0 : 1);  // dimensions
  put_u32(out, 0);               // has NULLs
  put_u32(out, element);
  if (n == 0) return;
  put_u32(out, static_cast<std::uint32_t>(n));
  put_u32(out, 1);
}

}  // namespace

std::size_t affected_rows(const PGresult* r) {
  const char* text = PQcmdTuples(const_cast<PGresult*>(r));
  std::size_t n = 0;
  if (text != nullptr) std::from_chars(text, text + std::strlen(text), n);
  return n;
}

void Params::add(const char* data, std::size_t size) {
  values_[count_] = data;
  lengths_[count_] = static_cast<int>(size);
  formats_[count_] = 1;
  ++count_;
}

std::string& Params::owned() {
  arrays_.push_back(std::make_unique<std::string>());
  return *arrays_.back();
}

void Params::int8(std::int64_t value) {
  auto& slot = ints_[count_];
  auto bits = static_cast<std::uint64_t>(value);
  for (int i = 7; i >= 0; --i) {
    slot[static_cast<std::size_t>(i)] = static_cast<char>(bits & 0xff);
    bits >>= 8;
  }
  add(slot.data(), slot.size());
}

void Params::boolean(bool value) {
  ints_[count_][0] = value ? 1 : 0;
  add(ints_[count_].data(), 1);
}

void Params::bytea_array(std::span<const std::span<const std::uint8_t>> elements) {
  std::string& out = owned();
  array_header(out, elements.size(), kByteaOid);
  for (const auto& e : elements) {
    put_u32(out, static_cast<std::uint32_t>(e.size()));
    out.append(reinterpret_cast<const char*>(e.data()), e.size());
  }
  add(out.data(), out.size());
}

void Params::int8_array(std::span<const std::int64_t> elements) {
  std::string& out = owned();
  array_header(out, elements.size(), kInt8Oid);
  for (std::int64_t e : elements) {
    put_u32(out, 8);
    put_u64(out, static_cast<std::uint64_t>(e));
  }
  add(out.data(), out.size());
}

bool PgRow::integer(int column, std::int64_t& out) const {
  if (null(column)) return false;
  const int size = PQgetlength(r_, row_, column);
  if (size != 2 && size != 4 && size != 8) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row_, column));
  std::uint64_t bits = 0;
  for (int i = 0; i < size; ++i) bits = (bits << 8) | bytes[i];
  const int shift = 64 - 8 * size;  // sign-extend from the column's width
  out = static_cast<std::int64_t>(bits << shift) >> shift;
  return true;
}

bool PgRow::flag(int column, bool& out) const {
  if (null(column)) return false;
  if (PQgetlength(r_, row_, column) == 1) {
    const char b = *PQgetvalue(r_, row_, column);
    if (b != 0 && b != 1) return false;
    out = b == 1;
    return true;
  }
  std::int64_t v = 0;
  if (!integer(column, v) || (v != 0 && v != 1)) return false;
  out = v == 1;
  return true;
}

bool read_counts(const PGresult* r, int first, std::span<std::int64_t> out) {
  if (PQntuples(r) != 1 || PQnfields(r) < first + static_cast<int>(out.size())) return false;
  const PgRow row(r, 0);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!row.integer(first + static_cast<int>(i), out[i]) || out[i] < 0) return false;
  }
  return true;
}

}  // namespace veribind::postgres
