// The `veribind` program, run as a child process in a fresh directory per test: exit statuses,
// JSON output, key-file handling, and that bad input never changes the database.
#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_support.hpp"
#include "veribind/sqlite_store.hpp"
#include "veribind/stored_columns.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace veribind::testing::cli;

// Everything SQLite keeps for the default database: the file and its write-ahead log.
std::map<std::string, std::optional<std::string>> db_snapshot(const TempDir& dir) {
  return {{"veribind.db", read_file(dir / "veribind.db")},
          {"veribind.db-wal", read_file(dir / "veribind.db-wal")}};
}

void keygen(const TempDir& dir) {
  const Run run = run_cli(dir.path(), {"keygen"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
}

struct Started {
  std::string challenge;
  std::string code;
};

// `start --json`: the challenge id from stdout, the code from the delivery line on stderr.
Started start(const TempDir& dir, std::vector<std::string> identifier_args,
              const std::string& purpose = "signup") {
  std::vector<std::string> args = {"start", "--json", "--purpose", purpose};
  args.insert(args.end(), identifier_args.begin(), identifier_args.end());
  const Run run = run_cli(dir.path(), args);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json result = json_of(run);
  Started started{result.at("challenge").get<std::string>(), {}};
  std::istringstream lines(run.err);
  int deliveries = 0;
  for (std::string line; std::getline(lines, line);) {
    const json delivery = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!delivery.is_object() || !delivery.contains("delivery")) continue;
    ++deliveries;
    CHECK(delivery["delivery"]["to"] == result["to"]);
    CHECK(delivery["delivery"]["channel"] == result["channel"]);
    started.code = delivery["delivery"]["code"].get<std::string>();
  }
  REQUIRE(deliveries == 1);
  REQUIRE(started.code.size() == 6);
  return started;
}

std::string wrong_code_for(std::string code) {
  code[0] = code[0] == '9' ? '0' : static_cast<char>(code[0] + 1);
  return code;
}

const std::vector<std::string> kPhone = {"--phone", "+92 300 1234567"};
const std::vector<std::string> kPhoneNational = {"--phone", "0300-1234567", "--region", "PK"};
const std::vector<std::string> kEmail = {"--email", "Alice@Example.COM"};

}  // namespace

TEST_CASE("keygen: writes a 32-byte key file with mode 0600 and refuses to overwrite it", "[cli]") {
  TempDir dir;
  const Run first = run_cli(dir.path(), {"keygen", "--json"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(json_of(first)["bytes"] == 32);
  const fs::path key = dir / "veribind.key";
  REQUIRE(fs::file_size(key) == 32);
  struct stat info {};
  REQUIRE(stat(key.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  const std::optional<std::string> before = read_file(key);

  const Run again = run_cli(dir.path(), {"keygen", "--json"});
  CHECK(again.exit_code == 2);
  CHECK(error_code_of(again) == "invalid_argument");
  CHECK(read_file(key) == before);
}

TEST_CASE("keygen: a key file readable by group and others is refused with exit 4", "[cli]") {
  TempDir dir;
  keygen(dir);
  REQUIRE(chmod((dir / "veribind.key").c_str(), 0644) == 0);
  const Run run = run_cli(dir.path(), {"start", "--json", "--phone", "+923001234567"});
  CHECK(run.exit_code == 4);
  CHECK(error_code_of(run) == "key_file_insecure");
  CHECK_FALSE(fs::exists(dir / "veribind.db"));
}

TEST_CASE("keygen: a command without a key file tells the user to run veribind keygen", "[cli]") {
  TempDir dir;
  const Run json_run = run_cli(
      dir.path(), {"check", "--json", "--challenge", std::string(32, 'a'), "--code", "123456"});
  CHECK(json_run.exit_code == 4);
  CHECK(error_code_of(json_run) == "key_unavailable");
  CHECK(json_of(json_run)["error"]["message"].get<std::string>().find("veribind keygen") !=
        std::string::npos);

  const Run text_run = run_cli(dir.path(), {"find", "--email", "a@example.com"});
  CHECK(text_run.exit_code == 4);
  CHECK(text_run.out.empty());
  CHECK(text_run.err.find("veribind keygen") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "veribind.db"));
}

TEST_CASE("normalize: three spellings of a Pakistani mobile number give one E.164 form", "[cli]") {
  TempDir dir;
  const std::vector<std::vector<std::string>> spellings = {
      {"--phone", "+92 300 1234567"},
      {"--phone", "0300-1234567", "--region", "PK"},
      {"--phone", "+923001234567"}};
  auto normalize = [&dir](const std::vector<std::string>& spelling) {
    std::vector<std::string> args = {"normalize", "--json"};
    args.insert(args.end(), spelling.begin(), spelling.end());
    const Run run = run_cli(dir.path(), args);
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    return json_of(run);
  };

  for (const auto& spelling : spellings) {  // without a key: no blind index, everything else
    const json result = normalize(spelling);
    CHECK(result["canonical"] == "+923001234567");
    CHECK(result["channel"] == "phone");
    CHECK(result["region"] == "PK");
    CHECK(result["type"] == "MOBILE");
    CHECK(result["masked"] == "+92 ********67");
    CHECK_FALSE(result.contains("blind_index"));
  }
  keygen(dir);
  std::vector<std::string> indexes;
  for (const auto& spelling : spellings) {
    const json result = normalize(spelling);
    REQUIRE(result.contains("blind_index"));
    indexes.push_back(result["blind_index"].get<std::string>());
  }
  CHECK(indexes[0].size() == 64);
  CHECK(indexes[0] == indexes[1]);
  CHECK(indexes[0] == indexes[2]);
  CHECK_FALSE(fs::exists(dir / "veribind.db"));  // normalize never touches the database
}

TEST_CASE("normalize: an email address is lower-cased", "[cli]") {
  TempDir dir;
  const Run run = run_cli(dir.path(), {"normalize", "--json", "--email", "Alice@Example.COM"});
  REQUIRE(run.exit_code == 0);
  const json result = json_of(run);
  CHECK(result["canonical"] == "alice@example.com");
  CHECK(result["channel"] == "email");
  CHECK(result["domain"] == "example.com");
}

TEST_CASE("start: without --json the console sender says plainly that nothing was sent", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Run run = run_cli(dir.path(), {"start", "--phone", "+923001234567"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find("NO SMS WAS SENT") != std::string::npos);
  CHECK(run.out.find("challenge") != std::string::npos);
  CHECK(run.out.find("3001234567") == std::string::npos);  // stdout shows the masked form only
}

TEST_CASE("check: the code from the delivery line verifies with exit 0", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kPhone);
  const Run run = run_cli(
      dir.path(), {"check", "--json", "--challenge", started.challenge, "--code", started.code});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  const json result = json_of(run);
  CHECK(result["outcome"] == "verified");
  CHECK(result["answer"] == "verified");
  CHECK(result["channel"] == "phone");
  CHECK(result["purpose"] == "signup");
}

TEST_CASE("check: a wrong code exits 1 with the attempts left and the uniform answer", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kEmail);
  const Run run = run_cli(dir.path(), {"check", "--json", "--challenge", started.challenge,
                                       "--code", wrong_code_for(started.code)});
  CHECK(run.exit_code == 1);
  const json result = json_of(run);
  CHECK(result["outcome"] == "wrong_code");
  CHECK(result["attempts_left"] == 4);
  CHECK(result["answer"] == "invalid_or_expired_code");

  const Run right = run_cli(
      dir.path(), {"check", "--json", "--challenge", started.challenge, "--code", started.code});
  CHECK(right.exit_code == 0);
}

TEST_CASE("check: a code used once exits 1 with outcome unknown the second time", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kPhone);
  const std::vector<std::string> args = {"check",           "--json", "--challenge",
                                         started.challenge, "--code", started.code};
  REQUIRE(run_cli(dir.path(), args).exit_code == 0);
  const Run again = run_cli(dir.path(), args);
  CHECK(again.exit_code == 1);
  const json result = json_of(again);
  CHECK(result["outcome"] == "unknown");
  CHECK(result["answer"] == "invalid_or_expired_code");
}

TEST_CASE("link and find: an account bound to a number is found under any spelling", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kPhone);
  const Run linked = run_cli(dir.path(), {"link", "--json", "--account", "acct-1", "--challenge",
                                          started.challenge, "--code", started.code});
  INFO(linked.err);
  REQUIRE(linked.exit_code == 0);
  const json link_result = json_of(linked);
  CHECK(link_result["account"] == "acct-1");
  CHECK(link_result["policy"] == "phone-linked");
  CHECK(link_result["blind_index"].get<std::string>().size() == 64);
  CHECK(linked.out.find("3001234567") == std::string::npos);  // the index, never the number

  for (const auto& spelling : {kPhone, kPhoneNational}) {
    std::vector<std::string> args = {"find", "--json"};
    args.insert(args.end(), spelling.begin(), spelling.end());
    const Run found = run_cli(dir.path(), args);
    REQUIRE(found.exit_code == 0);
    CHECK(json_of(found)["accounts"] == json::array({"acct-1"}));
  }
  const Run other = run_cli(dir.path(), {"find", "--json", "--phone", "+923001234568"});
  REQUIRE(other.exit_code == 0);
  CHECK(json_of(other)["accounts"] == json::array());
}

TEST_CASE("link and find: an email-linked account is found whatever the case of the address",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kEmail);
  const Run linked =
      run_cli(dir.path(), {"link", "--json", "--account", "acct-mail", "--policy", "email-linked",
                           "--challenge", started.challenge, "--code", started.code});
  INFO(linked.out << linked.err);
  REQUIRE(linked.exit_code == 0);
  CHECK(json_of(linked)["policy"] == "email-linked");
  const Run found = run_cli(dir.path(), {"find", "--json", "--email", "Alice@EXAMPLE.com"});
  REQUIRE(found.exit_code == 0);
  CHECK(json_of(found)["accounts"] == json::array({"acct-mail"}));
}

