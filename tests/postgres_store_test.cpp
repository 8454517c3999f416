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

// The triggers on the schema's tables, "table trigger" per line.
std::string triggers_of(RawPg& raw, const std::string& schema) {
  std::string all;
  for (const std::string& name :
       raw.column("SELECT c.relname || ' ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid "
                  "= t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" +
                  schema + "' AND NOT t.tgisinternal ORDER BY 1")) {
    all += name + "\n";
  }
  return all;
}

TEST_CASE(
    "PostgresStore: a new schema is at version 4 and a second node opening it changes nothing",
    "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  RawPg raw(fixture.conninfo);
  const std::string table = "\"" + fixture.schema() + "\".schema_version";
  const std::string query =
      "SELECT version || ' ' || xmin::text FROM " + table + " ORDER BY version";
  const Strings versions = raw.column(query);
  REQUIRE(versions.size() == 4);
  for (std::size_t i = 0; i < versions.size(); ++i) {
    REQUIRE(versions[i].rfind(std::to_string(i + 1) + " ", 0) == 0);
    // Every migration in the one transaction that created the schema.
    REQUIRE(versions[i].substr(2) == versions[0].substr(2));
  }
  const std::string objects = objects_of(raw, fixture.schema());
  REQUIRE(objects ==
          "r audit_head\ni audit_head_pkey\nr audit_log\ni audit_log_pkey\nr bindings\n"
          "i bindings_by_index\ni bindings_by_key_version\ni bindings_pkey\nr challenges\n"
          "i challenges_by_expiry\ni challenges_by_key_version\ni challenges_pkey\nr counters\n"
          "i counters_by_window_end\ni counters_pkey\nr schema_version\ni schema_version_pkey\n");
  REQUIRE(triggers_of(raw, fixture.schema()) ==
          "audit_head audit_head_no_delete\naudit_head audit_head_no_truncate\n"
          "audit_head audit_head_only_forward\naudit_log audit_log_no_delete\n"
          "audit_log audit_log_no_truncate\naudit_log audit_log_no_update\n");
  fixture.open_another().reset();
  fixture.open_another().reset();

  // The same rows, written by the same transaction: nothing was migrated or recorded again.
  REQUIRE(raw.column(query) == versions);
  REQUIRE(objects_of(raw, fixture.schema()) == objects);
}

TEST_CASE("PostgresStore: a version 1 schema is upgraded in place and keeps its rows",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  ChallengeRecord challenge = make_challenge(1);
  challenge.calling_code = 0;  // what a version 1 row reads as
  REQUIRE(fixture.store->create_challenge(challenge).is_ok());
  REQUIRE(*fixture.store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone),
                                         1) == BindOutcome::kBound);
  REQUIRE(fixture.store->add_to_counter(make_counter_key(1), 1, kT0 + hours(1), kT0)->count == 1);
  fixture.store.reset();

  // Take the schema back to version 1, as the first PostgresStore release left it.
  RawPg raw(fixture.conninfo);
  const std::string schema = "\"" + fixture.schema() + "\"";
  raw.exec("SET search_path = " + schema +
           "; DROP TABLE audit_log, audit_head; "
           "DROP FUNCTION veribind_audit_log_append_only(), veribind_audit_head_only_forward(); "
           "ALTER TABLE challenges DROP COLUMN calling_code; "
           "ALTER TABLE bindings DROP COLUMN sealed_contact; "
           "DROP INDEX bindings_by_key_version, challenges_by_key_version; "
           "DELETE FROM schema_version WHERE version > 1");

  fixture.store = fixture.open_another();
  REQUIRE(raw.column("SELECT version FROM " + schema + ".schema_version ORDER BY version") ==
          Strings{"1", "2", "3", "4"});
  REQUIRE(*fixture.store->find_challenge(challenge.id) == challenge);
  const auto bindings = fixture.store->bindings_of_account("acct-1");
  REQUIRE(bindings.is_ok());
  REQUIRE(bindings->size() == 1);
  CHECK((*bindings)[0].index == make_index(1));
  CHECK((*bindings)[0].sealed_contact.empty());
  REQUIRE(fixture.store->add_to_counter(make_counter_key(1), 0, {}, kT0)->count == 1);
  REQUIRE_FALSE(fixture.store->audit_head()->has_value());

  // The new columns are written and read back.
  ChallengeRecord phone = make_challenge(2);
  phone.calling_code = 882;
  REQUIRE(fixture.store->create_challenge(phone).is_ok());
  REQUIRE(*fixture.store->find_challenge(phone.id) == phone);
}

