#include "veribind/registry.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "fakes/failing_store.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "veribind/contact_key_store.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
using namespace std::chrono_literals;
using veribind::testing::FakeClock;
using veribind::testing::RecordingSender;

namespace {

struct Fixture {
  Fixture()
      : ring(veribind::testing::random_ring()),
        verifier(Verifier::create(config(), ring, store, sender, clock).value()) {}
  static VerifierConfig config() {
    VerifierConfig c;
    c.max_sends_per_hour = 100;
    c.resend_cooldown = std::chrono::seconds(0);  // verifications of one identifier back to back
    c.sms_phone_types = PhoneTypeSet::all();      // the registry's policy is what is under test
    return c;
  }
  Registry registry(LinkPolicy policy) {
    return Registry::create(std::move(policy), ring, store, store, clock).value();
  }
  Registry registry(LinkPolicy policy, ContactKeyStore& keys) {
    return Registry::create(std::move(policy), ring, store, store, clock, keys).value();
  }
  VerifiedIdentifier verify(const Identifier& id, Purpose purpose = Purpose::kSignup) {
    Challenge c = verifier.start(id, purpose).value();
    REQUIRE(c.sent());
    CheckResult r = verifier.check(c.id, sender.last_code(), purpose).value();
    REQUIRE(r.outcome == CheckOutcome::kVerified);
    return std::move(*r.verified);
  }
  KeyRing ring;
  veribind::testing::FailingStore store;
  RecordingSender sender;
  FakeClock clock;
  Verifier verifier;
};

PhoneNumber pk_mobile() { return PhoneNumber::parse("+92 300 1234567").value(); }
EmailAddress alice() { return EmailAddress::parse("alice@example.com").value(); }

LinkPolicy sealed(LinkPolicy policy) {
  policy.retain_contact = RetainContact::kSealed;
  return policy;
}

std::size_t data_keys(ContactKeyStore& keys) { return keys.count_kek_version(1).value(); }

// The data key a sealed binding names: the 16 bytes after the seal's format byte.
DataKeyId sealed_key(const BindingRecord& binding) {
  DataKeyId id;
  std::copy(binding.sealed_contact.begin() + 1, binding.sealed_contact.begin() + 17, id.begin());
  return id;
}

}  // namespace

