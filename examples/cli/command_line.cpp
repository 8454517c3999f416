// The command line: every subcommand and option, parsed into a CommandLine, and the dispatch to
// the commands. Parsing is kept apart from running so that it can be exercised on any argv (the
// fuzzer does) without a command touching a file.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include "cli.hpp"

namespace veribind::cli {
namespace {

void add_common_options(CLI::App& command, CommonOptions& common) {
  command.add_option("--db", common.db, "SQLite database file")->capture_default_str();
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

CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out,
                               std::ostream& err) {
  CommandLine line;
  CLI::App app(
      "veribind: one-time-code verification of phone numbers and email addresses,\n"
      "with accounts bound to keyed blind indexes (no plaintext at rest)",
      "veribind");
  app.require_subcommand(1);

  CommonOptions& common = line.common;
  IdentifierOptions& identifier = line.identifier;
  StartOptions& start = line.start;
  CheckOptions& check = line.check;
  LinkOptions& link = line.link;
  DemoOptions& demo = line.demo;
  UnlinkOptions& unlink = line.unlink;

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
  } else {
    line.command = Command::kDemo;
    demo.db_given = demo_cmd->get_option("--db")->count() > 0;
  }
  return line;
}

int run_command(const CommandLine& line) {
  switch (line.command) {
    case Command::kNone:
      return line.usage_error.is_ok() ? kExitOk : Output(line.common.json).error(line.usage_error);
    case Command::kKeygen: return run_keygen(line.common);
    case Command::kNormalize: return run_normalize(line.common, line.identifier);
    case Command::kStart: return run_start(line.common, line.start);
    case Command::kCheck: return run_check(line.common, line.check);
    case Command::kLink: return run_link(line.common, line.link);
    case Command::kFind: return run_find(line.common, line.identifier);
    case Command::kUnlink: return run_unlink(line.common, line.unlink);
    case Command::kDemo: return run_demo(line.common, line.demo);
  }
  return kExitSystem;
}

}  // namespace veribind::cli
