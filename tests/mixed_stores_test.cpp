// An application may mix backends: the store interfaces are split by lifetime, so challenges can
// live in memory (they last minutes) while bindings and the audit log go to an SQLite file.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "veribind/audit.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/registry.hpp"
#include "veribind/sqlite_store.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
namespace fs = std::filesystem;

TEST_CASE("mixed stores: challenges in memory, bindings and the audit log in SQLite, one full flow",
          "[store][mixed]") {
  char tmpl[] = "/tmp/veribind-mixed-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const std::string db = (dir / "accounts.db").string();
  KeyRing ring = veribind::testing::random_ring();
  veribind::testing::RecordingSender sender;
  veribind::testing::FakeClock clock;
  MemoryStore challenges;
  {
    auto accounts = SqliteStore::open(db);
    REQUIRE(accounts.is_ok());
    Verifier verifier = Verifier::create({}, ring, challenges, sender, clock).value();
    Registry registry =
        Registry::create(LinkPolicy::phone_linked(), ring, **accounts, **accounts, clock).value();

    const PhoneNumber phone = PhoneNumber::parse("+92 300 1234567").value();
    Challenge c = verifier.start(phone, Purpose::kSignup).value();
    REQUIRE(c.sent());
    CHECK(challenges.challenge_count() == 1);
    REQUIRE(registry.preflight("acct-1", verifier, c.id, Purpose::kSignup).is_ok());
    CheckResult r = verifier.check(c.id, sender.last_code(), Purpose::kSignup).value();
    REQUIRE(r.outcome == CheckOutcome::kVerified);
    REQUIRE(registry.link("acct-1", std::move(*r.verified)).is_ok());
    CHECK(challenges.challenge_count() == 0);

    LegalRequest request;
    request.authority = "Court of Example";
    request.reference = "case 2026-0042";
    request.legal_basis = "statute 12(3)";
    request.requested_by = "officer 7";
    auto disclosed = registry.disclose(phone, request);
    REQUIRE(disclosed.is_ok());
    CHECK(disclosed->accounts == std::vector<std::string>{"acct-1"});
    // What still uses key version 1: the binding in SQLite, the audit entry, no live challenge.
    KeyUsage usage = registry.key_version_usage(1, verifier).value();
    CHECK(usage.bindings == 1);
    CHECK(usage.challenges == 0);
    CHECK(usage.audit_entries == 2);  // the entry and the head
  }
  // The memory store is gone with the process; the SQLite file holds the account state.
  auto reopened = SqliteStore::open(db);
  REQUIRE(reopened.is_ok());
  Registry again =
      Registry::create(LinkPolicy::phone_linked(), ring, **reopened, **reopened, clock).value();
  CHECK(again.find(PhoneNumber::parse("0300 1234567", "PK").value()).value() ==
        std::vector<std::string>{"acct-1"});
  CHECK(AuditLog(**reopened).verify(ring)->ok());
  auto stats = (*reopened)->retention_stats(clock.now()).value();
  for (const RowKindStats& kind : stats) {
    if (kind.kind == "challenges" || kind.kind == "failure_counts") CHECK(kind.rows == 0);
  }
  fs::remove_all(dir);
}
