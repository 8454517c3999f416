// Lawful lookups (Registry::disclose) and their audit log (AuditLog): exact answers, refused
// requests that leave no trace, one entry per answer, and every kind of tampering detected and
// located, on the in-memory store and on a real SQLite file edited behind the store's back.
#include "veribind/audit.hpp"

#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fakes/failing_store.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "fakes/tampering_store.hpp"
#include "veribind/registry.hpp"
#include "veribind/sqlite_store.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
using namespace std::chrono_literals;
using veribind::testing::FakeClock;
using veribind::testing::RecordingSender;
using veribind::testing::TamperingStore;
using Strings = std::vector<std::string>;

namespace {

namespace fs = std::filesystem;

PhoneNumber number(const char* text) {
  auto parsed = PhoneNumber::parse(text, "PK");
  REQUIRE(parsed.is_ok());
  return std::move(parsed).value();
}
const char* const kNumberA = "+92 300 1234567";
const char* const kNumberB = "+92 301 7654321";
const char* const kNumberC = "+92 333 0000001";

LegalRequest request(std::string authority = "FIA Cybercrime Wing",
                     std::string legal_basis = "PECA 2016 s.34") {
  return {std::move(authority), "FIR-2026-0117", std::move(legal_basis), "ops.amina"};
}

// Links accounts through the real flow (start, check with the delivered code, link), then
// discloses through a Registry over the same store.
template <typename StoreT>
struct Fixture {
  explicit Fixture(LinkPolicy policy = LinkPolicy::phone_linked())
      : ring(veribind::testing::random_ring()),
        verifier(Verifier::create(config(), ring, store, sender, clock).value()),
        registry(Registry::create(std::move(policy), ring, store, store, clock).value()) {}
  static VerifierConfig config() {
    VerifierConfig c;
    c.max_sends_per_hour = 100;
    return c;
  }
  void link(const std::string& account, const Identifier& id) {
    Challenge c = verifier.start(id, Purpose::kSignup).value();
    CheckResult r = verifier.check(c.id, sender.last_code(), Purpose::kSignup).value();
    REQUIRE(r.outcome == CheckOutcome::kVerified);
    Status linked = registry.link(account, std::move(*r.verified));
    INFO(linked.message());
    REQUIRE(linked.is_ok());
  }
  Disclosure disclose(const Identifier& id, const LegalRequest& req = request()) {
    auto answer = registry.disclose(id, req);
    INFO(answer.status().message());
    REQUIRE(answer.is_ok());
    return std::move(answer).value();
  }
  AuditVerification verify() {
    auto report = AuditLog(store).verify(ring);
    INFO(report.status().message());
    REQUIRE(report.is_ok());
    return std::move(report).value();
  }
  std::vector<AuditRecord> entries() { return store.scan_audit(1, 1000).value(); }

  KeyRing ring;
  StoreT store;
  RecordingSender sender;
  FakeClock clock;
  Verifier verifier;
  Registry registry;
};

using MemoryFixture = Fixture<TamperingStore>;

// Six disclosures, two of them of a bound number.
void six_disclosures(MemoryFixture& f) {
  f.link("acct-1", number(kNumberA));
  for (int i = 0; i < 6; ++i) {
    f.clock.advance(1min);
    f.disclose(number(i % 3 == 0 ? kNumberA : kNumberC));
  }
}

void require_problem(const AuditVerification& report, AuditProblem problem,
                     std::uint64_t sequence) {
  INFO("problem " << audit_problem_name(report.problem) << " at " << report.sequence << ": "
                  << report.detail);
  REQUIRE(report.problem == problem);
  REQUIRE(report.sequence == sequence);
  REQUIRE_FALSE(report.ok());
  REQUIRE_FALSE(report.detail.empty());
}

}  // namespace

// --- disclose
// -------------------------------------------------------------------------------------

