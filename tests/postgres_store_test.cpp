// PostgresStore against a real PostgreSQL 15 server (ctest's pg_start fixture): every store
// contract on a new schema per test, plus what only a shared network store must do: version its
// schema once however many nodes start, upgrade the previous release's database in place, keep
// its guarantees between nodes, commit verification state asynchronously and account state
// synchronously, report an unreachable or stuck server as kUnavailable, and recover by itself
// when the server comes back.
#include "veribind/postgres_store.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "store/account_contract.hpp"
#include "store/audit_contract.hpp"
#include "store/postgres/pool.hpp"
#include "store/postgres_support.hpp"
#include "store/retention_contract.hpp"
#include "store/verification_contract.hpp"
#include "veribind/audit.hpp"
#include "veribind/blind_index.hpp"
#include "veribind/registry.hpp"

#ifndef VERIBIND_FIXTURES_DIR
#error "VERIBIND_FIXTURES_DIR must name tests/fixtures"
#endif

VERIBIND_VERIFICATION_CONTRACT_TESTS("postgres", ::veribind::testing::fresh_postgres_store())
VERIBIND_ACCOUNT_CONTRACT_TESTS("postgres", ::veribind::testing::fresh_postgres_store())
VERIBIND_AUDIT_CONTRACT_TESTS("postgres", ::veribind::testing::fresh_postgres_store())
VERIBIND_RETENTION_CONTRACT_TESTS("postgres", ::veribind::testing::fresh_postgres_store())

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

// One counter step of delta `delta` on key `n`, applied alone; returns its count after.
std::uint32_t bump(VerificationStore& store, std::uint8_t n, std::uint32_t delta, Timestamp now) {
  CounterUpdate step{make_counter_key(n), delta, now + hours(1), {}};
  Status s = store.add_to_counters(std::span(&step, 1), now);
  INFO(s.message());
  REQUIRE(s.is_ok());
  return step.after.count;
}

// The failure count of `index` as of `now`.
std::uint32_t failures_of(VerificationStore& store, const BlindIndex& index, Timestamp now) {
  auto read = store.read_counters(index, {}, {}, now);
  INFO(read.status().message());
  REQUIRE(read.is_ok());
  return read->count;
}

TEST_CASE(
    "PostgresStore: a new schema is at version 6 and a second node opening it changes nothing",
    "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  RawPg raw(fixture.conninfo);
  const std::string table = "\"" + fixture.schema() + "\".schema_version";
  const std::string query =
      "SELECT version || ' ' || xmin::text FROM " + table + " ORDER BY version";
  const Strings versions = raw.column(query);
  REQUIRE(versions.size() == 6);
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
          "i counters_by_window_end\ni counters_pkey\nr identifier_failures\n"
          "i identifier_failures_by_window_end\ni identifier_failures_pkey\nr schema_version\n"
          "i schema_version_pkey\nr store_meta\ni store_meta_pkey\n");
  REQUIRE(triggers_of(raw, fixture.schema()) ==
          "audit_head audit_head_no_delete\naudit_head audit_head_no_truncate\n"
          "audit_head audit_head_only_forward\naudit_log audit_log_no_delete\n"
          "audit_log audit_log_no_truncate\naudit_log audit_log_no_update\n"
          "store_meta store_meta_no_delete\nstore_meta store_meta_no_truncate\n"
          "store_meta store_meta_no_update\n");
  fixture.open_another().reset();
  fixture.open_another().reset();

  // The same rows, written by the same transaction: nothing was migrated or recorded again.
  REQUIRE(raw.column(query) == versions);
  REQUIRE(objects_of(raw, fixture.schema()) == objects);
}

