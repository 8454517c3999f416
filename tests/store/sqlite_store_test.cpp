// SqliteStore: every store contract on a fresh file per test, plus what only a file-backed,
// shared store must do: keep data across reopen, version its schema, refuse files that are not
// its own, stay atomic when several connections (as several processes would) share one file, and
// sync each kind of state as DESIGN.md asks.
#include "veribind/sqlite_store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/account_contract.hpp"
#include "store/audit_contract.hpp"
#include "store/retention_contract.hpp"
#include "store/sqlite_support.hpp"
#include "store/verification_contract.hpp"

VERIBIND_VERIFICATION_CONTRACT_TESTS("sqlite", ::veribind::testing::fresh_sqlite_store())
VERIBIND_ACCOUNT_CONTRACT_TESTS("sqlite", ::veribind::testing::fresh_sqlite_store())
VERIBIND_AUDIT_CONTRACT_TESTS("sqlite", ::veribind::testing::fresh_sqlite_store())
VERIBIND_RETENTION_CONTRACT_TESTS("sqlite", ::veribind::testing::fresh_sqlite_store())

namespace veribind::testing {
namespace {

using contract::bind;
using contract::charge;
using contract::create;
using contract::increment;
using contract::kT0;
using contract::make_binding;
using contract::make_challenge;
using contract::make_counter_key;
using contract::make_id;
using contract::make_index;
using contract::race_charges;
using contract::RaceTally;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Strings = std::vector<std::string>;

// Every schema version a new database records, oldest first.
const Strings kSchemaVersions = {"1", "2", "3", "4", "5", "6"};

const char* const kSchemaObjects =
    "SELECT type || ' ' || name FROM sqlite_master ORDER BY type, name";

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Takes a file back to schema version 4, as the released veribind left it.
void downgrade_to_v4(RawDb& raw) {
  raw.exec(
      "DROP TRIGGER store_meta_no_update; DROP TRIGGER store_meta_no_delete; "
      "DROP TABLE store_meta; DELETE FROM schema_version WHERE version = 6; "
      "DROP TRIGGER challenges_count_failure; DROP TABLE identifier_failures; "
      "ALTER TABLE challenges DROP COLUMN charged_at; "
      "ALTER TABLE challenges DROP COLUMN failure_window_end; "
      "DELETE FROM schema_version WHERE version = 5");
}

CounterState failures_of(SqliteStore& store, const BlindIndex& index, Timestamp now) {
  std::array<CounterState, 0> none{};
  auto read = store.read_counters(index, {}, std::span(none), now);
  INFO(read.status().message());
  REQUIRE(read.is_ok());
  return *read;
}

TEST_CASE("SqliteStore: reopening the file keeps challenges, counters, failures and bindings",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  const ChallengeRecord record = make_challenge(1);
  ChallengeRecord charged = record;
  charged.attempts = 1;
  {
    auto store = open_store(file);
    create(*store, record);
    REQUIRE(charge(*store, record.id, kT0).outcome == ChargeOutcome::kCharged);
    REQUIRE(increment(*store, make_counter_key(1), kT0 + hours(1), kT0) == 1);
    REQUIRE(bind(*store, make_binding("acct-1", make_index(1), Channel::kPhone), 1) ==
            BindOutcome::kBound);
  }
  auto reopened = open_store(file);
  REQUIRE(contract::find(*reopened, record.id) == charged);
  REQUIRE(increment(*reopened, make_counter_key(1), kT0 + hours(1), kT0) == 2);
  REQUIRE(failures_of(*reopened, record.index, kT0) == CounterState{1, kT0 + hours(24)});
  REQUIRE(contract::accounts(*reopened, make_index(1)) == Strings{"acct-1"});
  REQUIRE(bind(*reopened, make_binding("acct-2", make_index(1), Channel::kPhone), 1) ==
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
  REQUIRE(objects_before == Strings{"index bindings_by_index",
                                    "index bindings_by_key_version",
                                    "index challenges_by_expiry",
                                    "index challenges_by_key_version",
                                    "index counters_by_window_end",
                                    "index identifier_failures_by_window_end",
                                    "index sqlite_autoindex_bindings_1",
                                    "table audit_head",
                                    "table audit_log",
                                    "table bindings",
                                    "table challenges",
                                    "table counters",
                                    "table identifier_failures",
                                    "table schema_version",
                                    "table store_meta",
                                    "trigger audit_head_no_delete",
                                    "trigger audit_head_only_forward",
                                    "trigger audit_log_no_delete",
                                    "trigger audit_log_no_update",
                                    "trigger challenges_count_failure",
                                    "trigger store_meta_no_delete",
                                    "trigger store_meta_no_update"});

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
    create(*store, make_challenge(1));
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
    create(*store, v1);
  }
  {
    // Take the file back to schema v1 as a v1 build left it.
    RawDb raw(file);
    downgrade_to_v4(raw);
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
  REQUIRE(contract::find(*store, v1.id) == v1);
  REQUIRE(charge(*store, v1.id, kT0).failures == CounterState{1, kT0 + hours(24)});
  ChallengeRecord v2 = make_challenge(2);
  create(*store, v2);
  REQUIRE(contract::find(*store, v2.id) == v2);
  RawDb raw(file);
  REQUIRE(raw.column("SELECT version FROM schema_version ORDER BY version") == kSchemaVersions);
}

TEST_CASE("SqliteStore: a database from before sealed contacts is upgraded and keeps its bindings",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  {
    auto store = open_store(file);
    REQUIRE(bind(*store, make_binding("acct-1", make_index(1), Channel::kPhone), 1) ==
            BindOutcome::kBound);
  }
  {
    // Take the file back to version 3, as a database written before sealed contacts would be.
    RawDb raw(file);
    downgrade_to_v4(raw);
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

TEST_CASE("SqliteStore: a path in a directory that does not exist is kUnavailable",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path missing = dir.path() / "no-such-directory";
  auto refused = SqliteStore::open((missing / "veribind.db").string());
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kUnavailable);
  REQUIRE_FALSE(fs::exists(missing));
}

TEST_CASE("SqliteStore: an in-memory database is refused: two connections need one file",
          "[store][sqlite]") {
  for (const char* path : {"", ":memory:"}) {
    auto refused = SqliteStore::open(path);
    REQUIRE_FALSE(refused.is_ok());
    REQUIRE(refused.code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("SqliteStore: a file that is not a database is refused and left unchanged",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "notes.txt";
  std::string content;
  for (int i = 0; i < 300; ++i) {
    content += "these are notes, not a database " + std::to_string(i) + "\n";
  }
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
  create(*store, make_challenge(1));  // the WAL file exists now
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
  create(*fixture, record);
  Status refused = fixture.store->create_challenge(record, {}, kT0);
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(refused.message(), Catch::Contains("create_challenge"));
  REQUIRE_THAT(refused.message(), !Catch::Contains(record.id.to_string()));
}

TEST_CASE("SqliteStore: find_accounts orders bindings made at the same instant by account id",
          "[store][sqlite]") {
  SqliteFixture fixture = fresh_sqlite_store();
  const BlindIndex index = make_index(1);
  for (const char* account : {"acct-c", "acct-a", "acct-b"}) {
    REQUIRE(bind(*fixture, make_binding(account, index, Channel::kEmail, kT0), 5) ==
            BindOutcome::kBound);
  }
  REQUIRE(bind(*fixture, make_binding("acct-0", index, Channel::kEmail, kT0 + seconds(1)), 5) ==
          BindOutcome::kBound);
  REQUIRE(contract::accounts(*fixture, index) == Strings{"acct-a", "acct-b", "acct-c", "acct-0"});
}

// --- the one-statement charge and the failure count ----------------------------------------------

TEST_CASE("SqliteStore: a charge that hits is one statement; a consume is one transaction",
          "[store][sqlite]") {
  TempDir dir;
  ConnectionTap tap;
  auto store = open_store(dir.path() / "veribind.db");
  const ChallengeRecord record = make_challenge(1);
  create(*store, record);
  tap.take();

  const ChargeResult charged = charge(*store, record.id, kT0);
  REQUIRE(charged.outcome == ChargeOutcome::kCharged);
  REQUIRE(charged.failures == CounterState{1, kT0 + hours(24)});
  const Strings statements = tap.take();
  REQUIRE(statements.size() == 1);
  REQUIRE_THAT(statements[0], Catch::StartsWith("UPDATE challenges SET attempts = attempts + 1"));

  // A miss: the UPDATE, and one read that says why.
  REQUIRE(charge(*store, make_id(9), kT0).outcome == ChargeOutcome::kNotFound);
  REQUIRE(tap.take().size() == 2);

  REQUIRE(*store->consume_challenge(record.id));
  REQUIRE(tap.take() ==
          Strings{"BEGIN IMMEDIATE",
                  "DELETE FROM challenges WHERE id = ?1 RETURNING blind_index, key_version",
                  "DELETE FROM identifier_failures WHERE blind_index = ?1 AND key_version = ?2",
                  "COMMIT"});
}

TEST_CASE(
    "SqliteStore: the failure count is kept in its own table, and purge keeps a live one "
    "when it removes the challenge that counted it",
    "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  auto store = open_store(file);
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10));
  create(*store, record);
  REQUIRE(charge(*store, record.id, kT0).failures.count == 1);
  REQUIRE(charge(*store, record.id, kT0 + minutes(1)).failures.count == 2);
  {
    RawDb raw(file);
    REQUIRE(raw.column("SELECT count FROM identifier_failures") == Strings{"2"});
  }
  // The challenge expires after 10 minutes; its identifier's failures count for 24 hours.
  const PurgeCounts purged = contract::purge(*store, kT0 + minutes(10), 100);
  REQUIRE(purged.challenges == 1);
  REQUIRE(purged.counters == 0);
  REQUIRE_FALSE(contract::find(*store, record.id).has_value());
  REQUIRE(failures_of(*store, record.index, kT0 + minutes(10)) == CounterState{2, kT0 + hours(24)});
  // A consume of a challenge that is gone clears nothing either.
  REQUIRE_FALSE(*store->consume_challenge(record.id));
  REQUIRE(failures_of(*store, record.index, kT0 + minutes(10)).count == 2);
  // Once the window has ended, purge removes it.
  REQUIRE(contract::purge(*store, kT0 + hours(24), 100).counters == 1);
  RawDb raw(file);
  REQUIRE(raw.column("SELECT count(*) FROM identifier_failures") == Strings{"0"});
}

TEST_CASE("SqliteStore: counters and failure counts share purge's batch", "[store][sqlite]") {
  SqliteFixture fixture = fresh_sqlite_store();
  SqliteStore& store = *fixture;
  for (std::uint8_t n = 1; n <= 3; ++n) {
    REQUIRE(increment(store, make_counter_key(n), kT0 + minutes(1), kT0) == 1);
    const ChallengeRecord record = make_challenge(n, kT0 + hours(1));
    create(store, record);
    REQUIRE(store.charge_attempt(record.id, kT0, kT0 + minutes(1))->outcome ==
            ChargeOutcome::kCharged);
  }
  const std::size_t expected[] = {4, 2, 0};
  for (std::size_t want : expected) {
    REQUIRE(contract::purge(store, kT0 + minutes(1), 4).counters == want);
  }
}

TEST_CASE("SqliteStore: a failure count saturates at 4294967295", "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  auto store = open_store(file);
  const ChallengeRecord record = make_challenge(1);
  create(*store, record);
  REQUIRE(charge(*store, record.id, kT0).failures.count == 1);
  {
    RawDb raw(file);
    raw.exec("UPDATE identifier_failures SET count = 4294967294");
  }
  REQUIRE(charge(*store, record.id, kT0).failures.count == 4294967295u);
  REQUIRE(charge(*store, record.id, kT0).failures.count == 4294967295u);
}

TEST_CASE(
    "SqliteStore: four threads on two stores sharing one file, charging one identifier's "
    "challenges, count every charge exactly once",
    "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  auto first = open_store(file);
  auto second = open_store(file);
  constexpr int kChallenges = 4;
  constexpr int kPerThread = 60;  // more than a challenge allows: some charges are refused
  std::vector<ChallengeRecord> records;
  for (int n = 1; n <= kChallenges; ++n) {
    ChallengeRecord r = make_challenge(static_cast<std::uint8_t>(n), kT0 + hours(1), 50);
    r.index = make_index(1, 7);
    create(*first, r);
    records.push_back(r);
  }
  std::atomic<bool> go{false};
  std::atomic<int> charged{0}, errors{0};
  std::atomic<std::uint32_t> highest{0};
  auto worker = [&](SqliteStore& store, int t) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < kPerThread; ++i) {
      const ChallengeRecord& r = records[static_cast<std::size_t>((t + i) % kChallenges)];
      auto result = store.charge_attempt(r.id, kT0, kT0 + hours(24));
      if (!result.is_ok()) {
        ++errors;
      } else if (result->outcome == ChargeOutcome::kCharged) {
        ++charged;
        std::uint32_t seen = highest.load();
        while (result->failures.count > seen &&
               !highest.compare_exchange_weak(seen, result->failures.count)) {
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back(worker, std::ref(t % 2 == 0 ? *first : *second), t);
  go.store(true);
  for (std::thread& t : threads) t.join();

  REQUIRE(errors.load() == 0);
  REQUIRE(charged.load() == kChallenges * 50);  // 240 tries, 200 chargeable
  REQUIRE(highest.load() == static_cast<std::uint32_t>(charged.load()));
  REQUIRE(failures_of(*second, records[0].index, kT0).count ==
          static_cast<std::uint32_t>(charged.load()));
}

TEST_CASE("SqliteStore: two stores on one file racing charges never exceed max_attempts",
          "[store][sqlite]") {
  TempDir dir;
  const fs::path file = dir.path() / "veribind.db";
  auto first = open_store(file);
  auto second = open_store(file);
  for (std::uint8_t n = 1; n <= 5; ++n) {
    const ChallengeRecord record = make_challenge(n, kT0 + minutes(10), 5);
    create(*first, record);
    const RaceTally tally = race_charges(*first, *second, record.id, kT0, 50);
    REQUIRE(tally.charged == 5);
    REQUIRE(tally.exhausted == 95);
    REQUIRE(tally.other == 0);
    REQUIRE(contract::find(*second, record.id)->attempts == 5);
    REQUIRE(failures_of(*first, record.index, kT0).count == 5);
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
  auto worker = [&](AccountStore& store, const std::string& prefix) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) {
      auto outcome = store.insert_binding(
          make_binding(prefix + std::to_string(i), index, Channel::kPhone, kT0 + seconds(i)), {},
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

// --- durability settings
// ---------------------------------------------------------------------------

TEST_CASE(
    "SqliteStore: verification state commits with synchronous NORMAL, bindings and the audit log "
    "with FULL, and sync_every_commit makes both FULL",
    "[store][sqlite]") {
  TempDir dir;
  // PRAGMA synchronous: 1 NORMAL, 2 FULL. The store opens the account connection first.
  const auto settings = [&](const std::string& name, const SqliteOptions& options) {
    ConnectionTap tap;
    auto store = open_store(dir.path() / name, options);
    const std::vector<sqlite3*> opened = tap.opened();
    REQUIRE(opened.size() == 2);
    Strings out;
    for (sqlite3* db : opened) out.push_back(RawDb::column_of(db, "PRAGMA synchronous").at(0));
    // Each connection runs its own kind of operation: a charge on one, a bind on the other.
    create(*store, make_challenge(1));
    tap.take();
    charge(*store, make_id(1), kT0);
    const auto charged = tap.take_with_connections();
    REQUIRE(charged.size() == 1);
    CHECK(charged[0].first == opened[1]);
    bind(*store, make_binding("acct-1", make_index(1), Channel::kPhone), 5);
    const auto bound = tap.take_with_connections();
    REQUIRE(bound.size() >= 3);  // BEGIN IMMEDIATE, the checks and the insert, COMMIT
    for (const auto& [db, sql] : bound) CHECK(db == opened[0]);
    return out;
  };
  REQUIRE(settings("default.db", {}) == Strings{"2", "1"});
  REQUIRE(settings("synced.db", {.sync_every_commit = true}) == Strings{"2", "2"});
}

// Several processes (not threads: each its own connections and locks) opening one new file at
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
        ChallengeRecord r = make_challenge(static_cast<std::uint8_t>(p + 1));
        ::_exit((*store)->create_challenge(r, {}, kT0).is_ok() ? 0 : 9);
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
      CHECK(contract::find(*store, make_id(static_cast<std::uint8_t>(p + 1))).has_value());
    }
  }
}

// Processes charging one identifier's challenges at once: the count is exact across them.
TEST_CASE("SqliteStore: four processes charging one identifier count every charge exactly once",
          "[store][sqlite][processes]") {
  TempDir dir;
  const fs::path file = dir.path() / "shared.db";
  constexpr int kProcesses = 4;
  constexpr int kPerProcess = 40;
  {
    auto store = open_store(file);
    for (int p = 0; p < kProcesses; ++p) {
      ChallengeRecord r = make_challenge(static_cast<std::uint8_t>(p + 1), kT0 + hours(1), 255);
      r.index = make_index(1, 7);
      create(*store, r);
    }
  }
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto store = SqliteStore::open(file.string());
      if (!store) ::_exit(10);
      for (int i = 0; i < kPerProcess; ++i) {
        // Every process charges every challenge in turn, so all of them race on each row.
        const ChallengeId id = make_id(static_cast<std::uint8_t>((p + i) % kProcesses + 1));
        auto r = (*store)->charge_attempt(id, kT0, kT0 + hours(24));
        if (!r || r->outcome != ChargeOutcome::kCharged) ::_exit(11);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  auto store = open_store(file);
  REQUIRE(failures_of(*store, make_index(1, 7), kT0).count == kProcesses * kPerProcess);
  int attempts = 0;
  for (int p = 0; p < kProcesses; ++p) {
    attempts += contract::find(*store, make_id(static_cast<std::uint8_t>(p + 1)))->attempts;
  }
  REQUIRE(attempts == kProcesses * kPerProcess);
}

}  // namespace
}  // namespace veribind::testing
