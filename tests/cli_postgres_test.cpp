// The `veribind` program with --db postgresql://...: the whole flow against the ctest PostgreSQL
// server, in a database of the test's own (created and dropped here), run as a child process.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/postgres_support.hpp"

namespace veribind::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/veribind-cli-pg-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the CLI in `dir` through the shell, arguments single-quoted (none of ours contains a
// quote), stdout and stderr to files.
Run run_cli(const TempDir& dir, const std::vector<std::string>& args) {
  std::string line = "cd '" + dir.path().string() + "' && '" VERIBIND_CLI_PATH "'";
  for (const std::string& arg : args) {
    REQUIRE(arg.find('\'') == std::string::npos);
    line += " '" + arg + "'";
  }
  line += " >cli.out 2>cli.err";
  const int status = std::system(line.c_str());
  REQUIRE(WIFEXITED(status));
  Run run{WEXITSTATUS(status), slurp(dir.path() / "cli.out"), slurp(dir.path() / "cli.err")};
  fs::remove(dir.path() / "cli.out");
  fs::remove(dir.path() / "cli.err");
  return run;
}

json json_of(const Run& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.out.find('\n') == run.out.size() - 1);
  return json::parse(run.out);
}

TEST_CASE("cli: --db postgresql:// runs start, link, find and check on PostgreSQL",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);

  const Run started =
      run_cli(dir, {"start", "--email", "Pat@Example.com", "--db", db.url(), "--json"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  const std::string challenge = json_of(started)["challenge"].get<std::string>();
  const json delivery = json::parse(started.err.substr(0, started.err.find('\n')));
  const std::string code = delivery["delivery"]["code"].get<std::string>();

  const Run linked =
      run_cli(dir, {"link", "--account", "acct-1", "--challenge", challenge, "--code", code,
                    "--policy", "email-linked", "--db", db.url(), "--json"});
  INFO(linked.out << linked.err);
  REQUIRE(linked.exit_code == 0);
  REQUIRE(json_of(linked)["account"] == "acct-1");

  // Another process (as another node would) finds the binding ...
  const Run found =
      run_cli(dir, {"find", "--email", "pat@example.com", "--db", db.url(), "--json"});
  REQUIRE(found.exit_code == 0);
  REQUIRE(json_of(found)["accounts"] == json::array({"acct-1"}));
  // ... and the spent code is refused everywhere.
  const Run again =
      run_cli(dir, {"check", "--challenge", challenge, "--code", code, "--db", db.url(), "--json"});
  REQUIRE(again.exit_code == 1);
  REQUIRE(json_of(again)["outcome"] == "unknown");

  // Stored in PostgreSQL, not in a file beside the CLI; and without the address in plaintext.
  REQUIRE_FALSE(fs::exists(dir.path() / "veribind.db"));
  RawPg raw(db.url());
  REQUIRE(raw.column("SELECT count(*) FROM bindings") == std::vector<std::string>{"1"});
  // Every stored row, as text (bytea as hex): neither the address nor its bytes in hex appear.
  const std::vector<std::string> rows = raw.column(
      "SELECT t::text FROM bindings t UNION ALL SELECT t::text FROM challenges t "
      "UNION ALL SELECT t::text FROM counters t");
  REQUIRE(rows.size() >= 2);  // the binding and the send counter
  const std::string hex =
      raw.column("SELECT encode(convert_to('pat@example.com', 'UTF8'), 'hex')")[0];
  for (const std::string& row : rows) {
    INFO(row);
    REQUIRE(row.find("pat@example.com") == std::string::npos);
    REQUIRE(row.find(hex) == std::string::npos);
  }
}

TEST_CASE("cli: an unreachable PostgreSQL server is a system error that does not echo the URL",
          "[cli][postgres]") {
  TempDir dir;
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  const Run refused = run_cli(dir, {"start", "--email", "pat@example.com", "--db",
                                    "postgresql://veribind:s3cret@127.0.0.1:1/veribind", "--json"});
  REQUIRE(refused.exit_code == 4);
  const json object = json_of(refused);
  REQUIRE(object["error"]["code"] == "unavailable");
  REQUIRE(object["error"]["message"].get<std::string>().find("s3cret") == std::string::npos);
  REQUIRE_FALSE(fs::exists(dir.path() / "veribind.db"));

  // The demo shows a database file's bytes: it refuses a PostgreSQL URL rather than guess.
  const Run demo = run_cli(dir, {"demo", "--db", "postgres://127.0.0.1:1/x", "--json"});
  REQUIRE(demo.exit_code == 2);
  REQUIRE(json_of(demo)["error"]["code"] == "invalid_argument");
}

// --- every command on PostgreSQL ----------------------------------------------------------------

struct Started {
  std::string challenge;
  std::string code;
};

// `start --json` on `url`: the challenge from stdout, the code from the delivery line on stderr.
Started start_code(const TempDir& dir, const std::string& url,
                   const std::vector<std::string>& identifier) {
  std::vector<std::string> args = {"start", "--json", "--resend-cooldown", "0", "--db", url};
  args.insert(args.end(), identifier.begin(), identifier.end());
  const Run run = run_cli(dir, args);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json delivery = json::parse(run.err.substr(0, run.err.find('\n')));
  return {json_of(run)["challenge"].get<std::string>(),
          delivery["delivery"]["code"].get<std::string>()};
}

// start + link of `account` to `phone`, with extra link arguments; returns the link's output.
json signup(const TempDir& dir, const std::string& url, const std::string& account,
            const std::vector<std::string>& phone, const std::vector<std::string>& extra = {}) {
  const Started started = start_code(dir, url, phone);
  std::vector<std::string> args = {"link",   "--json",    "--account",   account,
                                   "--db",   url,         "--challenge", started.challenge,
                                   "--code", started.code};
  args.insert(args.end(), extra.begin(), extra.end());
  const Run linked = run_cli(dir, args);
  INFO("stdout: " << linked.out << "\nstderr: " << linked.err);
  REQUIRE(linked.exit_code == 0);
  return json_of(linked);
}

const std::vector<std::string> kPhone = {"--phone", "+92 300 1234567"};
const std::vector<std::string> kOtherPhone = {"--phone", "+92 300 7654321"};

// link arguments that keep the contact sealed, its data key in the SQLite file contact-keys.db.
std::vector<std::string> sealed(const std::vector<std::string>& phone) {
  std::vector<std::string> args = {"--retain-contact", "sealed", "--contact-keys",
                                   "contact-keys.db"};
  args.insert(args.end(), phone.begin(), phone.end());
  return args;
}

std::vector<std::string> disclose_args(const std::string& url, const std::vector<std::string>& who,
                                       const std::string& authority = "FIA") {
  std::vector<std::string> args = {"disclose",      "--json",    "--db",           url,
                                   "--authority",   authority,   "--reference",    "FIR-0117",
                                   "--legal-basis", "PECA s.34", "--requested-by", "ops.amina"};
  args.insert(args.end(), who.begin(), who.end());
  return args;
}

json find_accounts(const TempDir& dir, const std::string& url,
                   const std::vector<std::string>& phone) {
  std::vector<std::string> args = {"find", "--json", "--db", url};
  args.insert(args.end(), phone.begin(), phone.end());
  const Run found = run_cli(dir, args);
  INFO(found.out << found.err);
  REQUIRE(found.exit_code == 0);
  return json_of(found)["accounts"];
}

const json& kind_entry(const json& retention, const std::string& kind) {
  for (const json& entry : retention.at("kinds")) {
    if (entry.at("kind") == kind) return entry;
  }
  FAIL("no kind " << kind);
  return retention;
}

TEST_CASE("cli: purge on PostgreSQL removes the expired rows in batches and keeps the live ones",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  {
    // A store that has been running for a while: 5 expired challenges and counters, 2 live.
    auto store = open_pg(db.url(), {});
    const Timestamp now = SystemClock().now();
    for (int i = 0; i < 7; ++i) {
      ChallengeRecord record;
      record.id.bytes[0] = static_cast<std::uint8_t>(i);
      record.expires_at = i < 5 ? now - std::chrono::hours(1) : now + std::chrono::hours(1);
      record.max_attempts = 5;
      REQUIRE(store->create_challenge(record, {}, now).is_ok());
      CounterKey key{};
      key[0] = static_cast<std::uint8_t>(i);
      CounterUpdate step{key, 1, record.expires_at, {}};
      REQUIRE(store->add_to_counters(std::span(&step, 1), now - std::chrono::hours(2)).is_ok());
    }
  }
  const Run purged = run_cli(dir, {"purge", "--json", "--batch", "2", "--db", db.url()});
  INFO(purged.out << purged.err);
  REQUIRE(purged.exit_code == 0);
  const json report = json_of(purged);
  CHECK(report["purged"]["challenges"] == 5);
  CHECK(report["purged"]["counters"] == 5);
  CHECK(report["batches"] == 3);  // 2 + 2 + 1
  RawPg raw(db.url());
  CHECK(raw.column("SELECT count(*) FROM challenges") == std::vector<std::string>{"2"});
  CHECK(raw.column("SELECT count(*) FROM counters") == std::vector<std::string>{"2"});
  CHECK_FALSE(fs::exists(dir.path() / "veribind.db"));
}

TEST_CASE("cli: retention on PostgreSQL lists every kind with its rows and measured bytes",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  signup(dir, db.url(), "acct-1", kPhone);
  const Run run = run_cli(dir, {"retention", "--json", "--db", db.url()});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const json retention = json_of(run);
  CHECK(retention["kinds"].size() == 5);
  CHECK(kind_entry(retention, "failure_counts")["rows"] == 0);
  const json& bindings = kind_entry(retention, "bindings");
  CHECK(bindings["rows"] == 1);
  CHECK(bindings["bytes_method"] == "measured");  // pg_total_relation_size
  CHECK(bindings["bytes"].get<std::uint64_t>() > 0);
  CHECK(bindings["oldest_created"].is_string());
  CHECK(kind_entry(retention, "challenges")["rows"] == 0);  // the link consumed it
  CHECK(kind_entry(retention, "audit_log")["rows"] == 0);
  CHECK(run.out.find("3001234567") == std::string::npos);
}

TEST_CASE("cli: disclose on PostgreSQL returns the bound account and writes one audit entry",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  signup(dir, db.url(), "acct-1", kPhone);
  const Run answered =
      run_cli(dir, disclose_args(db.url(), {"--phone", "0300-1234567", "--region", "PK"}));
  INFO(answered.out << answered.err);
  REQUIRE(answered.exit_code == 0);
  const json answer = json_of(answered);
  CHECK(answer["accounts"] == json::array({"acct-1"}));
  CHECK(answer["audit_sequence"] == 1);
  CHECK(answer["policy"] == "phone-linked");
  RawPg raw(db.url());
  CHECK(raw.column("SELECT count(*) FROM audit_log") == std::vector<std::string>{"1"});
  CHECK(raw.column("SELECT accounts_returned FROM audit_log") == std::vector<std::string>{"1"});
  CHECK(raw.column("SELECT authority FROM audit_log") == std::vector<std::string>{"FIA"});
  CHECK((answered.out + answered.err).find("3001234567") == std::string::npos);
}

TEST_CASE("cli: audit verify on PostgreSQL verifies every entry and the head", "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  const Run empty = run_cli(dir, {"audit", "verify", "--json", "--db", db.url()});
  INFO(empty.out << empty.err);
  REQUIRE(empty.exit_code == 0);
  CHECK(json_of(empty)["ok"] == true);
  CHECK(json_of(empty)["head"].is_null());

  signup(dir, db.url(), "acct-1", kPhone);
  REQUIRE(run_cli(dir, disclose_args(db.url(), kPhone)).exit_code == 0);
  REQUIRE(run_cli(dir, disclose_args(db.url(), kOtherPhone)).exit_code == 0);
  const Run verified = run_cli(dir, {"audit", "verify", "--json", "--db", db.url()});
  INFO(verified.out << verified.err);
  REQUIRE(verified.exit_code == 0);
  const json report = json_of(verified);
  CHECK(report["ok"] == true);
  CHECK(report["entries_verified"] == 2);
  CHECK(report["head"]["count"] == 2);
  CHECK(report["head"]["last_mac"].get<std::string>().size() == 64);
}

TEST_CASE("cli: transparency on PostgreSQL counts each request by authority and outcome",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  signup(dir, db.url(), "acct-1", kPhone);
  REQUIRE(run_cli(dir, disclose_args(db.url(), kPhone, "FIA")).exit_code == 0);
  REQUIRE(run_cli(dir, disclose_args(db.url(), kOtherPhone, "Police")).exit_code == 0);
  const Run run = run_cli(dir, {"transparency", "--json", "--db", db.url()});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const json report = json_of(run);
  CHECK(report["requests"] == 2);
  CHECK(report["accounts_returned"] == 1);
  CHECK(report["by_authority"] == json({{"FIA", 1}, {"Police", 1}}));
  CHECK(report["by_outcome"] == json({{"accounts_found", 1}, {"none_found", 1}}));
  CHECK(report["audit_log"]["verified"] == true);
  CHECK(report["audit_log"]["entries"] == 2);
}

TEST_CASE("cli: contact on PostgreSQL opens the sealed contact, masked, with its key in a file",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  CHECK(signup(dir, db.url(), "acct-1", kPhone, sealed(kPhone))["contact"] == "sealed");
  // The contact is sealed in PostgreSQL, its data key in the SQLite file of --contact-keys.
  CHECK(fs::file_size(dir.path() / "contact-keys.db") > 0);
  RawPg raw(db.url());
  CHECK(raw.column("SELECT count(*) FROM bindings WHERE sealed_contact IS NOT NULL") ==
        std::vector<std::string>{"1"});

  const Run shown = run_cli(dir, {"contact", "acct-1", "--json", "--purpose", "recovery", "--db",
                                  db.url(), "--contact-keys", "contact-keys.db"});
  INFO(shown.out << shown.err);
  REQUIRE(shown.exit_code == 0);
  const json contact = json_of(shown);
  CHECK(contact["channel"] == "phone");
  CHECK(contact["masked"] == "+92 ********67");
  CHECK(shown.out.find("3001234567") == std::string::npos);
  const Run marketing = run_cli(dir, {"contact", "acct-1", "--json", "--purpose", "marketing",
                                      "--db", db.url(), "--contact-keys", "contact-keys.db"});
  CHECK(marketing.exit_code == 3);
  CHECK(json_of(marketing)["error"]["code"] == "not_a_security_purpose");
}

TEST_CASE(
    "cli: erase on PostgreSQL removes the binding and the contact's key, and find then "
    "returns nothing",
    "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  signup(dir, db.url(), "acct-1", kPhone, sealed(kPhone));
  REQUIRE(find_accounts(dir, db.url(), kPhone) == json::array({"acct-1"}));

  const Run erased = run_cli(
      dir, {"erase", "acct-1", "--json", "--db", db.url(), "--contact-keys", "contact-keys.db"});
  INFO(erased.out << erased.err);
  REQUIRE(erased.exit_code == 0);
  CHECK(json_of(erased)["bindings_removed"] == 1);
  CHECK(find_accounts(dir, db.url(), kPhone) == json::array());
  const Run gone = run_cli(dir, {"contact", "acct-1", "--json", "--purpose", "recovery", "--db",
                                 db.url(), "--contact-keys", "contact-keys.db"});
  CHECK(gone.exit_code == 1);
  CHECK(json_of(gone)["error"]["code"] == "no_contact");
  RawPg raw(db.url());
  CHECK(raw.column("SELECT count(*) FROM bindings") == std::vector<std::string>{"0"});
}

TEST_CASE(
    "cli: rotate on PostgreSQL moves sealed bindings to the new key version and retires "
    "the old one",
    "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  signup(dir, db.url(), "acct-1", kPhone, sealed(kPhone));
  REQUIRE(run_cli(dir, {"keygen", "--json", "--version", "2"}).exit_code == 0);

  const std::vector<std::string> rotate = {"rotate", "--json",         "--db",
                                           db.url(), "--contact-keys", "contact-keys.db"};
  const Run rotated = run_cli(dir, rotate);
  INFO(rotated.out << rotated.err);
  REQUIRE(rotated.exit_code == 0);
  const json report = json_of(rotated);
  CHECK(report["current"] == 2);
  CHECK(report["sealed_reindexed"] == 1);
  CHECK(report["data_keys_rewrapped"] == 1);
  CHECK(report["awaiting_verification"] == 0);
  RawPg raw(db.url());
  CHECK(raw.column("SELECT key_version FROM bindings") == std::vector<std::string>{"2"});

  std::vector<std::string> retire = rotate;
  retire.insert(retire.end(), {"--retire", "1"});
  const Run retired = run_cli(dir, retire);
  INFO(retired.out << retired.err);
  REQUIRE(retired.exit_code == 0);
  CHECK(json_of(retired)["retired"] == 1);
  CHECK_FALSE(fs::exists(dir.path() / "veribind.key"));
  // Found and opened under version 2 alone.
  CHECK(find_accounts(dir, db.url(), kPhone) == json::array({"acct-1"}));
  CHECK(run_cli(dir, {"contact", "acct-1", "--json", "--purpose", "recovery", "--db", db.url(),
                      "--contact-keys", "contact-keys.db"})
            .exit_code == 0);
}

TEST_CASE("cli: bad input on PostgreSQL gives its stable code and never echoes the URL",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db("vbcli");
  REQUIRE(run_cli(dir, {"keygen", "--json"}).exit_code == 0);
  // The same database with a password in the URL (the test server trusts loopback, so it works).
  const std::string url = db.url();
  const std::size_t at = url.find('@');
  REQUIRE(at != std::string::npos);
  const std::string with_password = url.substr(0, at) + ":s3cret-pw" + url.substr(at);
  signup(dir, with_password, "acct-1", kPhone);
  // A database of that server that does not exist, with the same password.
  const std::string wrong_database = with_password + "_missing";

  struct Case {
    std::vector<std::string> args;
    int exit_code;
    const char* code;
  };
  const std::vector<Case> cases = {
      // A required option missing.
      {{"disclose", "--json", "--phone", "+923001234567", "--authority", "FIA", "--db",
        with_password},
       2,
       "invalid_argument"},
      {{"erase", "--json", "--db", with_password}, 2, "invalid_argument"},
      {{"contact", "acct-1", "--json", "--db", with_password}, 2, "invalid_argument"},
      {{"link", "--json", "--account", "acct-2", "--db", with_password}, 2, "invalid_argument"},
      // Bad values, refused before the database is opened.
      {{"erase", "bad account", "--json", "--db", with_password}, 2, "invalid_account_id"},
      {{"purge", "--json", "--batch", "0", "--db", with_password}, 2, "invalid_argument"},
      {{"transparency", "--json", "--since", "yesterday", "--db", with_password},
       2,
       "invalid_argument"},
      {disclose_args(with_password, {"--email", "alice@@example.com"}), 2, "email_syntax"},
      // A database that is not there.
      {{"retention", "--json", "--db", wrong_database}, 4, "unavailable"},
      {{"audit", "verify", "--json", "--db", wrong_database}, 4, "unavailable"},
      {{"find", "--json", "--phone", "+923001234567", "--db", wrong_database}, 4, "unavailable"},
  };
  for (const Case& c : cases) {
    std::string shown;
    for (const std::string& arg : c.args) shown += (arg == with_password ? "URL" : arg) + ' ';
    INFO(shown);
    const Run run = run_cli(dir, c.args);
    CHECK(run.exit_code == c.exit_code);
    const json object = json_of(run);
    CHECK(object["error"]["code"] == c.code);
    for (const std::string& secret : {std::string("s3cret"), url, with_password}) {
      CHECK((run.out + run.err).find(secret) == std::string::npos);
    }
  }
  // Nothing above changed what is stored.
  RawPg raw(url);
  CHECK(raw.column("SELECT count(*) FROM bindings") == std::vector<std::string>{"1"});
  CHECK(raw.column("SELECT count(*) FROM audit_log") == std::vector<std::string>{"0"});
}

}  // namespace
}  // namespace veribind::testing
