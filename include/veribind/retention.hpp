// RetentionReport: what a store holds, per kind of row, for operators (veribind retention).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/clock.hpp"
#include "veribind/result.hpp"

namespace veribind {

// What one kind of stored row is kept for, for how long, and what it reveals: fixed text, the
// same for every backend (src/store/row_kinds.cpp).
struct RowKindDescription {
  std::string_view kind;       // stable name: "challenges", "counters", "bindings", ...
  std::string_view retention;  // until when a row is kept
  std::string_view reveals;    // what one row tells whoever reads it, with and without the key
};

// The description of `kind`, or nullptr for a kind veribind does not know.
[[nodiscard]] const RowKindDescription* describe_row_kind(std::string_view kind) noexcept;

// How RowKindStats::bytes was obtained.
enum class BytesMethod : std::uint8_t {
  kMeasured,  // the pages the backend uses for the rows and their indexes (SQLite: dbstat)
  kEstimate,  // a per-row estimate from column and node sizes (documented in the backend)
};

// "measured" / "estimate".
[[nodiscard]] std::string_view bytes_method_name(BytesMethod method) noexcept;

// What a store holds of one kind of row, as of `now`.
struct RowKindStats {
  std::string kind;  // a RowKindDescription::kind
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;  // rows plus their indexes; see bytes_method
  BytesMethod bytes_method = BytesMethod::kEstimate;
  std::uint64_t expired = 0;                 // rows purge_expired(now) would remove
  std::optional<Timestamp> oldest_created;   // kinds that record a creation time, when rows > 0
  std::optional<Timestamp> earliest_expiry;  // kinds that expire, when rows > 0
};

class RetentionReport {
 public:
  virtual ~RetentionReport() = default;
  // One entry per kind of row the store holds (every kind, also when it has no rows), in a fixed
  // order, each with a describe_row_kind() entry. Reads only; one consistent snapshot where the
  // backend has transactions. Scans every row: for operators, not for a hot path.
  virtual Result<std::vector<RowKindStats>> retention_stats(Timestamp now) = 0;
};

}  // namespace veribind
