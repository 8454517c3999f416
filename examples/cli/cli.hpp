// The `veribind` command-line program: what its parts share.
//
// Every command follows the same order so that bad input never touches the database: parse and
// validate every argument, then load the key, then open the store. Output goes through Output, so
// that with --json each command prints exactly one JSON object on stdout, errors included.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "veribind/veribind.hpp"

namespace veribind::cli {

// Process exit statuses; scripts branch on these, so their meaning never changes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;   // a check that did not verify
inline constexpr int kExitBadInput = 2;  // bad input or usage
inline constexpr int kExitPolicy = 3;    // refused by policy or abuse limits
inline constexpr int kExitSystem = 4;    // key, store, delivery or internal failure

// The one mapping from a library error to an exit status.
[[nodiscard]] int exit_code_for(ErrorCode code) noexcept;

// Options every subcommand takes.
struct CommonOptions {
  std::string db = "./veribind.db";
  std::string key_file = "./veribind.key";
  bool json = false;
};

// Either --phone (with an optional --region) or --email, as typed.
struct IdentifierOptions {
  std::optional<std::string> phone;
  std::string region;
  std::optional<std::string> email;
};

// Where results and errors go. Text mode: results on stdout, errors on stderr. JSON mode: exactly
// one object on stdout, whether the command succeeded or not.
class Output {
 public:
  explicit Output(bool json) : json_(json) {}
  [[nodiscard]] bool json() const noexcept { return json_; }

  // Prints the error and returns the exit status for `code`. `message` must hold no personal
  // data: library messages never do, and the CLI never adds any input to them.
  int error(ErrorCode code, std::string_view message) const;
  int error(const Status& status) const { return error(status.code(), status.message()); }
  // JSON mode only: the command's one result object.
  void emit(const nlohmann::json& object) const;

 private:
  bool json_;
};

// "2024-05-01T12:10:00Z".
[[nodiscard]] std::string iso8601_utc(Timestamp time);

// Parses the identifier options: exactly one of --phone / --email. Phone numbers of every type
// are accepted; deciding which types may receive a code is the caller's policy.
[[nodiscard]] Result<Identifier> parse_identifier(const IdentifierOptions& options);

// True for a postgresql:// or postgres:// URL: --db then names a PostgreSQL database.
[[nodiscard]] bool is_postgres_url(std::string_view db) noexcept;

// Loads the key file, with a message that tells a first-time user what to do if it is missing.
[[nodiscard]] Result<KeyRing> load_key(const std::string& path);

// The development sender of --json mode: one machine-readable line per delivery on stderr,
// {"delivery":{"channel":..,"to":<masked>,"code":..}}, so a script can read the code without
// scraping prose. Like ConsoleSender, for development only.
class JsonLineSender final : public Sender {
 public:
  Status send(const Delivery& delivery) override;
};

// The commands. Each returns the process exit status.
struct StartOptions {
  IdentifierOptions identifier;
  std::string purpose = "signup";
};
struct CheckOptions {
  std::string challenge;
  std::string code;
  std::string purpose = "signup";
};
struct LinkOptions {
  std::string account;
  std::string challenge;
  std::string code;
  std::string policy = "phone-linked";
  std::string purpose = "signup";
};
struct UnlinkOptions {
  std::string account;
};
struct DemoOptions {
  bool keep = false;
  bool db_given = false;  // --db on the command line (then --key-file too): no temp dir
};

int run_keygen(const CommonOptions& common);
int run_normalize(const CommonOptions& common, const IdentifierOptions& options);
int run_start(const CommonOptions& common, const StartOptions& options);
int run_check(const CommonOptions& common, const CheckOptions& options);
int run_link(const CommonOptions& common, const LinkOptions& options);
int run_find(const CommonOptions& common, const IdentifierOptions& options);
int run_unlink(const CommonOptions& common, const UnlinkOptions& options);
int run_demo(const CommonOptions& common, const DemoOptions& options);

}  // namespace veribind::cli
