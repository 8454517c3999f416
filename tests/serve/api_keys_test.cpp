// The server's API keys, in-process: the key file (ApiKeyFile) and the server's reloading view of
// it (ApiKeys), on real files in a directory of the test's own.
#include "serve/api_keys.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "temp_dir.hpp"

using namespace veribind;
using namespace veribind::serve;
using veribind::testing::FakeClock;

namespace {

namespace fs = std::filesystem;

using veribind::testing::TempDir;

KeyRing random_ring() { return KeyRing::from_master_key(SecretBytes::random(32)).value(); }

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_private(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
}

// The monotonic time that paces an ApiKeys' reloads, moved by the test alone.
class FakePacing {
 public:
  [[nodiscard]] ApiKeys::PacingClock source() {
    return [this] {
      return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks_));
    };
  }
  void advance(std::chrono::milliseconds by) {
    ticks_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(by).count();
  }

 private:
  std::atomic<std::chrono::steady_clock::rep> ticks_{1};
};

std::string bearer(const SecretText& key) { return "Bearer " + std::string(key.reveal()); }

// The key text with the last character of its secret changed.
std::string with_wrong_secret(const SecretText& key) {
  std::string text(key.reveal());
  text.back() = text.back() == 'A' ? 'B' : 'A';
  return text;
}

}  // namespace

TEST_CASE("api keys: create, list and revoke round-trip through the key file", "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;

  ApiKeyInfo first;
  const auto key = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock, &first);
  REQUIRE(key.is_ok());
  clock.advance(std::chrono::seconds(5));
  ApiKeyInfo second;
  REQUIRE(ApiKeyFile::create(path, ring, ApiScope::kOperator, clock, &second).is_ok());

  // "vbk_<16 hex>_<43 base64url>", named by its id.
  const std::string_view text = key->reveal();
  REQUIRE(text.size() == 64);
  CHECK(text.substr(0, 4) == "vbk_");
  CHECK(text.substr(4, 16) == first.id);
  CHECK(text[20] == '_');
  CHECK(text.substr(21).find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
        std::string_view::npos);
  CHECK(first.id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(first.id != second.id);

  // The file holds neither the key nor its secret, and only its owner may read it.
  const std::string stored = contents(path);
  CHECK(stored.find(std::string(text.substr(21))) == std::string::npos);
  CHECK(stored.rfind("veribind-api-keys v1\n", 0) == 0);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);

  auto listed = ApiKeyFile::list(path);
  REQUIRE(listed.is_ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].id == first.id);
  CHECK((*listed)[0].scope == ApiScope::kVerify);
  CHECK((*listed)[0].created_at == FakeClock().now());
  CHECK(!(*listed)[0].revoked_at);
  CHECK((*listed)[1].id == second.id);
  CHECK((*listed)[1].scope == ApiScope::kOperator);

  clock.advance(std::chrono::seconds(60));
  REQUIRE(ApiKeyFile::revoke(path, first.id, clock).is_ok());
  listed = ApiKeyFile::list(path);
  REQUIRE(listed.is_ok());
  REQUIRE(listed->size() == 2);
  REQUIRE((*listed)[0].revoked_at);
  CHECK(*(*listed)[0].revoked_at == clock.now());
  CHECK(!(*listed)[1].revoked_at);

  // Revoking again is fine and changes nothing (the first revocation time stays).
  const std::string after_revoke = contents(path);
  clock.advance(std::chrono::seconds(60));
  CHECK(ApiKeyFile::revoke(path, first.id, clock).is_ok());
  CHECK(contents(path) == after_revoke);
}

TEST_CASE("api keys: revoking an unknown id is refused with invalid_argument and changes nothing",
          "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  FakeClock clock;
  // No file yet: nothing to revoke, and no file made.
  const Status none = ApiKeyFile::revoke(path, "0123456789abcdef", clock);
  CHECK(none.code() == ErrorCode::kInvalidArgument);
  CHECK(none.message() == "no such API key");
  CHECK(!fs::exists(path));

  REQUIRE(ApiKeyFile::create(path, random_ring(), ApiScope::kVerify, clock).is_ok());
  const std::string before = contents(path);
  for (const std::string id : {"0123456789abcdef", "", "not an id", "0123456789ABCDEF"}) {
    CHECK(ApiKeyFile::revoke(path, id, clock).code() == ErrorCode::kInvalidArgument);
  }
  CHECK(contents(path) == before);
}