std::vector<std::string> without_cooldown(std::vector<std::string> args) {
  args.insert(args.end(), {"--resend-cooldown", "0"});
  return args;
}

TEST_CASE("start: a second code to one number within the cooldown exits 3 and names the limit",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  (void)start(dir, kPhone);
  std::vector<std::string> args = {"start", "--json"};
  args.insert(args.end(), kPhoneNational.begin(), kPhoneNational.end());
  const Run refused = run_cli(dir.path(), args);
  CHECK(refused.exit_code == 3);
  CHECK(error_code_of(refused) == "resend_too_soon");
  CHECK(refused.out.find("resend_cooldown") != std::string::npos);
  CHECK(refused.err.find("\"delivery\"") == std::string::npos);  // no code went out
  args.insert(args.end(), {"--resend-cooldown", "-1"});
  const Run bad = run_cli(dir.path(), args);
  CHECK(bad.exit_code == 2);
  CHECK(error_code_of(bad) == "invalid_config");
}

TEST_CASE("link: a second account on a bound number exits 3 with already_bound", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started first = start(dir, kPhone);
  REQUIRE(run_cli(dir.path(), {"link", "--account", "acct-1", "--challenge", first.challenge,
                               "--code", first.code})
              .exit_code == 0);
  const Started second = start(dir, without_cooldown(kPhoneNational));
  const Run refused = run_cli(dir.path(), {"link", "--json", "--account", "acct-2", "--challenge",
                                           second.challenge, "--code", second.code});
  CHECK(refused.exit_code == 3);
  CHECK(error_code_of(refused) == "already_bound");

  const Run found = run_cli(dir.path(), {"find", "--json", "--phone", "+923001234567"});
  CHECK(json_of(found)["accounts"] == json::array({"acct-1"}));
}

TEST_CASE(
    "link: an email challenge offered to the phone-linked policy exits 3 with "
    "wrong_channel",
    "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kEmail);
  const Run refused = run_cli(
      dir.path(), {"link", "--json", "--account", "acct-1", "--challenge", started.challenge,
                   "--code", started.code});  // the default policy: phone-linked
  CHECK(refused.exit_code == 3);
  CHECK(error_code_of(refused) == "wrong_channel");
}

TEST_CASE("link: a wrong code exits 1 and binds nothing", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kPhone);
  const Run refused =
      run_cli(dir.path(), {"link", "--json", "--account", "acct-1", "--challenge",
                           started.challenge, "--code", wrong_code_for(started.code)});
  CHECK(refused.exit_code == 1);
  CHECK(json_of(refused)["outcome"] == "wrong_code");
  const Run found = run_cli(dir.path(), {"find", "--json", "--phone", "+923001234567"});
  CHECK(json_of(found)["accounts"] == json::array());
}

namespace {

struct BadInput {
  std::string description;
  std::vector<std::string> args;
  std::string code;  // the JSON error code
};

// Bad inputs of every kind; `challenge` is a live challenge id, so a bad code next to it would
// charge an attempt if it ever reached the store.
std::vector<BadInput> bad_inputs(const std::string& challenge) {
  return {
      {"an invalid phone number",
       {"start", "--json", "--phone", "not a number"},
       "phone_not_a_number"},
      {"a phone number over 64 bytes",
       {"normalize", "--json", "--phone", std::string(65, '5')},
       "input_too_long"},
      {"an invalid email address",
       {"start", "--json", "--email", "alice.example.com"},
       "email_syntax"},
      {"both --phone and --email",
       {"start", "--json", "--phone", "+923001234567", "--email", "a@example.com"},
       "invalid_argument"},
      {"neither --phone nor --email", {"find", "--json"}, "invalid_argument"},
      {"an unknown purpose",
       {"start", "--json", "--phone", "+923001234567", "--purpose", "marketing"},
       "invalid_argument"},
      {"a malformed challenge id",
       {"check", "--json", "--challenge", "xyz", "--code", "123456"},
       "invalid_challenge_id"},
      {"a code with a letter",
       {"check", "--json", "--challenge", challenge, "--code", "12a456"},
       "invalid_code"},
      {"a code too short",
       {"check", "--json", "--challenge", challenge, "--code", "12345"},
       "invalid_code"},
      {"an account id with a space",
       {"link", "--json", "--account", "acct 1", "--challenge", challenge, "--code", "123456"},
       "invalid_account_id"},
      {"an unknown policy",
       {"link", "--json", "--account", "acct-1", "--policy", "sms-linked", "--challenge", challenge,
        "--code", "123456"},
       "invalid_argument"},
      {"an unknown subcommand", {"frobnicate", "--json"}, "invalid_argument"},
      {"a missing required option", {"check", "--json", "--code", "123456"}, "invalid_argument"},
      {"no subcommand at all", {"--json"}, "invalid_argument"},
      {"--region without --phone",
       {"find", "--json", "--email", "a@example.com", "--region", "PK"},
       "invalid_argument"},
  };
}

}  // namespace

TEST_CASE("bad input: exits 2 with its error code and leaves the database unchanged", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kPhone);  // a database with a live challenge in it
  const auto before = db_snapshot(dir);
  REQUIRE(before.at("veribind.db").has_value());

  for (const BadInput& bad : bad_inputs(started.challenge)) {
    SECTION(bad.description) {
      const Run run = run_cli(dir.path(), bad.args);
      INFO("stdout: " << run.out << "\nstderr: " << run.err);
      CHECK(run.exit_code == 2);
      CHECK(error_code_of(run) == bad.code);
      CHECK(db_snapshot(dir) == before);
    }
  }
  // No bad input charged an attempt: the first wrong code still leaves 4 of 5.
  const Run wrong = run_cli(dir.path(), {"check", "--json", "--challenge", started.challenge,
                                         "--code", wrong_code_for(started.code)});
  CHECK(json_of(wrong)["attempts_left"] == 4);
}

TEST_CASE("bad input: before any database exists, bad input does not create one", "[cli]") {
  TempDir dir;
  keygen(dir);
  for (const BadInput& bad : bad_inputs(std::string(32, 'a'))) {
    SECTION(bad.description) {
      const Run run = run_cli(dir.path(), bad.args);
      INFO("stdout: " << run.out << "\nstderr: " << run.err);
      CHECK(run.exit_code == 2);
      CHECK(error_code_of(run) == bad.code);
      CHECK_FALSE(fs::exists(dir / "veribind.db"));
    }
  }
}

TEST_CASE("bad input: without --json the error goes to stderr and stdout stays empty", "[cli]") {
  TempDir dir;
  const Run run = run_cli(dir.path(), {"normalize", "--email", "no-at-sign"});
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  CHECK(run.err.find("email_syntax") != std::string::npos);
}

TEST_CASE("errors: messages never repeat the phone number, the email address or the code",
          "[cli]") {
  TempDir dir;
  const std::vector<std::vector<std::string>> failing = {
      {"start", "--phone", "+92 300 1234567"},  // no key file yet
      {"start", "--json", "--phone", "+92 300 1234567"},
      {"normalize", "--phone", "+92 300 1234567 1234567 1234567"},
      {"normalize", "--json", "--phone", "+92 300 1234567", "+92 300 1234567"},  // stray arg
      {"normalize", "--json", "--email", "alice.smith@@example.com"},
      {"check", "--challenge", std::string(32, 'b'), "--code", "98765x"},
      {"check", "--json", "--challenge", "987654", "--code", "987654"},
      {"link", "--account", "acct-1", "--challenge", std::string(32, 'b'), "--code", "98765"},
  };
  for (const auto& args : failing) {
    const Run run = run_cli(dir.path(), args);
    const std::string all = run.out + run.err;
    INFO("args[1..]: " << args[1] << "\noutput: " << all);
    CHECK(run.exit_code != 0);
    CHECK(all.find("300 1234567") == std::string::npos);
    CHECK(all.find("3001234567") == std::string::npos);
    CHECK(all.find("1234567") == std::string::npos);
    CHECK(all.find("alice") == std::string::npos);
    CHECK(all.find("98765") == std::string::npos);
  }
  keygen(dir);
  REQUIRE(chmod((dir / "veribind.key").c_str(), 0644) == 0);
  const Run insecure = run_cli(dir.path(), {"start", "--phone", "+92 300 1234567"});
  CHECK(insecure.exit_code == 4);
  CHECK((insecure.out + insecure.err).find("1234567") == std::string::npos);
}

TEST_CASE("errors: with --json, a path that is not UTF-8 still gives one JSON object", "[cli]") {
  // Found by fuzz/cli_fuzz.cpp: the JSON library threw on the path, and the program aborted.
  TempDir dir;
  const std::string not_utf8 = "key\xff-file";
  const std::string replaced = "key\xef\xbf\xbd-file";  // U+FFFD in UTF-8

  const Run start = run_cli(
      dir.path(), {"start", "--json", "--email", "alice@example.com", "--key-file", not_utf8});
  INFO("stdout: " << start.out << "\nstderr: " << start.err);
  CHECK(start.exit_code == 4);
  CHECK(error_code_of(start) == "key_unavailable");
  CHECK(start.out.find(replaced) != std::string::npos);
  CHECK(start.err.empty());

  const Run keygen = run_cli(dir.path(), {"keygen", "--json", "--key-file", not_utf8});
  INFO("stdout: " << keygen.out << "\nstderr: " << keygen.err);
  CHECK(keygen.exit_code == 0);
  CHECK(json_of(keygen)["bytes"] == 32);
  CHECK(keygen.out.find(replaced) != std::string::npos);
  CHECK(fs::file_size(dir / not_utf8) == 32);
}

