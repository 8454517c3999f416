// The `veribind` command-line program: what its parts share.
//
// Every command follows the same order so that bad input never touches the database: parse and
// validate every argument, then load the key, then open the store. Output goes through Output, so
// that with --json each command prints exactly one JSON object on stdout, errors included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"
#include "veribind/compare.hpp"
#include "veribind/outbox.hpp"
#include "veribind/sqlite_contact_key_store.hpp"
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
// The error code a refused start() is reported with: phone_type_not_allowed, region_not_allowed,
// resend_too_soon, or rate_limited.
[[nodiscard]] ErrorCode refusal_error_code(Limit limit) noexcept;

// Options every subcommand takes.
struct CommonOptions {
  std::string db = "./veribind.db";
  std::string key_file = "./veribind.key";
  bool json = false;
  // The configuration file read (--config, or ./veribind.toml), or null: every default.
  std::shared_ptr<const FileConfig> config;

  // The verifier settings: the file's [verifier], or the library's defaults.
  [[nodiscard]] VerifierConfig verifier() const {
    return config != nullptr ? config->verifier : VerifierConfig{};
  }
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

// Whether a command may create the SQLite database at --db. Only `start` (and the demo, on its
// own fresh file) does: every other command reads what start wrote, and creating an empty file
// would hide a wrong --db. A PostgreSQL database must exist either way (a wrong name fails to
// connect); veribind's tables are created in it on first use.
enum class OpenMode : std::uint8_t { kCreate, kExisting };

// Whether a command uses the contact key store (--contact-keys). It is always an SQLite file of
// its own, also when --db is a PostgreSQL URL: the data keys are kept apart from the sealed
// contacts, so that erasing a key shreds every copy of the contact, backups of --db included.
enum class ContactKeyUse : std::uint8_t {
  kNone,       // not opened
  kIfPresent,  // opened if the file exists (nothing was ever sealed otherwise)
  kCreate,     // opened, created if missing (link --retain-contact sealed)
};

// The stores a command works on, opened by open_stores() and owned here. Commands reach them
// through the accessors, which name the job each call does; today one backend object does all
// of them.
class Stores {
 public:
  // `backend` implements every store interface (SqliteStore, PostgresStore).
  template <typename Backend>
  Stores(std::unique_ptr<Backend> backend, std::unique_ptr<SqliteContactKeyStore> contact_keys)
      : verification_(backend.get()),
        accounts_(backend.get()),
        audit_(backend.get()),
        retention_(backend.get()),
        owner_(std::move(backend)),
        contact_keys_(std::move(contact_keys)) {}

  // Challenges, counters, purge.
  [[nodiscard]] VerificationStore& verification() const noexcept { return *verification_; }
  // Bindings.
  [[nodiscard]] AccountStore& accounts() const noexcept { return *accounts_; }
  // The audit log of lawful lookups.
  [[nodiscard]] AuditStore& audit() const noexcept { return *audit_; }
  // Row counts, bytes and ages per kind of row.
  [[nodiscard]] RetentionReport& retention() const noexcept { return *retention_; }

  // A Registry over these stores, and over the contact key store if the command opened one (the
  // only way a command reaches it). The stores, `ring` and `clock` must outlive the Registry.
  [[nodiscard]] Result<Registry> registry(LinkPolicy policy, const KeyRing& ring,
                                          const Clock& clock) const;
  // Closes the database (SQLite checkpoints its write-ahead log into the file).
  void close() noexcept {
    contact_keys_.reset();
    owner_.reset();
  }

 private:
  VerificationStore* verification_;
  AccountStore* accounts_;
  AuditStore* audit_;
  RetentionReport* retention_;
  std::shared_ptr<void> owner_;  // the backend behind all four
  std::unique_ptr<SqliteContactKeyStore> contact_keys_;
};

// The one place the CLI opens its stores: --db as an SQLite file (SqliteStore) or a
// postgresql:// / postgres:// URL (PostgresStore), and the contact key store at
// `contact_keys_path` as `contact_keys` asks. Errors: kUnavailable for a missing or empty SQLite
// file in kExisting mode ("no database at <path>") and for an unreachable server; otherwise the
// backend's own code. A URL is never repeated in a message (it may hold a password).
[[nodiscard]] Result<Stores> open_stores(const CommonOptions& common, OpenMode mode,
                                         ContactKeyUse contact_keys = ContactKeyUse::kNone,
                                         const std::string& contact_keys_path = {});

// Loads the key file, with a message that tells a first-time user what to do if it is missing.
[[nodiscard]] Result<KeyRing> load_key(const std::string& path);

// The development sender of --json mode: one machine-readable line per delivery on stderr,
// {"delivery":{"channel":..,"to":<masked>,"code":..}}, so a script can read the code without
// scraping prose. Like ConsoleSender, for development only.
class JsonLineSender final : public Sender {
 public:
  Status send(const Delivery& delivery) override;
};

// What a delivery reports, kept for the command's report: every event of every message, with its
// strings copied (an event's views live only during the call). Never the code or destination.
class DeliveryLog final : public DeliveryObserver {
 public:
  struct Entry {
    std::string challenge_id;
    std::string provider;
    DeliveryState state;
    int attempt;
    AttemptClass attempt_class;
    int reply_code;
    std::string detail;
    AbandonReason reason;
    std::chrono::milliseconds retry_in;
  };
  void on_delivery_event(const DeliveryEvent& event) noexcept override;
  [[nodiscard]] std::vector<Entry> entries_for(std::string_view challenge_id) const;