TEST_CASE("disclose: answers with exactly the accounts bound to the identifier asked about",
          "[audit][disclose]") {
  MemoryFixture f;
  f.link("acct-1", number(kNumberA));
  f.link("acct-2", number(kNumberB));

  const Disclosure a = f.disclose(number("0300 1234567"));  // any spelling of the same number
  CHECK(a.accounts == Strings{"acct-1"});
  CHECK(a.audit_sequence == 1);
  const Disclosure b = f.disclose(number(kNumberB));
  CHECK(b.accounts == Strings{"acct-2"});
  CHECK(b.audit_sequence == 2);
  const Disclosure unbound = f.disclose(number(kNumberC));
  CHECK(unbound.accounts.empty());
  CHECK(unbound.audit_sequence == 3);
  // An email asked of a phone-linked registry: nothing is bound to it, and that is the answer.
  const Disclosure email = f.disclose(EmailAddress::parse("alice@example.com").value());
  CHECK(email.accounts.empty());
  CHECK(email.audit_sequence == 4);
  CHECK(f.verify().ok());
}

TEST_CASE("disclose: an email-linked registry finds the binding under any case of the address",
          "[audit][disclose]") {
  MemoryFixture f(LinkPolicy::email_linked());
  f.link("acct-9", EmailAddress::parse("alice@example.com").value());
  CHECK(f.disclose(EmailAddress::parse("Alice@EXAMPLE.com").value()).accounts == Strings{"acct-9"});
  CHECK(f.disclose(EmailAddress::parse("bob@example.com").value()).accounts.empty());
}

TEST_CASE(
    "disclose: each answer appends one entry with the request, the blind index and the count, "
    "never the identifier",
    "[audit][disclose]") {
  MemoryFixture f;
  f.link("acct-1", number(kNumberA));
  const BlindIndexer indexer = BlindIndexer::create(f.ring).value();

  f.clock.advance(5min);
  const Timestamp asked_at = f.clock.now();
  const Disclosure d = f.disclose(number(kNumberA), request("Polizei Berlin", "StPO §100j"));
  f.clock.advance(1min);
  f.disclose(number(kNumberC));

  const std::vector<AuditRecord> log = f.entries();
  REQUIRE(log.size() == 2);
  const AuditRecord& e = log[0];
  CHECK(e.sequence == 1);
  CHECK(e.time == asked_at);
  CHECK(e.authority == "Polizei Berlin");
  CHECK(e.reference == "FIR-2026-0117");
  CHECK(e.legal_basis == "StPO §100j");
  CHECK(e.requested_by == "ops.amina");
  CHECK(e.index == indexer.compute(number(kNumberA)));
  CHECK(e.index == d.index);
  CHECK(e.index.key_version == 1);
  CHECK(e.channel == Channel::kPhone);
  CHECK(e.accounts_returned == 1);
  CHECK(e.mac_key_version == 1);
  CHECK(log[1].sequence == 2);
  CHECK(log[1].accounts_returned == 0);
  CHECK(log[1].prev_mac == e.mac);
  for (const AuditRecord& entry : log) {
    for (const std::string* field :
         {&entry.authority, &entry.reference, &entry.legal_basis, &entry.requested_by}) {
      CHECK(field->find("3001234567") == std::string::npos);
      CHECK(field->find("3330000001") == std::string::npos);
    }
  }
  const AuditVerification report = f.verify();
  CHECK(report.ok());
  CHECK(report.entries_verified == 2);
  REQUIRE(report.head.has_value());
  CHECK(report.head->count == 2);
  CHECK(report.head->last_mac == log[1].mac);
}