TEST_CASE("PostgresStore: the audit log refuses edits, deletes and a head moved back",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  const AuditRecord first = contract::make_audit_entry(1);
  const AuditRecord second = contract::make_audit_entry(2);
  REQUIRE(*fixture.store->append_audit(first, contract::make_audit_head(first)) ==
          AuditAppendOutcome::kAppended);
  REQUIRE(*fixture.store->append_audit(second, contract::make_audit_head(second)) ==
          AuditAppendOutcome::kAppended);

  RawPg raw(fixture.conninfo);
  const std::string schema = "\"" + fixture.schema() + "\"";
  for (const std::string& edit : {
           "UPDATE " + schema + ".audit_log SET accounts_returned = 0",
           "DELETE FROM " + schema + ".audit_log WHERE sequence = 2",
           "TRUNCATE " + schema + ".audit_log",
           "UPDATE " + schema + ".audit_head SET count = 1",
           "UPDATE " + schema + ".audit_head SET mac = last_mac",
           "DELETE FROM " + schema + ".audit_head",
           "TRUNCATE " + schema + ".audit_head",
       }) {
    INFO(edit);
    REQUIRE_FALSE(raw.try_exec(edit));
  }
  const auto entries = fixture.store->scan_audit(1, 10);
  REQUIRE(entries.is_ok());
  REQUIRE(*entries == std::vector<AuditRecord>{first, second});
  REQUIRE(*fixture.store->audit_head() == contract::make_audit_head(second));

  // An entry whose sequence exists although the head says otherwise is a store error (the head
  // is moved back behind the triggers' back, as only the table's owner could).
  raw.exec("ALTER TABLE " + schema + ".audit_head DISABLE TRIGGER USER");
  raw.exec("UPDATE " + schema + ".audit_head SET count = 1");
  raw.exec("ALTER TABLE " + schema + ".audit_head ENABLE TRIGGER USER");
  auto clash = fixture.store->append_audit(second, contract::make_audit_head(second));
  REQUIRE(clash.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(clash.status().message(), Catch::Contains("append_audit"));
  REQUIRE(fixture.store->scan_audit(1, 10)->size() == 2);
}

TEST_CASE("PostgresStore: two stores (two nodes) appending audit entries get consecutive sequences",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  auto second = fixture.open_another();
  constexpr int kPerNode = 20;
  std::atomic<int> errors{0};
  auto writer = [&errors](Store& store, const std::string& who) {
    for (int i = 0; i < kPerNode; ++i) {
      while (true) {
        auto h = store.audit_head();
        if (!h) {
          ++errors;
          return;
        }
        AuditRecord e = contract::make_audit_entry(*h ? (*h)->count + 1 : 1);
        e.requested_by = who;
        auto outcome = store.append_audit(e, contract::make_audit_head(e));
        if (!outcome) {
          ++errors;
          return;
        }
        if (*outcome == AuditAppendOutcome::kAppended) break;
      }
    }
  };
  std::thread a(writer, std::ref(*fixture.store), std::string("a"));
  std::thread b(writer, std::ref(*second), std::string("b"));
  a.join();
  b.join();
  REQUIRE(errors == 0);
  const auto all = second->scan_audit(1, 1000);
  REQUIRE(all.is_ok());
  REQUIRE(all->size() == 2 * kPerNode);
  int by_a = 0;
  for (std::size_t i = 0; i < all->size(); ++i) {
    REQUIRE((*all)[i].sequence == i + 1);
    if ((*all)[i].requested_by == "a") ++by_a;
  }
  REQUIRE(by_a == kPerNode);
  REQUIRE(*fixture.store->audit_head() == contract::make_audit_head(all->back()));
}

TEST_CASE(
    "PostgresStore: two stores binding one identifier under two key versions bind exactly "
    "max_accounts",
    "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  auto second = fixture.open_another();
  // The same identifier under key versions 1 and 2: each node binds under its own version and
  // counts the other, so both take both locks (in the same order: no deadlock).
  const BlindIndex v1 = make_index(1, 1);
  const BlindIndex v2 = make_index(9, 2);
  constexpr std::uint32_t kMaxAccounts = 3;
  std::atomic<bool> go{false};
  std::atomic<int> bound{0}, full{0}, other{0};
  auto worker = [&](Store& store, const BlindIndex& own, const BlindIndex& alias,
                    const std::string& prefix) {
    const BlindIndex aliases[] = {alias};
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) {
      auto outcome = store.insert_binding_across(
          make_binding(prefix + std::to_string(i), own, Channel::kPhone, kT0 + seconds(i)), aliases,
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
  std::thread a(worker, std::ref(*fixture.store), std::cref(v1), std::cref(v2),
                std::string("first-"));
  std::thread b(worker, std::ref(*second), std::cref(v2), std::cref(v1), std::string("second-"));
  go.store(true);
  a.join();
  b.join();
  REQUIRE(bound.load() == 3);
  REQUIRE(full.load() == 37);
  REQUIRE(other.load() == 0);
  REQUIRE(fixture.store->find_accounts(v1)->size() + fixture.store->find_accounts(v2)->size() == 3);
}

TEST_CASE("PostgresStore: retention_stats measures bytes with pg_total_relation_size",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  REQUIRE(fixture.store->create_challenge(make_challenge(1)).is_ok());
  const auto stats = fixture.store->retention_stats(kT0);
  REQUIRE(stats.is_ok());
  REQUIRE(stats->size() == 4);
  RawPg raw(fixture.conninfo);
  const auto size_of = [&](const std::string& table) {
    return "pg_total_relation_size('\"" + fixture.schema() + "\"." + table + "')";
  };
  for (const RowKindStats& kind : *stats) {
    INFO(kind.kind);
    REQUIRE(kind.bytes_method == BytesMethod::kMeasured);
    // The audit log's figure includes its head.
    const std::string expression = kind.kind == "audit_log"
                                       ? size_of("audit_log") + " + " + size_of("audit_head")
                                       : size_of(kind.kind);
    REQUIRE(raw.column("SELECT " + expression) == Strings{std::to_string(kind.bytes)});
  }
}

TEST_CASE("PostgresStore: a schema of a newer version is refused with kStoreError, unchanged",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  REQUIRE(fixture.store->create_challenge(make_challenge(1)).is_ok());
  RawPg raw(fixture.conninfo);
  const std::string schema = "\"" + fixture.schema() + "\"";
  raw.exec("INSERT INTO " + schema + ".schema_version (version) VALUES (5)");

  auto refused = PostgresStore::open(fixture.conninfo, fixture.options);
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(refused.status().message(), Catch::Contains("newer"));
  REQUIRE(raw.column("SELECT version FROM " + schema + ".schema_version ORDER BY version") ==
          Strings{"1", "2", "3", "4", "5"});
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
    CHECK(raw.column("SELECT version FROM " + schema + ".schema_version ORDER BY version") ==
          Strings{"1", "2", "3", "4"});
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