TEST_CASE(
    "PostgresStore: the verification tables refuse out-of-range values, with one table "
    "constraint left for a check's UPDATE to evaluate",
    "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10), 3);
  REQUIRE(fixture.store->create_challenge(record, {}, kT0).is_ok());
  auto charged = fixture.store->charge_attempt(record.id, kT0, kT0 + hours(24));
  REQUIRE(charged->outcome == ChargeOutcome::kCharged);
  RawPg raw(fixture.conninfo);
  const std::string schema = "\"" + fixture.schema() + "\"";
  // The ranges hold as domains, checked whenever a value is stored.
  for (const std::string& edit : {
           "UPDATE " + schema + ".challenges SET id = '\\x00'",
           "UPDATE " + schema + ".challenges SET blind_index = '\\x00'",
           "UPDATE " + schema + ".challenges SET key_version = -1",
           "UPDATE " + schema + ".challenges SET purpose = 9",
           "UPDATE " + schema + ".challenges SET channel = 3",
           "UPDATE " + schema + ".challenges SET phone_type = 12",
           "UPDATE " + schema + ".challenges SET region = 'pk'",
           "UPDATE " + schema + ".challenges SET max_attempts = 256",
           "UPDATE " + schema + ".challenges SET calling_code = 1000",
           "UPDATE " + schema + ".challenges SET attempts = max_attempts + 1",
           "INSERT INTO " + schema + ".counters VALUES ('\\x00', 1, 1)",
           "INSERT INTO " + schema + ".identifier_failures VALUES ('\\x00', 1, 1, 1)",
           "UPDATE " + schema + ".identifier_failures SET count = 0",
       }) {
    INFO(edit);
    REQUIRE_FALSE(raw.try_exec(edit));
  }
  REQUIRE(*fixture.store->find_challenge(record.id) == charged->record);
  REQUIRE(failures_of(*fixture.store, record.index, kT0) == 1);
  REQUIRE(raw.column("SELECT conname FROM pg_constraint WHERE conrelid = '" + schema +
                     ".challenges'::regclass AND contype = 'c'") == Strings{"challenges_check"});
}

TEST_CASE("PostgresStore: a version 1 schema is upgraded in place and keeps its rows",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  ChallengeRecord challenge = make_challenge(1);
  challenge.calling_code = 0;  // what a version 1 row reads as
  REQUIRE(fixture.store->create_challenge(challenge, {}, kT0).is_ok());
  REQUIRE(*fixture.store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), {},
                                         1) == BindOutcome::kBound);
  REQUIRE(bump(*fixture.store, 1, 1, kT0) == 1);
  fixture.store.reset();

  // Take the schema back to version 1, as the first PostgresStore release left it.
  RawPg raw(fixture.conninfo);
  const std::string schema = "\"" + fixture.schema() + "\"";
  raw.exec("SET search_path = " + schema +
           "; DROP TABLE audit_log, audit_head, identifier_failures, store_meta; "
           "DROP FUNCTION veribind_audit_log_append_only(), veribind_audit_head_only_forward(), "
           "veribind_store_meta_written_once(); "
           "ALTER TABLE challenges DROP COLUMN calling_code; "
           "ALTER TABLE bindings DROP COLUMN sealed_contact; "
           "DROP INDEX bindings_by_key_version, challenges_by_key_version; "
           "DELETE FROM schema_version WHERE version > 1");

  fixture.store = fixture.open_another();
  REQUIRE(raw.column("SELECT version FROM " + schema + ".schema_version ORDER BY version") ==
          Strings{"1", "2", "3", "4", "5", "6"});
  REQUIRE(*fixture.store->find_challenge(challenge.id) == challenge);
  const auto bindings = fixture.store->bindings_of_account("acct-1");
  REQUIRE(bindings.is_ok());
  REQUIRE(bindings->size() == 1);
  CHECK((*bindings)[0].index == make_index(1));
  CHECK((*bindings)[0].sealed_contact.empty());
  REQUIRE(bump(*fixture.store, 1, 0, kT0) == 1);
  REQUIRE_FALSE(fixture.store->audit_head()->has_value());

  // The new columns and tables are written and read back.
  ChallengeRecord phone = make_challenge(2);
  phone.calling_code = 882;
  REQUIRE(fixture.store->create_challenge(phone, {}, kT0).is_ok());
  REQUIRE(*fixture.store->find_challenge(phone.id) == phone);
  REQUIRE(fixture.store->charge_attempt(phone.id, kT0, kT0 + hours(24))->failures.count == 1);
}