TEST_CASE("disclose: a bad legal request is refused with its code and appends nothing",
          "[audit][disclose]") {
  struct Case {
    const char* what;
    std::string LegalRequest::*field;
    std::string value;
    ErrorCode code;
  };
  const std::string field_names[] = {"authority", "reference", "legal_basis", "requested_by"};
  std::string LegalRequest::*const fields[] = {&LegalRequest::authority, &LegalRequest::reference,
                                               &LegalRequest::legal_basis,
                                               &LegalRequest::requested_by};
  const std::size_t caps[] = {LegalRequest::kMaxAuthorityBytes, LegalRequest::kMaxReferenceBytes,
                              LegalRequest::kMaxLegalBasisBytes,
                              LegalRequest::kMaxRequestedByBytes};
  MemoryFixture f;
  f.link("acct-1", number(kNumberA));
  for (std::size_t i = 0; i < 4; ++i) {
    const std::vector<std::pair<std::string, ErrorCode>> bad = {
        {"", ErrorCode::kInvalidLegalRequest},
        {std::string(caps[i] + 1, 'x'), ErrorCode::kInputTooLong},
        {"line\nbreak", ErrorCode::kInvalidLegalRequest},
        {"tab\there", ErrorCode::kInvalidLegalRequest},
        {"esc\x1b[31m", ErrorCode::kInvalidLegalRequest},
        {"del\x7f", ErrorCode::kInvalidLegalRequest},
        {"nul" + std::string(1, '\0') + "x", ErrorCode::kInvalidLegalRequest},
        {"c1 \xc2\x85 next line", ErrorCode::kInvalidLegalRequest},
        {"bidi \xe2\x80\xae override", ErrorCode::kInvalidLegalRequest},
        {"zero\xe2\x80\x8bwidth", ErrorCode::kInvalidLegalRequest},
        {"bad \xc3\x28 utf8", ErrorCode::kInvalidLegalRequest},
        {"overlong \xc0\xaf", ErrorCode::kInvalidLegalRequest},
        {"surrogate \xed\xa0\x80", ErrorCode::kInvalidLegalRequest},
        {"cut \xe2\x82", ErrorCode::kInvalidLegalRequest},
        {" leading space", ErrorCode::kInvalidLegalRequest},
        {"trailing space ", ErrorCode::kInvalidLegalRequest},
        {"trailing nbsp\xc2\xa0", ErrorCode::kInvalidLegalRequest},
    };
    for (const auto& [value, code] : bad) {
      LegalRequest req = request();
      req.*fields[i] = value;
      INFO(field_names[i] << " = \"" << value << "\"");
      auto refused = f.registry.disclose(number(kNumberA), req);
      REQUIRE_FALSE(refused.is_ok());
      CHECK(refused.code() == code);
      CHECK(req.validate().code() == code);
      // The message names the field and never repeats the value.
      CHECK(refused.status().message().find(field_names[i]) != std::string::npos);
      if (value.size() > 3) CHECK(refused.status().message().find(value) == std::string::npos);
    }
  }
  CHECK(f.entries().empty());
  CHECK_FALSE(f.store.audit_head().value().has_value());

  // What is accepted: non-ASCII text, inner spaces, exactly the cap.
  LegalRequest good = request("Bundesamt für Justiz", "§ 100j StPO; Beschluss vom 3. März");
  good.reference = std::string(LegalRequest::kMaxReferenceBytes, 'r');
  good.requested_by = "Émilie Dubois (on-call)";
  CHECK(good.validate().is_ok());
  CHECK(f.disclose(number(kNumberA), good).accounts == Strings{"acct-1"});
  CHECK(f.entries().size() == 1);
}

TEST_CASE("disclose: when the audit entry cannot be committed there is no answer",
          "[audit][disclose]") {
  Fixture<veribind::testing::FailingStore> f;
  f.link("acct-1", number(kNumberA));
  f.store.append_down = true;
  auto refused = f.registry.disclose(number(kNumberA), request());
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.code() == ErrorCode::kUnavailable);
  CHECK(f.store.inner.scan_audit(1, 10).value().empty());
  CHECK_FALSE(f.store.inner.audit_head().value().has_value());

  f.store.append_down = false;
  f.store.down = true;  // the lookup itself fails: an error, and nothing appended
  CHECK(f.registry.disclose(number(kNumberA), request()).code() == ErrorCode::kUnavailable);
  f.store.down = false;
  CHECK(f.store.inner.scan_audit(1, 10).value().empty());
  CHECK(f.disclose(number(kNumberA)).audit_sequence == 1);
}

TEST_CASE("disclose: concurrent disclosures from two registries form one intact chain",
          "[audit][disclose]") {
  MemoryFixture f;
  f.link("acct-1", number(kNumberA));
  Registry second =
      Registry::create(LinkPolicy::phone_linked(), f.ring, f.store, f.store, f.clock).value();
  constexpr int kEach = 40;
  std::atomic<int> errors{0};
  auto worker = [&](Registry& registry, const char* who) {
    for (int i = 0; i < kEach; ++i) {
      auto answer = registry.disclose(number(kNumberA), request(who));
      if (!answer || answer->accounts != Strings{"acct-1"}) ++errors;
    }
  };
  std::thread a(worker, std::ref(f.registry), "authority A");
  std::thread b(worker, std::ref(second), "authority B");
  a.join();
  b.join();
  REQUIRE(errors == 0);
  const AuditVerification report = f.verify();
  CHECK(report.ok());
  CHECK(report.entries_verified == 2 * kEach);
  const TransparencyReport counts = AuditLog(f.store).transparency(f.ring).value();
  CHECK(counts.by_authority.at("authority A") == kEach);
  CHECK(counts.by_authority.at("authority B") == kEach);
}