TEST_CASE("api keys: a missing file lists as no keys", "[api_keys]") {
  TempDir dir;
  const auto listed = ApiKeyFile::list(dir.file("none"));
  REQUIRE(listed.is_ok());
  CHECK(listed->empty());
}

TEST_CASE(
    "api keys: authenticate takes a good key and refuses a wrong secret, an unknown id and "
    "a revoked key",
    "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  ApiKeyInfo verify_info;
  ApiKeyInfo operator_info;
  ApiKeyInfo revoked_info;
  const auto verify_key = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock, &verify_info);
  const auto operator_key =
      ApiKeyFile::create(path, ring, ApiScope::kOperator, clock, &operator_info);
  const auto revoked_key = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock, &revoked_info);
  REQUIRE((verify_key.is_ok() && operator_key.is_ok() && revoked_key.is_ok()));
  REQUIRE(ApiKeyFile::revoke(path, revoked_info.id, clock).is_ok());

  auto keys = ApiKeys::open(path, ring);
  REQUIRE(keys.is_ok());
  ApiKeys& api = **keys;
  CHECK(api.problem().empty());

  const auto caller = api.authenticate(bearer(*verify_key));
  REQUIRE(caller);
  CHECK(caller->key_id == verify_info.id);
  CHECK(caller->scope == ApiScope::kVerify);
  const auto op = api.authenticate(bearer(*operator_key));
  REQUIRE(op);
  CHECK(op->key_id == operator_info.id);
  CHECK(op->scope == ApiScope::kOperator);

  // The scheme is case-insensitive.
  const std::string key(verify_key->reveal());
  CHECK(api.authenticate("bearer " + key));
  CHECK(api.authenticate("BEARER " + key));

  CHECK(!api.authenticate("Bearer " + with_wrong_secret(*verify_key)));
  CHECK(!api.authenticate(bearer(*revoked_key)));
  // A well-formed key under an id nobody made.
  std::string unknown = key;
  unknown.replace(4, 16, "0000000000000000");
  CHECK(!api.authenticate("Bearer " + unknown));
  // Another ring's key for the same id and secret: its tag does not match.
  const KeyRing other_ring = random_ring();
  auto other = ApiKeys::open(path, other_ring);
  REQUIRE(other.is_ok());
  CHECK(!(*other)->authenticate(bearer(*verify_key)));
}

TEST_CASE("api keys: malformed authorization headers are refused", "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  const auto made = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock);
  REQUIRE(made.is_ok());
  auto keys = ApiKeys::open(path, ring);
  REQUIRE(keys.is_ok());
  const std::string key(made->reveal());
  std::string upper_id = key;
  for (std::size_t i = 4; i < 20; ++i) {
    if (upper_id[i] >= 'a' && upper_id[i] <= 'f') upper_id[i] = static_cast<char>(upper_id[i] - 32);
  }
  std::string bad_secret_char = key;
  bad_secret_char[30] = '+';
  const std::vector<std::string> headers = {
      "",
      "Bearer",
      "Bearer ",
      key,                                                   // no scheme
      "Bearer  " + key,                                      // two spaces
      "Bearer\t" + key,                                      // not a space
      " Bearer " + key,                                      // leading space
      "Basic " + key,                                        // another scheme
      "Bearer " + key + " ",                                 // trailing space
      "Bearer " + key + "x",                                 // too long
      "Bearer " + key.substr(0, 63),                         // too short
      "Bearer " + key.substr(0, 20) + ":" + key.substr(21),  // wrong separator
      "Bearer xbk_" + key.substr(4),                         // wrong prefix
      "Bearer " + bad_secret_char,                           // not base64url
  };
  for (const std::string& header : headers) {
    INFO("header #" << (&header - headers.data()));
    CHECK(!(*keys)->authenticate(header));
  }
  if (upper_id != key) CHECK(!(*keys)->authenticate("Bearer " + upper_id));
  CHECK((*keys)->authenticate("Bearer " + key));
}

