// SqliteStore upgrades, in place, a database that the released veribind wrote (schema version 4,
// tests/fixtures/sqlite-v4.db, made by scripts/make-fixtures.sh): every binding, every audit
// entry and the pending challenge are still there, the audit log still verifies with the key
// file that came with it, and the new failure counts work.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "store/contract_support.hpp"
#include "store/sqlite_support.hpp"
#include "veribind/audit.hpp"
#include "veribind/blind_index.hpp"
#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/registry.hpp"
#include "veribind/sqlite_store.hpp"

#ifndef VERIBIND_FIXTURES_DIR
#error "VERIBIND_FIXTURES_DIR must name tests/fixtures"
#endif

namespace veribind::testing {
namespace {

using Strings = std::vector<std::string>;

// A copy of the fixture in a directory of its own, the key file at mode 0600 as the key loader
// requires (git does not keep modes other than the executable bit).
struct V4Copy {
  TempDir dir;
  fs::path db = dir.path() / "veribind.db";
  fs::path key = dir.path() / "veribind.key";
  V4Copy() {
    const fs::path fixtures = VERIBIND_FIXTURES_DIR;
    fs::copy_file(fixtures / "sqlite-v4.db", db);
    fs::copy_file(fixtures / "sqlite-v4.key", key);
    REQUIRE(::chmod(db.c_str(), 0600) == 0);
    REQUIRE(::chmod(key.c_str(), 0600) == 0);
  }
};

BlindIndex index_of(const BlindIndexer& indexer, const Identifier& identifier) {
  return indexer.compute(identifier);
}

TEST_CASE("SqliteStore: a version 4 database from the released veribind is upgraded in place",
          "[store][sqlite][migration]") {
  V4Copy copy;
  {
    RawDb raw(copy.db);
    REQUIRE(raw.column("SELECT max(version) FROM schema_version") == Strings{"4"});
  }
  auto ring = KeyRing::load_key_file(copy.key.string());
  INFO(ring.status().message());
  REQUIRE(ring.is_ok());
  auto indexer = BlindIndexer::create(*ring);
  REQUIRE(indexer.is_ok());
  auto phone = PhoneNumber::parse("+923001234567");
  auto email = EmailAddress::parse("alice@example.com");
  REQUIRE(phone.is_ok());
  REQUIRE(email.is_ok());
  const BlindIndex phone_index = index_of(*indexer, Identifier(*phone));
  const BlindIndex email_index = index_of(*indexer, Identifier(*email));

  auto store = open_store(copy.db);
  {
    RawDb raw(copy.db);
    REQUIRE(raw.column("SELECT version FROM schema_version ORDER BY version") ==
            Strings{"1", "2", "3", "4", "5", "6"});
  }

  // Every binding, found by the blind index of its identifier under the fixture's key.
  REQUIRE(contract::accounts(*store, phone_index) == Strings{"acct-phone"});
  REQUIRE(contract::accounts(*store, email_index) == Strings{"acct-email"});
  auto phone_bindings = store->bindings_of_account("acct-phone");
  REQUIRE(phone_bindings.is_ok());
  REQUIRE(phone_bindings->size() == 1);
  CHECK((*phone_bindings)[0].channel == Channel::kPhone);
  CHECK((*phone_bindings)[0].index == phone_index);
  CHECK((*phone_bindings)[0].sealed_contact.empty());
  auto email_bindings = store->bindings_of_account("acct-email");
  REQUIRE(email_bindings.is_ok());
  REQUIRE(email_bindings->size() == 1);
  CHECK((*email_bindings)[0].channel == Channel::kEmail);
  REQUIRE(*store->count_bindings(1) == 2);

  // Every audit entry scans, and the chain and its head verify with the fixture's key.
  auto entries = store->scan_audit(1, 100);
  REQUIRE(entries.is_ok());
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].sequence == 1);
  CHECK((*entries)[0].index == phone_index);
  CHECK((*entries)[0].accounts_returned == 1);
  CHECK((*entries)[0].authority == "Test Authority");
  auto head = store->audit_head();
  REQUIRE(head.is_ok());
  REQUIRE(head->has_value());
  CHECK((*head)->count == 1);
  auto verified = AuditLog(*store).verify(*ring);
  INFO(verified.status().message());
  REQUIRE(verified.is_ok());
  INFO(verified->detail);
  REQUIRE(verified->ok());
  CHECK(verified->entries_verified == 1);