// Every subcommand, as the words that name it.
const std::vector<std::vector<std::string>> kSubcommands = {
    {"keygen"},    {"normalize"}, {"start"},    {"check"},           {"link"},         {"find"},
    {"unlink"},    {"demo"},      {"disclose"}, {"audit", "verify"}, {"transparency"}, {"purge"},
    {"retention"}, {"compare"},   {"rotate"},   {"erase"},           {"contact"}};

TEST_CASE(
    "help: --help on the program and on every subcommand exits 0 and lists the common "
    "options",
    "[cli]") {
  TempDir dir;
  const Run top = run_cli(dir.path(), {"--help"});
  CHECK(top.exit_code == 0);
  for (const std::vector<std::string>& command : kSubcommands) {
    INFO(command[0]);
    std::vector<std::string> args = command;
    args.push_back("--help");
    const Run run = run_cli(dir.path(), args);
    CHECK(run.exit_code == 0);
    for (const char* option : {"--json", "--db", "--key-file"}) {
      CHECK(run.out.find(option) != std::string::npos);
    }
    CHECK(top.out.find(command[0]) != std::string::npos);
  }
  CHECK(run_cli(dir.path(), {"start", "--json", "--help"}).exit_code == 0);
  // Where there is a contact key store, its help says that it stays a file with PostgreSQL.
  for (const char* command : {"link", "unlink", "rotate", "erase", "contact"}) {
    INFO(command);
    const Run run = run_cli(dir.path(), {command, "--help"});
    CHECK(run.out.find("--contact-keys") != std::string::npos);
    CHECK(run.out.find("PostgreSQL") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "veribind.db"));
}

// A password-bearing URL of a server that is not there (port 1 refuses at once).
const std::string kUnreachableUrl = "postgresql://veribind:s3cret-pw@127.0.0.1:1/veribind";

// Each subcommand with well-formed arguments of its own, so that it gets as far as the key or
// the database.
std::vector<std::string> well_formed(const std::vector<std::string>& command) {
  const std::string id(32, 'a');
  const std::map<std::string, std::vector<std::string>> rest = {
      {"normalize", {"--email", "alice@example.com"}},
      {"start", {"--email", "alice@example.com"}},
      {"check", {"--challenge", id, "--code", "123456"}},
      {"link", {"--account", "acct-1", "--challenge", id, "--code", "123456"}},
      {"find", {"--email", "alice@example.com"}},
      {"unlink", {"--account", "acct-1"}},
      {"disclose",
       {"--email", "alice@example.com", "--authority", "FIA", "--reference", "R-1", "--legal-basis",
        "PECA s.34", "--requested-by", "ops"}},
      {"erase", {"acct-1"}},
      {"contact", {"acct-1", "--purpose", "recovery"}},
  };
  std::vector<std::string> args = command;
  if (auto found = rest.find(command[0]); found != rest.end()) {
    args.insert(args.end(), found->second.begin(), found->second.end());
  }
  args.push_back("--json");
  return args;
}

TEST_CASE(
    "common options: a bad --db or a bad key gives one JSON error object with a stable "
    "code, on every subcommand",
    "[cli]") {
  TempDir dir;
  keygen(dir);
  fs::copy_file(dir / "veribind.key", dir / "insecure.key");
  REQUIRE(chmod((dir / "insecure.key").c_str(), 0644) == 0);
  struct Expected {
    int exit_code;
    const char* code;
  };
  // What --db with an unreachable PostgreSQL server gives: every command that opens the store
  // reports it unavailable; the demo, which shows a database file's bytes, refuses a URL.
  const std::map<std::string, Expected> bad_db = {
      {"start", {4, "unavailable"}},   {"check", {4, "unavailable"}},
      {"link", {4, "unavailable"}},    {"find", {4, "unavailable"}},
      {"unlink", {4, "unavailable"}},  {"disclose", {4, "unavailable"}},
      {"audit", {4, "unavailable"}},   {"transparency", {4, "unavailable"}},
      {"purge", {4, "unavailable"}},   {"retention", {4, "unavailable"}},
      {"rotate", {4, "unavailable"}},  {"erase", {4, "unavailable"}},
      {"contact", {4, "unavailable"}}, {"demo", {2, "invalid_argument"}},
  };
  // What a key file readable by others gives, for every command that reads the key; keygen
  // refuses to write over an existing one.
  const std::map<std::string, Expected> bad_key = {
      {"keygen", {2, "invalid_argument"}},   {"normalize", {4, "key_file_insecure"}},
      {"start", {4, "key_file_insecure"}},   {"check", {4, "key_file_insecure"}},
      {"link", {4, "key_file_insecure"}},    {"find", {4, "key_file_insecure"}},
      {"unlink", {4, "key_file_insecure"}},  {"disclose", {4, "key_file_insecure"}},
      {"audit", {4, "key_file_insecure"}},   {"transparency", {4, "key_file_insecure"}},
      {"rotate", {4, "key_file_insecure"}},  {"erase", {4, "key_file_insecure"}},
      {"contact", {4, "key_file_insecure"}},
  };
  for (const std::vector<std::string>& command : kSubcommands) {
    INFO(command[0]);
    if (auto e = bad_db.find(command[0]); e != bad_db.end()) {
      std::vector<std::string> args = well_formed(command);
      args.insert(args.end(), {"--db", kUnreachableUrl});
      const Run run = run_cli(dir.path(), args);
      CHECK(run.exit_code == e->second.exit_code);
      CHECK(error_code_of(run) == e->second.code);
      CHECK((run.out + run.err).find("s3cret") == std::string::npos);
      CHECK((run.out + run.err).find(kUnreachableUrl) == std::string::npos);
    }
    if (auto e = bad_key.find(command[0]); e != bad_key.end()) {
      std::vector<std::string> args = well_formed(command);
      args.insert(args.end(), {"--key-file", "insecure.key"});
      const Run run = run_cli(dir.path(), args);
      CHECK(run.exit_code == e->second.exit_code);
      CHECK(error_code_of(run) == e->second.code);
    }
    // purge and retention need no key, compare neither key nor database (it measures on
    // scratch ones); the rest are covered above.
    CHECK((bad_db.count(command[0]) + bad_key.count(command[0]) > 0 || command[0] == "compare"));
  }
  // compare accepts the common options like every other subcommand, and reads neither.
  std::vector<std::string> compare = {"compare",
                                      "--json",
                                      "--iterations=200",
                                      "--rounds=1",
                                      "--argon2id-hashes=1",
                                      "--argon2id-opslimit=1",
                                      "--argon2id-memlimit-mib=1",
                                      "--accounts=100",
                                      "--db",
                                      kUnreachableUrl,
                                      "--key-file",
                                      "insecure.key"};
  const Run measured = run_cli(dir.path(), compare);
  INFO(measured.err);
  CHECK(measured.exit_code == 0);
  CHECK_FALSE(json_of(measured).contains("error"));
  CHECK_FALSE(fs::exists(dir / "veribind.db"));
}

TEST_CASE("demo: walks through every step and finds no plaintext in the database files", "[cli]") {
  TempDir dir;
  const Run run = run_cli(dir.path(), {"demo"});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == 0);
  for (const char* heading : {"1. ", "2. ", "3. ", "4. ", "5. ", "6. "}) {
    CHECK(run.out.find(std::string("\n") + heading) != std::string::npos);
  }
  CHECK(run.out.find("wrong_code") != std::string::npos);
  CHECK(run.out.find("already_bound") != std::string::npos);
  CHECK(run.out.find("plaintext found: none") != std::string::npos);
  CHECK(fs::is_empty(dir.path()));  // the default demo works in a temporary directory
  // Each column is explained by the store layer's description of it, not guessed from its name.
  for (const veribind::ColumnDescription& c : veribind::stored_columns()) {
    if (c.table == "schema_version" && c.column == "applied_at") continue;  // PostgreSQL only
    INFO(c.table << "." << c.column);
    CHECK(run.out.find("· " + std::string(c.column) + ": " +
                       std::string(c.meaning.substr(0, 20))) != std::string::npos);
  }
  CHECK(run.out.find("not described") == std::string::npos);
  CHECK(run.out.find("128 random bits") == std::string::npos);  // audit_head.id is always 1
}

TEST_CASE("demo: with --json and --db it prints one summary object and keeps the database",
          "[cli]") {
  TempDir dir;
  const Run run =
      run_cli(dir.path(), {"demo", "--json", "--db", "walk.db", "--key-file", "walk.key"});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json result = json_of(run);
  CHECK(result["demo"]["plaintext_found"] == json::array());
  CHECK(result["demo"]["steps"].size() == 5);
  CHECK(run.err.find("plaintext found: none") != std::string::npos);
  // The codes reach stderr as the --json development sender's delivery lines, one per send.
  std::istringstream lines(run.err);
  int deliveries = 0;
  for (std::string line; std::getline(lines, line);) {
    const json d = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (d.is_object() && d.contains("delivery")) {
      ++deliveries;
      CHECK(d["delivery"]["code"].get<std::string>().size() == 6);
    }
  }
  CHECK(deliveries == 4);
  CHECK(fs::exists(dir / "walk.db"));
  CHECK(fs::file_size(dir / "walk.key") == 32);

  const Run again =
      run_cli(dir.path(), {"demo", "--json", "--db", "walk.db", "--key-file", "walk.key"});
  CHECK(again.exit_code == 2);  // the demo wants a fresh database
  CHECK(error_code_of(again) == "invalid_argument");
}