// --- verify: tampering on the in-memory store
// ------------------------------------------------------

TEST_CASE("audit verify: an empty log and an untouched log verify", "[audit][verify]") {
  MemoryFixture f;
  AuditVerification empty = f.verify();
  CHECK(empty.ok());
  CHECK(empty.entries_verified == 0);
  CHECK_FALSE(empty.head.has_value());
  six_disclosures(f);
  AuditVerification full = f.verify();
  CHECK(full.ok());
  CHECK(full.entries_verified == 6);
  CHECK(full.sequence == 0);
}

TEST_CASE("audit verify: an edited entry is detected at its sequence", "[audit][verify]") {
  MemoryFixture f;
  six_disclosures(f);
  SECTION("a request field") {
    f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log[2].authority = "nobody"; };
  }
  SECTION("the number of accounts returned") {
    f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log[2].accounts_returned = 7; };
  }
  SECTION("the time") {
    f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log[2].time += 1ms; };
  }
  SECTION("the blind index") {
    f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log[2].index.value[0] ^= 1; };
  }
  SECTION("the link to the previous entry") {
    f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log[2].prev_mac[5] ^= 1; };
  }
  SECTION("the mac itself") {
    f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log[2].mac[31] ^= 0x80; };
  }
  require_problem(f.verify(), AuditProblem::kEdited, 3);
  CHECK(f.verify().entries_verified == 2);
}

TEST_CASE("audit verify: a deleted middle entry is detected at the first missing sequence",
          "[audit][verify]") {
  MemoryFixture f;
  six_disclosures(f);
  f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log.erase(log.begin() + 2); };
  const AuditVerification report = f.verify();
  require_problem(report, AuditProblem::kDeleted, 3);
  CHECK(report.detail.find("entry 3 is missing") != std::string::npos);

  f.store.tamper_entries = [](std::vector<AuditRecord>& log) {
    log.erase(log.begin() + 1, log.begin() + 4);
  };
  const AuditVerification three = f.verify();
  require_problem(three, AuditProblem::kDeleted, 2);
  CHECK(three.detail.find("entries 2 to 4 are missing") != std::string::npos);
}

TEST_CASE("audit verify: two swapped entries are detected as reordered at the first",
          "[audit][verify]") {
  MemoryFixture f;
  six_disclosures(f);
  f.store.tamper_entries = [](std::vector<AuditRecord>& log) {
    std::swap(log[2].sequence, log[3].sequence);
  };
  const AuditVerification report = f.verify();
  require_problem(report, AuditProblem::kReordered, 3);
  CHECK(report.detail.find("appended as sequence 4") != std::string::npos);
}

TEST_CASE("audit verify: dropping the last entries is detected as truncation by the head",
          "[audit][verify]") {
  MemoryFixture f;
  six_disclosures(f);
  f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log.resize(4); };
  const AuditVerification report = f.verify();
  require_problem(report, AuditProblem::kTruncated, 5);
  CHECK(report.entries_verified == 4);

  f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log.clear(); };
  require_problem(f.verify(), AuditProblem::kTruncated, 1);
}

TEST_CASE("audit verify: a head that is edited, missing or behind the log is a head mismatch",
          "[audit][verify]") {
  MemoryFixture f;
  six_disclosures(f);
  SECTION("count edited") {
    f.store.tamper_head = [](std::optional<AuditHead>& h) { h->count = 7; };
  }
  SECTION("last mac edited") {
    f.store.tamper_head = [](std::optional<AuditHead>& h) { h->last_mac[0] ^= 1; };
  }
  SECTION("deleted") {
    f.store.tamper_head = [](std::optional<AuditHead>& h) { h.reset(); };
  }
  SECTION("put back to an older copy while the log kept its entries") {
    const AuditHead old = *f.store.inner.audit_head().value();
    f.disclose(number(kNumberA));
    f.store.tamper_head = [old](std::optional<AuditHead>& h) { h = old; };
  }
  require_problem(f.verify(), AuditProblem::kHeadMismatch, 0);
}