// The previous release's database (scripts/make-pg-fixture.sh), loaded into `schema`.
void load_v4_fixture(RawPg& raw, const std::string& schema) {
  std::ifstream in(VERIBIND_FIXTURES_DIR "/postgres-v4.sql");
  REQUIRE(in.good());
  std::string sql, line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '\\') continue;  // psql meta-commands (\restrict)
    for (std::size_t at = line.find("veribind_v4"); at != std::string::npos;
         at = line.find("veribind_v4", at + schema.size())) {
      line.replace(at, 11, schema);
    }
    sql += line;
    sql += '\n';
  }
  raw.exec(sql);
}

KeyRing fixture_ring() {
  std::ifstream in(VERIBIND_FIXTURES_DIR "/postgres-v4.key", std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == KeyRing::kMasterKeyBytes);
  auto ring = KeyRing::from_master_key(SecretBytes::copy_of(bytes));
  REQUIRE(ring.is_ok());
  return std::move(*ring);
}

TEST_CASE(
    "PostgresStore: the previous release's database (version 4) is upgraded in place, its "
    "bindings and audit log intact and still verifying",
    "[store][postgres][upgrade]") {
  const std::string conninfo = pg_conninfo();
  PostgresOptions options;
  options.schema = new_schema_name();
  struct Dropper {
    std::string conninfo, schema;
    ~Dropper() { drop_schema(conninfo, schema); }
  } dropper{conninfo, options.schema};
  RawPg raw(conninfo);
  load_v4_fixture(raw, options.schema);
  const std::string schema = "\"" + options.schema + "\"";
  REQUIRE(raw.column("SELECT max(version) FROM " + schema + ".schema_version") == Strings{"4"});
  const Strings pending =
      raw.column("SELECT encode(id, 'hex') || ' ' || expires_at FROM " + schema + ".challenges");
  REQUIRE(pending.size() == 1);

  auto store = open_pg(conninfo, options);
  REQUIRE(raw.column("SELECT version FROM " + schema + ".schema_version ORDER BY version") ==
          Strings{"1", "2", "3", "4", "5", "6"});
  // The range checks of the verification tables became domains; the attempts check stayed.
  REQUIRE(raw.column("SELECT conname FROM pg_constraint WHERE conrelid = '" + schema +
                     ".challenges'::regclass AND contype = 'c'") == Strings{"challenges_check"});
  REQUIRE(raw.column("SELECT t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                     "WHERE attrelid = '" +
                     schema + ".challenges'::regclass AND a.attname = 'region'") ==
          Strings{"veribind_region"});

  // Every binding, as the previous release made it.
  const KeyRing ring = fixture_ring();
  const BlindIndexer indexer = BlindIndexer::create(ring).value();
  const BlindIndex alice =
      indexer.compute(Identifier(EmailAddress::parse("alice@example.com").value()));
  const BlindIndex phone = indexer.compute(Identifier(PhoneNumber::parse("+14155552671").value()));
  REQUIRE(*store->find_accounts(alice) == Strings{"acct-email"});
  REQUIRE(*store->find_accounts(phone) == Strings{"acct-phone"});
  const auto email_bindings = store->bindings_of_account("acct-email");
  REQUIRE(email_bindings.is_ok());
  REQUIRE(email_bindings->size() == 1);
  CHECK((*email_bindings)[0].channel == Channel::kEmail);
  CHECK((*email_bindings)[0].sealed_contact.empty());
  REQUIRE(store->bindings_of_account("acct-phone")->size() == 1);
  REQUIRE(*store->count_bindings(1) == 2);

  // The audit entry and its head, verifying under the same key.
  const auto entries = store->scan_audit(1, 10);
  REQUIRE(entries.is_ok());
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].authority == "Fixture Court");
  CHECK((*entries)[0].index == alice);
  const AuditLog log(*store);
  auto verified = log.verify(ring);
  REQUIRE(verified.is_ok());
  INFO(verified->detail);
  REQUIRE(verified->ok());
  REQUIRE(verified->entries_verified == 1);

  // The new code appends to the old chain, and the whole chain verifies.
  FakeClock clock;
  auto registry = Registry::create(LinkPolicy::email_linked(), ring, *store, *store, clock);
  REQUIRE(registry.is_ok());
  LegalRequest request;
  request.authority = "Upgrade Court";
  request.reference = "CASE-2";
  request.legal_basis = "Upgrade Act s.2";
  request.requested_by = "upgrade-operator";
  auto disclosed =
      registry->disclose(Identifier(EmailAddress::parse("alice@example.com").value()), request);
  INFO(disclosed.status().message());
  REQUIRE(disclosed.is_ok());
  REQUIRE(disclosed->audit_sequence == 2);
  REQUIRE(disclosed->accounts == Strings{"acct-email"});
  verified = log.verify(ring);
  REQUIRE(verified.is_ok());
  REQUIRE(verified->ok());
  REQUIRE(verified->entries_verified == 2);

  // The pending challenge is still there, and a check of it counts the identifier's failure in
  // the new table.
  const std::string id_hex = pending[0].substr(0, 32);
  const Timestamp expires{milliseconds(std::stoll(pending[0].substr(33)))};
  auto id = ChallengeId::parse(id_hex);
  REQUIRE(id.is_ok());
  auto charged = store->charge_attempt(*id, expires - minutes(1), expires + hours(24));
  REQUIRE(charged.is_ok());
  REQUIRE(charged->outcome == ChargeOutcome::kCharged);
  REQUIRE(charged->failures.count == 1);
}