TEST_CASE("api keys: a running server sees a revocation and a new key within a second",
          "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  ApiKeyInfo info;
  const auto key = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock, &info);
  REQUIRE(key.is_ok());
  FakePacing pacing;
  auto keys = ApiKeys::open(path, ring, pacing.source());
  REQUIRE(keys.is_ok());
  ApiKeys& api = **keys;
  REQUIRE(api.authenticate(bearer(*key)));

  REQUIRE(ApiKeyFile::revoke(path, info.id, clock).is_ok());
  const auto fresh = ApiKeyFile::create(path, ring, ApiScope::kOperator, clock);
  REQUIRE(fresh.is_ok());
  // Within the second the file is not looked at again.
  pacing.advance(std::chrono::milliseconds(999));
  CHECK(api.authenticate(bearer(*key)));
  CHECK(!api.authenticate(bearer(*fresh)));
  pacing.advance(std::chrono::milliseconds(2));
  CHECK(!api.authenticate(bearer(*key)));
  const auto caller = api.authenticate(bearer(*fresh));
  REQUIRE(caller);
  CHECK(caller->scope == ApiScope::kOperator);
  CHECK(api.problem().empty());
}

TEST_CASE("api keys: a revocation is seen a second later even when the wall clock steps back",
          "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  ApiKeyInfo info;
  const auto key = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock, &info);
  REQUIRE(key.is_ok());
  FakePacing pacing;
  auto keys = ApiKeys::open(path, ring, pacing.source());
  REQUIRE(keys.is_ok());
  ApiKeys& api = **keys;
  REQUIRE(api.authenticate(bearer(*key)));

  // The wall clock goes back a day (an NTP step, a fixed RTC): the revocation is stamped then.
  clock.set(clock.now() - std::chrono::hours(24));
  REQUIRE(ApiKeyFile::revoke(path, info.id, clock).is_ok());
  pacing.advance(std::chrono::milliseconds(1001));
  CHECK(!api.authenticate(bearer(*key)));
  CHECK(api.problem().empty());
}

TEST_CASE("api keys: a running server keeps its last good keys when the file turns bad",
          "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  const auto key = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock);
  REQUIRE(key.is_ok());
  const std::string good = contents(path);
  FakePacing pacing;
  auto keys = ApiKeys::open(path, ring, pacing.source());
  REQUIRE(keys.is_ok());
  ApiKeys& api = **keys;

  write_private(path, good + "this is not a key line\n");
  pacing.advance(std::chrono::seconds(2));
  CHECK(api.authenticate(bearer(*key)));
  CHECK(api.problem().find("API keys file " + path + ":3:") == 0);

  write_private(path, good);
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  pacing.advance(std::chrono::seconds(2));
  CHECK(api.authenticate(bearer(*key)));
  CHECK(api.problem().find("group or others") != std::string::npos);

  REQUIRE(fs::remove(path));
  pacing.advance(std::chrono::seconds(2));
  CHECK(api.authenticate(bearer(*key)));
  CHECK(api.problem().find("is gone") != std::string::npos);

  write_private(path, good);
  pacing.advance(std::chrono::seconds(2));
  CHECK(api.authenticate(bearer(*key)));
  CHECK(api.problem().empty());
}

