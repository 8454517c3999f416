// The lawful-lookup commands: `disclose`, `audit verify` and `transparency`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

#include "cli.hpp"

namespace veribind::cli {

struct DiscloseOptions {
  std::string identifier;  // a phone number (any spelling) or an email address
  std::string region;      // for a phone number without +country
  LegalRequest request;
};

struct TransparencyOptions {
  std::optional<std::string> since;  // ISO 8601 date or date-time, or unix seconds
};

int run_disclose(const CommonOptions& common, const DiscloseOptions& options);
int run_audit_verify(const CommonOptions& common);
int run_transparency(const CommonOptions& common, const TransparencyOptions& options);

// Parses --since: "2026-01-31" (midnight UTC), "2026-01-31T12:00:00Z", "2026-01-31T14:00:00+02:00"
// or unix seconds ("1767225600"). kInvalidArgument otherwise (dates are checked: no 31 April).
[[nodiscard]] Result<Timestamp> parse_since(std::string_view text);

// Adds the three commands to `app`; `add_common` adds --db, --key-file and --json to a command.
// run() gives the exit status of the one that was parsed, or nullopt if none was.
class AuditCommands {
 public:
  AuditCommands(CLI::App& app, CommonOptions& common,
                const std::function<void(CLI::App&)>& add_common);
  // CLI11 keeps pointers to the members: the object stays where it was made.
  AuditCommands(const AuditCommands&) = delete;
  AuditCommands& operator=(const AuditCommands&) = delete;
  [[nodiscard]] std::optional<int> run() const;

 private:
  CommonOptions* common_;
  DiscloseOptions disclose_;
  TransparencyOptions transparency_;
  CLI::App* disclose_cmd_;
  CLI::App* verify_cmd_;
  CLI::App* transparency_cmd_;
};

}  // namespace veribind::cli