TEST_CASE(
    "PostgresStore: four nodes racing checks on one identifier's challenges charge exactly "
    "max_attempts each and count every failure once",
    "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  std::vector<std::unique_ptr<PostgresStore>> nodes;
  for (int i = 0; i < 4; ++i) nodes.push_back(fixture.open_another());
  const BlindIndex identifier = make_index(9, 7);
  std::vector<ChallengeId> ids;
  for (std::uint8_t n = 1; n <= 3; ++n) {
    ChallengeRecord record = make_challenge(n, kT0 + minutes(10), 5);
    record.index = identifier;
    REQUIRE(fixture.store->create_challenge(record, {}, kT0).is_ok());
    ids.push_back(record.id);
  }
  std::atomic<bool> go{false};
  std::atomic<int> exhausted{0}, other{0};
  std::vector<std::vector<std::uint32_t>> seen(nodes.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < nodes.size(); ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int round = 0; round < 10; ++round) {
        for (const ChallengeId& id : ids) {
          auto r = nodes[t]->charge_attempt(id, kT0, kT0 + hours(24));
          if (!r.is_ok()) {
            ++other;
          } else if (r->outcome == ChargeOutcome::kCharged) {
            seen[t].push_back(r->failures.count);
          } else if (r->outcome == ChargeOutcome::kExhausted) {
            ++exhausted;
          } else {
            ++other;
          }
        }
      }
    });
  }
  go.store(true);
  for (std::thread& t : threads) t.join();
  std::vector<std::uint32_t> counts;
  for (const auto& s : seen) counts.insert(counts.end(), s.begin(), s.end());
  std::sort(counts.begin(), counts.end());
  std::vector<std::uint32_t> expected(15);
  for (std::uint32_t i = 0; i < 15; ++i) expected[i] = i + 1;
  // Each charge saw its own count: 15 charges, counts 1..15, none lost or seen twice.
  REQUIRE(counts == expected);
  REQUIRE(exhausted.load() == 4 * 10 * 3 - 15);
  REQUIRE(other.load() == 0);
  REQUIRE(failures_of(*fixture.store, identifier, kT0) == 15);
  for (const ChallengeId& id : ids) REQUIRE((*fixture.store->find_challenge(id))->attempts == 5);

  // Four nodes consuming one challenge: exactly one removes it, and with it the failure count.
  std::atomic<int> removed{0}, refused{0};
  threads.clear();
  go.store(false);
  for (std::size_t t = 0; t < nodes.size(); ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      auto r = nodes[t]->consume_challenge(ids[0]);
      if (!r.is_ok()) {
        ++other;
      } else if (*r) {
        ++removed;
      } else {
        ++refused;
      }
    });
  }
  go.store(true);
  for (std::thread& t : threads) t.join();
  REQUIRE(removed.load() == 1);
  REQUIRE(refused.load() == 3);
  REQUIRE(other.load() == 0);
  REQUIRE(failures_of(*fixture.store, identifier, kT0) == 0);
}