TEST_CASE("api keys: a file readable by group or others is refused with key_file_insecure",
          "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  ApiKeyInfo info;
  REQUIRE(ApiKeyFile::create(path, ring, ApiScope::kVerify, clock, &info).is_ok());
  for (const mode_t mode : {0640, 0604, 0620, 0602}) {
    INFO("mode " << std::oct << mode);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    const std::string before = contents(path);
    CHECK(ApiKeyFile::create(path, ring, ApiScope::kVerify, clock).code() ==
          ErrorCode::kKeyFileInsecure);
    CHECK(ApiKeyFile::revoke(path, info.id, clock).code() == ErrorCode::kKeyFileInsecure);
    CHECK(ApiKeyFile::list(path).code() == ErrorCode::kKeyFileInsecure);
    CHECK(ApiKeys::open(path, ring).code() == ErrorCode::kKeyFileInsecure);
    CHECK(contents(path) == before);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == mode);
  }
}

TEST_CASE("api keys: a malformed file is refused with key_file_malformed and left unchanged",
          "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  const std::string tag(64, 'a');
  const std::string line = "0123456789abcdef verify 1767225600 - 1 " + tag + "\n";
  const std::string header = "veribind-api-keys v1\n";
  const std::vector<std::string> files = {
      "",
      "not a key file\n",
      "veribind-api-keys v2\n" + line,
      header + line.substr(0, line.size() - 1),  // no final newline
      header + "\n",                             // an empty line
      header + "0123456789abcde verify 1767225600 - 1 " + tag + "\n",
      header + "0123456789ABCDEF verify 1767225600 - 1 " + tag + "\n",
      header + "0123456789abcdef admin 1767225600 - 1 " + tag + "\n",
      header + "0123456789abcdef verify yesterday - 1 " + tag + "\n",
      header + "0123456789abcdef verify 1767225600 never 1 " + tag + "\n",
      header + "0123456789abcdef verify 1767225600 - 0 " + tag + "\n",
      header + "0123456789abcdef verify 1767225600 - 1 " + tag.substr(2) + "\n",
      header + "0123456789abcdef verify 1767225600 - 1 " + std::string(64, 'A') + "\n",
      header + "0123456789abcdef verify 1767225600 - 1\n",
      header + "0123456789abcdef verify 1767225600 - 1 " + tag + " extra\n",
      header + "0123456789abcdef  verify 1767225600 - 1 " + tag + "\n",
      header + line + line,  // the same id twice
  };
  for (const std::string& text : files) {
    INFO("file #" << (&text - files.data()));
    write_private(path, text);
    CHECK(ApiKeyFile::create(path, ring, ApiScope::kVerify, clock).code() ==
          ErrorCode::kKeyFileMalformed);
    CHECK(ApiKeyFile::revoke(path, "0123456789abcdef", clock).code() ==
          ErrorCode::kKeyFileMalformed);
    CHECK(ApiKeyFile::list(path).code() == ErrorCode::kKeyFileMalformed);
    CHECK(ApiKeys::open(path, ring).code() == ErrorCode::kKeyFileMalformed);
    CHECK(contents(path) == text);
  }
  // The well-formed line itself parses: the cases above fail for the one thing each changes.
  write_private(path, header + line);
  CHECK(ApiKeyFile::list(path).is_ok());
}

TEST_CASE("api keys: a symbolic link in place of the file is refused", "[api_keys]") {
  TempDir dir;
  const std::string real = dir.file("real");
  const std::string link = dir.file("api-keys");
  FakeClock clock;
  REQUIRE(ApiKeyFile::create(real, random_ring(), ApiScope::kVerify, clock).is_ok());
  fs::create_symlink(real, link);
  CHECK(ApiKeyFile::list(link).code() == ErrorCode::kKeyFileMalformed);
}

TEST_CASE("api keys: open refuses a missing file and one whose keys are all revoked",
          "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  const auto missing = ApiKeys::open(path, ring);
  CHECK(missing.code() == ErrorCode::kInvalidConfig);
  CHECK(missing.status().message() == "no API keys: run veribind apikey create");

  ApiKeyInfo info;
  REQUIRE(ApiKeyFile::create(path, ring, ApiScope::kVerify, clock, &info).is_ok());
  REQUIRE(ApiKeyFile::revoke(path, info.id, clock).is_ok());
  CHECK(ApiKeys::open(path, ring).code() == ErrorCode::kInvalidConfig);
}

