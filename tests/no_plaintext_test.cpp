// Principle 1 of the design, checked on the bytes: after a full flow on SQLite, neither the
// database file nor its WAL holds a phone number, an email address or a code in any form a
// person or a grep would recognise.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "veribind/registry.hpp"
#include "veribind/sqlite_contact_key_store.hpp"
#include "veribind/sqlite_store.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE(
    "no plaintext at rest: a full flow on SQLite leaves no number, address or code in the "
    "database file or its WAL",
    "[no-plaintext][sqlite]") {
  char tmpl[] = "/tmp/veribind-plain-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const fs::path db = dir / "veribind.db";
  std::vector<std::string> codes;
  {
    auto store = SqliteStore::open(db.string());
    REQUIRE(store.is_ok());
    KeyRing ring = veribind::testing::random_ring();
    veribind::testing::RecordingSender sender;
    veribind::testing::FakeClock clock;
    Verifier verifier = Verifier::create({}, ring, **store, sender, clock).value();
    Registry phones =
        Registry::create(LinkPolicy::phone_linked(), ring, **store, **store, clock).value();
    Registry emails =
        Registry::create(LinkPolicy::email_linked(), ring, **store, **store, clock).value();

    // A phone-linked signup, with a wrong code first.
    auto phone = PhoneNumber::parse("+92 300 1234567").value();
    Challenge c1 = verifier.start(phone, Purpose::kSignup).value();
    const std::string code1 = sender.last_code();
    std::string wrong = code1;
    wrong[5] = wrong[5] == '0' ? '1' : '0';
    CHECK(verifier.check(c1.id, wrong, Purpose::kSignup)->outcome == CheckOutcome::kWrongCode);
    auto r1 = verifier.check(c1.id, code1, Purpose::kSignup).value();
    REQUIRE(r1.outcome == CheckOutcome::kVerified);
    REQUIRE(phones.link("acct-phone", std::move(*r1.verified)).is_ok());

    // An email-linked signup.
    auto email = EmailAddress::parse("Alice.Liddell@Example.COM").value();
    Challenge c2 = verifier.start(email, Purpose::kSignup).value();
    auto r2 = verifier.check(c2.id, sender.last_code(), Purpose::kSignup).value();
    REQUIRE(r2.outcome == CheckOutcome::kVerified);
    REQUIRE(emails.link("acct-email", std::move(*r2.verified)).is_ok());

    // Challenges still live when the files are read: one started, one resent.
    clock.advance(std::chrono::seconds(30));  // the resend cooldown
    (void)verifier.start(phone, Purpose::kLogin).value();
    Challenge c4 = verifier.start(email, Purpose::kRecovery).value();
    clock.advance(std::chrono::seconds(31));
    REQUIRE(verifier.resend(c4.id, email).is_ok());

    for (const auto& m : sender.sent()) codes.push_back(m.code);
    REQUIRE(codes.size() == 5);

    // Read the files while the connection is open, so the WAL has not been checkpointed away.
    std::string bytes = read_all(db);
    if (fs::exists(db.string() + "-wal")) bytes += read_all(db.string() + "-wal");
    REQUIRE(bytes.size() > 0);

    const std::vector<std::string> plaintexts = {"+923001234567",
                                                 "923001234567",
                                                 "3001234567",
                                                 "300 1234567",
                                                 "0300",
                                                 "Alice.Liddell@Example.COM",
                                                 "Alice.Liddell@example.com",
                                                 "alice.liddell",
                                                 "Alice.Liddell",
                                                 "Liddell",
                                                 "example.com",
                                                 "Example.COM",
                                                 "EXAMPLE"};
    for (const std::string& p : plaintexts) {
      INFO("searching for a plaintext identifier fragment of length " << p.size());
      CHECK(bytes.find(p) == std::string::npos);
    }
    for (const std::string& code : codes) {
      INFO("searching for a code");
      CHECK(bytes.find(code) == std::string::npos);
    }
    // The account ids are the embedding backend's own, and are stored: the search is not blind.
    CHECK(bytes.find("acct-phone") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE(
    "no plaintext at rest: sealed contacts leave no number or address in the main store or the "
    "key store, and the key store names no account",
    "[no-plaintext][sqlite][sealed]") {
  char tmpl[] = "/tmp/veribind-plain-sealed-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const fs::path db = dir / "veribind.db";
  const fs::path keys_db = dir / "contact-keys.db";
  {
    auto store = SqliteStore::open(db.string());
    auto keys = SqliteContactKeyStore::open(keys_db.string());
    REQUIRE(store.is_ok());
    REQUIRE(keys.is_ok());
    KeyRing ring = veribind::testing::random_ring();
    veribind::testing::RecordingSender sender;
    veribind::testing::FakeClock clock;
    Verifier verifier = Verifier::create({}, ring, **store, sender, clock).value();
    LinkPolicy phone_policy = LinkPolicy::phone_linked();
    phone_policy.retain_contact = RetainContact::kSealed;
    LinkPolicy email_policy = LinkPolicy::email_linked();
    email_policy.retain_contact = RetainContact::kSealed;
    Registry phones = Registry::create(phone_policy, ring, **store, **store, clock, **keys).value();
    Registry emails = Registry::create(email_policy, ring, **store, **store, clock, **keys).value();

    auto phone = PhoneNumber::parse("+92 300 1234567").value();
    Challenge c1 = verifier.start(phone, Purpose::kSignup).value();
    auto r1 = verifier.check(c1.id, sender.last_code(), Purpose::kSignup).value();
    REQUIRE(r1.outcome == CheckOutcome::kVerified);
    REQUIRE(phones.link("acct-phone", std::move(*r1.verified), phone).is_ok());
    auto email = EmailAddress::parse("Alice.Liddell@Example.COM").value();
    Challenge c2 = verifier.start(email, Purpose::kSignup).value();
    auto r2 = verifier.check(c2.id, sender.last_code(), Purpose::kSignup).value();
    REQUIRE(r2.outcome == CheckOutcome::kVerified);
    REQUIRE(emails.link("acct-email", std::move(*r2.verified), email).is_ok());
    // Both contacts are retained (and readable with the keys)...
    REQUIRE(phones.contact("acct-phone", SecurityPurpose::kRecovery).is_ok());
    REQUIRE(emails.contact("acct-email", SecurityPurpose::kRecovery).is_ok());

    // ...yet neither file holds them in any recognisable form.
    std::string main_bytes = read_all(db);
    if (fs::exists(db.string() + "-wal")) main_bytes += read_all(db.string() + "-wal");
    std::string key_bytes = read_all(keys_db);
    if (fs::exists(keys_db.string() + "-wal")) key_bytes += read_all(keys_db.string() + "-wal");
    for (const std::string& p :
         {std::string("+923001234567"), std::string("923001234567"), std::string("3001234567"),
          std::string("alice.liddell"), std::string("Alice.Liddell"), std::string("example.com"),
          std::string("Example.COM")}) {
      INFO("searching for a plaintext identifier fragment of length " << p.size());
      CHECK(main_bytes.find(p) == std::string::npos);
      CHECK(key_bytes.find(p) == std::string::npos);
    }
    CHECK(main_bytes.find("acct-phone") != std::string::npos);  // the search is not blind
    CHECK(key_bytes.find("acct-phone") == std::string::npos);   // keys are named by random ids
    CHECK(key_bytes.find("acct-email") == std::string::npos);
  }
  fs::remove_all(dir);
}