TEST_CASE(
    "PostgresStore: purge removes an expired challenge but keeps its identifier's failure count "
    "until the failure window ends; consume clears it",
    "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  const BlindIndex identifier = make_index(3, 7);
  ChallengeRecord first = make_challenge(1, kT0 + minutes(1));
  ChallengeRecord second = make_challenge(2, kT0 + minutes(10));
  first.index = second.index = identifier;
  REQUIRE(fixture.store->create_challenge(first, {}, kT0).is_ok());
  REQUIRE(fixture.store->create_challenge(second, {}, kT0).is_ok());
  REQUIRE(fixture.store->charge_attempt(first.id, kT0, kT0 + hours(24))->failures.count == 1);
  REQUIRE(fixture.store->charge_attempt(second.id, kT0, kT0 + hours(24))->failures.count == 2);

  const Timestamp later = kT0 + minutes(2);
  auto purged = fixture.store->purge_expired(later);
  REQUIRE(purged.is_ok());
  REQUIRE(purged->challenges == 1);
  REQUIRE(purged->counters == 0);
  REQUIRE_FALSE(fixture.store->find_challenge(first.id)->has_value());
  REQUIRE(failures_of(*fixture.store, identifier, later) == 2);

  REQUIRE(*fixture.store->consume_challenge(second.id));
  REQUIRE(failures_of(*fixture.store, identifier, later) == 0);
  RawPg raw(fixture.conninfo);
  REQUIRE(raw.column("SELECT count(*) FROM \"" + fixture.schema() + "\".identifier_failures") ==
          Strings{"0"});
}

TEST_CASE("PostgresStore: purge shares one batch between counters and failure counts",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  for (std::uint8_t n = 1; n <= 3; ++n) REQUIRE(bump(*fixture.store, n, 1, kT0) == 1);
  for (std::uint8_t n = 1; n <= 3; ++n) {
    ChallengeRecord record = make_challenge(n, kT0 + minutes(10));
    REQUIRE(fixture.store->create_challenge(record, {}, kT0).is_ok());
    REQUIRE(fixture.store->charge_attempt(record.id, kT0, kT0 + hours(1))->failures.count == 1);
  }
  const Timestamp ended = kT0 + hours(2);
  std::size_t counters = 0;
  for (int call = 0; call < 4; ++call) {
    auto purged = fixture.store->purge_expired(ended, 4);
    REQUIRE(purged.is_ok());
    REQUIRE(purged->counters <= 4);
    REQUIRE(purged->challenges <= 4);
    counters += purged->counters;
  }
  REQUIRE(counters == 6);
}

// A database of its own on the test server with pg_stat_statements, so that the statements it
// counts are this test's only: every test shares the server, none shares the database.
struct CountedDatabase {
  std::string admin;  // the shared server's conninfo
  std::string name = "vbt_rt_" + std::to_string(::getpid());
  std::string conninfo;

  CountedDatabase() : admin(pg_conninfo()) {
    RawPg raw(admin);
    raw.exec("DROP DATABASE IF EXISTS " + name);
    raw.exec("CREATE DATABASE " + name);
    conninfo = admin.substr(0, admin.rfind('/') + 1) + name;
    RawPg db(conninfo);
    db.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  }
  CountedDatabase(const CountedDatabase&) = delete;
  CountedDatabase& operator=(const CountedDatabase&) = delete;
  ~CountedDatabase() {
    PGconn* conn = PQconnectdb(admin.c_str());
    PQclear(PQexec(conn, ("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").c_str()));
    PQfinish(conn);
  }
  void reset(RawPg& db) {
    db.exec(
        "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = "
        "current_database()), 0)");
  }
  // "calls query" of every statement run in the database since the last reset, but the
  // counting's own.
  Strings statements(RawPg& db) {
    return db.column(
        "SELECT calls || ' ' || query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
        "pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%' "
        "ORDER BY query");
  }
};