TEST_CASE(
    "policy presets: phone-linked binds phones, email-linked binds emails, one account "
    "each",
    "[policy]") {
  LinkPolicy phone = LinkPolicy::phone_linked();
  LinkPolicy email = LinkPolicy::email_linked();
  CHECK(phone.name == "phone-linked");
  CHECK(phone.channel == Channel::kPhone);
  CHECK(email.channel == Channel::kEmail);
  CHECK(phone.max_accounts_per_identifier == 1);
  CHECK(email.max_accounts_per_identifier == 1);
  CHECK(phone.allowed_phone_types == PhoneTypeSet::sms_default());
  CHECK(phone.allowed_regions.empty());
  CHECK_FALSE(email.email_options.provider_canonicalization);
  CHECK(phone.validate().is_ok());
  CHECK(LinkPolicy::by_name("email-linked")->channel == Channel::kEmail);
  CHECK(LinkPolicy::by_name("sms").code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("policy: invalid settings are refused with kInvalidConfig", "[policy]") {
  LinkPolicy p = LinkPolicy::phone_linked();
  p.max_accounts_per_identifier = 0;
  CHECK(p.validate().code() == ErrorCode::kInvalidConfig);
  p = LinkPolicy::phone_linked();
  p.allowed_regions = {"pk"};
  CHECK(p.validate().code() == ErrorCode::kInvalidConfig);
  p = LinkPolicy::phone_linked();
  p.allowed_phone_types = PhoneTypeSet();
  CHECK(p.validate().code() == ErrorCode::kInvalidConfig);
  Fixture f;
  CHECK(Registry::create(p, f.ring, f.store, f.store, f.clock).code() == ErrorCode::kInvalidConfig);
}

TEST_CASE("link: a verified number binds an account, and find returns it for any spelling",
          "[registry]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  REQUIRE(registry.link("acct-1", f.verify(pk_mobile())).is_ok());
  auto found = registry.find(PhoneNumber::parse("0300-1234567", "PK").value());
  REQUIRE(found.is_ok());
  CHECK(*found == std::vector<std::string>{"acct-1"});
  CHECK(registry.find(PhoneNumber::parse("+92 301 7654321").value())->empty());
}

TEST_CASE("link: a number already bound is refused with kAlreadyBound, store unchanged",
          "[registry]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  REQUIRE(registry.link("acct-1", f.verify(pk_mobile())).is_ok());
  CHECK(registry.link("acct-2", f.verify(pk_mobile())).code() == ErrorCode::kAlreadyBound);
  CHECK(*registry.find(pk_mobile()) == std::vector<std::string>{"acct-1"});
}

TEST_CASE("link: a policy allowing two accounts per identifier binds two, then refuses",
          "[registry]") {
  Fixture f;
  LinkPolicy policy = LinkPolicy::email_linked();
  policy.max_accounts_per_identifier = 2;
  Registry registry = f.registry(policy);
  REQUIRE(registry.link("acct-1", f.verify(alice())).is_ok());
  f.clock.advance(1s);
  REQUIRE(registry.link("acct-2", f.verify(alice())).is_ok());
  CHECK(registry.link("acct-3", f.verify(alice())).code() == ErrorCode::kAlreadyBound);
  CHECK(*registry.find(alice()) == std::vector<std::string>{"acct-1", "acct-2"});
}

TEST_CASE("link: the wrong channel is kWrongChannel, distinct from already-bound", "[registry]") {
  Fixture f;
  Registry phone_linked = f.registry(LinkPolicy::phone_linked());
  Registry email_linked = f.registry(LinkPolicy::email_linked());
  CHECK(phone_linked.link("acct-1", f.verify(alice())).code() == ErrorCode::kWrongChannel);
  CHECK(email_linked.link("acct-1", f.verify(pk_mobile())).code() == ErrorCode::kWrongChannel);
  CHECK(phone_linked.find(alice())->empty());
  CHECK(email_linked.find(pk_mobile())->empty());
}

TEST_CASE("link: only signup and change-identifier verifications may link", "[registry][purpose]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::email_linked());
  CHECK(registry.link("acct-1", f.verify(alice(), Purpose::kLogin)).code() ==
        ErrorCode::kWrongPurpose);
  CHECK(registry.link("acct-1", f.verify(alice(), Purpose::kRecovery)).code() ==
        ErrorCode::kWrongPurpose);
  CHECK(registry.find(alice())->empty());
  CHECK(registry.link("acct-1", f.verify(alice(), Purpose::kChangeIdentifier)).is_ok());
}

TEST_CASE("link: number types and regions outside the policy are refused", "[registry]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  auto toll_free = PhoneNumber::parse("+1 800 253 0000", "", PhoneTypeSet::all()).value();
  CHECK(registry.link("acct-1", f.verify(toll_free)).code() == ErrorCode::kPhoneTypeNotAllowed);

  LinkPolicy gb_only = LinkPolicy::phone_linked();
  gb_only.allowed_regions = {"GB"};
  Registry gb = f.registry(gb_only);
  CHECK(gb.link("acct-1", f.verify(pk_mobile())).code() == ErrorCode::kRegionNotAllowed);
  CHECK(gb.find(pk_mobile())->empty());
  auto uk = PhoneNumber::parse("+44 7400 123456").value();
  CHECK(gb.link("acct-1", f.verify(uk)).is_ok());
}

TEST_CASE("link: an account holds one binding per channel (kAccountHasBinding)", "[registry]") {
  Fixture f;
  Registry phones = f.registry(LinkPolicy::phone_linked());
  Registry emails = f.registry(LinkPolicy::email_linked());
  REQUIRE(phones.link("acct-1", f.verify(pk_mobile())).is_ok());
  auto other = PhoneNumber::parse("+92 301 7654321").value();
  CHECK(phones.link("acct-1", f.verify(other)).code() == ErrorCode::kAccountHasBinding);
  CHECK(phones.find(other)->empty());
  CHECK(emails.link("acct-1", f.verify(alice())).is_ok());
}

TEST_CASE("link: invalid account ids are refused and nothing is stored", "[registry][bad-input]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::email_linked());
  for (const std::string& bad : {std::string(), std::string("has space"), std::string(129, 'a'),
                                 std::string("tab\t"), std::string("caf\xc3\xa9")}) {
    CHECK(registry.link(bad, f.verify(alice())).code() == ErrorCode::kInvalidAccountId);
  }
  CHECK(registry.find(alice())->empty());
  CHECK(registry.link(std::string(128, 'a'), f.verify(alice())).is_ok());
  CHECK(registry.unlink("").code() == ErrorCode::kInvalidAccountId);
}

TEST_CASE("unlink: removes the account's bindings, freeing the identifier", "[registry]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  REQUIRE(registry.link("acct-1", f.verify(pk_mobile())).is_ok());
  CHECK(*registry.unlink("acct-1") == 1);
  CHECK(registry.find(pk_mobile())->empty());
  CHECK(*registry.unlink("acct-1") == 0);
  CHECK(registry.link("acct-2", f.verify(pk_mobile())).is_ok());
}

TEST_CASE("registry: a store that is down is kUnavailable and changes nothing", "[registry]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::email_linked());
  VerifiedIdentifier v = f.verify(alice());
  f.store.down = true;
  CHECK(registry.link("acct-1", std::move(v)).code() == ErrorCode::kUnavailable);
  CHECK(registry.find(alice()).code() == ErrorCode::kUnavailable);
  f.store.down = false;
  CHECK(registry.find(alice())->empty());
}

TEST_CASE("find: under provider canonicalization, Gmail spellings of one mailbox match",
          "[registry][email]") {
  Fixture f;
  LinkPolicy policy = LinkPolicy::email_linked();
  policy.email_options.provider_canonicalization = true;
  Registry registry = f.registry(policy);
  auto parse = [&](const char* text) {
    return EmailAddress::parse(text, policy.email_options).value();
  };
  REQUIRE(registry.link("acct-1", f.verify(parse("john.doe@gmail.com"))).is_ok());
  CHECK(*registry.find(EmailAddress::parse("John.Doe+shop@googlemail.com").value()) ==
        std::vector<std::string>{"acct-1"});
  CHECK(registry.link("acct-2", f.verify(parse("johndoe+x@gmail.com"))).code() ==
        ErrorCode::kAlreadyBound);
}

TEST_CASE("link: a verification links once; a spent proof is kVerificationSpent", "[registry]") {
  Fixture f;
  LinkPolicy roomy = LinkPolicy::phone_linked();
  roomy.max_accounts_per_identifier = 5;  // so that only the proof can refuse the second link
  Registry registry = f.registry(roomy);
  VerifiedIdentifier proof = f.verify(pk_mobile());
  CHECK_FALSE(proof.spent());
  REQUIRE(registry.link("acct-1", std::move(proof)).is_ok());
  CHECK(proof.spent());  // NOLINT(bugprone-use-after-move): being spent is the contract
  CHECK(registry.link("acct-2", std::move(proof)).code() == ErrorCode::kVerificationSpent);
  CHECK(*registry.find(pk_mobile()) == std::vector<std::string>{"acct-1"});

  // A refused link spends the proof too: retrying needs a new verification.
  VerifiedIdentifier login = f.verify(pk_mobile(), Purpose::kLogin);
  CHECK(registry.link("acct-3", std::move(login)).code() == ErrorCode::kWrongPurpose);
  CHECK(registry.link("acct-3", std::move(login)).code() == ErrorCode::kVerificationSpent);
}

TEST_CASE(
    "link: an email must be parsed with the policy's email options (no bypass of "
    "provider canonicalization)",
    "[registry][email]") {
  Fixture f;
  LinkPolicy canonical = LinkPolicy::email_linked();
  canonical.email_options.provider_canonicalization = true;
  Registry merging = f.registry(canonical);
  Registry plain = f.registry(LinkPolicy::email_linked());

  // The backend forgot the policy's options: "john.doe@gmail.com" as typed would be a second
  // account for johndoe@gmail.com. Refused, and nothing stored.
  auto as_typed = EmailAddress::parse("john.doe@gmail.com").value();
  CHECK(merging.link("acct-1", f.verify(as_typed)).code() == ErrorCode::kEmailFormMismatch);
  CHECK(merging.find(as_typed)->empty());

  // The other way round: a canonicalized address offered to a policy without canonicalization.
  auto merged = EmailAddress::parse("john.doe+x@gmail.com", canonical.email_options).value();
  CHECK(plain.link("acct-1", f.verify(merged)).code() == ErrorCode::kEmailFormMismatch);
  CHECK(plain.find(merged).code() == ErrorCode::kEmailFormMismatch);

  REQUIRE(merging.link("acct-1", f.verify(merged)).is_ok());
  CHECK(*merging.find(as_typed) == std::vector<std::string>{"acct-1"});
}

TEST_CASE(
    "preflight: refuses what link would refuse regardless of other accounts, before the "
    "code is spent",
    "[registry]") {
  Fixture f;
  Registry phones = f.registry(LinkPolicy::phone_linked());
  Challenge c = f.verifier.start(pk_mobile(), Purpose::kSignup).value();
  const std::string code = f.sender.last_code();
  CHECK(f.registry(LinkPolicy::email_linked())
            .preflight("acct-1", f.verifier, c.id, Purpose::kSignup)
            .code() == ErrorCode::kWrongChannel);
  CHECK(phones.preflight("acct-1", f.verifier, c.id, Purpose::kLogin).code() ==
        ErrorCode::kWrongPurpose);
  LinkPolicy gb_only = LinkPolicy::phone_linked();
  gb_only.allowed_regions = {"GB"};
  CHECK(f.registry(gb_only).preflight("acct-1", f.verifier, c.id, Purpose::kSignup).code() ==
        ErrorCode::kRegionNotAllowed);
  CHECK(phones.preflight("bad id", f.verifier, c.id, Purpose::kSignup).code() ==
        ErrorCode::kInvalidAccountId);
  CHECK(phones.preflight("acct-1", f.verifier, "nope", Purpose::kSignup).code() ==
        ErrorCode::kInvalidChallengeId);
  // An unknown challenge is left to check(), which answers uniformly.
  CHECK(phones.preflight("acct-1", f.verifier, ChallengeId::random().to_string(), Purpose::kSignup)
            .is_ok());
  // Nothing was charged or changed: the record is as start() left it, and the code still links.
  const ChallengeRecord after =
      f.store.find_challenge(ChallengeId::parse(c.id).value()).value().value();
  CHECK(after.attempts == 0);
  CheckResult r = f.verifier.check(c.id, code, Purpose::kSignup).value();
  REQUIRE(r.outcome == CheckOutcome::kVerified);
  CHECK(phones.link("acct-1", std::move(*r.verified)).is_ok());
}

TEST_CASE("preflight: an expired or locked challenge gets no policy verdict (check() answers)",
          "[registry]") {
  Fixture f;
  Registry emails = f.registry(LinkPolicy::email_linked());  // the wrong channel for a phone
  Challenge expired = f.verifier.start(pk_mobile(), Purpose::kSignup).value();
  Challenge locked = f.verifier.start(pk_mobile(), Purpose::kSignup).value();
  for (int i = 0; i < 5; ++i) (void)f.verifier.check(locked.id, "000000", Purpose::kLogin);
  CHECK(emails.preflight("acct-1", f.verifier, locked.id, Purpose::kSignup).is_ok());
  f.clock.advance(std::chrono::minutes(10));
  CHECK(emails.preflight("acct-1", f.verifier, expired.id, Purpose::kSignup).is_ok());
}

TEST_CASE("preflight: never says whether an identifier is bound (that needs the code)",
          "[registry][enumeration]") {
  Fixture f;
  Registry phones = f.registry(LinkPolicy::phone_linked());
  REQUIRE(phones.link("acct-1", f.verify(pk_mobile())).is_ok());
  Challenge c = f.verifier.start(pk_mobile(), Purpose::kSignup).value();
  CHECK(phones.preflight("acct-2", f.verifier, c.id, Purpose::kSignup).is_ok());
}

TEST_CASE(
    "erase: a key store that lacks the sealed contact's data key is refused and nothing changes",
    "[registry][sealed][erase]") {
  Fixture f;
  MemoryContactKeyStore real_keys;
  MemoryContactKeyStore other_keys;  // another deployment's key store, with keys of its own
  Registry linked = f.registry(sealed(LinkPolicy::phone_linked()), real_keys);
  Registry wrong = f.registry(sealed(LinkPolicy::phone_linked()), other_keys);
  REQUIRE(linked.link("acct-1", f.verify(pk_mobile()), pk_mobile()).is_ok());
  const PhoneNumber second = PhoneNumber::parse("+92 300 7654321").value();
  REQUIRE(wrong.link("acct-2", f.verify(second), second).is_ok());
  REQUIRE(data_keys(real_keys) == 1);
  REQUIRE(data_keys(other_keys) == 1);

  auto erased = wrong.erase("acct-1");
  REQUIRE_FALSE(erased.is_ok());
  CHECK(erased.code() == ErrorCode::kContactKeyMissing);
  CHECK(error_code_name(erased.code()) == "contact_key_missing");
  CHECK(wrong.unlink("acct-1").code() == ErrorCode::kContactKeyMissing);
  // Nothing went: not the binding, not a key of either store; the contact still opens.
  CHECK(f.store.bindings_of_account("acct-1")->size() == 1);
  CHECK(data_keys(real_keys) == 1);
  CHECK(data_keys(other_keys) == 1);
  CHECK(linked.contact("acct-1", SecurityPurpose::kRecovery)->canonical() == "+923001234567");
  CHECK(linked.find(pk_mobile()).value() == std::vector<std::string>{"acct-1"});

  // With the key store it was linked with, the erasure goes through and shreds the key.
  CHECK(linked.erase("acct-1").value().bindings_removed == 1);
  CHECK(data_keys(real_keys) == 0);
  CHECK(data_keys(other_keys) == 1);
  CHECK(linked.find(pk_mobile())->empty());
}

TEST_CASE("erase: every sealed binding's data key is checked before any key is destroyed",
          "[registry][sealed][erase]") {
  Fixture f;
  MemoryContactKeyStore phone_keys;
  MemoryContactKeyStore email_keys;
  Registry phones = f.registry(sealed(LinkPolicy::phone_linked()), phone_keys);
  Registry emails = f.registry(sealed(LinkPolicy::email_linked()), email_keys);
  REQUIRE(phones.link("acct-1", f.verify(pk_mobile()), pk_mobile()).is_ok());
  REQUIRE(emails.link("acct-1", f.verify(alice()), alice()).is_ok());

  // The phone's key is in phone_keys, the email's is not: the phone's key must survive.
  CHECK(phones.erase("acct-1").code() == ErrorCode::kContactKeyMissing);
  CHECK(data_keys(phone_keys) == 1);
  CHECK(data_keys(email_keys) == 1);
  CHECK(f.store.bindings_of_account("acct-1")->size() == 2);
  CHECK(phones.contact("acct-1", SecurityPurpose::kRecovery).is_ok());
  CHECK(emails.contact("acct-1", SecurityPurpose::kRecovery).is_ok());
}

TEST_CASE("erase: an erasure interrupted after its keys went is finished by kFinishInterrupted",
          "[registry][sealed][erase]") {
  Fixture f;
  MemoryContactKeyStore keys;
  Registry registry = f.registry(sealed(LinkPolicy::phone_linked()), keys);
  REQUIRE(registry.link("acct-1", f.verify(pk_mobile()), pk_mobile()).is_ok());
  const PhoneNumber second = PhoneNumber::parse("+92 300 7654321").value();
  REQUIRE(registry.link("acct-2", f.verify(second), second).is_ok());
  // What an erasure that stopped between its two steps leaves: the key gone, the binding there.
  REQUIRE(keys.erase(sealed_key(f.store.bindings_of_account("acct-1")->at(0))).value());

  CHECK(registry.erase("acct-1").code() == ErrorCode::kContactKeyMissing);
  CHECK(f.store.bindings_of_account("acct-1")->size() == 1);
  CHECK(registry.erase("acct-1", EraseMode::kFinishInterrupted).value().bindings_removed == 1);
  CHECK(f.store.bindings_of_account("acct-1")->empty());
  CHECK(registry.find(pk_mobile())->empty());
  // A key that is there is destroyed in that mode too.
  CHECK(registry.erase("acct-2", EraseMode::kFinishInterrupted).value().bindings_removed == 1);
  CHECK(data_keys(keys) == 0);
}

// --- personal data where it does not belong -----------------------------------------------------

TEST_CASE(
    "link: an account id holding an email address or a phone number is refused with "
    "kAccountIdPersonalData, and nothing is stored",
    "[registry][bad-input][personal-data]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  const std::vector<std::string> refused = {
      "pat.doe@example.com",  // the review's input
      "user:pat.doe@example.com", "<pat.doe@example.com>",
      "PAT.DOE@EXAMPLE.COM.",     "+923001234567",
      "tel:+92-300-1234567",      "00923001234567",
      "acct-+923001234567",       "+92(300)1234567-2026",
  };
  for (const std::string& id : refused) {
    INFO(id);
    CHECK(Registry::validate_account_id(id).code() == ErrorCode::kAccountIdPersonalData);
    VerifiedIdentifier proof = f.verify(pk_mobile());
    const int operations = f.store.operations;
    Status linked = registry.link(id, std::move(proof));
    CHECK(linked.code() == ErrorCode::kAccountIdPersonalData);
    CHECK(error_code_name(linked.code()) == "account_id_personal_data");
    CHECK(f.store.operations == operations);  // refused before the store is touched
    // The message never repeats what it found.
    CHECK(linked.message().find("pat.doe") == std::string::npos);
    CHECK(linked.message().find("1234567") == std::string::npos);
    CHECK(registry.contact(id, SecurityPurpose::kRecovery).code() ==
          ErrorCode::kAccountIdPersonalData);
    Challenge c = f.verifier.start(pk_mobile(), Purpose::kSignup).value();
    CHECK(registry.preflight(id, f.verifier, c.id, Purpose::kSignup).code() ==
          ErrorCode::kAccountIdPersonalData);
  }
  CHECK(registry.find(pk_mobile())->empty());
}

TEST_CASE("link: ordinary account ids, numeric ones included, are accepted",
          "[registry][personal-data]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  for (const char* id : {"acct-1", "6f1c2b8e-4a8e-4b6e-9f0e-2d3c4b5a6978", "user_42", "1234567890",
                         "923001234567", "team@intranet", "a+b", "order-2026-0042"}) {
    INFO(id);
    CHECK(Registry::validate_account_id(id).is_ok());
  }
  REQUIRE(registry.link("1234567890", f.verify(pk_mobile())).is_ok());
  const PhoneNumber second = PhoneNumber::parse("+92 300 7654321").value();
  REQUIRE(registry.link("6f1c2b8e-4a8e-4b6e-9f0e-2d3c4b5a6978", f.verify(second)).is_ok());
  CHECK(registry.find(pk_mobile()).value() == std::vector<std::string>{"1234567890"});
}