TEST_CASE("check: a login code checked as a signup code exits 1 and is charged", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started login = start(dir, kEmail, "login");
  const Run as_signup = run_cli(dir.path(), {"check", "--json", "--challenge", login.challenge,
                                             "--code", login.code, "--purpose", "signup"});
  CHECK(as_signup.exit_code == 1);
  CHECK(json_of(as_signup)["outcome"] == "wrong_code");
  CHECK(json_of(as_signup)["attempts_left"] == 4);
  const Run as_login = run_cli(dir.path(), {"check", "--json", "--challenge", login.challenge,
                                            "--code", login.code, "--purpose", "login"});
  CHECK(as_login.exit_code == 0);
  CHECK(json_of(as_login)["purpose"] == "login");
}

TEST_CASE("check, link and find: a missing database is exit 4 and is not created", "[cli]") {
  TempDir dir;
  keygen(dir);
  const std::string id(32, 'a');
  const std::vector<std::vector<std::string>> commands = {
      {"check", "--json", "--challenge", id, "--code", "123456"},
      {"link", "--json", "--account", "acct-1", "--challenge", id, "--code", "123456"},
      {"find", "--json", "--email", "alice@example.com"}};
  for (const auto& args : commands) {
    const Run run = run_cli(dir.path(), args);
    INFO(args[0]);
    CHECK(run.exit_code == 4);
    CHECK(error_code_of(run) == "unavailable");
    CHECK_FALSE(fs::exists(dir / "veribind.db"));
  }
}

TEST_CASE("link: a refusal that does not need the code (wrong policy) keeps the code usable",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kPhone);
  const Run wrong_policy =
      run_cli(dir.path(), {"link", "--json", "--account", "acct-1", "--policy", "email-linked",
                           "--challenge", started.challenge, "--code", started.code});
  CHECK(wrong_policy.exit_code == 3);
  CHECK(error_code_of(wrong_policy) == "wrong_channel");
  const Run right_policy =
      run_cli(dir.path(), {"link", "--json", "--account", "acct-1", "--challenge",
                           started.challenge, "--code", started.code});
  CHECK(right_policy.exit_code == 0);
}

TEST_CASE("unlink: frees the number for a change of identifier", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started first = start(dir, kPhone);
  REQUIRE(run_cli(dir.path(), {"link", "--account", "acct-1", "--challenge", first.challenge,
                               "--code", first.code})
              .exit_code == 0);
  const Run unlinked = run_cli(dir.path(), {"unlink", "--json", "--account", "acct-1"});
  CHECK(unlinked.exit_code == 0);
  CHECK(json_of(unlinked)["removed"] == 1);
  const Run none = run_cli(dir.path(), {"find", "--json", "--phone", "+92 300 1234567"});
  CHECK(json_of(none)["accounts"].empty());
  const Started change = start(dir, without_cooldown(kPhoneNational), "change-identifier");
  const Run relinked = run_cli(
      dir.path(), {"link", "--json", "--account", "acct-2", "--purpose", "change-identifier",
                   "--challenge", change.challenge, "--code", change.code});
  CHECK(relinked.exit_code == 0);
  CHECK(run_cli(dir.path(), {"unlink", "--account", "bad id"}).exit_code == 2);
}

TEST_CASE("find: an empty file where the database should be is exit 4 and stays empty", "[cli]") {
  TempDir dir;
  keygen(dir);
  { std::ofstream touch(dir / "veribind.db"); }
  const Run run = run_cli(dir.path(), {"find", "--json", "--email", "alice@example.com"});
  CHECK(run.exit_code == 4);
  CHECK(error_code_of(run) == "unavailable");
  CHECK(fs::file_size(dir / "veribind.db") == 0);
}

// --- disclose, audit verify, transparency
// ---------------------------------------------------------