TEST_CASE(
    "PostgresStore: a check's charge is one statement on every path, and account writes alone "
    "commit synchronously",
    "[store][postgres]") {
  CountedDatabase counted;
  PostgresOptions options;
  options.pool_size = 1;
  auto store = open_pg(counted.conninfo, options);
  const ChallengeRecord live = make_challenge(1, kT0 + minutes(10), 2);
  const ChallengeRecord expired = make_challenge(2, kT0 - minutes(1), 2);
  REQUIRE(store->create_challenge(live, {}, kT0).is_ok());
  REQUIRE(store->create_challenge(expired, {}, kT0).is_ok());
  RawPg db(counted.conninfo);
  counted.reset(db);

  // Charged twice, exhausted, expired, unknown: five calls of one statement, no transaction
  // around them.
  REQUIRE(store->charge_attempt(live.id, kT0, kT0 + hours(24))->outcome == ChargeOutcome::kCharged);
  REQUIRE(store->charge_attempt(live.id, kT0, kT0 + hours(24))->outcome == ChargeOutcome::kCharged);
  REQUIRE(store->charge_attempt(live.id, kT0, kT0 + hours(24))->outcome ==
          ChargeOutcome::kExhausted);
  REQUIRE(store->charge_attempt(expired.id, kT0, kT0 + hours(24))->outcome ==
          ChargeOutcome::kExpired);
  REQUIRE(store->charge_attempt(make_challenge(3).id, kT0, kT0 + hours(24))->outcome ==
          ChargeOutcome::kNotFound);
  Strings ran = counted.statements(db);
  REQUIRE(ran.size() == 1);
  REQUIRE(ran[0].rfind("5 WITH charged AS", 0) == 0);

  // A consume, a start's write with its counters and a counter batch: one statement each.
  counted.reset(db);
  REQUIRE(*store->consume_challenge(live.id));
  std::array<CounterUpdate, 2> steps{
      {{make_counter_key(1), 1, kT0 + hours(1), {}}, {make_counter_key(2), 0, kT0 + hours(1), {}}}};
  REQUIRE(store->create_challenge(make_challenge(4), steps, kT0).is_ok());
  REQUIRE(store->add_to_counters(steps, kT0).is_ok());
  REQUIRE(counted.statements(db).size() == 3);
  for (const std::string& s : counted.statements(db)) {
    INFO(s);
    REQUIRE(s.rfind("1 ", 0) == 0);
    REQUIRE(s.find("synchronous_commit") == std::string::npos);
  }

  // An account write: its own transaction, whose commit waits for the flush.
  counted.reset(db);
  REQUIRE(*store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), {}, 1) ==
          BindOutcome::kBound);
  ran = counted.statements(db);
  INFO(::Catch::Detail::stringify(ran));
  REQUIRE(std::find(ran.begin(), ran.end(), "1 BEGIN") != ran.end());
  REQUIRE(std::find(ran.begin(), ran.end(), "1 SET LOCAL synchronous_commit = on") != ran.end());
  REQUIRE(std::find(ran.begin(), ran.end(), "1 COMMIT") != ran.end());
}

// What SHOW synchronous_commit says inside each kind of transaction of a store's pool.
std::pair<std::string, std::string> synchronous_commit_of(const PostgresOptions& options) {
  auto pool = postgres::Pool::open(pg_conninfo(), options);
  INFO(pool.status().message());
  REQUIRE(pool.is_ok());
  const auto show = [](PGconn* conn) -> Result<std::string> {
    PGresult* r = PQexec(conn, "SHOW synchronous_commit");
    std::string value = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return value;
  };
  auto verification = (*pool)->run("probe", show);
  auto account = (*pool)->run_durable("probe", show);
  REQUIRE(verification.is_ok());
  REQUIRE(account.is_ok());
  return {*verification, *account};
}

