// The audit log is bound to the store that wrote it: a log (with its head) copied into another
// store that uses the same key does not verify there. And a head published outside the store
// (COUNT:MAC) catches what the store alone cannot: a rollback of the log and its head to an older
// copy.
#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/tampering_store.hpp"
#include "veribind/audit.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/registry.hpp"
#include "veribind/sqlite_store.hpp"

using namespace veribind;
using namespace std::chrono_literals;
using veribind::testing::FakeClock;
using veribind::testing::TamperingStore;

namespace {

namespace fs = std::filesystem;

PhoneNumber number(const char* text) {
  auto parsed = PhoneNumber::parse(text, "PK");
  REQUIRE(parsed.is_ok());
  return std::move(parsed).value();
}

LegalRequest request() { return {"FIA Cybercrime Wing", "FIR-2026-0117", "PECA 2016 s.34", "ops"}; }

// `count` lawful lookups through a Registry over `store`, which serves as account and audit store.
template <typename StoreT>
void disclose_times(StoreT& store, const KeyRing& ring, FakeClock& clock, int count) {
  Registry registry =
      Registry::create(LinkPolicy::phone_linked(), ring, store, store, clock).value();
  for (int i = 0; i < count; ++i) {
    clock.advance(1min);
    auto answer = registry.disclose(number("+92 300 1234567"), request());
    INFO(answer.status().message());
    REQUIRE(answer.is_ok());
  }
}

AuditVerification verify(AuditStore& store, const KeyRing& ring) {
  auto report = AuditLog(store).verify(ring);
  INFO(report.status().message());
  REQUIRE(report.is_ok());
  return std::move(report).value();
}

// Copies every entry of `from` into the empty `to` through the store interface, ending with
// `from`'s head: what someone who can write `to`'s storage could do.
void copy_log(AuditStore& from, AuditStore& to) {
  const std::vector<AuditRecord> entries = from.scan_audit(1, 1000).value();
  const AuditHead head = *from.audit_head().value();
  for (const AuditRecord& e : entries) {
    AuditHead step = head;
    step.count = e.sequence;
    REQUIRE(to.append_audit(e, e.sequence == head.count ? head : step).value() ==
            AuditAppendOutcome::kAppended);
  }
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/veribind-audit-binding-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] fs::path file(const char* name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::unique_ptr<SqliteStore> open_sqlite(const fs::path& file) {
  auto opened = SqliteStore::open(file.string());
  INFO(opened.status().message());
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

int sql(const fs::path& file, const std::string& statements) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  return rc;
}

}  // namespace

TEST_CASE("audit binding: a log and head copied into another memory store with the same key fail",
          "[audit][binding]") {
  const KeyRing ring = veribind::testing::random_ring();
  FakeClock clock;
  MemoryStore other;
  disclose_times(other, ring, clock, 3);
  REQUIRE(verify(other, ring).ok());

  MemoryStore store;
  copy_log(other, store);
  const AuditVerification report = verify(store, ring);
  INFO(report.detail);
  CHECK(report.problem == AuditProblem::kEdited);
  CHECK(report.sequence == 1);
  CHECK(report.entries_verified == 0);
}

TEST_CASE("audit binding: an SQLite log and head replaced by another database's fail to verify",
          "[audit][binding][sqlite]") {
  const KeyRing ring = veribind::testing::random_ring();
  FakeClock clock;
  TempDir dir;
  {
    auto store = open_sqlite(dir.file("store.db"));
    auto other = open_sqlite(dir.file("other.db"));
    disclose_times(*store, ring, clock, 2);
    disclose_times(*other, ring, clock, 4);
    REQUIRE(verify(*store, ring).ok());
    REQUIRE(verify(*other, ring).ok());
  }
  // With the sqlite3 shell: drop the triggers, put the other database's log and head in place.
  const std::string other = dir.file("other.db").string();
  REQUIRE(sql(dir.file("store.db"),
              "ATTACH DATABASE '" + other +
                  "' AS other;"
                  "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_head_no_delete;"
                  "DELETE FROM main.audit_log; DELETE FROM main.audit_head;"
                  "INSERT INTO main.audit_log SELECT * FROM other.audit_log;"
                  "INSERT INTO main.audit_head SELECT * FROM other.audit_head;") == SQLITE_OK);
  auto store = open_sqlite(dir.file("store.db"));
  const AuditVerification report = verify(*store, ring);
  INFO(report.detail);
  CHECK(report.problem == AuditProblem::kEdited);
  CHECK(report.sequence == 1);
  // The other database's own log still verifies where it was written.
  CHECK(verify(*open_sqlite(dir.file("other.db")), ring).ok());
}

TEST_CASE("audit binding: two stores never share an id, and reopening a file keeps its id",
          "[audit][binding][sqlite]") {
  MemoryStore a;
  MemoryStore b;
  CHECK(a.audit_binding()->store_id != b.audit_binding()->store_id);
  TempDir dir;
  const AuditBinding first = open_sqlite(dir.file("store.db"))->audit_binding().value();
  CHECK(open_sqlite(dir.file("store.db"))->audit_binding().value() == first);
  CHECK(open_sqlite(dir.file("other.db"))->audit_binding()->store_id != first.store_id);
  // The row is written once: SQL cannot change it.
  CHECK(sql(dir.file("store.db"), "UPDATE store_meta SET store_id = randomblob(16)") ==
        SQLITE_CONSTRAINT);
  CHECK(sql(dir.file("store.db"), "DELETE FROM store_meta") == SQLITE_CONSTRAINT);
}

TEST_CASE("audit verify with a published head: a rollback of log and head to an older copy fails",
          "[audit][published]") {
  const KeyRing ring = veribind::testing::random_ring();
  FakeClock clock;
  TamperingStore store;
  disclose_times(store, ring, clock, 3);
  const AuditHead old_head = *store.audit_head().value();
  disclose_times(store, ring, clock, 2);
  const PublishedAuditHead published = PublishedAuditHead::of(store.audit_head().value());
  CHECK(published.count == 5);
  REQUIRE(AuditLog(store).verify(ring, published)->ok());
  // A head published earlier is still in the log after more appends.
  const PublishedAuditHead earlier = PublishedAuditHead::of(old_head);
  REQUIRE(AuditLog(store).verify(ring, earlier)->ok());

  SECTION("rolled back: the last two entries dropped and the older head put back") {
    store.tamper_entries = [](std::vector<AuditRecord>& log) { log.resize(3); };
    store.tamper_head = [old_head](std::optional<AuditHead>& h) { h = old_head; };
    REQUIRE(verify(store, ring).ok());  // the store alone cannot tell
    const AuditVerification report = AuditLog(store).verify(ring, published).value();
    INFO(report.detail);
    CHECK(report.problem == AuditProblem::kPublishedHeadMismatch);
    CHECK(report.sequence == 4);
    CHECK(report.entries_verified == 3);
  }
  SECTION("replaced: the published entry has another mac") {
    PublishedAuditHead other = published;
    other.last_mac[0] ^= 1;
    const AuditVerification report = AuditLog(store).verify(ring, other).value();
    CHECK(report.problem == AuditProblem::kPublishedHeadMismatch);
    CHECK(report.sequence == 5);
    CHECK(report.entries_verified == 4);
  }
}

TEST_CASE("published audit head: COUNT:MAC round-trips and anything else is invalid_argument",
          "[audit][published]") {
  PublishedAuditHead head;
  head.count = 42;
  for (std::size_t i = 0; i < head.last_mac.size(); ++i) {
    head.last_mac[i] = static_cast<std::uint8_t>(i * 9);
  }
  const std::string text = head.text();
  CHECK(text.rfind("42:000912", 0) == 0);
  CHECK(text.size() == 3 + 64);
  CHECK(PublishedAuditHead::parse(text).value() == head);
  CHECK(PublishedAuditHead::of(std::nullopt).text() == "0:" + std::string(64, '0'));
  const std::string mac = text.substr(3);
  for (const std::string& bad : std::vector<std::string>{
           "", "42", "42:", ":" + mac, "042:" + mac, "-42:" + mac, "42:" + mac.substr(2),
           "42:" + mac + "0", "42 :" + mac, "18446744073709551616:" + mac, "0:" + mac}) {
    INFO(bad);
    auto parsed = PublishedAuditHead::parse(bad);
    CHECK(parsed.code() == ErrorCode::kInvalidArgument);
    CHECK(parsed.status().message().find(mac) == std::string::npos);
  }
  CHECK(PublishedAuditHead::parse("18446744073709551615:" + mac).is_ok());
}
