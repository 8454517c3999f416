// PostgresStore against a real PostgreSQL 15 server (ctest's pg_start fixture): the Store contract
// on a new schema per test, plus what only a shared network store must do: version its schema
// once however many nodes start, keep its guarantees between nodes, report an unreachable or
// stuck server as kUnavailable, and recover by itself when the server comes back.
#include "veribind/postgres_store.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_support.hpp"
#include "store/store_contract.hpp"

VERIBIND_STORE_CONTRACT_TESTS("postgres", ::veribind::testing::fresh_postgres_store())

namespace veribind::testing {
namespace {

using contract::kT0;
using contract::make_binding;
using contract::make_challenge;
using contract::make_counter_key;
using contract::make_index;
using contract::race_charges;
using contract::RaceTally;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Strings = std::vector<std::string>;

std::string objects_of(RawPg& raw, const std::string& schema) {
  std::string all;
  for (const std::string& name :
       raw.column("SELECT c.relkind::text || ' ' || c.relname FROM pg_class c JOIN pg_namespace n "
                  "ON n.oid = c.relnamespace WHERE n.nspname = '" +
                  schema + "' ORDER BY c.relname")) {
    all += name + "\n";
  }
  return all;
}

TEST_CASE(
    "PostgresStore: a new schema is at version 1 and a second node opening it changes nothing",
    "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  RawPg raw(fixture.conninfo);
  const std::string table = "\"" + fixture.schema() + "\".schema_version";
  const Strings versions = raw.column("SELECT version || ' ' || xmin::text FROM " + table);
  REQUIRE(versions.size() == 1);
  REQUIRE(versions[0].rfind("1 ", 0) == 0);
  const std::string objects = objects_of(raw, fixture.schema());
  REQUIRE(objects ==
          "r bindings\ni bindings_by_index\ni bindings_pkey\nr challenges\n"
          "i challenges_by_expiry\ni challenges_pkey\nr counters\ni counters_by_window_end\n"
          "i counters_pkey\nr schema_version\ni schema_version_pkey\n");
  fixture.open_another().reset();
  fixture.open_another().reset();

  // The same row, written by the same transaction: nothing was migrated or recorded again.
  REQUIRE(raw.column("SELECT version || ' ' || xmin::text FROM " + table) == versions);
  REQUIRE(objects_of(raw, fixture.schema()) == objects);
}

TEST_CASE("PostgresStore: a schema of a newer version is refused with kStoreError, unchanged",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  REQUIRE(fixture.store->create_challenge(make_challenge(1)).is_ok());
  RawPg raw(fixture.conninfo);
  const std::string schema = "\"" + fixture.schema() + "\"";
  raw.exec("INSERT INTO " + schema + ".schema_version (version) VALUES (2)");

  auto refused = PostgresStore::open(fixture.conninfo, fixture.options);
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(refused.status().message(), Catch::Contains("newer"));
  REQUIRE(raw.column("SELECT version FROM " + schema + ".schema_version ORDER BY version") ==
          Strings{"1", "2"});
  REQUIRE(raw.column("SELECT count(*) FROM " + schema + ".challenges") == Strings{"1"});
}

TEST_CASE("PostgresStore: six processes opening one new schema at once all succeed",
          "[store][postgres][processes]") {
  const std::string conninfo = pg_conninfo();
  for (int round = 0; round < 3; ++round) {
    PostgresOptions options;
    options.schema = new_schema_name();
    constexpr int kProcesses = 6;
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; ++p) {
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        // Each child connects after the fork; it reports through its exit status only.
        auto store = PostgresStore::open(conninfo, options);
        if (!store) ::_exit(10 + static_cast<int>(store.code()) % 100);
        ::_exit((*store)->create_challenge(make_challenge(static_cast<std::uint8_t>(p + 1))).is_ok()
                    ? 0
                    : 9);
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
    RawPg raw(conninfo);
    const std::string schema = "\"" + options.schema + "\"";
    CHECK(failures == 0);
    CHECK(raw.column("SELECT version FROM " + schema + ".schema_version") == Strings{"1"});
    CHECK(raw.column("SELECT count(*) FROM " + schema + ".challenges") == Strings{"6"});
    drop_schema(conninfo, options.schema);
  }
}

TEST_CASE("PostgresStore: a server that nothing listens on is kUnavailable, with a clear message",
          "[store][postgres]") {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  PostgresOptions options;
  options.connect_timeout = seconds(2);
  auto refused = PostgresStore::open("postgresql://veribind:s3cret@127.0.0.1:1/veribind", options);
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kUnavailable);
  REQUIRE_THAT(refused.status().message(), Catch::Contains("unreachable"));
  REQUIRE_THAT(refused.status().message(), !Catch::Contains("s3cret"));
}

TEST_CASE("PostgresStore: bad options and unparsable conninfo are kInvalidArgument",
          "[store][postgres]") {
  const std::string conninfo = pg_conninfo();
  auto refused_with = [&](PostgresOptions options) {
    auto opened = PostgresStore::open(conninfo, options);
    REQUIRE_FALSE(opened.is_ok());
    return opened.code();
  };
  PostgresOptions zero_pool;
  zero_pool.pool_size = 0;
  REQUIRE(refused_with(zero_pool) == ErrorCode::kInvalidArgument);
  PostgresOptions huge_pool;
  huge_pool.pool_size = 65;
  REQUIRE(refused_with(huge_pool) == ErrorCode::kInvalidArgument);
  PostgresOptions no_timeout;
  no_timeout.statement_timeout = milliseconds(0);
  REQUIRE(refused_with(no_timeout) == ErrorCode::kInvalidArgument);
  for (const char* schema : {"Upper", "with-dash", "1digit", "pg_catalog", "a\"b"}) {
    PostgresOptions bad_schema;
    bad_schema.schema = schema;
    INFO(schema);
    REQUIRE(refused_with(bad_schema) == ErrorCode::kInvalidArgument);
  }

  auto garbled = PostgresStore::open("host=127.0.0.1 password=s3cret no_such_setting=1");
  REQUIRE(garbled.code() == ErrorCode::kInvalidArgument);
  REQUIRE_THAT(garbled.status().message(), !Catch::Contains("s3cret"));
  auto bad_uri = PostgresStore::open("postgresql://u:s3cret@[::1/db");
  REQUIRE(bad_uri.code() == ErrorCode::kInvalidArgument);
  REQUIRE_THAT(bad_uri.status().message(), !Catch::Contains("s3cret"));
}

TEST_CASE("PostgresStore: a refused create says which operation failed and nothing about the data",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  const ChallengeRecord record = make_challenge(1);
  REQUIRE(fixture.store->create_challenge(record).is_ok());
  Status refused = fixture.store->create_challenge(record);
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(refused.message(), Catch::Contains("create_challenge"));
  REQUIRE_THAT(refused.message(), !Catch::Contains(record.id.to_string()));
}

TEST_CASE("PostgresStore: find_accounts orders bindings made at the same instant by account id",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  const BlindIndex index = make_index(1);
  for (const char* account : {"acct-c", "acct-B", "acct-a", "acct-b"}) {
    REQUIRE(*fixture.store->insert_binding(make_binding(account, index, Channel::kEmail, kT0), 5) ==
            BindOutcome::kBound);
  }
  // Byte order, as SQLite's: upper case before lower case, whatever the server's locale.
  REQUIRE(*fixture.store->find_accounts(index) == Strings{"acct-B", "acct-a", "acct-b", "acct-c"});
}

TEST_CASE(
    "PostgresStore: a statement stuck behind a lock times out as kUnavailable, charging nothing",
    "[store][postgres]") {
  PostgresOptions options;
  options.statement_timeout = milliseconds(300);
  PgFixture fixture = fresh_postgres_store(options);
  const ChallengeRecord record = make_challenge(1);
  REQUIRE(fixture.store->create_challenge(record).is_ok());

  // Another session holds the row's lock, as a hung node would.
  RawPg holder(fixture.conninfo);
  holder.exec("BEGIN");
  holder.exec("SELECT 1 FROM \"" + fixture.schema() + "\".challenges FOR UPDATE");
  auto stuck = fixture.store->charge_attempt(record.id, kT0);
  REQUIRE_FALSE(stuck.is_ok());
  REQUIRE(stuck.code() == ErrorCode::kUnavailable);
  REQUIRE_THAT(stuck.status().message(), Catch::Contains("timed out"));
  holder.exec("ROLLBACK");

  // Nothing was charged, and the store carries on.
  REQUIRE((*fixture.store->find_challenge(record.id))->attempts == 0);
  REQUIRE(fixture.store->charge_attempt(record.id, kT0)->outcome == ChargeOutcome::kCharged);
  REQUIRE((*fixture.store->find_challenge(record.id))->attempts == 1);
}

TEST_CASE("PostgresStore: eight threads sharing a pool of two connections never exceed the limit",
          "[store][postgres]") {
  PostgresOptions options;
  options.pool_size = 2;
  PgFixture fixture = fresh_postgres_store(options);
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10), 7);
  REQUIRE(fixture.store->create_challenge(record).is_ok());
  std::atomic<int> charged{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto r = fixture.store->charge_attempt(record.id, kT0);
        if (!r.is_ok()) {
          ++other;
        } else if (r->outcome == ChargeOutcome::kCharged) {
          ++charged;
        } else if (r->outcome == ChargeOutcome::kExhausted) {
          ++exhausted;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  REQUIRE(charged.load() == 7);
  REQUIRE(exhausted.load() == 73);
  REQUIRE(other.load() == 0);
}

TEST_CASE("PostgresStore: two stores (two nodes) racing charges never exceed max_attempts",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  auto second = fixture.open_another();
  for (std::uint8_t n = 1; n <= 5; ++n) {
    const ChallengeRecord record = make_challenge(n, kT0 + minutes(10), 5);
    REQUIRE(fixture.store->create_challenge(record).is_ok());
    const RaceTally tally = race_charges(*fixture.store, *second, record.id, kT0, 50);
    REQUIRE(tally.charged == 5);
    REQUIRE(tally.exhausted == 95);
    REQUIRE(tally.other == 0);
    REQUIRE((*second->find_challenge(record.id))->attempts == 5);
  }
}

TEST_CASE("PostgresStore: two stores racing to bind one identifier bind exactly max_accounts",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  auto second = fixture.open_another();
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
  std::thread a(worker, std::ref(*fixture.store), std::string("first-"));
  std::thread b(worker, std::ref(*second), std::string("second-"));
  go.store(true);
  a.join();
  b.join();
  REQUIRE(bound.load() == 3);
  REQUIRE(full.load() == 37);
  REQUIRE(other.load() == 0);
  REQUIRE(fixture.store->find_accounts(index)->size() == 3);
}

// A server of this test's own (not the shared one), stopped and started again mid-test.
class PrivateServer {
 public:
  PrivateServer() {
    std::string pattern = "/tmp/veribind-pg-state-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    state_ = pattern;
    REQUIRE(script("start") == 0);
    std::ifstream in(state_ + "/conninfo");
    std::getline(in, conninfo_);
    REQUIRE_FALSE(conninfo_.empty());
  }
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;
  ~PrivateServer() {
    script("stop");
    std::error_code ignored;
    std::filesystem::remove_all(state_, ignored);
  }
  int script(const std::string& command) const {
    const std::string line =
        "bash '" VERIBIND_PG_SCRIPT "' " + command + " '" + state_ + "' -c fsync=off >/dev/null";
    return std::system(line.c_str());
  }
  [[nodiscard]] const std::string& conninfo() const { return conninfo_; }

 private:
  std::string state_;
  std::string conninfo_;
};

TEST_CASE(
    "PostgresStore: while the server is down operations are kUnavailable, and after it restarts "
    "the same store works again, data intact",
    "[store][postgres][restart]") {
  PrivateServer server;
  PostgresOptions options;
  options.pool_size = 2;
  options.connect_timeout = seconds(2);
  auto store = open_pg(server.conninfo(), options);
  const ChallengeRecord record = make_challenge(1);
  REQUIRE(store->create_challenge(record).is_ok());
  REQUIRE(store->charge_attempt(record.id, kT0)->outcome == ChargeOutcome::kCharged);

  REQUIRE(server.script("pause") == 0);
  auto down = store->charge_attempt(record.id, kT0);
  REQUIRE_FALSE(down.is_ok());
  REQUIRE(down.code() == ErrorCode::kUnavailable);
  REQUIRE_THAT(down.status().message(), Catch::Contains("charge_attempt"));
  REQUIRE_THAT(down.status().message(), Catch::Contains("unreachable"));
  auto bind_down = store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), 1);
  REQUIRE(bind_down.code() == ErrorCode::kUnavailable);

  REQUIRE(server.script("resume") == 0);
  // Every connection of the pool died with the server; each is replaced on its next use.
  for (int i = 0; i < 4; ++i) {
    auto found = store->find_challenge(record.id);
    INFO(found.status().message());
    REQUIRE(found.is_ok());
    REQUIRE((*found)->attempts == 1);
  }
  REQUIRE(store->charge_attempt(record.id, kT0)->outcome == ChargeOutcome::kCharged);
  REQUIRE(*store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), 1) ==
          BindOutcome::kBound);

  // A restart while the store sits idle is noticed before a statement is lost on a dead
  // connection: the first operation after it succeeds.
  REQUIRE(server.script("pause") == 0);
  REQUIRE(server.script("resume") == 0);
  auto after = store->charge_attempt(record.id, kT0);
  INFO(after.status().message());
  REQUIRE(after.is_ok());
  REQUIRE(after->outcome == ChargeOutcome::kCharged);
  REQUIRE(after->record.attempts == 3);
}

}  // namespace
}  // namespace veribind::testing
