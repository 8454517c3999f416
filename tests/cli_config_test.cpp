// veribind.toml: the CLI reads it (--config, or ./veribind.toml), refuses what it does not know
// with the line, takes paths from the file's directory, and lets the command line win.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"

namespace {

using namespace veribind::testing::cli;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// The code the development sender printed for `start --json`.
std::string code_from_delivery_line(const Run& run) {
  std::istringstream lines(run.err);
  for (std::string line; std::getline(lines, line);) {
    const json d = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (d.is_object() && d.contains("delivery")) return d["delivery"]["code"].get<std::string>();
  }
  return {};
}

std::string message_of(const Run& run) { return json_of(run)["error"]["message"]; }

}  // namespace

TEST_CASE("config: an unknown key is refused with the file's line and runs nothing",
          "[cli][config]") {
  TempDir dir;
  write(dir / "veribind.toml", "[store]\nkey_file = \"k.key\"\n\n[verifier]\ncode_lenght = 8\n");
  const Run run = run_cli(dir.path(), {"keygen", "--json"});
  CHECK(run.exit_code == 2);
  CHECK(error_code_of(run) == "config_file_invalid");
  CHECK(message_of(run) == "veribind.toml:5: [verifier] unknown key \"code_lenght\"");
  CHECK(!fs::exists(dir / "k.key"));
}

TEST_CASE("config: a secret typed inline is refused and the message names the _file key",
          "[cli][config]") {
  TempDir dir;
  write(dir / "c.toml",
        "[delivery.email]\nurl = \"smtp://127.0.0.1:2525\"\nfrom = \"a@example.com\"\n"
        "username = \"u\"\npassword = \"hunter2\"\n");
  const Run run = run_cli(dir.path(), {"keygen", "--json", "--config", "c.toml"});
  CHECK(run.exit_code == 2);
  CHECK(error_code_of(run) == "config_file_invalid");
  const std::string message = message_of(run);
  CHECK(message.find("c.toml:5:") == 0);
  CHECK(message.find("password_file") != std::string::npos);
  CHECK(message.find("hunter2") == std::string::npos);
  CHECK(run.err.find("hunter2") == std::string::npos);
}

TEST_CASE("config: wrong types, bad values and bad TOML are refused with their line",
          "[cli][config]") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[verifier]\nmax_checks = \"five\"\n", "x.toml:2: [verifier] max_checks must be an integer"},
      {"[verifier]\n\nmax_checks = 0\n", "x.toml:3: [verifier] max_checks must be in 1..1000"},
      {"[policy]\nlink = \"sim-linked\"\n",
       "x.toml:2: [policy] link must be \"phone-linked\" or \"email-linked\""},
      {"[delivery.sms]\ntype = \"carrier-pigeon\"\nurl = \"https://127.0.0.1/\"\n",
       "x.toml:2: [delivery.sms] type must be \"webhook\" or \"twilio\""},
      {"[delivery.sms]\ntype = \"webhook\"\nurl = \"https://127.0.0.1/\"\n",
       "x.toml:1: [delivery.sms] secret_file is required"},
      {"[delivery.email]\nurl = \"smtp://127.0.0.1:2525\"\n",
       "x.toml:1: [delivery.email] from is required"},
      {"[stores]\ndb = \"x.db\"\n", "x.toml:1: [top level] unknown key \"stores\""},
      {"[verifier]\ncode_length = 4\n", "x.toml:1: [verifier] "},  // the library's own check
      {"[store]\ndb = \"postgresql://app:hunter2@127.0.0.1/veribind\"\n",
       "x.toml:2: [store] secrets are never inline"},
      {"[store]\ndb = \"postgres://127.0.0.1/veribind?password=hunter2\"\n",
       "x.toml:2: [store] secrets are never inline"},
      {"[store]\ndb = \"\"\n", "x.toml:2: [store] db must not be empty"},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    write(dir / "x.toml", text);
    const Run run = run_cli(dir.path(), {"keygen", "--json", "--config", "x.toml"});
    CHECK(run.exit_code == 2);
    CHECK(error_code_of(run) == "config_file_invalid");
    CHECK(message_of(run).rfind(expected, 0) == 0);
    CHECK(run.out.find("hunter2") == std::string::npos);
  }
  write(dir / "x.toml", "[verifier]\ncode_length = = 6\n");
  const Run syntax = run_cli(dir.path(), {"keygen", "--json", "--config", "x.toml"});
  CHECK(syntax.exit_code == 2);
  CHECK(error_code_of(syntax) == "config_file_invalid");
  CHECK(message_of(syntax).rfind("x.toml:2: ", 0) == 0);
  CHECK(!fs::exists(dir / "veribind.key"));
}

TEST_CASE("config: a --config file that does not exist is an error, not the defaults",
          "[cli][config]") {
  TempDir dir;
  const Run run = run_cli(dir.path(), {"keygen", "--json", "--config", "missing.toml"});
  CHECK(run.exit_code == 4);
  CHECK(error_code_of(run) == "unavailable");
  CHECK(!fs::exists(dir / "veribind.key"));
}

