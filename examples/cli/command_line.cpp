// The command line: every subcommand and option, parsed into a CommandLine, and the dispatch to
// the commands. Parsing is kept apart from running so that it can be exercised on any argv (the
// fuzzer does) without a command touching a file.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "cli.hpp"

namespace veribind::cli {
namespace {

void add_common_options(CLI::App& command, CommonOptions& common) {
  command
      .add_option("--db", common.db,
                  "SQLite database file, or a postgresql:// URL (several nodes sharing state)")
      ->capture_default_str();
  command.add_option("--key-file", common.key_file, "master key file (32 bytes, mode 0600)")
      ->capture_default_str();
  command.add_flag("--json", common.json, "print one JSON object on stdout");
}

void add_identifier_options(CLI::App& command, IdentifierOptions& identifier) {
  // Callbacks rather than bound variables: "given" must be told apart from "given empty".
  CLI::Option* phone = command.add_option_function<std::string>(
      "--phone", [&identifier](const std::string& text) { identifier.phone = text; },
      "phone number, in any spelling");
  CLI::Option* email = command.add_option_function<std::string>(
      "--email", [&identifier](const std::string& text) { identifier.email = text; },
      "email address");
  command
      .add_option("--region", identifier.region,
                  "ISO 3166 region for a number without +country (e.g. PK)")
      ->needs(phone);
  phone->excludes(email);
}

// --contact-keys, for the commands that seal, open or destroy sealed contacts.
void add_contact_keys_option(CLI::App& command, std::string& path) {
  command
      .add_option("--contact-keys", path,
                  "contact key store: an SQLite file of its own, also when --db is a PostgreSQL "
                  "URL (erasing a data key there shreds the contact in every copy of --db)")
      ->capture_default_str();
}

// CLI11's own message, when it names only options; a generic one when it could echo an argument
// (an unexpected value may well be a phone number or a code, and errors never repeat those).
std::string usage_message(const CLI::ParseError& error) {
  static const std::set<std::string, std::less<>> kSafe = {"RequiredError", "ArgumentMismatch",
                                                           "ExcludesError", "RequiresError"};
  if (kSafe.count(error.get_name()) != 0) return std::string(error.what()) + " (see --help)";
  if (error.get_name() == "ExtrasError") {
    return "unexpected arguments or unknown subcommand (see --help)";
  }
  return "invalid command line (" + error.get_name() + "; see --help)";
}

// `compare`'s options: measurement sizes, and the assumptions, each with its documented default.
CLI::App* add_compare_command(CLI::App& app, CompareOptions& o, CommonOptions& common) {
  CLI::App* c = app.add_subcommand(
      "compare", "phone-linked vs email-linked accounts side by side, measured on this machine");
  c->add_option("--region", o.region, "ISO 3166 region whose mobile numbers are counted")
      ->capture_default_str();
  c->add_option("--iterations", o.iterations, "hashes per round (blind index, SHA-256)")
      ->capture_default_str();
  c->add_option("--rounds", o.rounds, "rounds; the median is kept")->capture_default_str();
  c->add_option("--argon2id-hashes", o.argon2id_hashes, "Argon2id hashes timed")
      ->capture_default_str();
  c->add_option("--argon2id-opslimit", o.argon2id_opslimit, "Argon2id passes")
      ->capture_default_str();
  c->add_option("--argon2id-memlimit-mib", o.argon2id_memlimit_mib, "Argon2id memory")
      ->capture_default_str();
  c->add_option("--accounts", o.accounts, "accounts bound to measure bytes per account")
      ->capture_default_str();
  c->add_option("--space-samples", o.space_samples, "numbers sampled per prefix of the space")
      ->capture_default_str();
  CompareAssumptions& a = o.assumed;
  c->add_option("--sim-price-usd", a.sim_price_usd, "assumed: one prepaid SIM")
      ->capture_default_str();
  c->add_option("--email-account-price-usd", a.email_account_price_usd,
                "assumed: one email account")
      ->capture_default_str();
  c->add_option("--sms-price-usd", a.sms_price_usd, "assumed: one verification SMS")
      ->capture_default_str();
  c->add_option("--email-price-usd", a.email_price_usd, "assumed: one verification email")
      ->capture_default_str();
  c->add_option("--send-budget-per-hour", a.send_budget_per_hour,
                "assumed: codes sent per hour, all users together")
      ->capture_default_str();
  c->add_option("--breach-list-addresses", a.breach_list_addresses,
                "assumed: distinct addresses in breach lists")
      ->capture_default_str();
  c->add_option("--attacker-cores", a.attacker_cores, "assumed: cores of a key thief")
      ->capture_default_str();
  // Accepted like everywhere else, but compare reads neither key nor database: it measures on
  // scratch databases of its own.
  add_common_options(*c, common);
  return c;
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out,
                               std::ostream& err) {
  CommandLine line;
  CLI::App app(
      "veribind: one-time-code verification of phone numbers and email addresses,\n"
      "with accounts bound to keyed blind indexes (no plaintext at rest)",
      "veribind");
  app.require_subcommand(1);
  app.fallthrough();  // --config may come before or after the subcommand
  app.add_option_function<std::string>(
      "--config", [&line](const std::string& path) { line.config_path = path; },
      "configuration file (TOML); default ./veribind.toml when it exists");

  CommonOptions& common = line.common;
  IdentifierOptions& identifier = line.identifier;
  StartOptions& start = line.start;
  CheckOptions& check = line.check;
  LinkOptions& link = line.link;
  DemoOptions& demo = line.demo;
  UnlinkOptions& unlink = line.unlink;

  CLI::App* keygen_cmd = app.add_subcommand("keygen", "write a new 32-byte master key file");
  add_common_options(*keygen_cmd, common);
  keygen_cmd->add_option("--version", line.keygen.version,
                         "key version to add (N >= 2 goes to <key-file>.vN; versions only grow)");

  CLI::App* normalize_cmd = app.add_subcommand(
      "normalize", "show the canonical form of an identifier (and, given a key, its blind index)");
  add_identifier_options(*normalize_cmd, identifier);
  add_common_options(*normalize_cmd, common);

  CLI::App* start_cmd = app.add_subcommand("start", "send a one-time code to an identifier");
  add_identifier_options(*start_cmd, start.identifier);
  start_cmd->add_option("--purpose", start.purpose, "signup, login, recovery or change-identifier")
      ->capture_default_str();
  start_cmd
      ->add_option("--resend-cooldown", start.resend_cooldown_seconds,
                   "seconds before another code may go to the same identifier")
      ->capture_default_str();
  start_cmd->add_option("--locale", start.locale, "the message's language (en, ur, ...)");
  add_common_options(*start_cmd, common);

  CLI::App* check_cmd = app.add_subcommand("check", "check a code against a challenge");
  check_cmd->add_option("--challenge", check.challenge, "challenge id printed by start")
      ->required();
  check_cmd->add_option("--code", check.code, "the code that was delivered")->required();
  check_cmd
      ->add_option("--purpose", check.purpose,
                   "what the code is for; a code sent for another purpose is a wrong code")
      ->capture_default_str();
  add_common_options(*check_cmd, common);

  CLI::App* link_cmd =
      app.add_subcommand("link", "check a signup code and bind an account to its identifier");
  link_cmd->add_option("--account", link.account, "your backend's account id")->required();
  link_cmd->add_option("--challenge", link.challenge, "challenge id printed by start")->required();
  link_cmd->add_option("--code", link.code, "the code that was delivered")->required();
  link_cmd->add_option("--policy", link.policy, "phone-linked or email-linked")
      ->capture_default_str();
  link_cmd->add_option("--purpose", link.purpose, "signup or change-identifier")
      ->capture_default_str();
  add_identifier_options(*link_cmd, link.identifier);
  link_cmd
      ->add_option("--retain-contact", link.retain_contact,
                   "none, or sealed: keep the contact encrypted for recovery and security notices "
                   "(needs --phone/--email)")
      ->capture_default_str();
  add_contact_keys_option(*link_cmd, link.contact_keys);
  add_common_options(*link_cmd, common);

  CLI::App* find_cmd = app.add_subcommand(
      "find",
      "list the accounts bound to an identifier (operator debugging, NOT audited: answer "
      "outside requests with disclose)");
  add_identifier_options(*find_cmd, identifier);
  add_common_options(*find_cmd, common);

  CLI::App* unlink_cmd = app.add_subcommand(
      "unlink", "remove an account's bindings (before a change of identifier, or on erasure)");
  unlink_cmd->add_option("--account", unlink.account, "your backend's account id")->required();
  add_contact_keys_option(*unlink_cmd, unlink.contact_keys);
  add_common_options(*unlink_cmd, common);

  CLI::App* demo_cmd = app.add_subcommand(
      "demo",
      "walk through both policies on a temporary SQLite database, showing what is stored (SQLite "
      "only: it reads the database file's bytes)");
  demo_cmd->add_flag("--keep", demo.keep, "keep the temporary database and key");
  add_common_options(*demo_cmd, common);

  DiscloseOptions& disclose = line.disclose;
  CLI::App* disclose_cmd = app.add_subcommand(
      "disclose",
      "answer a lawful request: the accounts bound to exactly this identifier (audited)");
  add_identifier_options(*disclose_cmd, disclose.identifier);
  disclose_cmd->add_option("--authority", disclose.request.authority, "requesting authority")
      ->required();
  disclose_cmd
      ->add_option("--reference", disclose.request.reference,
                   "the authority's case or order number")
      ->required();
  disclose_cmd
      ->add_option("--legal-basis", disclose.request.legal_basis,
                   "the law or order that compels the answer")
      ->required();
  disclose_cmd
      ->add_option("--requested-by", disclose.request.requested_by,
                   "the operator running the lookup")
      ->required();
  add_common_options(*disclose_cmd, common);

  CLI::App* audit_cmd = app.add_subcommand("audit", "the audit log of lawful lookups");
  audit_cmd->require_subcommand(1);
  CLI::App* audit_verify_cmd = audit_cmd->add_subcommand(
      "verify", "check every entry's MAC, the chain and the head; exit 1 and say where if not");
  AuditVerifyOptions& audit_verify = line.audit_verify;
  audit_verify_cmd->add_option_function<std::string>(
      "--expect-head",
      [&audit_verify](const std::string& text) { audit_verify.expect_head = text; },
      "COUNT:MAC, a head published earlier (transparency prints it): the log must still hold "
      "that entry, so a rollback to an older copy is detected");
  add_common_options(*audit_verify_cmd, common);

  TransparencyOptions& transparency = line.transparency;
  CLI::App* transparency_cmd = app.add_subcommand(
      "transparency", "request counts per authority, legal basis and outcome (verified log)");
  transparency_cmd->add_option_function<std::string>(
      "--since", [&transparency](const std::string& text) { transparency.since = text; },
      "count requests from this instant: 2026-01-31, 2026-01-31T12:00:00Z or unix seconds");
  add_common_options(*transparency_cmd, common);

  CLI::App* purge_cmd = app.add_subcommand("purge", "remove expired challenges and ended counters");
  purge_cmd->add_option("--batch", line.purge.batch, "rows of each kind per transaction")
      ->capture_default_str();
  add_common_options(*purge_cmd, common);
  CLI::App* retention_cmd = app.add_subcommand(
      "retention", "what is stored, per kind of row: count, bytes, oldest, what a row reveals");
  add_common_options(*retention_cmd, common);
  CLI::App* compare_cmd = add_compare_command(app, line.compare, common);

  RotateOptions& rotate = line.rotate;
  CLI::App* rotate_cmd = app.add_subcommand(
      "rotate", "move sealed bindings and data keys to the current key version, or retire one");
  rotate_cmd->add_option_function<std::uint32_t>(
      "--retire", [&rotate](const std::uint32_t& v) { rotate.retire = v; },
      "destroy key version N, refused while anything still uses it");
  rotate_cmd->add_option("--batch", rotate.batch, "rows per batch")->capture_default_str();
  add_contact_keys_option(*rotate_cmd, rotate.contact_keys);
  add_common_options(*rotate_cmd, common);

  EraseOptions& erase = line.erase;
  CLI::App* erase_cmd = app.add_subcommand(
      "erase", "erase an account: destroy its sealed contact's data key, remove its bindings");
  erase_cmd->add_option("account", erase.account, "your backend's account id")->required();
  erase_cmd->add_flag("--finish-interrupted", erase.finish_interrupted,
                      "finish an erasure that stopped after destroying its data keys: a key "
                      "missing from --contact-keys is then not an error (only with the right "
                      "key store)");
  add_contact_keys_option(*erase_cmd, erase.contact_keys);
  add_common_options(*erase_cmd, common);

  ContactOptions& contact = line.contact;
  CLI::App* contact_cmd = app.add_subcommand(
      "contact", "open one account's sealed contact for a security purpose (shows it masked)");
  contact_cmd->add_option("account", contact.account, "your backend's account id")->required();
  contact_cmd->add_option("--purpose", contact.purpose, "recovery or security_notice")->required();
  contact_cmd->add_option("--policy", contact.policy, "phone-linked or email-linked")
      ->capture_default_str();
  add_contact_keys_option(*contact_cmd, contact.contact_keys);
  add_common_options(*contact_cmd, common);

  SendTestOptions& send_test = line.send_test;
  CLI::App* send_test_cmd = app.add_subcommand(
      "send-test",
      "send a test message through the configured provider ([delivery] in the configuration) and "
      "report each attempt; touches no database");
  add_identifier_options(*send_test_cmd, send_test.identifier);
  send_test_cmd->add_option("--locale", send_test.locale, "the message's language (en, ur, ...)");
  add_common_options(*send_test_cmd, common);

  ServeOptions& serve = line.serve;
  CLI::App* serve_cmd = app.add_subcommand(
      "serve", "the HTTP JSON API for backends in any language ([server] in the configuration)");
  serve_cmd->add_option_function<std::string>(
      "--listen", [&serve](const std::string& text) { serve.listen = text; },
      "127.0.0.1:8080 (the default), [::1]:8080, 0.0.0.0:8080 or unix:/path/to.sock");
  serve_cmd->add_flag("--demo", serve.demo,
                      "also serve the signup page at / (development: codes shown on the page "
                      "unless a provider is configured)");
  serve_cmd->add_option_function<std::string>(
      "--api-keys", [&serve](const std::string& path) { serve.api_keys = path; },
      "API keys file (default: [server] api_keys, else ./veribind-api-keys)");
  add_common_options(*serve_cmd, common);

  ApiKeyOptions& apikey = line.apikey;
  CLI::App* apikey_cmd = app.add_subcommand("apikey", "the server's API keys");
  apikey_cmd->require_subcommand(1);
  const auto add_api_keys_option = [&apikey](CLI::App& command) {
    command.add_option("--api-keys", apikey.api_keys, "API keys file (mode 0600)")
        ->capture_default_str();
  };
  CLI::App* apikey_create_cmd =
      apikey_cmd->add_subcommand("create", "make a key and print it (shown only this once)");
  apikey_create_cmd->add_option("--scope", apikey.scope, "verify or operator")->required();
  add_api_keys_option(*apikey_create_cmd);
  add_common_options(*apikey_create_cmd, common);
  CLI::App* apikey_revoke_cmd =
      apikey_cmd->add_subcommand("revoke", "revoke a key (a running server stops taking it)");
  apikey_revoke_cmd->add_option("id", apikey.id, "the key's id (16 hex digits)")->required();
  add_api_keys_option(*apikey_revoke_cmd);
  add_common_options(*apikey_revoke_cmd, common);
  CLI::App* apikey_list_cmd =
      apikey_cmd->add_subcommand("list", "every key's id, scope and dates (never the key)");
  add_api_keys_option(*apikey_list_cmd);
  add_common_options(*apikey_list_cmd, common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    app.exit(help, out, err);  // prints the help of the subcommand asked about; exit status 0
    return line;
  } catch (const CLI::CallForAllHelp& help) {
    app.exit(help, out, err);
    return line;
  } catch (const CLI::ParseError& error) {
    // Parsing failed, so --json was not parsed either: look for it in the raw arguments.
    line.common.json = std::any_of(argv + std::min(argc, 1), argv + argc, [](const char* arg) {
      return std::string_view(arg) == "--json";
    });
    line.usage_error = Status(ErrorCode::kInvalidArgument, usage_message(error));
    return line;
  }

  // The options given explicitly, on the leaf subcommand (audit verify is one level deeper).
  for (CLI::App* sub = &app; sub != nullptr;) {
    for (const CLI::Option* option : sub->get_options()) {
      if (option->count() > 0) line.given.insert(option->get_name());
    }
    const auto parsed = sub->get_subcommands();
    sub = parsed.empty() ? nullptr : parsed.front();
  }

  // require_subcommand(1): exactly one of them was parsed.
  if (keygen_cmd->parsed()) {
    line.command = Command::kKeygen;
  } else if (normalize_cmd->parsed()) {
    line.command = Command::kNormalize;
  } else if (start_cmd->parsed()) {
    line.command = Command::kStart;
  } else if (check_cmd->parsed()) {
    line.command = Command::kCheck;
  } else if (link_cmd->parsed()) {
    line.command = Command::kLink;
  } else if (find_cmd->parsed()) {
    line.command = Command::kFind;
  } else if (unlink_cmd->parsed()) {
    line.command = Command::kUnlink;
  } else if (disclose_cmd->parsed()) {
    line.command = Command::kDisclose;
  } else if (audit_verify_cmd->parsed()) {
    line.command = Command::kAuditVerify;
  } else if (transparency_cmd->parsed()) {
    line.command = Command::kTransparency;
  } else if (purge_cmd->parsed()) {
    line.command = Command::kPurge;
  } else if (retention_cmd->parsed()) {
    line.command = Command::kRetention;
  } else if (compare_cmd->parsed()) {
    line.command = Command::kCompare;
  } else if (rotate_cmd->parsed()) {
    line.command = Command::kRotate;
  } else if (erase_cmd->parsed()) {
    line.command = Command::kErase;
  } else if (contact_cmd->parsed()) {
    line.command = Command::kContact;
  } else if (send_test_cmd->parsed()) {
    line.command = Command::kSendTest;
  } else if (serve_cmd->parsed()) {
    line.command = Command::kServe;
  } else if (apikey_create_cmd->parsed()) {
    line.command = Command::kApiKeyCreate;
  } else if (apikey_revoke_cmd->parsed()) {
    line.command = Command::kApiKeyRevoke;
  } else if (apikey_list_cmd->parsed()) {
    line.command = Command::kApiKeyList;
  } else {
    line.command = Command::kDemo;
    demo.db_given = demo_cmd->get_option("--db")->count() > 0;
  }
  return line;
}

void apply_config(const FileConfig& config, CommandLine& line) {
  const auto absent = [&line](std::string_view option) { return line.given.count(option) == 0; };
  if (config.db && absent("--db")) line.common.db = *config.db;
  if (config.key_file && absent("--key-file")) line.common.key_file = *config.key_file;
  if (config.contact_keys && absent("--contact-keys")) {
    for (std::string* path :
         {&line.link.contact_keys, &line.unlink.contact_keys, &line.rotate.contact_keys,
          &line.erase.contact_keys, &line.contact.contact_keys}) {
      *path = *config.contact_keys;
    }
  }
  if (config.policy && absent("--policy")) {
    line.link.policy = *config.policy;
    line.contact.policy = *config.policy;
  }
  if (config.server && !config.server->api_keys.empty() && absent("--api-keys")) {
    line.apikey.api_keys = config.server->api_keys;
  }
  if (absent("--resend-cooldown")) {
    line.start.resend_cooldown_seconds = static_cast<int>(config.verifier.resend_cooldown.count());
  }
}

int run_command(const CommandLine& parsed) {
  CommandLine with_file;
  const bool reads_config = parsed.command != Command::kNone && parsed.command != Command::kDemo &&
                            parsed.command != Command::kCompare;
  if (reads_config) {
    auto found = find_config(parsed.config_path);
    if (!found) return Output(parsed.common.json).error(found.status());
    if (*found) {
      with_file = parsed;
      apply_config(**found, with_file);
      with_file.common.config = std::make_shared<const FileConfig>(std::move(**found));
    }
  }
  const CommandLine& line = with_file.command != Command::kNone ? with_file : parsed;
  switch (line.command) {
    case Command::kNone:
      return line.usage_error.is_ok() ? kExitOk : Output(line.common.json).error(line.usage_error);
    case Command::kKeygen:
      return line.keygen.version == 0 ? run_keygen(line.common)
                                      : run_keygen_version(line.common, line.keygen);
    case Command::kNormalize: return run_normalize(line.common, line.identifier);
    case Command::kStart: return run_start(line.common, line.start);
    case Command::kCheck: return run_check(line.common, line.check);
    case Command::kLink: return run_link(line.common, line.link);
    case Command::kFind: return run_find(line.common, line.identifier);
    case Command::kUnlink: return run_unlink(line.common, line.unlink);
    case Command::kDemo: return run_demo(line.common, line.demo);
    case Command::kDisclose: return run_disclose(line.common, line.disclose);
    case Command::kAuditVerify: return run_audit_verify(line.common, line.audit_verify);
    case Command::kTransparency: return run_transparency(line.common, line.transparency);
    case Command::kPurge: return run_purge(line.common, line.purge);
    case Command::kRetention: return run_retention(line.common);
    case Command::kCompare: return run_compare(line.common, line.compare);
    case Command::kRotate: return run_rotate(line.common, line.rotate);
    case Command::kErase: return run_erase(line.common, line.erase);
    case Command::kContact: return run_contact(line.common, line.contact);
    case Command::kSendTest: return run_send_test(line.common, line.send_test);
    case Command::kServe: return run_serve(line.common, line.serve);
    case Command::kApiKeyCreate: return run_apikey_create(line.common, line.apikey);
    case Command::kApiKeyRevoke: return run_apikey_revoke(line.common, line.apikey);
    case Command::kApiKeyList: return run_apikey_list(line.common, line.apikey);
  }
  return kExitSystem;
}

}  // namespace veribind::cli
