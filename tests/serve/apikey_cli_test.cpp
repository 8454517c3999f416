// `veribind apikey create | revoke | list` and the [server] section of veribind.toml, through the
// program itself (VERIBIND_CLI_PATH) in a directory of the test's own.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_support.hpp"

namespace {

using namespace veribind::testing::cli;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string message_of(const Run& run) { return json_of(run)["error"]["message"]; }

// A directory with a master key in it (./veribind.key).
void keygen(const TempDir& dir) { REQUIRE(run_cli(dir.path(), {"keygen"}).exit_code == 0); }

json create_json(const TempDir& dir, const std::string& scope) {
  const Run run = run_cli(dir.path(), {"apikey", "create", "--scope", scope, "--json"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  return json_of(run);
}

}  // namespace

TEST_CASE("apikey: create prints the key once and list shows its id and scope but never the key",
          "[cli][apikey]") {
  TempDir dir;
  keygen(dir);
  const Run text = run_cli(dir.path(), {"apikey", "create", "--scope", "verify"});
  REQUIRE(text.exit_code == 0);
  std::istringstream lines(text.out);
  std::string key_line;
  std::string notice;
  std::getline(lines, key_line);
  std::getline(lines, notice);
  REQUIRE(key_line.size() == 64);
  CHECK(key_line.rfind("vbk_", 0) == 0);
  const std::string text_id = key_line.substr(4, 16);
  CHECK(notice.find("shown only this once") != std::string::npos);
  CHECK(notice.find(text_id) != std::string::npos);

  const json made = create_json(dir, "operator");
  CHECK(made.size() == 3);
  const std::string id = made["id"];
  const std::string key = made["key"];
  CHECK(made["scope"] == "operator");
  CHECK(key.rfind("vbk_" + id + "_", 0) == 0);
  CHECK(key.size() == 64);

  const fs::path file = dir / "veribind-api-keys";
  REQUIRE(fs::exists(file));
  CHECK((fs::status(file).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  const std::string stored = read_file(file).value();
  CHECK(stored.find(key.substr(21)) == std::string::npos);
  CHECK(stored.find(key_line.substr(21)) == std::string::npos);

  const Run list = run_cli(dir.path(), {"apikey", "list", "--json"});
  REQUIRE(list.exit_code == 0);
  const json keys = json_of(list)["keys"];
  REQUIRE(keys.size() == 2);
  CHECK(keys[0]["id"] == text_id);
  CHECK(keys[0]["scope"] == "verify");
  CHECK(keys[0]["revoked"].is_null());
  CHECK(keys[0]["created"].get<std::string>().size() == std::string("2026-01-01T00:00:00Z").size());
  CHECK(keys[1]["id"] == id);
  CHECK(keys[1]["scope"] == "operator");
  CHECK(list.out.find(key.substr(21)) == std::string::npos);

  // Neither the key nor its stored tag is ever printed by list.
  const Run list_text = run_cli(dir.path(), {"apikey", "list"});
  REQUIRE(list_text.exit_code == 0);
  CHECK(list_text.out.find(text_id) != std::string::npos);
  CHECK(list_text.out.find(id) != std::string::npos);
  CHECK(list_text.out.find(key.substr(21)) == std::string::npos);
  std::istringstream stored_lines(stored);
  std::string line;
  std::getline(stored_lines, line);  // the format line
  while (std::getline(stored_lines, line)) {
    const std::string tag = line.substr(line.rfind(' ') + 1);
    CHECK(list.out.find(tag) == std::string::npos);
    CHECK(list_text.out.find(tag) == std::string::npos);
  }
}

TEST_CASE("apikey: revoke marks the key revoked and revoking it again is fine", "[cli][apikey]") {
  TempDir dir;
  keygen(dir);
  const std::string id = create_json(dir, "verify")["id"];
  const Run revoked = run_cli(dir.path(), {"apikey", "revoke", id, "--json"});
  REQUIRE(revoked.exit_code == 0);
  CHECK(json_of(revoked) == json({{"id", id}, {"revoked", true}}));
  const Run again = run_cli(dir.path(), {"apikey", "revoke", id});
  CHECK(again.exit_code == 0);
  CHECK(again.out == "revoked\n");
  const json keys = json_of(run_cli(dir.path(), {"apikey", "list", "--json"}))["keys"];
  REQUIRE(keys.size() == 1);
  CHECK(keys[0]["revoked"].is_string());
}

TEST_CASE("apikey: an unknown scope is refused with exit 2 and writes nothing", "[cli][apikey]") {
  TempDir dir;
  keygen(dir);
  for (const std::string scope : {"admin", "", "Verify"}) {
    const Run run = run_cli(dir.path(), {"apikey", "create", "--scope", scope, "--json"});
    CHECK(run.exit_code == 2);
    CHECK(error_code_of(run) == "invalid_argument");
    CHECK(message_of(run) == "scope must be verify or operator");
  }
  CHECK(!fs::exists(dir / "veribind-api-keys"));
  // Without --scope at all: a usage error.
  const Run missing = run_cli(dir.path(), {"apikey", "create", "--json"});
  CHECK(missing.exit_code == 2);
  CHECK(error_code_of(missing) == "invalid_argument");
  CHECK(!fs::exists(dir / "veribind-api-keys"));
}

TEST_CASE("apikey: revoking an unknown id is refused with exit 2 and leaves the file unchanged",
          "[cli][apikey]") {
  TempDir dir;
  keygen(dir);
  (void)create_json(dir, "verify");
  const std::string before = read_file(dir / "veribind-api-keys").value();
  for (const std::string id : {"0123456789abcdef", "not-an-id"}) {
    const Run run = run_cli(dir.path(), {"apikey", "revoke", id, "--json"});
    CHECK(run.exit_code == 2);
    CHECK(error_code_of(run) == "invalid_argument");
    CHECK(message_of(run) == "no such API key");
  }
  CHECK(read_file(dir / "veribind-api-keys").value() == before);
  // No key file at all: the same answer, and no file made.
  TempDir empty;
  const Run none = run_cli(empty.path(), {"apikey", "revoke", "0123456789abcdef", "--json"});
  CHECK(none.exit_code == 2);
  CHECK(!fs::exists(empty / "veribind-api-keys"));
}

TEST_CASE("apikey: create without the master key is refused with exit 4 and writes nothing",
          "[cli][apikey]") {
  TempDir dir;
  const Run run = run_cli(dir.path(), {"apikey", "create", "--scope", "verify", "--json"});
  CHECK(run.exit_code == 4);
  CHECK(error_code_of(run) == "key_unavailable");
  CHECK(!fs::exists(dir / "veribind-api-keys"));
}

TEST_CASE("apikey: list and revoke work without the master key", "[cli][apikey]") {
  TempDir dir;
  keygen(dir);
  const std::string id = create_json(dir, "verify")["id"];
  fs::rename(dir / "veribind.key", dir / "elsewhere.key");
  CHECK(run_cli(dir.path(), {"apikey", "list", "--json"}).exit_code == 0);
  CHECK(run_cli(dir.path(), {"apikey", "revoke", id}).exit_code == 0);
  // No key file: list says so plainly.
  TempDir empty;
  const Run list = run_cli(empty.path(), {"apikey", "list", "--json"});
  CHECK(list.exit_code == 0);
  CHECK(json_of(list) == json({{"keys", json::array()}}));
}

TEST_CASE("apikey: a key file readable by others is refused with exit 4 and left as it was",
          "[cli][apikey]") {
  TempDir dir;
  keygen(dir);
  const std::string id = create_json(dir, "verify")["id"];
  const fs::path file = dir / "veribind-api-keys";
  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  const std::string before = read_file(file).value();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"apikey", "create", "--scope", "verify", "--json"},
        std::vector<std::string>{"apikey", "revoke", id, "--json"},
        std::vector<std::string>{"apikey", "list", "--json"}}) {
    const Run run = run_cli(dir.path(), args);
    CHECK(run.exit_code == 4);
    CHECK(error_code_of(run) == "key_file_insecure");
  }
  CHECK(read_file(file).value() == before);
}

TEST_CASE("apikey: --api-keys names the file, else [server] api_keys relative to the config file",
          "[cli][apikey][config]") {
  TempDir dir;
  keygen(dir);
  write(dir / "conf" / "veribind.toml",
        "[store]\nkey_file = \"../veribind.key\"\n\n[server]\napi_keys = \"keys/api\"\n");
  fs::create_directories(dir / "conf" / "keys");
  const Run made = run_cli(dir.path(), {"apikey", "create", "--scope", "verify", "--json",
                                        "--config", "conf/veribind.toml"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(fs::exists(dir / "conf" / "keys" / "api"));
  CHECK(!fs::exists(dir / "veribind-api-keys"));

  const Run explicit_file =
      run_cli(dir.path(), {"apikey", "create", "--scope", "verify", "--config",
                           "conf/veribind.toml", "--api-keys", "mine"});
  REQUIRE(explicit_file.exit_code == 0);
  CHECK(fs::exists(dir / "mine"));
  const json keys =
      json_of(run_cli(dir.path(), {"apikey", "list", "--json", "--config", "conf/veribind.toml"}));
  CHECK(keys["keys"].size() == 1);
}

TEST_CASE("config: a [server] section with every key set to a good value is accepted",
          "[cli][config]") {
  TempDir dir;
  const std::vector<std::string> listens = {"127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0",
                                            "unix:/run/veribind.sock"};
  for (const std::string& listen : listens) {
    write(dir / "veribind.toml",
          "[server]\nlisten = \"" + listen +
              "\"\nthreads = 4\nmax_connections = 100000\nmax_header_bytes = 1024\n"
              "max_body_bytes = 1048576\nheader_timeout_ms = 100\nbody_timeout_ms = 600000\n"
              "write_timeout_ms = 5000\nidle_timeout_ms = 30000\ndrain_seconds = 0\n"
              "api_keys = \"k\"\ntrusted_proxies = [\"10.0.0.0/8\", \"192.168.1.1\", \"::1\", "
              "\"fd00::/8\", \"0.0.0.0/0\", \"unix\"]\ntls_cert_file = \"cert.pem\"\n"
              "tls_key_file = \"key.pem\"\n");
    const Run run = run_cli(dir.path(), {"apikey", "list", "--json"});
    INFO(listen << ": " << run.out << run.err);
    CHECK(run.exit_code == 0);
  }
}

TEST_CASE("config: bad [server] values are refused with their line and nothing is written",
          "[cli][config]") {
  TempDir dir;
  keygen(dir);
  const std::string listen_message =
      "x.toml:2: [server] listen must be IPv4:port, [IPv6]:port or unix:/path (e.g. "
      "127.0.0.1:8080)";
  const std::string proxies_message =
      "x.toml:2: [server] trusted_proxies must hold IP addresses, CIDR blocks or \"unix\" (e.g. "
      "\"10.0.0.0/8\")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[server]\nthreads = 0\n", "x.toml:2: [server] threads must be in 1..256"},
      {"[server]\nthreads = 257\n", "x.toml:2: [server] threads must be in 1..256"},
      {"[server]\nthreads = \"2\"\n", "x.toml:2: [server] threads must be an integer"},
      {"[server]\n\nmax_connections = 100001\n",
       "x.toml:3: [server] max_connections must be in 1..100000"},
      {"[server]\nmax_header_bytes = 512\n",
       "x.toml:2: [server] max_header_bytes must be in 1024..65536"},
      {"[server]\nmax_body_bytes = 2000000\n",
       "x.toml:2: [server] max_body_bytes must be in 1024..1048576"},
      {"[server]\nheader_timeout_ms = 99\n",
       "x.toml:2: [server] header_timeout_ms must be in 100..600000"},
      {"[server]\nbody_timeout_ms = 0\n",
       "x.toml:2: [server] body_timeout_ms must be in 100..600000"},
      {"[server]\nwrite_timeout_ms = 1.5\n",
       "x.toml:2: [server] write_timeout_ms must be an integer"},
      {"[server]\nidle_timeout_ms = 600001\n",
       "x.toml:2: [server] idle_timeout_ms must be in 100..600000"},
      {"[server]\ndrain_seconds = -1\n", "x.toml:2: [server] drain_seconds must be in 0..600"},
      {"[server]\nlisten = \"localhost:8080\"\n", listen_message},
      {"[server]\nlisten = \"127.0.0.1\"\n", listen_message},
      {"[server]\nlisten = \"127.0.0.1:65536\"\n", listen_message},
      {"[server]\nlisten = \"::1:8080\"\n", listen_message},
      {"[server]\nlisten = \"[127.0.0.1]:8080\"\n", listen_message},
      {"[server]\nlisten = \"unix:relative.sock\"\n", listen_message},
      {"[server]\nlisten = 8080\n", "x.toml:2: [server] listen must be a string"},
      {"[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", proxies_message},
      {"[server]\ntrusted_proxies = [\"::/129\"]\n", proxies_message},
      {"[server]\ntrusted_proxies = [\"proxy.example.com\"]\n", proxies_message},
      {"[server]\ntrusted_proxies = [\"10.0.0.0/\"]\n", proxies_message},
      {"[server]\ntrusted_proxies = [\"unix:/run/proxy.sock\"]\n", proxies_message},
      {"[server]\ntrusted_proxies = [\"Unix\"]\n", proxies_message},
      {"[server]\nlisten = \"unix:/" + std::string(107, 's') + "\"\n", listen_message},
      {"[server]\ntrusted_proxies = [\n  \"10.0.0.1\",\n  \"fd00::/8\",\n  \"10.0.0.300\",\n]\n",
       "x.toml:5: [server] trusted_proxies must hold IP addresses, CIDR blocks or \"unix\" "
       "(e.g. \"10.0.0.0/8\")"},
      {"[server]\ntrusted_proxies = \"10.0.0.1\"\n",
       "x.toml:2: [server] trusted_proxies must be an array of strings"},
      {"[server]\ntrusted_proxies = [1]\n",
       "x.toml:2: [server] trusted_proxies must hold only strings"},
      {"[server]\ntls_cert_file = \"cert.pem\"\n",
       "x.toml:1: [server] tls_cert_file and tls_key_file go together"},
      {"[server]\ntls_key_file = \"key.pem\"\n",
       "x.toml:1: [server] tls_cert_file and tls_key_file go together"},
      {"[server]\napi_keys = \"\"\n", "x.toml:2: [server] api_keys must not be empty"},
      {"[server]\nport = 8080\n", "x.toml:2: [server] unknown key \"port\""},
      {"[server]\napi_key = \"vbk_0123456789abcdef_x\"\n",
       "x.toml:2: [server] secrets are never inline: use api_key_file, a path to a file that "
       "holds it"},
      {"server = 1\n", "x.toml:1: [top level] server must be a table"},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    write(dir / "x.toml", text);
    const Run run = run_cli(
        dir.path(), {"apikey", "create", "--scope", "verify", "--json", "--config", "x.toml"});
    CHECK(run.exit_code == 2);
    CHECK(error_code_of(run) == "config_file_invalid");
    CHECK(message_of(run) == expected);
    CHECK(run.out.find("vbk_0123456789abcdef_x") == std::string::npos);
    CHECK(!fs::exists(dir / "veribind-api-keys"));
  }
}