TEST_CASE("erase: an account id stored before ids holding personal data were refused can be erased",
          "[registry][personal-data]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  // What an earlier release let through: the id written to the store as it was given.
  const VerifiedIdentifier proof = f.verify(pk_mobile());
  BindingRecord legacy{"pat.doe@example.com", proof.index(), Channel::kPhone, f.clock.now(), {}};
  REQUIRE(f.store.insert_binding(legacy, {}, 1).value() == BindOutcome::kBound);
  CHECK(Registry::validate_account_id_form("pat.doe@example.com").is_ok());
  CHECK(registry.erase("pat.doe@example.com").value().bindings_removed == 1);
  CHECK(registry.find(pk_mobile())->empty());
  CHECK(registry.unlink("pat.doe@example.com").value() == 0);
}

namespace {
LegalRequest lawful_request() {
  return {"FIA Cybercrime Wing", "case 2026-0042", "PECA 2016 s.34", "ops.amina"};
}
}  // namespace

TEST_CASE(
    "disclose: request fields holding an email address or a phone number are refused with "
    "kLegalRequestPersonalData, and the audit log is unchanged",
    "[registry][disclose][personal-data]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  REQUIRE(registry.link("acct-1", f.verify(pk_mobile())).is_ok());
  const std::string names[] = {"authority", "reference", "legal_basis", "requested_by"};
  std::string LegalRequest::*const fields[] = {&LegalRequest::authority, &LegalRequest::reference,
                                               &LegalRequest::legal_basis,
                                               &LegalRequest::requested_by};
  const std::vector<std::string> refused = {
      "lookup of +92 300 1234567 for pat.doe@example.com",  // the review's input
      "pat.doe@example.com",
      "asked by \"Pat Doe\" <pat.doe@example.com>",
      "subscriber +92-300-1234567",
      "subscriber 0092 300 1234567",
      "subscriber 0300 1234567",  // a national number: 11 digits
      "line (202) 555-0142",      // 10 digits
      "mobile 03001234567, urgent",
      "+44 20 7946 0958",
      "ops on call (+92 300 1234567)",
  };
  for (std::size_t i = 0; i < 4; ++i) {
    for (const std::string& value : refused) {
      LegalRequest request = lawful_request();
      request.*fields[i] = value;
      INFO(names[i] << " = " << value);
      CHECK(request.validate().code() == ErrorCode::kLegalRequestPersonalData);
      auto answer = registry.disclose(pk_mobile(), request);
      REQUIRE_FALSE(answer.is_ok());
      CHECK(answer.code() == ErrorCode::kLegalRequestPersonalData);
      CHECK(error_code_name(answer.code()) == "legal_request_personal_data");
      CHECK(answer.status().message().find(names[i]) != std::string::npos);
      CHECK(answer.status().message().find("1234567") == std::string::npos);
      CHECK(answer.status().message().find("pat.doe") == std::string::npos);
    }
  }
  CHECK(f.store.scan_audit(1, 100)->empty());
  CHECK_FALSE(f.store.audit_head().value().has_value());
}

TEST_CASE("disclose: ordinary authorities, references and legal bases are accepted",
          "[registry][disclose][personal-data]") {
  Fixture f;
  Registry registry = f.registry(LinkPolicy::phone_linked());
  REQUIRE(registry.link("acct-1", f.verify(pk_mobile())).is_ok());
  const std::vector<std::string> accepted = {
      "case 2026-0042",
      "warrant AB-123/26",
      "FIR 117/2026",
      "FIR-2026-0117",
      "PECA 2016 s.34",
      "order of 31.01.2026",
      "order 2026-01-31",
      "Police HQ @ Islamabad",
      "ops.amina",
      "§ 100j StPO",
      "court order no. 123456789",
      "ops@night-shift",
  };
  std::uint64_t expected_sequence = 0;
  for (const std::string& value : accepted) {
    LegalRequest request = lawful_request();
    request.reference = value;
    request.legal_basis = value;
    INFO(value);
    CHECK(request.validate().is_ok());
    auto answer = registry.disclose(pk_mobile(), request);
    REQUIRE(answer.is_ok());
    CHECK(answer->audit_sequence == ++expected_sequence);
    CHECK(answer->accounts == std::vector<std::string>{"acct-1"});
  }
}