TEST_CASE("config: paths are taken from the file's directory, and the command line wins",
          "[cli][config]") {
  TempDir dir;
  write(dir / "etc" / "veribind.toml",
        "[store]\ndb = \"../state/v.db\"\nkey_file = \"../state/v.key\"\n");
  fs::create_directories(dir / "state");
  REQUIRE(run_cli(dir.path(), {"--config", "etc/veribind.toml", "keygen"}).exit_code == 0);
  CHECK(fs::exists(dir / "state" / "v.key"));
  // The option may also follow the subcommand.
  const Run started = run_cli(dir.path(), {"start", "--email", "pat@example.com", "--json",
                                           "--config", "etc/veribind.toml"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  CHECK(fs::exists(dir / "state" / "v.db"));
  CHECK(!fs::exists(dir / "veribind.db"));

  // --db on the command line wins over [store] db.
  const Run other = run_cli(dir.path(), {"start", "--email", "sam@example.com", "--json",
                                         "--config", "etc/veribind.toml", "--db", "mine.db"});
  INFO(other.err);
  REQUIRE(other.exit_code == 0);
  CHECK(fs::exists(dir / "mine.db"));
}

TEST_CASE(
    "config: ./veribind.toml is read when present, and its [verifier] applies to every "
    "command",
    "[cli][config]") {
  TempDir dir;
  write(dir / "veribind.toml", "[verifier]\ncode_length = 8\nmax_checks = 2\n");
  REQUIRE(run_cli(dir.path(), {"keygen"}).exit_code == 0);
  const Run started = run_cli(dir.path(), {"start", "--email", "pat@example.com", "--json"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  const std::string code = code_from_delivery_line(started);
  REQUIRE(code.size() == 8);
  const std::string challenge = json_of(started)["challenge"];

  // A six-digit code is malformed under this configuration: refused before the store is read.
  const Run short_code =
      run_cli(dir.path(), {"check", "--json", "--challenge", challenge, "--code", "123456"});
  CHECK(short_code.exit_code == 2);
  CHECK(error_code_of(short_code) == "invalid_code");

  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  const Run first =
      run_cli(dir.path(), {"check", "--json", "--challenge", challenge, "--code", wrong});
  CHECK(first.exit_code == 1);
  CHECK(json_of(first)["attempts_left"] == 1);  // max_checks = 2
  const Run right =
      run_cli(dir.path(), {"check", "--json", "--challenge", challenge, "--code", code});
  CHECK(right.exit_code == 0);
  CHECK(json_of(right)["outcome"] == "verified");
}

TEST_CASE("config: [policy] link sets link's default policy, and --policy still wins",
          "[cli][config]") {
  TempDir dir;
  write(dir / "veribind.toml", "[policy]\nlink = \"email-linked\"\n");
  REQUIRE(run_cli(dir.path(), {"keygen"}).exit_code == 0);
  const Run started = run_cli(dir.path(), {"start", "--email", "pat@example.com", "--json"});
  REQUIRE(started.exit_code == 0);
  const std::string challenge = json_of(started)["challenge"];
  const std::string code = code_from_delivery_line(started);
  // Under the file's email-linked policy an email code binds (phone-linked would refuse it).
  const Run linked = run_cli(dir.path(), {"link", "--json", "--account", "acct-1", "--challenge",
                                          challenge, "--code", code});
  INFO(linked.out << linked.err);
  CHECK(linked.exit_code == 0);

  const Run again = run_cli(dir.path(), {"start", "--email", "sam@example.com", "--json"});
  REQUIRE(again.exit_code == 0);
  const Run phone_policy =
      run_cli(dir.path(),
              {"link", "--json", "--account", "acct-2", "--policy", "phone-linked", "--challenge",
               json_of(again)["challenge"], "--code", code_from_delivery_line(again)});
  CHECK(phone_policy.exit_code == 3);
  CHECK(error_code_of(phone_policy) == "wrong_channel");
}

TEST_CASE("config: the configuration the README shows is accepted", "[cli][config]") {
  std::ifstream readme(VERIBIND_README);
  REQUIRE(readme);
  std::stringstream text;
  text << readme.rdbuf();
  const std::string all = text.str();
  const auto begin = all.find("```toml\n[store]");
  REQUIRE(begin != std::string::npos);
  const auto end = all.find("```", begin + 7);
  REQUIRE(end != std::string::npos);
  TempDir dir;
  write(dir / "veribind.toml", all.substr(begin + 8, end - begin - 8));
  const Run run = run_cli(dir.path(), {"keygen", "--json"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK(fs::exists(dir / "veribind.key"));
}

TEST_CASE("config: an SMS template that needs a second segment is refused before anything is sent",
          "[cli][config]") {
  TempDir dir;
  write(dir / "hook.secret", "0123456789abcdef0123456789abcdef");
  fs::permissions(dir / "hook.secret", fs::perms::owner_read | fs::perms::owner_write);
  const std::string sms =
      "[delivery]\nmax_attempts = 1\n\n"
      "[delivery.sms]\ntype = \"webhook\"\nurl = \"https://127.0.0.1:9/hook\"\n"
      "secret_file = \"hook.secret\"\n\n[templates]\n";
  // Urdu is UCS-2 (70 units a segment): a long application name pushes it over.
  write(dir / "veribind.toml", sms +
                                   "app_name = \"Example Payments and Remittances International\"\n"
                                   "domain = \"accounts.example-payments.com\"\n");
  const Run run = run_cli(dir.path(), {"send-test", "--json", "--phone", "+92 300 1234567"});
  CHECK(run.exit_code == 2);
  CHECK(error_code_of(run) == "config_file_invalid");
  const std::string message = message_of(run);
  CHECK(message.find("[templates]") != std::string::npos);
  CHECK(message.find("segments") != std::string::npos);
  CHECK(message.find("max_sms_segments") != std::string::npos);

  // Allowing two segments is the operator's explicit choice.
  write(dir / "veribind.toml",
        sms +
            "app_name = \"Example Payments and Remittances International\"\n"
            "domain = \"accounts.example-payments.com\"\nmax_sms_segments = 3\n");
  const Run allowed = run_cli(dir.path(), {"send-test", "--json", "--phone", "+92 300 1234567"});
  // Past the configuration: the gateway at port 9 is not there, and one attempt is all it gets.
  CHECK(allowed.exit_code == 4);
  CHECK(json_of(allowed)["error"]["code"] == "delivery_failed");
}
