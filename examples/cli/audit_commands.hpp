// The lawful-lookup commands: `disclose`, `audit verify` and `transparency`.
#pragma once

#include <optional>
#include <string>

#include "cli.hpp"

namespace veribind::cli {

// DiscloseOptions, TransparencyOptions and the run_ functions are declared in cli.hpp.

// Parses --since: "2026-01-31" (midnight UTC), "2026-01-31T12:00:00Z", "2026-01-31T14:00:00+02:00"
// or unix seconds ("1767225600"). kInvalidArgument otherwise (dates are checked: no 31 April).
[[nodiscard]] Result<Timestamp> parse_since(std::string_view text);

}  // namespace veribind::cli