TEST_CASE("audit verify: an intact entry from another copy of the log breaks the chain",
          "[audit][verify]") {
  // A second copy of the store (a restored backup: same key, same store id) that shares entries
  // 1-2 and then diverges: its entry 3 is intact and follows entry 2, but the original entry 4
  // does not follow it.
  MemoryFixture f;
  six_disclosures(f);
  TamperingStore fork;
  const AuditBinding binding = f.store.audit_binding().value();
  fork.tamper_binding = [binding](AuditBinding& b) { b = binding; };
  for (const AuditRecord& e : f.entries()) {
    if (e.sequence > 2) break;
    REQUIRE(fork.append_audit(e, AuditHead{e.sequence, e.mac, 1, {}}).value() ==
            AuditAppendOutcome::kAppended);
  }
  Registry other =
      Registry::create(LinkPolicy::phone_linked(), f.ring, fork, fork, f.clock).value();
  REQUIRE(other.disclose(number(kNumberB), request("someone else")).is_ok());
  const AuditRecord foreign = fork.scan_audit(3, 1).value().at(0);
  f.store.tamper_entries = [foreign](std::vector<AuditRecord>& log) { log[2] = foreign; };
  const AuditVerification report = f.verify();
  require_problem(report, AuditProblem::kBrokenChain, 4);
  CHECK(report.entries_verified == 3);
}

TEST_CASE("audit verify: the wrong key, or a ring without the log's key version, fails at entry 1",
          "[audit][verify]") {
  MemoryFixture f;
  six_disclosures(f);
  const KeyRing other = veribind::testing::random_ring();
  auto wrong = AuditLog(f.store).verify(other);
  REQUIRE(wrong.is_ok());
  require_problem(*wrong, AuditProblem::kEdited, 1);
  const KeyRing v2 = veribind::testing::random_ring(2);
  auto missing = AuditLog(f.store).verify(v2);
  REQUIRE(missing.is_ok());
  require_problem(*missing, AuditProblem::kUnknownKey, 1);
}

TEST_CASE("audit verify: known limit: a full rollback of log and head to an older copy verifies",
          "[audit][verify]") {
  // Documented in SECURITY.md: someone who kept a copy of the log and its head can put both back.
  // Only a head recorded outside the store (count and mac) shows that entries went missing.
  MemoryFixture f;
  six_disclosures(f);
  const AuditHead old_head = *f.store.inner.audit_head().value();
  f.disclose(number(kNumberA));
  f.disclose(number(kNumberA));
  f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log.resize(6); };
  f.store.tamper_head = [old_head](std::optional<AuditHead>& h) { h = old_head; };
  const AuditVerification report = f.verify();
  CHECK(report.ok());
  CHECK(report.head->count == 6);  // an outside record of count 8 would expose it
}

// --- transparency
// ---------------------------------------------------------------------------------

TEST_CASE("transparency: counts requests per authority, legal basis, outcome and channel",
          "[audit][transparency]") {
  MemoryFixture f;
  f.link("acct-1", number(kNumberA));
  f.disclose(number(kNumberA), request("FIA", "PECA s.34"));  // t0+0: found
  f.clock.advance(24h);
  const Timestamp day2 = f.clock.now();
  f.disclose(number(kNumberC), request("FIA", "PECA s.34"));     // day 2: none
  f.disclose(number(kNumberA), request("Police", "CrPC s.94"));  // day 2: found
  f.clock.advance(24h);
  f.disclose(number(kNumberB), request("Police", "court order"));  // day 3: none
  f.disclose(EmailAddress::parse("a@example.com").value(), request("Police", "court order"));

  const TransparencyReport all = AuditLog(f.store).transparency(f.ring).value();
  CHECK_FALSE(all.since.has_value());
  CHECK(all.requests == 5);
  CHECK(all.log_entries == 5);
  CHECK(all.accounts_returned == 2);
  CHECK(all.by_authority ==
        std::map<std::string, std::uint64_t, std::less<>>{{"FIA", 2}, {"Police", 3}});
  CHECK(all.by_legal_basis == std::map<std::string, std::uint64_t, std::less<>>{
                                  {"PECA s.34", 2}, {"CrPC s.94", 1}, {"court order", 2}});
  CHECK(all.by_outcome == std::map<std::string, std::uint64_t, std::less<>>{{"accounts_found", 2},
                                                                            {"none_found", 3}});
  CHECK(all.by_channel ==
        std::map<std::string, std::uint64_t, std::less<>>{{"phone", 4}, {"email", 1}});

  const TransparencyReport recent = AuditLog(f.store).transparency(f.ring, day2).value();
  CHECK(recent.since == day2);
  CHECK(recent.requests == 4);  // `since` is inclusive
  CHECK(recent.log_entries == 5);
  CHECK(recent.accounts_returned == 1);
  CHECK(recent.by_authority ==
        std::map<std::string, std::uint64_t, std::less<>>{{"FIA", 1}, {"Police", 3}});
  CHECK(recent.by_outcome == std::map<std::string, std::uint64_t, std::less<>>{
                                 {"accounts_found", 1}, {"none_found", 3}});

  const TransparencyReport none =
      AuditLog(f.store).transparency(f.ring, f.clock.now() + 1ms).value();
  CHECK(none.requests == 0);
  CHECK(none.by_authority.empty());
}