TEST_CASE(
    "PostgresStore: verification writes do not wait for the WAL flush, account and audit writes "
    "do, and sync_every_commit makes every commit wait",
    "[store][postgres][durability]") {
  PostgresOptions options;
  options.schema = new_schema_name();
  struct Dropper {
    std::string schema;
    ~Dropper() { drop_schema(pg_conninfo(), schema); }
  } dropper{options.schema};
  REQUIRE(synchronous_commit_of(options) == std::pair<std::string, std::string>{"off", "on"});
  options.sync_every_commit = true;
  REQUIRE(synchronous_commit_of(options) == std::pair<std::string, std::string>{"on", "on"});
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
  auto writer = [&errors](AuditStore& store, const std::string& who) {
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
  auto worker = [&](AccountStore& store, const BlindIndex& own, const BlindIndex& alias,
                    const std::string& prefix) {
    const BlindIndex aliases[] = {alias};
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) {
      auto outcome = store.insert_binding(
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
  REQUIRE(fixture.store->create_challenge(make_challenge(1), {}, kT0).is_ok());
  const auto stats = fixture.store->retention_stats(kT0);
  REQUIRE(stats.is_ok());
  REQUIRE(stats->size() == 5);
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
                                   : kind.kind == "failure_counts" ? size_of("identifier_failures")
                                                                   : size_of(kind.kind);
    REQUIRE(raw.column("SELECT " + expression) == Strings{std::to_string(kind.bytes)});
  }
}

TEST_CASE("PostgresStore: a schema of a newer version is refused with kStoreError, unchanged",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  REQUIRE(fixture.store->create_challenge(make_challenge(1), {}, kT0).is_ok());
  RawPg raw(fixture.conninfo);
  const std::string schema = "\"" + fixture.schema() + "\"";
  raw.exec("INSERT INTO " + schema + ".schema_version (version) VALUES (7)");

  auto refused = PostgresStore::open(fixture.conninfo, fixture.options);
  REQUIRE_FALSE(refused.is_ok());
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(refused.status().message(), Catch::Contains("newer"));
  REQUIRE(raw.column("SELECT version FROM " + schema + ".schema_version ORDER BY version") ==
          Strings{"1", "2", "3", "4", "5", "6", "7"});
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
        ::_exit(
            (*store)->create_challenge(make_challenge(static_cast<std::uint8_t>(p + 1)), {}, kT0)
                    .is_ok()
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
          Strings{"1", "2", "3", "4", "5", "6"});
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
  REQUIRE(fixture.store->create_challenge(record, {}, kT0).is_ok());
  Status refused = fixture.store->create_challenge(record, {}, kT0);
  REQUIRE(refused.code() == ErrorCode::kStoreError);
  REQUIRE_THAT(refused.message(), Catch::Contains("create_challenge"));
  REQUIRE_THAT(refused.message(), !Catch::Contains(record.id.to_string()));
}

TEST_CASE("PostgresStore: find_accounts orders bindings made at the same instant by account id",
          "[store][postgres]") {
  PgFixture fixture = fresh_postgres_store();
  const BlindIndex index = make_index(1);
  for (const char* account : {"acct-c", "acct-B", "acct-a", "acct-b"}) {
    REQUIRE(*fixture.store->insert_binding(make_binding(account, index, Channel::kEmail, kT0), {},
                                           5) == BindOutcome::kBound);
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
  REQUIRE(fixture.store->create_challenge(record, {}, kT0).is_ok());

  // Another session holds the row's lock, as a hung node would.
  RawPg holder(fixture.conninfo);
  holder.exec("BEGIN");
  holder.exec("SELECT 1 FROM \"" + fixture.schema() + "\".challenges FOR UPDATE");
  auto stuck = fixture.store->charge_attempt(record.id, kT0, kT0 + hours(24));
  REQUIRE_FALSE(stuck.is_ok());
  REQUIRE(stuck.code() == ErrorCode::kUnavailable);
  REQUIRE_THAT(stuck.status().message(), Catch::Contains("timed out"));
  holder.exec("ROLLBACK");

  // Nothing was charged, and the store carries on.
  REQUIRE((*fixture.store->find_challenge(record.id))->attempts == 0);
  REQUIRE(fixture.store->charge_attempt(record.id, kT0, kT0 + hours(24))->outcome ==
          ChargeOutcome::kCharged);
  REQUIRE((*fixture.store->find_challenge(record.id))->attempts == 1);
}

TEST_CASE("PostgresStore: eight threads sharing a pool of two connections never exceed the limit",
          "[store][postgres]") {
  PostgresOptions options;
  options.pool_size = 2;
  PgFixture fixture = fresh_postgres_store(options);
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10), 7);
  REQUIRE(fixture.store->create_challenge(record, {}, kT0).is_ok());
  std::atomic<int> charged{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto r = fixture.store->charge_attempt(record.id, kT0, kT0 + hours(24));
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
    REQUIRE(fixture.store->create_challenge(record, {}, kT0).is_ok());
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
  REQUIRE(store->create_challenge(record, {}, kT0).is_ok());
  REQUIRE(store->charge_attempt(record.id, kT0, kT0 + hours(24))->outcome ==
          ChargeOutcome::kCharged);

  REQUIRE(server.script("pause") == 0);
  auto down = store->charge_attempt(record.id, kT0, kT0 + hours(24));
  REQUIRE_FALSE(down.is_ok());
  REQUIRE(down.code() == ErrorCode::kUnavailable);
  REQUIRE_THAT(down.status().message(), Catch::Contains("charge_attempt"));
  REQUIRE_THAT(down.status().message(), Catch::Contains("unreachable"));
  auto bind_down =
      store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), {}, 1);
  REQUIRE(bind_down.code() == ErrorCode::kUnavailable);

  REQUIRE(server.script("resume") == 0);
  // Every connection of the pool died with the server; each is replaced on its next use.
  for (int i = 0; i < 4; ++i) {
    auto found = store->find_challenge(record.id);
    INFO(found.status().message());
    REQUIRE(found.is_ok());
    REQUIRE((*found)->attempts == 1);
  }
  REQUIRE(store->charge_attempt(record.id, kT0, kT0 + hours(24))->outcome ==
          ChargeOutcome::kCharged);
  REQUIRE(*store->insert_binding(make_binding("acct-1", make_index(1), Channel::kPhone), {}, 1) ==
          BindOutcome::kBound);

  // A restart while the store sits idle is noticed before a statement is lost on a dead
  // connection: the first operation after it succeeds.
  REQUIRE(server.script("pause") == 0);
  REQUIRE(server.script("resume") == 0);
  auto after = store->charge_attempt(record.id, kT0, kT0 + hours(24));
  INFO(after.status().message());
  REQUIRE(after.is_ok());
  REQUIRE(after->outcome == ChargeOutcome::kCharged);
  REQUIRE(after->record.attempts == 3);
}