 private:
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

// Real delivery, built from the configuration file's [delivery] and [templates]: the outbox (a
// Sender) over the configured providers, and the log of what happened to each message. A CLI
// command is a short-lived process: it waits for its message before it exits (finish()).
struct CliDelivery {
  DeliveryLog log;  // declared first: the outbox reports to it until it is destroyed
  std::unique_ptr<Outbox> outbox;
  std::chrono::seconds wait{60};
  bool has_email = false;
  bool has_sms = false;

  // kInvalidConfig if no provider is configured for `channel`.
  [[nodiscard]] Status serves(const FileConfig& file, Channel channel) const;
  // Waits (at most `wait`) until the message reaches a final state; kDeliveryFailed on timeout.
  [[nodiscard]] Result<DeliveryState> finish(std::string_view challenge_id);
  // ok if the message was sent; kDeliveryRefused if a provider refused it permanently;
  // kDeliveryFailed if it was abandoned otherwise (expiry, attempts, shutdown).
  [[nodiscard]] Status outcome_status(std::string_view challenge_id) const;
  // Every attempt: as JSON (an array), or as lines on stdout.
  [[nodiscard]] nlohmann::json report_json(std::string_view challenge_id) const;
  void print_report(std::string_view challenge_id) const;
};

// Builds the providers (reading their secret files), checks the templates (an SMS needing more
// than [templates] max_sms_segments is refused) and starts the outbox. `file.delivery` must be
// set. Errors carry the file's name and, for a provider, its table's line. With `observer` (not
// owned; it must outlive the outbox) the events go there instead of to `log`: a server waits for
// no message and must not keep every event.
[[nodiscard]] Result<std::unique_ptr<CliDelivery>> open_delivery(
    const FileConfig& file, const Clock& clock, DeliveryObserver* observer = nullptr);

// The commands. Each returns the process exit status.
struct StartOptions {
  IdentifierOptions identifier;
  std::string purpose = "signup";
  int resend_cooldown_seconds = 30;  // the file's [verifier] value unless given
  std::string locale;                // the message's language; empty: en
};
// send-test (delivery.cpp): one message through the configured providers, no store, no key.
struct SendTestOptions {
  IdentifierOptions identifier;
  std::string locale;
};
int run_send_test(const CommonOptions& common, const SendTestOptions& options);
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
  // Sealed contacts and key rotation.
  IdentifierOptions identifier;  // the identifier verified; needed to seal, or with 2+ key versions
  std::string retain_contact = "none";
  std::string contact_keys = "./veribind-contact-keys.db";
};
struct UnlinkOptions {
  std::string account;
  std::string contact_keys = "./veribind-contact-keys.db";
};
struct DemoOptions {
  bool keep = false;
  bool db_given = false;  // --db on the command line (then --key-file too): no temp dir
};

// Sealed contacts and key rotation (lifecycle.cpp).
struct KeygenOptions {
  std::uint32_t version = 0;  // 0: not given (the plain key file, version 1)
};
struct RotateOptions {
  std::optional<std::uint32_t> retire;
  std::size_t batch = 500;
  std::string contact_keys = "./veribind-contact-keys.db";
};
struct EraseOptions {
  std::string account;
  std::string contact_keys = "./veribind-contact-keys.db";
  // EraseMode::kFinishInterrupted: a data key missing from the key store is not an error.
  bool finish_interrupted = false;
};
struct ContactOptions {
  std::string account;
  std::string purpose;
  std::string policy = "phone-linked";
  std::string contact_keys = "./veribind-contact-keys.db";
};
int run_keygen_version(const CommonOptions& common, const KeygenOptions& options);
int run_rotate(const CommonOptions& common, const RotateOptions& options);
int run_erase(const CommonOptions& common, const EraseOptions& options);
int run_contact(const CommonOptions& common, const ContactOptions& options);

int run_keygen(const CommonOptions& common);
int run_normalize(const CommonOptions& common, const IdentifierOptions& options);
int run_start(const CommonOptions& common, const StartOptions& options);
int run_check(const CommonOptions& common, const CheckOptions& options);
int run_link(const CommonOptions& common, const LinkOptions& options);
int run_find(const CommonOptions& common, const IdentifierOptions& options);
int run_unlink(const CommonOptions& common, const UnlinkOptions& options);
int run_demo(const CommonOptions& common, const DemoOptions& options);

// purge, retention (retention.cpp). Neither needs the key.
struct PurgeOptions {
  std::size_t batch = 10000;  // rows of each kind per transaction, 1..1000000
};
int run_purge(const CommonOptions& common, const PurgeOptions& options);
int run_retention(const CommonOptions& common);

// compare (compare.cpp). Needs neither key nor database: it measures on scratch ones.
struct CompareOptions {
  std::string region = "PK";
  std::size_t iterations = 200000;  // hashes per round for the blind-index and SHA-256 rates
  std::size_t rounds = 7;
  std::size_t argon2id_hashes = 5;
  std::uint64_t argon2id_opslimit = 2;
  std::size_t argon2id_memlimit_mib = 64;
  std::size_t accounts = 1000;  // bindings made to measure bytes per account
  std::size_t space_samples = 16;
  CompareAssumptions assumed;
};
int run_compare(const CommonOptions& common, const CompareOptions& options);

// disclose, audit verify, transparency (audit_commands.cpp).
struct DiscloseOptions {
  IdentifierOptions identifier;  // --phone [--region] or --email, as every command takes it
  LegalRequest request;
};
struct TransparencyOptions {
  std::optional<std::string> since;  // ISO 8601 date or date-time, or unix seconds
};
struct AuditVerifyOptions {
  // COUNT:MAC, a head published earlier (PublishedAuditHead): the log must still hold that entry.
  std::optional<std::string> expect_head;
};
int run_disclose(const CommonOptions& common, const DiscloseOptions& options);
int run_audit_verify(const CommonOptions& common, const AuditVerifyOptions& options);
int run_transparency(const CommonOptions& common, const TransparencyOptions& options);

// serve (serve/serve.cpp): the HTTP JSON API for backends, and with --demo the signup page.
struct ServeOptions {
  std::optional<std::string> listen;    // --listen, else [server] listen, else 127.0.0.1:8080
  bool demo = false;                    // --demo: GET / serves the signup page
  std::optional<std::string> api_keys;  // --api-keys, else [server] api_keys, else the default
};
int run_serve(const CommonOptions& common, const ServeOptions& options);

// apikey create / revoke / list (serve/apikey_commands.cpp): the server's API keys file
// ([server] api_keys, or --api-keys).
struct ApiKeyOptions {
  std::string api_keys = "./veribind-api-keys";
  std::string scope;  // create: verify or operator
  std::string id;     // revoke
};
int run_apikey_create(const CommonOptions& common, const ApiKeyOptions& options);
int run_apikey_revoke(const CommonOptions& common, const ApiKeyOptions& options);
int run_apikey_list(const CommonOptions& common, const ApiKeyOptions& options);

// The command line, parsed: the one command to run and its options, or (kNone) nothing to run
// because help was printed or the command line was refused.
enum class Command {
  kNone,
  kKeygen,
  kNormalize,
  kStart,
  kCheck,
  kLink,
  kFind,
  kUnlink,
  kDemo,
  kDisclose,
  kAuditVerify,
  kTransparency,
  kPurge,
  kRetention,
  kCompare,
  kRotate,
  kErase,
  kContact,
  kSendTest,
  kServe,
  kApiKeyCreate,
  kApiKeyRevoke,
  kApiKeyList,
};
struct CommandLine {
  Command command = Command::kNone;
  Status usage_error;  // kNone only: why the command line was refused; ok after --help
  CommonOptions common;
  IdentifierOptions identifier;  // normalize and find
  StartOptions start;
  CheckOptions check;
  LinkOptions link;
  UnlinkOptions unlink;
  DemoOptions demo;
  DiscloseOptions disclose;
  AuditVerifyOptions audit_verify;
  TransparencyOptions transparency;
  PurgeOptions purge;
  CompareOptions compare;
  KeygenOptions keygen;
  RotateOptions rotate;
  EraseOptions erase;
  ContactOptions contact;
  SendTestOptions send_test;
  ServeOptions serve;
  ApiKeyOptions apikey;
  std::optional<std::string> config_path;  // --config
  // The options given on the command line (by their long name, "--db"): they win over the file.
  std::set<std::string, std::less<>> given;
};

// Parses argv (argv[0] is the program). Checks the shape of the command line (one subcommand,
// its required options, no unknown ones) but not the values, which each command validates
// itself before it reads the key or opens the store. Prints help to `out` when asked for, and
// otherwise nothing; touches no file; lets no exception out.
[[nodiscard]] CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out,
                                             std::ostream& err);

// Runs the parsed command, or reports the usage error; returns the process exit status. Reads the
// configuration file first (--config, or ./veribind.toml when present) for every command but
// demo and compare, which work on scratch databases of their own.
int run_command(const CommandLine& line);

// The file's values for every option the command line did not give.
void apply_config(const FileConfig& config, CommandLine& line);

}  // namespace veribind::cli