TEST_CASE("transparency: a log that does not verify gives no counts, and says where",
          "[audit][transparency]") {
  MemoryFixture f;
  six_disclosures(f);
  f.store.tamper_entries = [](std::vector<AuditRecord>& log) { log[3].legal_basis = "x"; };
  auto refused = AuditLog(f.store).transparency(f.ring);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.code() == ErrorCode::kAuditLogCorrupt);
  CHECK(refused.status().message().find("edited at sequence 4") != std::string::npos);
}

// --- on a real SQLite file, edited as an attacker with the sqlite3 shell would
// ----------------------

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/veribind-audit-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] fs::path file() const { return path_ / "veribind.db"; }

 private:
  fs::path path_;
};

// What the sqlite3 shell does with a statement: run it on its own connection to the file.
int sql(const fs::path& file, const std::string& statements) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  return rc;
}

struct SqliteFixture {
  SqliteFixture() : ring(veribind::testing::random_ring()) { reopen(); }
  void reopen() {
    store.reset();
    auto opened = SqliteStore::open(dir.file().string());
    INFO(opened.status().message());
    REQUIRE(opened.is_ok());
    store = std::move(opened).value();
  }
  void close() { store.reset(); }
  AuditVerification verify() {
    auto report = AuditLog(*store).verify(ring);
    INFO(report.status().message());
    REQUIRE(report.is_ok());
    return std::move(report).value();
  }
  TempDir dir;
  KeyRing ring;
  FakeClock clock;
  std::unique_ptr<SqliteStore> store;
};

void five_disclosures(SqliteFixture& f) {
  Registry registry =
      Registry::create(LinkPolicy::phone_linked(), f.ring, *f.store, *f.store, f.clock).value();
  BindingRecord binding{"acct-1",
                        BlindIndexer::create(f.ring)->compute(number(kNumberA)),
                        Channel::kPhone,
                        f.clock.now(),
                        {}};
  REQUIRE(f.store->insert_binding(binding, {}, 1).value() == BindOutcome::kBound);
  for (int i = 0; i < 5; ++i) {
    f.clock.advance(1min);
    auto answer = registry.disclose(number(i % 2 == 0 ? kNumberA : kNumberB), request());
    REQUIRE(answer.is_ok());
    CHECK(answer->audit_sequence == static_cast<std::uint64_t>(i + 1));
  }
}

const char* const kDropTriggers =
    "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; "
    "DROP TRIGGER audit_head_only_forward; DROP TRIGGER audit_head_no_delete;";

}  // namespace

TEST_CASE("SqliteStore audit log: SQL cannot update or delete entries or move the head back",
          "[audit][sqlite]") {
  SqliteFixture f;
  five_disclosures(f);
  f.close();
  CHECK(sql(f.dir.file(), "UPDATE audit_log SET authority = 'x' WHERE sequence = 3") ==
        SQLITE_CONSTRAINT);
  CHECK(sql(f.dir.file(), "DELETE FROM audit_log WHERE sequence = 5") == SQLITE_CONSTRAINT);
  CHECK(sql(f.dir.file(), "UPDATE audit_head SET count = 4") == SQLITE_CONSTRAINT);
  CHECK(sql(f.dir.file(), "DELETE FROM audit_head") == SQLITE_CONSTRAINT);
  f.reopen();
  const AuditVerification report = f.verify();
  CHECK(report.ok());
  CHECK(report.entries_verified == 5);
}