// The log and head of one schema copied into another that uses the same key: entry 1 was MACed
// with the other store's id and fails here. The store id is written once.
TEST_CASE("PostgresStore: an audit log and head copied from another schema fail to verify",
          "[store][postgres][audit]") {
  PgFixture fixture = fresh_postgres_store();
  PgFixture other = fresh_postgres_store();
  const KeyRing ring = random_ring();
  const SystemClock clock;
  for (PgFixture* f : {&fixture, &other}) {
    Registry registry =
        Registry::create(LinkPolicy::phone_linked(), ring, *f->store, *f->store, clock).value();
    for (int i = 0; i < 2; ++i) {
      REQUIRE(registry
                  .disclose(Identifier(PhoneNumber::parse("+923001234567").value()),
                            {"FIA", "FIR-1", "PECA s.34", "ops"})
                  .is_ok());
    }
    REQUIRE(AuditLog(*f->store).verify(ring)->ok());
  }
  REQUIRE(fixture.store->audit_binding()->store_id != other.store->audit_binding()->store_id);
  RawPg raw(fixture.conninfo);
  const std::string to = "\"" + fixture.schema() + "\"";
  const std::string from = "\"" + other.schema() + "\"";
  REQUIRE_FALSE(raw.try_exec("UPDATE " + to + ".store_meta SET audit_bound_from = 5"));
  raw.exec("ALTER TABLE " + to + ".audit_log DISABLE TRIGGER USER; ALTER TABLE " + to +
           ".audit_head DISABLE TRIGGER USER; DELETE FROM " + to + ".audit_log; DELETE FROM " + to +
           ".audit_head; INSERT INTO " + to + ".audit_log SELECT * FROM " + from +
           ".audit_log; INSERT INTO " + to + ".audit_head SELECT * FROM " + from + ".audit_head");
  const AuditVerification report = AuditLog(*fixture.store).verify(ring).value();
  INFO(report.detail);
  CHECK(report.problem == AuditProblem::kEdited);
  CHECK(report.sequence == 1);
}

}  // namespace
}  // namespace veribind::testing
