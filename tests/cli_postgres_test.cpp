// The `veribind` program with --db postgresql://...: the whole flow against the ctest PostgreSQL
// server, in a database of the test's own (created and dropped here), run as a child process.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
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

// A database of this test's own on the test server, dropped at the end.
class TestDatabase {
 public:
  TestDatabase() : base_(pg_conninfo()), name_("vbcli_" + std::to_string(::getpid())) {
    RawPg admin(base_);
    admin.exec("DROP DATABASE IF EXISTS " + name_);
    admin.exec("CREATE DATABASE " + name_);
    const std::size_t slash = base_.rfind('/');
    REQUIRE(slash != std::string::npos);
    url_ = base_.substr(0, slash + 1) + name_;
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  ~TestDatabase() {
    PGconn* conn = PQconnectdb(base_.c_str());
    if (PQstatus(conn) == CONNECTION_OK) {
      PQclear(PQexec(conn, ("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str()));
    }
    PQfinish(conn);
  }
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  std::string base_;
  std::string name_;
  std::string url_;
};

TEST_CASE("cli: --db postgresql:// runs start, link, find and check on PostgreSQL",
          "[cli][postgres]") {
  TempDir dir;
  TestDatabase db;
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

}  // namespace
}  // namespace veribind::testing