namespace {

// disclose takes the identifier as every command does.
const std::vector<std::string>& kNumber = kPhone;

// Links acct-1 to kPhone through start and link.
void link_phone(const TempDir& dir) {
  const Started started = start(dir, kPhone);
  const Run linked = run_cli(dir.path(), {"link", "--json", "--account", "acct-1", "--challenge",
                                          started.challenge, "--code", started.code});
  INFO(linked.err);
  REQUIRE(linked.exit_code == 0);
}

std::vector<std::string> disclose_args(std::vector<std::string> identifier,
                                       const std::string& authority = "FIA Cybercrime Wing",
                                       const std::string& legal_basis = "PECA 2016 s.34") {
  std::vector<std::string> args = {"disclose", "--json"};
  args.insert(args.end(), identifier.begin(), identifier.end());
  for (const std::string& arg : {std::string("--authority"), authority, std::string("--reference"),
                                 std::string("FIR-0117"), std::string("--legal-basis"), legal_basis,
                                 std::string("--requested-by"), std::string("ops.amina")}) {
    args.push_back(arg);
  }
  return args;
}

// What an attacker with the sqlite3 shell would run against the database file.
void attacker_sql(const TempDir& dir, const std::string& statements) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((dir / "veribind.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK);
  const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

// --- purge, retention, compare ------------------------------------------------------------------

namespace {

// Writes challenges and counters straight into the database, some already expired, as a store
// that has been running for a while would hold them.
void seed_expired_rows(const TempDir& dir, int expired, int live) {
  auto store = veribind::SqliteStore::open((dir / "veribind.db").string());
  INFO(store.status().message());
  REQUIRE(store.is_ok());
  const veribind::Timestamp now = veribind::SystemClock().now();
  for (int i = 0; i < expired + live; ++i) {
    veribind::ChallengeRecord record;
    record.id.bytes[0] = static_cast<std::uint8_t>(i);
    record.id.bytes[15] = static_cast<std::uint8_t>(i * 7);
    record.expires_at = i < expired ? now - std::chrono::hours(1) : now + std::chrono::hours(1);
    record.max_attempts = 5;
    REQUIRE((*store)->create_challenge(record, {}, now).is_ok());
    veribind::CounterKey key{};
    key[0] = static_cast<std::uint8_t>(i);
    veribind::CounterUpdate step{key, 1, record.expires_at, {}};
    REQUIRE((*store)->add_to_counters(std::span(&step, 1), now - std::chrono::hours(2)).is_ok());
  }
}

const json& kind_entry(const json& retention, const std::string& kind) {
  for (const json& entry : retention.at("kinds")) {
    if (entry.at("kind") == kind) return entry;
  }
  FAIL("no kind " << kind);
  return retention;
}

}  // namespace

TEST_CASE("disclose: answers for a bound and an unbound number, one audit entry each", "[cli]") {
  TempDir dir;
  keygen(dir);
  link_phone(dir);

  const Run bound = run_cli(dir.path(), disclose_args(kPhoneNational));
  INFO(bound.err);
  REQUIRE(bound.exit_code == 0);
  const json answer = json_of(bound);
  CHECK(answer["accounts"] == json::array({"acct-1"}));
  CHECK(answer["audit_sequence"] == 1);
  CHECK(answer["policy"] == "phone-linked");
  CHECK(answer["blind_index"].get<std::string>().size() == 64);

  const Run unbound = run_cli(dir.path(), disclose_args({"--phone", "+923001234568"}));
  REQUIRE(unbound.exit_code == 0);
  CHECK(json_of(unbound)["accounts"] == json::array());
  CHECK(json_of(unbound)["audit_sequence"] == 2);

  const Run email = run_cli(dir.path(), disclose_args(kEmail));
  REQUIRE(email.exit_code == 0);
  CHECK(json_of(email)["accounts"] == json::array());
  CHECK(json_of(email)["policy"] == "email-linked");

  const Run text = run_cli(
      dir.path(), {"disclose", "--phone", "+92 300 1234567", "--authority", "Police", "--reference",
                   "R-2", "--legal-basis", "court order", "--requested-by", "ops"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("acct-1") != std::string::npos);
  CHECK(text.out.find("audit entry   4") != std::string::npos);
  for (const Run* run : {&bound, &unbound, &text}) {
    CHECK(run->out.find("3001234567") == std::string::npos);
    CHECK(run->err.find("3001234567") == std::string::npos);
  }

  const Run verified = run_cli(dir.path(), {"audit", "verify", "--json"});
  INFO(verified.out << verified.err);
  REQUIRE(verified.exit_code == 0);
  const json report = json_of(verified);
  CHECK(report["ok"] == true);
  CHECK(report["entries_verified"] == 4);
  CHECK(report["head"]["count"] == 4);
  CHECK(report["head"]["last_mac"].get<std::string>().size() == 64);
  const Run verified_text = run_cli(dir.path(), {"audit", "verify"});
  CHECK(verified_text.exit_code == 0);
  CHECK(verified_text.out.find("intact: 4 entries") != std::string::npos);
}

TEST_CASE("disclose: a bad request exits 2 with its code and leaves the database unchanged",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  link_phone(dir);
  const auto before = db_snapshot(dir);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    const char* code;
  };
  const std::vector<Case> refused = {
      {disclose_args(kNumber, ""), 2, "invalid_legal_request"},
      {disclose_args(kNumber, "line\nbreak"), 2, "invalid_legal_request"},
      {disclose_args(kNumber, "bidi \xe2\x80\xae"), 2, "invalid_legal_request"},
      {disclose_args(kNumber, " padded"), 2, "invalid_legal_request"},
      {disclose_args(kNumber, std::string(129, 'a')), 2, "input_too_long"},
      {disclose_args(kNumber, "FIA", std::string(257, 'b')), 2, "input_too_long"},
      {disclose_args({"--phone", "+92 12"}), 2, "phone_too_short"},
      {disclose_args({"--email", "alice@@example.com"}), 2, "email_syntax"},
      {disclose_args({"--email", "alice@example.com", "--region", "PK"}), 2, "invalid_argument"},
      {disclose_args({}), 2, "invalid_argument"},  // neither --phone nor --email
      {disclose_args({"--phone", "+923001234567", "--email", "alice@example.com"}), 2,
       "invalid_argument"},
      // The identifier as one positional argument, as disclose once took it, is refused.
      {disclose_args({"+923001234567"}), 2, "invalid_argument"},
      {{"disclose", "--json", "--phone", "+923001234567", "--authority", "FIA"},
       2,
       "invalid_argument"},
  };
  for (const Case& c : refused) {
    std::string shown;
    for (const std::string& arg : c.args) shown += arg + ' ';
    INFO(shown);
    const Run run = run_cli(dir.path(), c.args);
    CHECK(run.exit_code == c.exit_code);
    CHECK(error_code_of(run) == c.code);
    CHECK(run.out.find("3001234567") == std::string::npos);
  }
  CHECK(db_snapshot(dir) == before);
  const Run verified = run_cli(dir.path(), {"audit", "verify", "--json"});
  REQUIRE(verified.exit_code == 0);
  CHECK(json_of(verified)["entries_verified"] == 0);
  CHECK(json_of(verified)["head"].is_null());
}

TEST_CASE(
    "link and disclose: an account id or a request field holding an email address or a phone "
    "number exits 2 with its code and stores nothing",
    "[cli]") {
  TempDir dir;
  keygen(dir);
  link_phone(dir);
  const Started started = start(dir, {"--phone", "+92 300 7654321"});
  const auto before = db_snapshot(dir);

  const Run account =
      run_cli(dir.path(), {"link", "--json", "--account", "pat.doe@example.com", "--challenge",
                           started.challenge, "--code", started.code});
  CHECK(account.exit_code == 2);
  CHECK(error_code_of(account) == "account_id_personal_data");
  CHECK(account.out.find("pat.doe") == std::string::npos);

  std::vector<std::string> disclose = {
      "disclose",       "--json",
      "--phone",        "+92 300 1234567",
      "--authority",    "FIA Cybercrime Wing",
      "--reference",    "lookup of +92 300 1234567 for pat.doe@example.com",
      "--legal-basis",  "PECA 2016 s.34",
      "--requested-by", "ops.amina"};
  const Run reference = run_cli(dir.path(), disclose);
  CHECK(reference.exit_code == 2);
  CHECK(error_code_of(reference) == "legal_request_personal_data");
  CHECK(reference.out.find("pat.doe") == std::string::npos);
  CHECK(db_snapshot(dir) == before);
  const Run verified = run_cli(dir.path(), {"audit", "verify", "--json"});
  REQUIRE(verified.exit_code == 0);
  CHECK(json_of(verified)["entries_verified"] == 0);

  // The code was not spent by the refusal: an ordinary id links with it, and an ordinary
  // reference is recorded.
  const Run linked =
      run_cli(dir.path(), {"link", "--json", "--account", "1234567890", "--challenge",
                           started.challenge, "--code", started.code});
  INFO(linked.err);
  CHECK(linked.exit_code == 0);
  disclose[7] = "case 2026-0042";
  CHECK(run_cli(dir.path(), disclose).exit_code == 0);
}

TEST_CASE("disclose, audit verify and transparency: a missing database is exit 4, not created",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  for (const std::vector<std::string>& args :
       {disclose_args(kNumber), std::vector<std::string>{"audit", "verify", "--json"},
        std::vector<std::string>{"transparency", "--json"}}) {
    INFO(args[0]);
    const Run run = run_cli(dir.path(), args);
    CHECK(run.exit_code == 4);
    CHECK(error_code_of(run) == "unavailable");
    CHECK_FALSE(fs::exists(dir / "veribind.db"));
  }
}

TEST_CASE("audit verify: an edited, a deleted or a truncated log exits 1 and says where", "[cli]") {
  TempDir dir;
  keygen(dir);
  link_phone(dir);
  for (int i = 0; i < 4; ++i) REQUIRE(run_cli(dir.path(), disclose_args(kNumber)).exit_code == 0);
  std::string tamper;
  std::string problem;
  int sequence = 0;
  SECTION("edit") {
    tamper = "UPDATE audit_log SET authority = 'Nobody' WHERE sequence = 2";
    problem = "edited", sequence = 2;
  }
  SECTION("delete") {
    tamper = "DELETE FROM audit_log WHERE sequence = 3";
    problem = "deleted", sequence = 3;
  }
  SECTION("reorder") {
    tamper =
        "UPDATE audit_log SET sequence = 99 WHERE sequence = 1;"
        "UPDATE audit_log SET sequence = 1 WHERE sequence = 2;"
        "UPDATE audit_log SET sequence = 2 WHERE sequence = 99;";
    problem = "reordered", sequence = 1;
  }
  SECTION("truncate") {
    tamper = "DELETE FROM audit_log WHERE sequence = 4";
    problem = "truncated", sequence = 4;
  }
  attacker_sql(dir, "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;" + tamper);

  const Run run = run_cli(dir.path(), {"audit", "verify", "--json"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 1);
  const json report = json_of(run);
  CHECK(report["ok"] == false);
  CHECK(report["problem"] == problem);
  CHECK(report["sequence"] == sequence);
  CHECK(report["entries_verified"] == sequence - 1);
  const Run text = run_cli(dir.path(), {"audit", "verify"});
  CHECK(text.exit_code == 1);
  CHECK(text.out.find("NOT INTACT: " + problem + " at sequence " + std::to_string(sequence)) !=
        std::string::npos);

  // No counts are published from a log that does not verify.
  const Run counts = run_cli(dir.path(), {"transparency", "--json"});
  CHECK(counts.exit_code == 4);
  CHECK(error_code_of(counts) == "audit_log_corrupt");
}

TEST_CASE("transparency: counts per authority, legal basis and outcome, with --since", "[cli]") {
  TempDir dir;
  keygen(dir);
  link_phone(dir);
  REQUIRE(run_cli(dir.path(), disclose_args(kNumber, "FIA", "PECA s.34")).exit_code == 0);
  REQUIRE(run_cli(dir.path(), disclose_args({"--phone", "+923001234568"}, "FIA", "PECA s.34"))
              .exit_code == 0);
  REQUIRE(run_cli(dir.path(), disclose_args(kNumber, "Police", "court order")).exit_code == 0);

  for (const char* since :
       {"", "946684800", "2000-01-01", "2000-01-01T00:00:00Z", "2000-01-01T05:00:00+05:00"}) {
    INFO(since);
    std::vector<std::string> args = {"transparency", "--json"};
    if (*since != '\0') args.insert(args.end(), {"--since", since});
    const Run run = run_cli(dir.path(), args);
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    const json report = json_of(run);
    CHECK(report["requests"] == 3);
    CHECK(report["accounts_returned"] == 2);
    CHECK(report["by_authority"] == json({{"FIA", 2}, {"Police", 1}}));
    CHECK(report["by_legal_basis"] == json({{"PECA s.34", 2}, {"court order", 1}}));
    CHECK(report["by_outcome"] == json({{"accounts_found", 2}, {"none_found", 1}}));
    CHECK(report["by_channel"] == json({{"phone", 3}}));
    CHECK(report["audit_log"]["verified"] == true);
    CHECK(report["audit_log"]["entries"] == 3);
    if (*since == '\0') CHECK(report["since"].is_null());
    if (*since != '\0') CHECK(report["since"] == "2000-01-01T00:00:00Z");
  }
  // 2100-01-01: nothing yet, while the log still verifies all three entries.
  for (const char* future : {"4102444800", "2100-01-01"}) {
    const Run later = run_cli(dir.path(), {"transparency", "--json", "--since", future});
    REQUIRE(later.exit_code == 0);
    CHECK(json_of(later)["requests"] == 0);
    CHECK(json_of(later)["by_authority"] == json::object());
    CHECK(json_of(later)["audit_log"]["entries"] == 3);
  }
  const Run text = run_cli(dir.path(), {"transparency"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("requests      3") != std::string::npos);
  CHECK(text.out.find("2\tFIA") != std::string::npos);

  for (const char* bad : {"yesterday", "2026-02-30", "2026-01-01T25:00:00Z", "2026-01-01T10:00:00",
                          "-5", "2026-1-1"}) {
    INFO(bad);
    const Run run = run_cli(dir.path(), {"transparency", "--json", "--since", bad});
    CHECK(run.exit_code == 2);
    CHECK(error_code_of(run) == "invalid_argument");
  }
}
TEST_CASE(
    "audit verify --expect-head: a log rolled back with its head to an older copy exits 1 with "
    "audit_log_corrupt",
    "[cli]") {
  TempDir dir;
  keygen(dir);
  link_phone(dir);
  for (int i = 0; i < 2; ++i) REQUIRE(run_cli(dir.path(), disclose_args(kNumber)).exit_code == 0);
  // The attacker keeps a copy of the head as it is now...
  attacker_sql(dir, "CREATE TABLE kept_head AS SELECT * FROM audit_head");
  for (int i = 0; i < 2; ++i) REQUIRE(run_cli(dir.path(), disclose_args(kNumber)).exit_code == 0);

  // ...while the operator publishes the head that transparency prints with its counts.
  const Run published = run_cli(dir.path(), {"transparency", "--json"});
  INFO(published.out << published.err);
  REQUIRE(published.exit_code == 0);
  const std::string head = json_of(published)["audit_log"]["head"].get<std::string>();
  CHECK(head.size() == 2 + 64);
  CHECK(head.rfind("4:", 0) == 0);
  const Run text_report = run_cli(dir.path(), {"transparency"});
  CHECK(text_report.out.find("head          " + head) != std::string::npos);
  const Run intact = run_cli(dir.path(), {"audit", "verify", "--json", "--expect-head", head});
  INFO(intact.out << intact.err);
  CHECK(intact.exit_code == 0);
  CHECK(json_of(intact)["ok"] == true);

  // Later the attacker deletes the last two entries and puts the kept head back.
  attacker_sql(dir,
               "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_head_no_delete;"
               "DELETE FROM audit_log WHERE sequence > 2; DELETE FROM audit_head;"
               "INSERT INTO audit_head SELECT * FROM kept_head; DROP TABLE kept_head;");
  // The store alone cannot tell...
  const Run alone = run_cli(dir.path(), {"audit", "verify", "--json"});
  CHECK(alone.exit_code == 0);
  // ...the published head can.
  const Run run = run_cli(dir.path(), {"audit", "verify", "--json", "--expect-head", head});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 1);
  const json report = json_of(run);
  CHECK(report["ok"] == false);
  CHECK(report["problem"] == "published_head_mismatch");
  CHECK(report["sequence"] == 3);
  CHECK(report["entries_verified"] == 2);
  CHECK(error_code_of(run) == "audit_log_corrupt");
  const Run text = run_cli(dir.path(), {"audit", "verify", "--expect-head", head});
  CHECK(text.exit_code == 1);
  CHECK(text.out.find("NOT INTACT: published_head_mismatch at sequence 3") != std::string::npos);
  CHECK(text.err.find("[audit_log_corrupt]") != std::string::npos);
}

TEST_CASE("audit verify --expect-head: anything but COUNT:MAC is refused with exit 2", "[cli]") {
  TempDir dir;
  keygen(dir);
  link_phone(dir);
  REQUIRE(run_cli(dir.path(), disclose_args(kNumber)).exit_code == 0);
  const std::string mac(64, 'a');
  for (const std::string& bad : std::vector<std::string>{
           "", "1", "1" + mac, "1:", ":" + mac, "01:" + mac, "-1:" + mac, "+1:" + mac, " 1:" + mac,
           "1:" + mac + " ", "1:" + mac.substr(1), "1:" + mac + "a", "1:" + std::string(64, 'A'),
           "1:" + std::string(63, 'a') + "g", "0:" + mac, "99999999999999999999:" + mac}) {
    INFO(bad);
    const Run run = run_cli(dir.path(), {"audit", "verify", "--json", "--expect-head", bad});
    CHECK(run.exit_code == 2);
    CHECK(error_code_of(run) == "invalid_argument");
  }
  // An empty log's head, "0:" and 64 zeros, is well formed (and every log holds it).
  const Run empty = run_cli(
      dir.path(), {"audit", "verify", "--json", "--expect-head", "0:" + std::string(64, '0')});
  CHECK(empty.exit_code == 0);
}

namespace {

// Every row of one column of `query`, as text, read on a connection of its own.
std::vector<std::string> query_rows(const TempDir& dir, const std::string& query) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((dir / "veribind.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    rows.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  }
  sqlite3_finalize(st);
  sqlite3_close_v2(db);
  REQUIRE(rc == SQLITE_DONE);
  return rows;
}

}  // namespace

TEST_CASE(
    "start: a database whose challenge index has a corrupt page fails with store_error (exit 4) "
    "and leaves every counter as it was",
    "[cli]") {
  TempDir dir;
  keygen(dir);
  // One start first, so that the cooldown, hourly, calling-code and global counters exist.
  start(dir, kPhone);
  // Fold the WAL into the file, then overwrite the page of the challenges' expiry index (a leaf
  // of one page while the table is this small) with bytes that are no b-tree page: what a torn
  // write or a bad sector leaves. The counters' pages stay readable.
  attacker_sql(dir, "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::string page_size = query_rows(dir, "PRAGMA page_size").at(0);
  const std::string root =
      query_rows(dir, "SELECT rootpage FROM sqlite_master WHERE name = 'challenges_by_expiry'")
          .at(0);
  const std::string counters_query =
      "SELECT hex(key) || ' ' || window_end || ' ' || count FROM counters ORDER BY key";
  const std::vector<std::string> counters_before = query_rows(dir, counters_query);
  REQUIRE(counters_before.size() >= 4);
  {
    std::fstream file(dir / "veribind.db", std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(file);
    file.seekp(static_cast<std::streamoff>((std::stoll(root) - 1) * std::stoll(page_size)));
    const std::string garbage(static_cast<std::size_t>(std::stoll(page_size)), '\xff');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    REQUIRE(file);
  }

  // Another number, so that nothing but the corrupt page stands in its way.
  const Run run = run_cli(dir.path(), {"start", "--json", "--phone", "+92 301 7654321"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 4);
  CHECK(error_code_of(run) == "store_error");
  // Nothing the failed start would have written is there: no counter moved.
  CHECK(query_rows(dir, counters_query) == counters_before);
  CHECK(query_rows(dir, "SELECT count(*) FROM challenges NOT INDEXED") ==
        std::vector<std::string>{"1"});
}

TEST_CASE("purge: removes every expired row in bounded batches and keeps the live ones", "[cli]") {
  TempDir dir;
  seed_expired_rows(dir, 5, 2);
  const Run before = run_cli(dir.path(), {"retention", "--json"});
  REQUIRE(before.exit_code == 0);
  REQUIRE(kind_entry(json_of(before), "challenges")["rows"] == 7);
  REQUIRE(kind_entry(json_of(before), "challenges")["expired"] == 5);

  const Run run = run_cli(dir.path(), {"purge", "--batch", "2", "--json"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const json purged = json_of(run);
  REQUIRE(purged["purged"]["challenges"] == 5);
  REQUIRE(purged["purged"]["counters"] == 5);
  REQUIRE(purged["batches"] == 3);  // 2 + 2 + 1
  REQUIRE(purged["batch_size"] == 2);

  const json after = json_of(run_cli(dir.path(), {"retention", "--json"}));
  REQUIRE(kind_entry(after, "challenges")["rows"] == 2);
  REQUIRE(kind_entry(after, "challenges")["expired"] == 0);
  REQUIRE(kind_entry(after, "counters")["rows"] == 2);

  const Run text = run_cli(dir.path(), {"purge"});
  REQUIRE(text.exit_code == 0);
  REQUIRE(text.out.find("purged 0 expired challenges and 0 ended rate-limit counters in 1 batch") !=
          std::string::npos);
}

TEST_CASE("retention: lists every kind with rows, bytes, oldest and what a row reveals", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, {"--phone", "+923001234567"});
  const json link =
      json_of(run_cli(dir.path(), {"link", "--json", "--account", "acct-1", "--challenge",
                                   started.challenge, "--code", started.code}));
  REQUIRE_FALSE(link.contains("error"));

  const Run run = run_cli(dir.path(), {"retention", "--json"});
  REQUIRE(run.exit_code == 0);
  const json retention = json_of(run);
  REQUIRE(retention["kinds"].size() == 5);
  CHECK(kind_entry(retention, "audit_log")["rows"] == 0);
  // The link's right code cleared its identifier's failure count (there was none to clear).
  CHECK(kind_entry(retention, "failure_counts")["rows"] == 0);
  const json& bindings = kind_entry(retention, "bindings");
  REQUIRE(bindings["rows"] == 1);
  REQUIRE(bindings["bytes"].get<std::uint64_t>() > 0);
  REQUIRE(bindings["bytes_method"] == "measured");  // Debian's SQLite has dbstat
  REQUIRE(bindings["oldest_created"].is_string());
  REQUIRE(bindings["earliest_expiry"].is_null());
  REQUIRE(bindings["reveals"].get<std::string>().find("blind index") != std::string::npos);
  // Nothing a row reveals is the number itself.
  REQUIRE(run.out.find("923001234567") == std::string::npos);

  const Run text = run_cli(dir.path(), {"retention"});
  REQUIRE(text.exit_code == 0);
  for (const char* kind :
       {"challenges", "counters", "failure_counts", "bindings", "reveals", "kept"}) {
    REQUIRE(text.out.find(kind) != std::string::npos);
  }
}

TEST_CASE("purge and retention: a missing database is an error and is not created", "[cli]") {
  TempDir dir;
  for (const char* command : {"purge", "retention"}) {
    const Run run = run_cli(dir.path(), {command, "--json"});
    REQUIRE(run.exit_code == 4);
    REQUIRE(error_code_of(run) == "unavailable");
    REQUIRE_FALSE(fs::exists(dir / "veribind.db"));
  }
  const Run bad = run_cli(dir.path(), {"purge", "--batch", "0", "--json"});
  REQUIRE(bad.exit_code == 2);
  REQUIRE(error_code_of(bad) == "invalid_argument");
}

// Small measurement sizes, so that the test is quick; the figures are the machine's, so only
// their shape and the arithmetic of the assumed rows are checked.
const std::vector<std::string> kQuickCompare = {"compare",
                                                "--json",
                                                "--iterations=200",
                                                "--rounds=1",
                                                "--argon2id-hashes=1",
                                                "--argon2id-opslimit=1",
                                                "--argon2id-memlimit-mib=1",
                                                "--accounts=200"};

TEST_CASE("compare: one JSON object of labelled rows, with the assumptions applied", "[cli]") {
  TempDir dir;
  std::vector<std::string> args = kQuickCompare;
  args.insert(args.end(), {"--region", "GB", "--sms-price-usd", "0.2", "--send-budget-per-hour",
                           "100", "--sim-price-usd", "3"});
  const Run run = run_cli(dir.path(), args);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  REQUIRE(run.err.find("measuring") != std::string::npos);  // progress goes to stderr
  const json result = json_of(run);
  REQUIRE(result["region"] == "GB");
  REQUIRE(result["rows"].size() == 15);
  for (const json& row : result["rows"]) {
    const std::string basis = row.at("basis");
    REQUIRE((basis == "measured" || basis == "derived" || basis == "assumed"));
    REQUIRE(row["phone_linked"]["text"].is_string());
    REQUIRE(row["email_linked"]["text"].is_string());
  }
  std::map<std::string, json> by_key;
  for (const json& row : result["rows"]) by_key[row["key"]] = row;
  REQUIRE(by_key["pumping_exposure"]["phone_linked"]["value"].get<double>() == Approx(100 * 0.2));
  REQUIRE(by_key["fake_account_cost"]["phone_linked"]["value"].get<double>() == 3);
  const double space = by_key["identifier_space"]["phone_linked"]["value"];
  const double rate = by_key["blind_index_rate"]["phone_linked"]["value"];
  REQUIRE(by_key["enumerate_if_key_leaks"]["phone_linked"]["value"].get<double>() ==
          Approx(space / rate));
  REQUIRE(by_key["bytes_per_account"]["phone_linked"]["value"].get<double>() > 32);
  REQUIRE(fs::is_empty(dir.path()));  // scratch databases are made elsewhere and removed
}

TEST_CASE("compare: an unknown region or a negative price is refused with exit 2", "[cli]") {
  TempDir dir;
  std::vector<std::string> args = kQuickCompare;
  args.insert(args.end(), {"--region", "XX"});
  const Run unknown = run_cli(dir.path(), args);
  REQUIRE(unknown.exit_code == 2);
  REQUIRE(error_code_of(unknown) == "invalid_argument");

  args = kQuickCompare;
  args.insert(args.end(), {"--sms-price-usd", "-1"});
  const Run negative = run_cli(dir.path(), args);
  REQUIRE(negative.exit_code == 2);
  REQUIRE(json_of(negative)["error"]["message"].get<std::string>().find("sms_price_usd") !=
          std::string::npos);
}

// --- sealed contacts and key rotation -----------------------------------------------------------

namespace {

// start + link, with extra link arguments; returns the link run.
Run signup(const TempDir& dir, const std::string& account, const std::vector<std::string>& phone,
           std::vector<std::string> extra = {}) {
  // No resend cooldown: the tests sign up one number again right after an erasure.
  std::vector<std::string> start_args = phone;
  start_args.insert(start_args.end(), {"--resend-cooldown", "0"});
  const Started started = start(dir, start_args);
  std::vector<std::string> args = {"link",        "--json",          "--account", account,
                                   "--challenge", started.challenge, "--code",    started.code};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(dir.path(), args);
}

}  // namespace

TEST_CASE(
    "keygen: a FIFO at --key-file is refused at once, and a key file dropped beside the key is "
    "not used",
    "[cli]") {
  TempDir dir;
  REQUIRE(mkfifo((dir / "fifo.key").c_str(), 0600) == 0);
  const Run fifo = run_cli(
      dir.path(), {"start", "--json", "--phone", "+923001234567", "--key-file", "fifo.key"});
  CHECK(fifo.exit_code == 4);
  CHECK(error_code_of(fifo) == "key_file_malformed");

  keygen(dir);
  REQUIRE(signup(dir, "acct-1", kPhone).exit_code == 0);
  // Someone drops a well-formed key file of a new version beside the key.
  {
    std::ofstream planted(dir / "veribind.key.v2", std::ios::binary);
    planted << std::string(32, 'p');
  }
  REQUIRE(chmod((dir / "veribind.key.v2").c_str(), 0600) == 0);
  const Run rotated = run_cli(dir.path(), {"rotate", "--json"});
  INFO(rotated.err);
  REQUIRE(rotated.exit_code == 0);
  CHECK(json_of(rotated)["current"] == 1);
  CHECK(json_of(rotated)["older_versions"] == json::array());
}

TEST_CASE("keygen --version: adds <key-file>.vN with mode 0600, and versions only grow", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Run added = run_cli(dir.path(), {"keygen", "--json", "--version", "2"});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  CHECK(json_of(added)["version"] == 2);
  struct stat info {};
  REQUIRE(stat((dir / "veribind.key.v2").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  for (const char* version : {"2", "1"}) {
    const Run again = run_cli(dir.path(), {"keygen", "--json", "--version", version});
    CHECK(again.exit_code == 2);
    CHECK(error_code_of(again) == "invalid_argument");
  }
}

TEST_CASE("link --retain-contact sealed: needs the identifier, before any code is spent", "[cli]") {
  TempDir dir;
  keygen(dir);
  const Started started = start(dir, kPhone);
  const Run refused = run_cli(
      dir.path(), {"link", "--json", "--account", "acct-1", "--challenge", started.challenge,
                   "--code", started.code, "--retain-contact", "sealed"});
  CHECK(refused.exit_code == 2);
  CHECK(error_code_of(refused) == "identifier_required");
  const Run bad = run_cli(
      dir.path(), {"link", "--json", "--account", "acct-1", "--challenge", started.challenge,
                   "--code", started.code, "--retain-contact", "forever"});
  CHECK(bad.exit_code == 2);
  CHECK(error_code_of(bad) == "invalid_argument");
  // The code is still good.
  std::vector<std::string> args = {
      "link",   "--json",     "--account",        "acct-1", "--challenge", started.challenge,
      "--code", started.code, "--retain-contact", "sealed"};
  args.insert(args.end(), kPhoneNational.begin(), kPhoneNational.end());
  const Run linked = run_cli(dir.path(), args);
  INFO(linked.err);
  REQUIRE(linked.exit_code == 0);
  CHECK(json_of(linked)["contact"] == "sealed");
  CHECK(fs::exists(dir / "veribind-contact-keys.db"));
}

TEST_CASE("contact: shows the sealed contact masked, for a security purpose only", "[cli]") {
  TempDir dir;
  keygen(dir);
  std::vector<std::string> seal = {"--retain-contact", "sealed"};
  seal.insert(seal.end(), kPhone.begin(), kPhone.end());
  REQUIRE(signup(dir, "acct-1", kPhone, seal).exit_code == 0);

  for (const char* purpose : {"recovery", "security_notice"}) {
    const Run shown = run_cli(dir.path(), {"contact", "acct-1", "--json", "--purpose", purpose});
    INFO(shown.err);
    REQUIRE(shown.exit_code == 0);
    const json object = json_of(shown);
    CHECK(object["channel"] == "phone");
    CHECK(object["purpose"] == purpose);
    CHECK(object["masked"].get<std::string>().find("********") != std::string::npos);
    CHECK(shown.out.find("3001234567") == std::string::npos);  // never the number itself
  }
  const auto before = db_snapshot(dir);
  for (const char* purpose : {"marketing", "analytics", ""}) {
    const Run refused = run_cli(dir.path(), {"contact", "acct-1", "--json", "--purpose", purpose});
    CHECK(refused.exit_code == 3);
    CHECK(error_code_of(refused) == "not_a_security_purpose");
  }
  const Run missing = run_cli(dir.path(), {"contact", "acct-1", "--json"});
  CHECK(missing.exit_code == 2);
  const Run nobody = run_cli(dir.path(), {"contact", "nobody", "--json", "--purpose", "recovery"});
  CHECK(nobody.exit_code == 1);
  CHECK(error_code_of(nobody) == "no_contact");
  CHECK(db_snapshot(dir) == before);
}

TEST_CASE("erase: destroys the sealed contact's key and the binding, and the number is free again",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  std::vector<std::string> seal = {"--retain-contact", "sealed"};
  seal.insert(seal.end(), kPhone.begin(), kPhone.end());
  REQUIRE(signup(dir, "acct-1", kPhone, seal).exit_code == 0);
  // A copy of the database from before the erasure.
  fs::copy_file(dir / "veribind.db", dir / "backup.db");

  const Run erased = run_cli(dir.path(), {"erase", "acct-1", "--json"});
  INFO(erased.err);
  REQUIRE(erased.exit_code == 0);
  CHECK(json_of(erased)["bindings_removed"] == 1);
  const Run gone = run_cli(dir.path(), {"contact", "acct-1", "--json", "--purpose", "recovery"});
  CHECK(error_code_of(gone) == "no_contact");
  // The backup still has the binding, but its contact can no longer be opened.
  const Run from_backup = run_cli(
      dir.path(), {"contact", "acct-1", "--json", "--purpose", "recovery", "--db", "backup.db"});
  CHECK(from_backup.exit_code == 4);
  CHECK(error_code_of(from_backup) == "key_unavailable");
  CHECK(signup(dir, "acct-2", kPhone).exit_code == 0);
  const Run bad = run_cli(dir.path(), {"erase", "bad account", "--json"});
  CHECK(bad.exit_code == 2);
  CHECK(error_code_of(bad) == "invalid_account_id");
}

namespace {

// The number of data keys in an SQLite contact key store, read with the sqlite3 library.
long long data_keys_in(const fs::path& key_store) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(key_store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM contact_keys", -1, &statement, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  const long long count = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close_v2(db);
  return count;
}

}  // namespace

namespace {

// The wrapped data keys in an SQLite contact key store.
std::vector<std::string> wrapped_keys_in(const fs::path& key_store) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(key_store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT wrapped FROM contact_keys", -1, &statement, nullptr) ==
          SQLITE_OK);
  std::vector<std::string> keys;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement, 0));
    keys.emplace_back(bytes, static_cast<std::size_t>(sqlite3_column_bytes(statement, 0)));
  }
  sqlite3_finalize(statement);
  sqlite3_close_v2(db);
  return keys;
}

// Whether `needle` occurs in the bytes of `file` (false if there is no such file).
bool file_holds(const fs::path& file, const std::string& needle) {
  const std::optional<std::string> bytes = read_file(file);
  return bytes && bytes->find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "erase: while another process reads the key store, says the key's copies remain in the live "
    "files, and a later erase run removes them",
    "[cli]") {
  TempDir dir;
  keygen(dir);
  std::vector<std::string> seal = {"--retain-contact", "sealed"};
  seal.insert(seal.end(), kPhone.begin(), kPhone.end());
  REQUIRE(signup(dir, "acct-1", kPhone, seal).exit_code == 0);
  const fs::path key_store = dir / "veribind-contact-keys.db";
  const std::vector<std::string> wrapped = wrapped_keys_in(key_store);
  REQUIRE(wrapped.size() == 1);

  // A reader (a backup tool, say) holds a read transaction on the key store: the checkpoint that
  // folds the WAL into the file and truncates it cannot complete while it lasts.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2(key_store.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM contact_keys;", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  const Run erased = run_cli(dir.path(), {"erase", "acct-1", "--json"});
  INFO(erased.out << erased.err);
  CHECK(erased.exit_code == 0);
  const json report = json_of(erased);
  CHECK(report["bindings_removed"] == 1);
  CHECK(report["key_copies_remain"] == true);
  CHECK(report["warning"].get<std::string>().find("until") != std::string::npos);
  const Run text = run_cli(dir.path(), {"erase", "acct-1"});  // nothing left to remove
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("copies remain") != std::string::npos);
  CHECK(data_keys_in(key_store) == 0);

  REQUIRE(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close_v2(reader);
  // With the reader gone, the next erase (of anything) completes the clean-up.
  const Run again = run_cli(dir.path(), {"erase", "acct-1", "--json"});
  CHECK(again.exit_code == 0);
  CHECK(json_of(again)["key_copies_remain"] == false);
  CHECK_FALSE(json_of(again).contains("warning"));
  for (const char* file : {"veribind-contact-keys.db", "veribind-contact-keys.db-wal"}) {
    INFO(file);
    CHECK_FALSE(file_holds(dir / file, wrapped[0]));
  }
}

TEST_CASE(
    "erase: with another key store than the one the contact was linked with, exits 4 and destroys "
    "nothing",
    "[cli]") {
  TempDir dir;
  keygen(dir);
  fs::create_directory(dir / "srv");
  // acct-1's data key goes to srv/keys.db...
  std::vector<std::string> seal = {"--retain-contact", "sealed", "--contact-keys", "srv/keys.db"};
  seal.insert(seal.end(), kPhone.begin(), kPhone.end());
  REQUIRE(signup(dir, "acct-1", kPhone, seal).exit_code == 0);
  // ...and another key store sits at the default path, with a key of its own.
  const std::vector<std::string> other = {"--phone", "+92 300 7654321"};
  std::vector<std::string> seal_other = {"--retain-contact", "sealed"};
  seal_other.insert(seal_other.end(), other.begin(), other.end());
  REQUIRE(signup(dir, "acct-2", other, seal_other).exit_code == 0);
  REQUIRE(fs::exists(dir / "veribind-contact-keys.db"));
  fs::copy_file(dir / "veribind.db", dir / "backup.db");

  // erase without --contact-keys opens ./veribind-contact-keys.db, which lacks acct-1's key.
  const Run wrong = run_cli(dir.path(), {"erase", "acct-1", "--json"});
  CHECK(wrong.exit_code == 4);
  CHECK(error_code_of(wrong) == "contact_key_missing");
  CHECK(json_of(wrong)["error"]["message"].get<std::string>().find("3001234567") ==
        std::string::npos);
  const Run wrong_text = run_cli(dir.path(), {"erase", "acct-1"});
  CHECK(wrong_text.exit_code == 4);
  CHECK(wrong_text.out.find("destroyed") == std::string::npos);

  // The binding is still there, both key stores still hold their key, and the real one still
  // opens the contact.
  CHECK(data_keys_in(dir / "srv" / "keys.db") == 1);
  CHECK(data_keys_in(dir / "veribind-contact-keys.db") == 1);
  std::vector<std::string> find = {"find", "--json"};
  find.insert(find.end(), kPhone.begin(), kPhone.end());
  CHECK(json_of(run_cli(dir.path(), find))["accounts"] == json::array({"acct-1"}));
  CHECK(run_cli(dir.path(),
                {"contact", "acct-1", "--purpose", "recovery", "--contact-keys", "srv/keys.db"})
            .exit_code == 0);
  CHECK(run_cli(dir.path(), {"contact", "acct-2", "--purpose", "recovery"}).exit_code == 0);

  // With the key store it was linked with, the erasure shreds the contact, backups included.
  const Run erased =
      run_cli(dir.path(), {"erase", "acct-1", "--json", "--contact-keys", "srv/keys.db"});
  INFO(erased.err);
  REQUIRE(erased.exit_code == 0);
  CHECK(json_of(erased)["bindings_removed"] == 1);
  CHECK(data_keys_in(dir / "srv" / "keys.db") == 0);
  CHECK(data_keys_in(dir / "veribind-contact-keys.db") == 1);
  const Run from_backup =
      run_cli(dir.path(), {"contact", "acct-1", "--json", "--purpose", "recovery", "--db",
                           "backup.db", "--contact-keys", "srv/keys.db"});
  CHECK(error_code_of(from_backup) == "key_unavailable");
}

TEST_CASE("rotate, erase and contact: a missing or empty database is exit 4 and is not created",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"rotate", "--json"},
        std::vector<std::string>{"erase", "acct-1", "--json"},
        std::vector<std::string>{"contact", "acct-1", "--json", "--purpose", "recovery"}}) {
    INFO(args[0]);
    const Run missing = run_cli(dir.path(), args);
    CHECK(missing.exit_code == 4);
    CHECK(error_code_of(missing) == "unavailable");
    CHECK_FALSE(fs::exists(dir / "veribind.db"));
    { std::ofstream empty(dir / "veribind.db"); }
    const Run empty = run_cli(dir.path(), args);
    CHECK(empty.exit_code == 4);
    CHECK(error_code_of(empty) == "unavailable");
    CHECK(fs::file_size(dir / "veribind.db") == 0);
    fs::remove(dir / "veribind.db");
  }
}

TEST_CASE("rotate: sealed bindings move to v2, and v1 is retired only when nothing uses it",
          "[cli]") {
  TempDir dir;
  keygen(dir);
  std::vector<std::string> seal = {"--retain-contact", "sealed"};
  seal.insert(seal.end(), kPhone.begin(), kPhone.end());
  REQUIRE(signup(dir, "acct-sealed", kPhone, seal).exit_code == 0);
  const std::vector<std::string> other = {"--phone", "+92 300 7654321"};
  REQUIRE(signup(dir, "acct-plain", other).exit_code == 0);
  REQUIRE(run_cli(dir.path(), {"keygen", "--version", "2"}).exit_code == 0);

  // Both are still found; a new link of a bound number is refused across versions.
  for (const auto& phone : {kPhone, other}) {
    std::vector<std::string> args = {"find", "--json"};
    args.insert(args.end(), phone.begin(), phone.end());
    CHECK(json_of(run_cli(dir.path(), args))["accounts"].size() == 1);
  }
  const Run no_identifier = signup(dir, "acct-3", other);
  CHECK(error_code_of(no_identifier) == "identifier_required");
  const Run duplicate = signup(dir, "acct-3", other, other);
  CHECK(duplicate.exit_code == 3);
  CHECK(error_code_of(duplicate) == "already_bound");

  const Run rotated = run_cli(dir.path(), {"rotate", "--json"});
  INFO(rotated.err);
  REQUIRE(rotated.exit_code == 0);
  const json report = json_of(rotated);
  CHECK(report["current"] == 2);
  CHECK(report["sealed_reindexed"] == 1);
  CHECK(report["data_keys_rewrapped"] == 1);
  CHECK(report["awaiting_verification"] == 1);

  const Run refused = run_cli(dir.path(), {"rotate", "--json", "--retire", "1"});
  CHECK(refused.exit_code == 3);
  CHECK(error_code_of(refused) == "key_version_in_use");
  CHECK(json_of(refused)["error"]["message"].get<std::string>().find("1 bindings") !=
        std::string::npos);
  CHECK(fs::exists(dir / "veribind.key"));
  const Run current = run_cli(dir.path(), {"rotate", "--json", "--retire", "2"});
  CHECK(error_code_of(current) == "invalid_argument");

  REQUIRE(run_cli(dir.path(), {"erase", "acct-plain"}).exit_code == 0);
  const Run retired = run_cli(dir.path(), {"rotate", "--json", "--retire", "1"});
  INFO(retired.out);
  REQUIRE(retired.exit_code == 0);
  CHECK(json_of(retired)["retired"] == 1);
  CHECK_FALSE(fs::exists(dir / "veribind.key"));
  std::vector<std::string> find_sealed = {"find", "--json"};
  find_sealed.insert(find_sealed.end(), kPhone.begin(), kPhone.end());
  CHECK(json_of(run_cli(dir.path(), find_sealed))["accounts"] == json::array({"acct-sealed"}));
  CHECK(run_cli(dir.path(), {"contact", "acct-sealed", "--purpose", "recovery"}).exit_code == 0);
  // Retired versions are gone for good, and never handed out again.
  CHECK(error_code_of(run_cli(dir.path(), {"rotate", "--json", "--retire", "1"})) ==
        "key_unavailable");
  CHECK(run_cli(dir.path(), {"keygen", "--json"}).exit_code == 2);
}
