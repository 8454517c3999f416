// SqliteStore: the Store contract on a fresh file per test, plus what only a file-backed, shared
// store must do: keep data across reopen, version its schema, refuse files that are not its own,
// and stay atomic when two connections (as two processes would) share one file.
#include "veribind/sqlite_store.hpp"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "store/store_contract.hpp"

namespace veribind::testing {
namespace {

namespace fs = std::filesystem;

// A directory under /tmp, removed with everything in it when the test is done.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/veribind-sqlite-test-XXXXXX";
    const char* made = ::mkdtemp(pattern.data());
    REQUIRE(made != nullptr);
    path_ = made;
  }
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::unique_ptr<SqliteStore> open_store(const fs::path& file) {
  auto opened = SqliteStore::open(file.string());
  INFO(opened.status().message());
  REQUIRE(opened.is_ok());
  return std::move(*opened);
}

// What the contract suite gets: a new store on a new file, and the directory that holds it.
struct SqliteFixture {
  TempDir dir;
  std::unique_ptr<SqliteStore> store;  // declared last, so closed before the directory goes
  Store& operator*() const { return *store; }
};

SqliteFixture fresh_sqlite_store() {
  SqliteFixture fixture;
  fixture.store = open_store(fixture.dir.path() / "veribind.db");
  return fixture;
}

// A plain connection of our own, to look at and tamper with the file the way another program
// (or an operator with the sqlite3 shell) would.
class RawDb {
 public:
  explicit RawDb(const fs::path& file) {
    const int rc =
        sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    REQUIRE(rc == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close_v2(db_); }

  void exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    INFO((error != nullptr ? error : ""));
    sqlite3_free(error);
    REQUIRE(rc == SQLITE_OK);
  }

  // Every row's first column, as text.
  std::vector<std::string> column(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::vector<std::string> rows;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      rows.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
    }
    sqlite3_finalize(stmt);
    REQUIRE(rc == SQLITE_DONE);
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

using contract::kT0;
using contract::make_binding;
using contract::make_challenge;
using contract::make_counter_key;
using contract::make_index;
using contract::race_charges;
using contract::RaceTally;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Strings = std::vector<std::string>;
// Every schema version a new database records, oldest first.
const Strings kSchemaVersions = {"1", "2", "3", "4"};

const char* const kSchemaObjects =
    "SELECT type || ' ' || name FROM sqlite_master ORDER BY type, name";

}  // namespace
}  // namespace veribind::testing

VERIBIND_STORE_CONTRACT_TESTS("sqlite", ::veribind::testing::fresh_sqlite_store())

namespace veribind::testing {
namespace {

TEST_CASE("SqliteStore: reopening the file keeps challenges, counters and bindings",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  const ChallengeRecord record = make_challenge(1);
  ChallengeRecord charged = record;
  charged.attempts = 1;
  {
    auto store = open_store(file);
    REQUIRE(store->create_challenge(record).is_ok());
    REQUIRE(store->charge_attempt(record.id, kT0)->outcome == ChargeOutcome::kCharged);
    REQUIRE(store->add_to_counter(make_counter_key(1), 1, kT0 + hours(1), kT0)->count == 1);
    REQUIRE(*store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), 1) ==
            BindOutcome::kBound);
  }
  auto reopened = open_store(file);
  REQUIRE(*reopened->find_challenge(record.id) == charged);
  REQUIRE(reopened->add_to_counter(make_counter_key(1), 1, kT0 + hours(1), kT0)->count == 2);
  REQUIRE(*reopened->find_accounts(make_index(1)) == Strings{"acct-1"});
  REQUIRE(*reopened->insert_binding(make_binding("acct-2", make_index(1), Channel::kPhone), 1) ==
          BindOutcome::kIdentifierFull);
}

TEST_CASE(
    "SqliteStore: a new database is at the latest schema version in WAL mode and reopening it "
    "changes nothing",
    "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  open_store(file).reset();

  Strings objects_before;
  {
    RawDb raw(file);
    REQUIRE(raw.column("SELECT version FROM schema_version ORDER BY version") == kSchemaVersions);
    REQUIRE(raw.column("PRAGMA journal_mode") == Strings{"wal"});
    objects_before = raw.column(kSchemaObjects);
  }
  REQUIRE(objects_before ==
          Strings{"index bindings_by_index", "index bindings_by_key_version",
                  "index challenges_by_expiry", "index challenges_by_key_version",
                  "index counters_by_window_end", "index sqlite_autoindex_bindings_1",
                  "table audit_head", "table audit_log", "table bindings", "table challenges",
                  "table counters", "table schema_version", "trigger audit_head_no_delete",
                  "trigger audit_head_only_forward", "trigger audit_log_no_delete",
                  "trigger audit_log_no_update"});

  open_store(file).reset();
  open_store(file).reset();
  RawDb raw(file);
  REQUIRE(raw.column("SELECT version FROM schema_version ORDER BY version") == kSchemaVersions);
  REQUIRE(raw.column(kSchemaObjects) == objects_before);
}