TEST_CASE("SqliteStore audit log: tampering with the file is detected and located",
          "[audit][sqlite]") {
  SqliteFixture f;
  five_disclosures(f);
  f.close();
  REQUIRE(sql(f.dir.file(), kDropTriggers) == SQLITE_OK);
  AuditProblem problem = AuditProblem::kNone;
  std::uint64_t at = 0;
  SECTION("edit a field") {
    REQUIRE(sql(f.dir.file(),
                "UPDATE audit_log SET legal_basis = 'nothing to see' WHERE sequence = 3") ==
            SQLITE_OK);
    problem = AuditProblem::kEdited, at = 3;
  }
  SECTION("edit the count of accounts returned") {
    REQUIRE(sql(f.dir.file(), "UPDATE audit_log SET accounts_returned = 0 WHERE sequence = 1") ==
            SQLITE_OK);
    problem = AuditProblem::kEdited, at = 1;
  }
  SECTION("delete a middle entry") {
    REQUIRE(sql(f.dir.file(), "DELETE FROM audit_log WHERE sequence = 2") == SQLITE_OK);
    problem = AuditProblem::kDeleted, at = 2;
  }
  SECTION("swap two entries") {
    REQUIRE(sql(f.dir.file(),
                "UPDATE audit_log SET sequence = 1000 WHERE sequence = 3;"
                "UPDATE audit_log SET sequence = 3 WHERE sequence = 4;"
                "UPDATE audit_log SET sequence = 4 WHERE sequence = 1000;") == SQLITE_OK);
    problem = AuditProblem::kReordered, at = 3;
  }
  SECTION("drop the last entries") {
    REQUIRE(sql(f.dir.file(), "DELETE FROM audit_log WHERE sequence >= 4") == SQLITE_OK);
    problem = AuditProblem::kTruncated, at = 4;
  }
  SECTION("drop the last entries and lower the head's count") {
    REQUIRE(sql(f.dir.file(),
                "DELETE FROM audit_log WHERE sequence >= 4;"
                "UPDATE audit_head SET count = 3, last_mac = (SELECT mac FROM audit_log "
                "WHERE sequence = 3)") == SQLITE_OK);
    problem = AuditProblem::kHeadMismatch, at = 0;
  }
  SECTION("delete the head") {
    REQUIRE(sql(f.dir.file(), "DELETE FROM audit_head") == SQLITE_OK);
    problem = AuditProblem::kHeadMismatch, at = 0;
  }
  f.reopen();
  require_problem(f.verify(), problem, at);
}

TEST_CASE(
    "SqliteStore audit log: a database from before the audit log is migrated and keeps its "
    "bindings",
    "[audit][sqlite]") {
  SqliteFixture f;
  BindingRecord binding{"acct-1",
                        BlindIndexer::create(f.ring)->compute(number(kNumberA)),
                        Channel::kPhone,
                        f.clock.now(),
                        {}};
  REQUIRE(f.store->insert_binding(binding, {}, 1).value() == BindOutcome::kBound);
  f.close();
  // Take the file back to what version 2, the last before the audit log, wrote.
  REQUIRE(sql(f.dir.file(), std::string(kDropTriggers) +
                                "DROP TABLE audit_log; DROP TABLE audit_head;"
                                // and the migrations that came after it: failure counts (5)
                                "DROP TRIGGER challenges_count_failure;"
                                "DROP TABLE identifier_failures;"
                                "ALTER TABLE challenges DROP COLUMN charged_at;"
                                "ALTER TABLE challenges DROP COLUMN failure_window_end;"
                                // and sealed contacts (4)
                                "DROP INDEX bindings_by_key_version;"
                                "DROP INDEX challenges_by_key_version;"
                                "ALTER TABLE bindings DROP COLUMN sealed_contact;"
                                "DELETE FROM schema_version WHERE version >= 3;") == SQLITE_OK);
  f.reopen();
  Registry registry =
      Registry::create(LinkPolicy::phone_linked(), f.ring, *f.store, *f.store, f.clock).value();
  auto answer = registry.disclose(number(kNumberA), request());
  REQUIRE(answer.is_ok());
  CHECK(answer->accounts == Strings{"acct-1"});
  CHECK(f.verify().entries_verified == 1);
}