TEST_CASE("api keys: a key made before a key rotation still authenticates after it", "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  FakeClock clock;
  const auto master = SecretBytes::random(32);
  KeyRing before = KeyRing::from_master_key(SecretBytes::copy_of(master.reveal()), 1).value();
  const auto old_key = ApiKeyFile::create(path, before, ApiScope::kVerify, clock);
  REQUIRE(old_key.is_ok());

  KeyRing rotated = KeyRing::from_master_key(SecretBytes::copy_of(master.reveal()), 1).value();
  REQUIRE(rotated.add_version(SecretBytes::random(32), 2).is_ok());
  const auto new_key = ApiKeyFile::create(path, rotated, ApiScope::kVerify, clock);
  REQUIRE(new_key.is_ok());
  CHECK(contents(path).find(" 2 ") != std::string::npos);

  auto keys = ApiKeys::open(path, rotated);
  REQUIRE(keys.is_ok());
  CHECK((*keys)->authenticate(bearer(*old_key)));
  CHECK((*keys)->authenticate(bearer(*new_key)));

  // A ring without version 2 (retired, or the wrong key) refuses the keys made under it, and
  // says so.
  auto older = ApiKeys::open(path, before);
  REQUIRE(older.is_ok());
  CHECK((*older)->authenticate(bearer(*old_key)));
  CHECK(!(*older)->authenticate(bearer(*new_key)));
  CHECK((*older)->problem().find("key version") != std::string::npos);
}

TEST_CASE("api keys: creates from two processes at once are all kept", "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  constexpr int kPerProcess = 15;
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const SystemClock clock;
      for (int i = 0; i < kPerProcess; ++i) {
        if (!ApiKeyFile::create(path, ring, ApiScope::kVerify, clock).is_ok()) _exit(1);
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  const auto listed = ApiKeyFile::list(path);
  REQUIRE(listed.is_ok());
  CHECK(listed->size() == 2 * kPerProcess);
  std::set<std::string> ids;
  for (const ApiKeyInfo& info : *listed) ids.insert(info.id);
  CHECK(ids.size() == 2 * kPerProcess);
}

TEST_CASE("api keys: creates from several threads at once are all kept", "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  const SystemClock clock;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!ApiKeyFile::create(path, ring, ApiScope::kOperator, clock).is_ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == 0);
  const auto listed = ApiKeyFile::list(path);
  REQUIRE(listed.is_ok());
  CHECK(listed->size() == kThreads * kPerThread);
}

TEST_CASE("api keys: authenticate is safe while another thread reloads the file", "[api_keys]") {
  TempDir dir;
  const std::string path = dir.file("api-keys");
  const KeyRing ring = random_ring();
  FakeClock clock;
  const auto key = ApiKeyFile::create(path, ring, ApiScope::kVerify, clock);
  REQUIRE(key.is_ok());
  FakePacing pacing;
  auto keys = ApiKeys::open(path, ring, pacing.source());
  REQUIRE(keys.is_ok());
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::vector<std::thread> readers;
  const std::string header = bearer(*key);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        if (!(*keys)->authenticate(header)) ++refused;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    REQUIRE(ApiKeyFile::create(path, ring, ApiScope::kVerify, clock).is_ok());
    pacing.advance(std::chrono::milliseconds(1100));
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  CHECK(refused == 0);
  CHECK((*keys)->problem().empty());
}

TEST_CASE("api keys: scope names parse and anything else is refused", "[api_keys]") {
  CHECK(parse_scope("verify").value() == ApiScope::kVerify);
  CHECK(parse_scope("operator").value() == ApiScope::kOperator);
  CHECK(scope_name(ApiScope::kVerify) == "verify");
  CHECK(scope_name(ApiScope::kOperator) == "operator");
  for (const std::string_view bad : {"", "Verify", "admin", "operator "}) {
    const auto scope = parse_scope(bad);
    CHECK(scope.code() == ErrorCode::kInvalidArgument);
    CHECK(scope.status().message() == "scope must be verify or operator");
  }
}