TEST_CASE("SqliteStore: a database of a newer schema version is refused with kStoreError",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  {
    auto store = open_store(file);
    REQUIRE(store->create_challenge(make_challenge(1)).is_ok());
  }
  Strings versions;
  {
    RawDb raw(file);
    raw.exec("INSERT INTO schema_version (version) SELECT max(version) + 1 FROM schema_version");
    versions = raw.column("SELECT version FROM schema_version ORDER BY version");
  }

  auto refused = SqliteStore::open(file.string());
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kStoreError);

  RawDb raw(file);
  REQUIRE(raw.column("SELECT version FROM schema_version ORDER BY version") == versions);
  REQUIRE(raw.column("SELECT count(*) FROM challenges") == Strings{"1"});
}

TEST_CASE("SqliteStore: a version 1 database is upgraded in place and keeps its rows",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  ChallengeRecord v1 = make_challenge(1);
  v1.calling_code = 0;  // what an upgraded row reads back: v1 did not record it
  {
    auto store = open_store(file);
    REQUIRE(store->create_challenge(v1).is_ok());
  }
  {
    // Take the file back to schema v1 as a v1 build left it.
    RawDb raw(file);
    raw.exec("ALTER TABLE challenges DROP COLUMN calling_code");
    raw.exec(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; "
        "DROP TRIGGER audit_head_only_forward; DROP TRIGGER audit_head_no_delete; "
        "DROP TABLE audit_log; DROP TABLE audit_head; "
        "DROP INDEX bindings_by_key_version; DROP INDEX challenges_by_key_version; "
        "ALTER TABLE bindings DROP COLUMN sealed_contact");
    raw.exec("DELETE FROM schema_version WHERE version > 1");
  }
  auto store = open_store(file);
  REQUIRE(*store->find_challenge(v1.id) == v1);
  ChallengeRecord v2 = make_challenge(2);
  REQUIRE(store->create_challenge(v2).is_ok());
  REQUIRE(*store->find_challenge(v2.id) == v2);
  RawDb raw(file);
  REQUIRE(raw.column("SELECT max(version) FROM schema_version") == Strings{kSchemaVersions.back()});
}

TEST_CASE("SqliteStore: a path in a directory that does not exist is kUnavailable",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path missing = dir.path() / "no-such-directory";
  auto refused = SqliteStore::open((missing / "veribind.db").string());
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kUnavailable);
  REQUIRE_FALSE(fs::exists(missing));
}

TEST_CASE("SqliteStore: a file that is not a database is refused and left unchanged",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "notes.txt";
  std::string content;
  for (int i = 0; i < 300; ++i)
    content += "these are notes, not a database " + std::to_string(i) + "\n";
  {
    std::ofstream out(file, std::ios::binary);
    out << content;
  }

  auto refused = SqliteStore::open(file.string());
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE(read_file(file) == content);
  REQUIRE_FALSE(fs::exists(dir.path() / "notes.txt-wal"));
  REQUIRE_FALSE(fs::exists(dir.path() / "notes.txt-journal"));
}

TEST_CASE("SqliteStore: another application's SQLite database is refused and left unchanged",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "other.db";
  {
    RawDb raw(file);
    raw.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello')");
  }
  const std::string before = read_file(file);

  auto refused = SqliteStore::open(file.string());
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE(read_file(file) == before);
  RawDb raw(file);
  REQUIRE(raw.column(kSchemaObjects) == Strings{"table notes"});
  REQUIRE(raw.column("PRAGMA journal_mode") == Strings{"delete"});
}

TEST_CASE("SqliteStore: the database file is readable and writable by its owner only",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  auto store = open_store(file);
  REQUIRE(store->create_challenge(make_challenge(1)).is_ok());  // the WAL file exists now
  struct stat info {};
  REQUIRE(::stat(file.c_str(), &info) == 0);
  REQUIRE((info.st_mode & 0777) == 0600);
  const fs::path wal = dir.path() / "veribind.db-wal";
  REQUIRE(fs::exists(wal));
  REQUIRE(::stat(wal.c_str(), &info) == 0);
  REQUIRE((info.st_mode & 0777) == 0600);
}

TEST_CASE("SqliteStore: a refused create says which operation failed and nothing about the data",
          "[store][sqlite]") {
  SqliteFixture fixture = fresh_sqlite_store();
  const ChallengeRecord record = make_challenge(1);
  REQUIRE(fixture.store->create_challenge(record).is_ok());
  Status refused = fixture.store->create_challenge(record);
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(refused.message(), Catch::Contains("create_challenge"));
  REQUIRE_THAT(refused.message(), !Catch::Contains(record.id.to_string()));
}

TEST_CASE("SqliteStore: find_accounts orders bindings made at the same instant by account id",
          "[store][sqlite]") {
  SqliteFixture fixture = fresh_sqlite_store();
  const BlindIndex index = make_index(1);
  for (const char* account : {"acct-c", "acct-a", "acct-b"}) {
    REQUIRE(*fixture.store->insert_binding(make_binding(account, index, Channel::kEmail, kT0), 5) ==
            BindOutcome::kBound);
  }
  REQUIRE(*fixture.store->insert_binding(
              make_binding("acct-0", index, Channel::kEmail, kT0 + seconds(1)), 5) ==
          BindOutcome::kBound);
  REQUIRE(*fixture.store->find_accounts(index) == Strings{"acct-a", "acct-b", "acct-c", "acct-0"});
}