  // The pending challenge came across, and charging it counts a failure in the new table.
  auto stats = store->retention_stats(contract::kT0);
  REQUIRE(stats.is_ok());
  REQUIRE(stats->size() == 5);
  CHECK((*stats)[0].kind == "challenges");
  CHECK((*stats)[0].rows == 1);
  CHECK((*stats)[2].kind == "failure_counts");
  CHECK((*stats)[2].rows == 0);
  CHECK((*stats)[3].rows == 2);
  CHECK((*stats)[4].rows == 1);
  std::string pending_hex;
  {
    RawDb raw(copy.db);
    pending_hex = raw.column("SELECT lower(hex(id)) FROM challenges").at(0);
  }
  auto pending = ChallengeId::parse(pending_hex);
  REQUIRE(pending.is_ok());
  auto found = store->find_challenge(*pending);
  REQUIRE(found.is_ok());
  REQUIRE(found->has_value());
  CHECK((*found)->channel == Channel::kEmail);
  CHECK((*found)->attempts == 0);
  // The fixture's challenge has expired by now (it lived for minutes); a charge at its own time
  // of life counts a failure.
  const Timestamp during = (*found)->expires_at - std::chrono::minutes(1);
  auto charged = store->charge_attempt(*pending, during, during + std::chrono::hours(24));
  REQUIRE(charged.is_ok());
  REQUIRE(charged->outcome == ChargeOutcome::kCharged);
  CHECK(charged->failures == CounterState{1, during + std::chrono::hours(24)});
  CHECK(charged->record.attempts == 1);

  // Reopening the upgraded file changes nothing more.
  store.reset();
  auto again = open_store(copy.db);
  REQUIRE(contract::accounts(*again, email_index) == Strings{"acct-email"});
}

// The upgrade gives the store an id and binds the log from the next entry on; the released
// entry keeps its MAC. Two upgraded copies of one file share that entry but not their ids.
TEST_CASE("SqliteStore: an upgraded version 4 log is bound to its store from the next entry",
          "[store][sqlite][migration][audit]") {
  V4Copy copy;
  V4Copy other;
  auto ring = KeyRing::load_key_file(copy.key.string());
  REQUIRE(ring.is_ok());
  const SystemClock clock;
  auto disclose = [&](SqliteStore& store) {
    Registry registry =
        Registry::create(LinkPolicy::phone_linked(), *ring, store, store, clock).value();
    auto answer = registry.disclose(Identifier(PhoneNumber::parse("+923001234567").value()),
                                    {"Test Authority", "CASE-2", "Test Act s.1", "test"});
    INFO(answer.status().message());
    REQUIRE(answer.is_ok());
    CHECK(answer->audit_sequence == 2);
  };
  {
    auto store = open_store(copy.db);
    const AuditBinding binding = store->audit_binding().value();
    CHECK(binding.bound_from == 2);
    CHECK(binding.unbound_last_mac == store->scan_audit(1, 1).value().at(0).mac);
    CHECK(binding.store_id != AuditBinding{}.store_id);
    CHECK(AuditLog(*store).verify(*ring)->ok());
    disclose(*store);
    const AuditVerification report = AuditLog(*store).verify(*ring).value();
    INFO(report.detail);
    CHECK(report.ok());
    CHECK(report.entries_verified == 2);
    auto second = open_store(other.db);
    CHECK(second->audit_binding()->store_id != binding.store_id);
    disclose(*second);
  }
  // The other copy's log put in place of this one's: entry 1 is the released one in both, entry
  // 2 was written for the other store.
  {
    RawDb raw(copy.db);
    raw.exec("ATTACH DATABASE '" + other.db.string() +
             "' AS other; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_head_no_delete;"
             "DELETE FROM main.audit_log; DELETE FROM main.audit_head;"
             "INSERT INTO main.audit_log SELECT * FROM other.audit_log;"
             "INSERT INTO main.audit_head SELECT * FROM other.audit_head;");
  }
  auto store = open_store(copy.db);
  const AuditVerification report = AuditLog(*store).verify(*ring).value();
  INFO(report.detail);
  CHECK(report.problem == AuditProblem::kEdited);
  CHECK(report.sequence == 2);
  CHECK(report.entries_verified == 1);
}

}  // namespace
}  // namespace veribind::testing
