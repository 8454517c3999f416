// veribind: verify a phone number or an email address with a one-time code, and bind accounts to
// it, keeping only keyed blind indexes at rest. Run `veribind demo` for a walk-through.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <string_view>

#include "cli.hpp"

namespace {

using veribind::cli::CommonOptions;
using veribind::cli::IdentifierOptions;

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

}  // namespace

int main(int argc, char** argv) {
  namespace cli = veribind::cli;
  CLI::App app(
      "veribind: one-time-code verification of phone numbers and email addresses,\n"
      "with accounts bound to keyed blind indexes (no plaintext at rest)",
      "veribind");
  app.require_subcommand(1);

  CommonOptions common;
  IdentifierOptions identifier;
  cli::StartOptions start;
  cli::CheckOptions check;
  cli::LinkOptions link;
  cli::DemoOptions demo;
  cli::UnlinkOptions unlink;

  CLI::App* keygen_cmd = app.add_subcommand("keygen", "write a new 32-byte master key file");
  add_common_options(*keygen_cmd, common);

  CLI::App* normalize_cmd = app.add_subcommand(
      "normalize", "show the canonical form of an identifier (and, given a key, its blind index)");
  add_identifier_options(*normalize_cmd, identifier);
  add_common_options(*normalize_cmd, common);

  CLI::App* start_cmd = app.add_subcommand("start", "send a one-time code to an identifier");
  add_identifier_options(*start_cmd, start.identifier);
  start_cmd->add_option("--purpose", start.purpose, "signup, login, recovery or change-identifier")
      ->capture_default_str();
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
  add_common_options(*link_cmd, common);

  CLI::App* find_cmd = app.add_subcommand("find", "list the accounts bound to an identifier");
  add_identifier_options(*find_cmd, identifier);
  add_common_options(*find_cmd, common);

  CLI::App* unlink_cmd = app.add_subcommand(
      "unlink", "remove an account's bindings (before a change of identifier, or on erasure)");
  unlink_cmd->add_option("--account", unlink.account, "your backend's account id")->required();
  add_common_options(*unlink_cmd, common);

  CLI::App* demo_cmd = app.add_subcommand(
      "demo", "walk through both policies on a temporary database, showing what is stored");
  demo_cmd->add_flag("--keep", demo.keep, "keep the temporary database and key");
  add_common_options(*demo_cmd, common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);  // prints the help of the subcommand asked about; exit status 0
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    // Parsing failed, so --json was not parsed either: look for it in the raw arguments.
    const bool json = std::any_of(
        argv + 1, argv + argc, [](const char* arg) { return std::string_view(arg) == "--json"; });
    return cli::Output(json).error(veribind::ErrorCode::kInvalidArgument, usage_message(error));
  }

  if (keygen_cmd->parsed()) return cli::run_keygen(common);
  if (normalize_cmd->parsed()) return cli::run_normalize(common, identifier);
  if (start_cmd->parsed()) return cli::run_start(common, start);
  if (check_cmd->parsed()) return cli::run_check(common, check);
  if (link_cmd->parsed()) return cli::run_link(common, link);
  if (find_cmd->parsed()) return cli::run_find(common, identifier);
  if (unlink_cmd->parsed()) return cli::run_unlink(common, unlink);
  demo.db_given = demo_cmd->get_option("--db")->count() > 0;
  return cli::run_demo(common, demo);
}