TEST_CASE("SqliteStore: two stores on one file racing charges never exceed max_attempts",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  auto first = open_store(file);
  auto second = open_store(file);
  for (std::uint8_t n = 1; n <= 5; ++n) {
    const ChallengeRecord record = make_challenge(n, kT0 + minutes(10), 5);
    REQUIRE(first->create_challenge(record).is_ok());
    const RaceTally tally = race_charges(*first, *second, record.id, kT0, 50);
    REQUIRE(tally.charged == 5);
    REQUIRE(tally.exhausted == 95);
    REQUIRE(tally.other == 0);
    REQUIRE((*second->find_challenge(record.id))->attempts == 5);
  }
}

TEST_CASE(
    "SqliteStore: two stores on one file racing to bind one identifier bind exactly "
    "max_accounts accounts",
    "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  auto first = open_store(file);
  auto second = open_store(file);
  const BlindIndex index = make_index(1);
  constexpr std::uint32_t kMaxAccounts = 3;

  std::atomic<bool> go{false};
  std::atomic<int> bound{0}, full{0}, other{0};
  auto worker = [&](Store& store, const std::string& prefix) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) {
      auto outcome = store.insert_binding(
          make_binding(prefix + std::to_string(i), index, Channel::kPhone, kT0 + seconds(i)),
          kMaxAccounts);
      if (!outcome.is_ok()) {
        ++other;
      } else if (*outcome == BindOutcome::kBound) {
        ++bound;
      } else if (*outcome == BindOutcome::kIdentifierFull) {
        ++full;
      } else {
        ++other;
      }
    }
  };
  std::thread a(worker, std::ref(*first), std::string("first-"));
  std::thread b(worker, std::ref(*second), std::string("second-"));
  go.store(true);
  a.join();
  b.join();

  REQUIRE(bound.load() == 3);
  REQUIRE(full.load() == 37);
  REQUIRE(other.load() == 0);
  REQUIRE(first->find_accounts(index)->size() == 3);
}

// Several processes (not threads: each its own connection and locks) opening one new file at
// the same moment, as nodes starting together would: every one of them must get a working store.
TEST_CASE("SqliteStore: six processes opening one new file at once all succeed",
          "[store][sqlite][processes]") {
  for (int round = 0; round < 10; ++round) {
    TempDir dir;
    const fs::path file = dir.path() / "shared.db";
    constexpr int kProcesses = 6;
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; ++p) {
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        // The child reports through its exit status only (no Catch2 in a forked child).
        auto store = SqliteStore::open(file.string());
        if (!store) ::_exit(10 + static_cast<int>(store.code()) % 100);
        ChallengeRecord r = contract::make_challenge(static_cast<std::uint8_t>(p + 1));
        ::_exit((*store)->create_challenge(r).is_ok() ? 0 : 9);
      }
      children.push_back(pid);
    }
    int failures = 0;
    for (pid_t pid : children) {
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        UNSCOPED_INFO("child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
        ++failures;
      }
    }
    CHECK(failures == 0);
    auto store = open_store(file);
    for (int p = 0; p < kProcesses; ++p) {
      auto found =
          store->find_challenge(contract::make_challenge(static_cast<std::uint8_t>(p + 1)).id);
      REQUIRE(found.is_ok());
      CHECK(found->has_value());
    }
  }
}

}  // namespace
}  // namespace veribind::testing

namespace veribind::testing {
namespace {

using contract::kT0;
using contract::make_binding;
using contract::make_index;

TEST_CASE("SqliteStore: a database from before sealed contacts is upgraded and keeps its bindings",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  {
    auto store = open_store(file);
    REQUIRE(*store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), 1) ==
            BindOutcome::kBound);
  }
  {
    // Take the file back to version 3, as a database written before sealed contacts would be.
    RawDb raw(file);
    raw.exec(
        "DROP INDEX bindings_by_key_version; DROP INDEX challenges_by_key_version; "
        "ALTER TABLE bindings DROP COLUMN sealed_contact; "
        "DELETE FROM schema_version WHERE version = 4");
    REQUIRE(raw.column("SELECT max(version) FROM schema_version") == Strings{"3"});
  }
  auto store = open_store(file);
  auto bindings = store->bindings_of_account("acct-1");
  REQUIRE(bindings.is_ok());
  REQUIRE(bindings->size() == 1);
  CHECK((*bindings)[0].index == make_index(1));
  CHECK((*bindings)[0].sealed_contact.empty());
  CHECK((*bindings)[0].created_at == kT0);
  RawDb raw(file);
  CHECK(raw.column("SELECT version FROM schema_version ORDER BY version") == kSchemaVersions);
}

}  // namespace
}  // namespace veribind::testing
