// Key rotation: versioned key files, and a registry and verifier that span two key versions.
// Bind under v1, add v2: find still works, uniqueness holds across versions, rotate() re-indexes
// sealed bindings, refresh() re-indexes the others on their owner's next verification, and a
// version can be retired only when nothing uses it.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fakes/fake_clock.hpp"
#include "fakes/recording_sender.hpp"
#include "veribind/contact_key_store.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/registry.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using veribind::testing::FakeClock;
using veribind::testing::RecordingSender;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/veribind-rotation-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

PhoneNumber number(const char* text) { return PhoneNumber::parse(text).value(); }

// Two master keys: the ring before (v1) and after (v1 + v2) the rotation.
struct Keys {
  Keys() {
    SecretBytes v1 = SecretBytes::random(KeyRing::kMasterKeyBytes);
    SecretBytes v1_copy = SecretBytes::copy_of(v1.reveal());
    SecretBytes v2 = SecretBytes::random(KeyRing::kMasterKeyBytes);
    old_ring.emplace(KeyRing::from_master_key(std::move(v1), 1).value());
    new_ring.emplace(KeyRing::from_master_key(std::move(v1_copy), 1).value());
    REQUIRE(new_ring->add_version(std::move(v2), 2).is_ok());
  }
  std::optional<KeyRing> old_ring;
  std::optional<KeyRing> new_ring;
};

// One deployment: a store, a key store and a clock, seen through rings of either version set.
struct World {
  static VerifierConfig config() {
    VerifierConfig c;
    c.max_sends_per_hour = 100;
    c.resend_cooldown = std::chrono::seconds(0);  // verifications of one identifier back to back
    return c;
  }
  Verifier verifier(const KeyRing& ring) {
    return Verifier::create(config(), ring, store, sender, clock).value();
  }
  Registry registry(const KeyRing& ring, RetainContact retain = RetainContact::kNone) {
    LinkPolicy policy = LinkPolicy::phone_linked();
    policy.retain_contact = retain;
    return Registry::create(std::move(policy), ring, store, store, clock, contact_keys).value();
  }
  VerifiedIdentifier verify(const KeyRing& ring, const Identifier& id,
                            Purpose purpose = Purpose::kSignup) {
    Verifier v = verifier(ring);
    Challenge c = v.start(id, purpose).value();
    CheckResult r = v.check(c.id, sender.last_code(), purpose).value();
    REQUIRE(r.outcome == CheckOutcome::kVerified);
    return std::move(*r.verified);
  }
  std::vector<BindingRecord> bindings(const std::string& account) {
    return store.bindings_of_account(account).value();
  }
  MemoryStore store;
  MemoryContactKeyStore contact_keys;
  RecordingSender sender;
  FakeClock clock;
};

}  // namespace

TEST_CASE("key files: version 1 is the key file itself and version N sits beside it as .vN",
          "[keys][rotation]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  CHECK(KeyRing::key_file_path(base, 1) == base);
  CHECK(KeyRing::key_file_path(base, 2) == base + ".v2");

  REQUIRE(KeyRing::generate_key_file(base, 1).is_ok());
  auto one = KeyRing::load_key_files(base);
  REQUIRE(one.is_ok());
  CHECK(one->versions() == std::vector<std::uint32_t>{1});
  CHECK(one->current_version() == 1);

  REQUIRE(KeyRing::generate_key_file(base, 2).is_ok());
  struct stat st {};
  REQUIRE(::stat((base + ".v2").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto two = KeyRing::load_key_files(base);
  REQUIRE(two.is_ok());
  CHECK(two->versions() == std::vector<std::uint32_t>{1, 2});
  CHECK(two->current_version() == 2);
  // The single-file loader still reads version 1 alone, and its subkeys match the ring's.
  auto legacy = KeyRing::load_key_file(base);
  REQUIRE(legacy.is_ok());
  CHECK(legacy->derive(KeyPurpose::kBlindIndex, 1).value() ==
        two->derive(KeyPurpose::kBlindIndex, 1).value());
  CHECK_FALSE(two->derive(KeyPurpose::kBlindIndex, 1).value() ==
              two->derive(KeyPurpose::kBlindIndex, 2).value());
}

TEST_CASE("key files: versions only grow, and an unsafe file of any version fails the load",
          "[keys][rotation]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  REQUIRE(KeyRing::generate_key_file(base, 1).is_ok());
  REQUIRE(KeyRing::generate_key_file(base, 3).is_ok());
  CHECK(KeyRing::generate_key_file(base, 2).code() == ErrorCode::kInvalidArgument);
  CHECK(KeyRing::generate_key_file(base, 3).code() == ErrorCode::kInvalidArgument);
  CHECK(KeyRing::generate_key_file(base, 0).code() == ErrorCode::kInvalidArgument);
  CHECK_FALSE(fs::exists(base + ".v2"));

  fs::permissions(base + ".v3", fs::perms::owner_read | fs::perms::group_read);
  auto refused = KeyRing::load_key_files(base);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.code() == ErrorCode::kKeyFileInsecure);
  CHECK(refused.status().message().find("key version 3") != std::string::npos);

  // Names that are not "<base>.v<N>" with N >= 2 are not key versions.
  fs::permissions(base + ".v3", fs::perms::owner_read | fs::perms::owner_write);
  std::ofstream(base + ".v03") << "x";
  std::ofstream(base + ".vx") << "x";
  std::ofstream(base + ".v1") << "x";
  auto loaded = KeyRing::load_key_files(base);
  REQUIRE(loaded.is_ok());
  CHECK(loaded->versions() == std::vector<std::uint32_t>{1, 3});

  TempDir empty;
  CHECK(KeyRing::load_key_files((empty.path / "veribind.key").string()).code() ==
        ErrorCode::kKeyUnavailable);
}

TEST_CASE("key files: destroying a version removes its file; the others still load",
          "[keys][rotation]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  REQUIRE(KeyRing::generate_key_file(base, 1).is_ok());
  REQUIRE(KeyRing::generate_key_file(base, 2).is_ok());
  REQUIRE(KeyRing::destroy_key_file(base, 1).is_ok());
  CHECK_FALSE(fs::exists(base));
  auto ring = KeyRing::load_key_files(base);
  REQUIRE(ring.is_ok());
  CHECK(ring->versions() == std::vector<std::uint32_t>{2});
  CHECK(KeyRing::destroy_key_file(base, 1).code() == ErrorCode::kKeyUnavailable);
  // A retired number is never handed out again.
  CHECK(KeyRing::generate_key_file(base, 1).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("key ring: add_version makes the highest version current and refuses duplicates",
          "[keys][rotation]") {
  KeyRing ring = KeyRing::from_master_key(SecretBytes::random(KeyRing::kMasterKeyBytes), 2).value();
  REQUIRE(ring.add_version(SecretBytes::random(KeyRing::kMasterKeyBytes), 1).is_ok());
  CHECK(ring.current_version() == 2);
  CHECK(ring.versions() == std::vector<std::uint32_t>{1, 2});
  CHECK(ring.add_version(SecretBytes::random(KeyRing::kMasterKeyBytes), 2).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ring.add_version(SecretBytes::random(16), 3).code() == ErrorCode::kInvalidArgument);
  CHECK(ring.add_version(SecretBytes::random(KeyRing::kMasterKeyBytes), 0).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ring.versions() == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("rotation: a binding made under v1 is still found after v2 is added", "[rotation]") {
  Keys keys;
  World world;
  const PhoneNumber phone = number("+92 300 1234567");
  {
    Registry old_registry = world.registry(*keys.old_ring);
    REQUIRE(old_registry.link("acct-1", world.verify(*keys.old_ring, phone)).is_ok());
  }
  Registry registry = world.registry(*keys.new_ring);
  CHECK(registry.find(phone).value() == std::vector<std::string>{"acct-1"});
  CHECK(world.bindings("acct-1")[0].index.key_version == 1);
  CHECK(registry.find(number("+92 300 1234568")).value().empty());
}

TEST_CASE("rotation: an identifier bound under v1 counts when another account links under v2",
          "[rotation]") {
  Keys keys;
  World world;
  const PhoneNumber phone = number("+92 300 1234567");
  REQUIRE(
      world.registry(*keys.old_ring).link("acct-1", world.verify(*keys.old_ring, phone)).is_ok());

  Registry registry = world.registry(*keys.new_ring);
  // With two versions active, linking needs the identifier: a proof alone cannot be looked up
  // under v1.
  CHECK(registry.link("acct-2", world.verify(*keys.new_ring, phone)).code() ==
        ErrorCode::kIdentifierRequired);
  CHECK(registry.link("acct-2", world.verify(*keys.new_ring, phone), phone).code() ==
        ErrorCode::kAlreadyBound);
  CHECK(registry.find(phone).value() == std::vector<std::string>{"acct-1"});
  CHECK(world.bindings("acct-2").empty());

  // Another number links under v2, the current version.
  const PhoneNumber other = number("+92 300 7654321");
  REQUIRE(registry.link("acct-2", world.verify(*keys.new_ring, other), other).is_ok());
  CHECK(world.bindings("acct-2")[0].index.key_version == 2);
  CHECK(registry.find(other).value() == std::vector<std::string>{"acct-2"});
}

TEST_CASE("rotation: link refuses an identifier that is not the one the proof verified",
          "[rotation]") {
  Keys keys;
  World world;
  Registry registry = world.registry(*keys.new_ring);
  CHECK(registry
            .link("acct-1", world.verify(*keys.new_ring, number("+92 300 1234567")),
                  number("+92 300 1234568"))
            .code() == ErrorCode::kIdentifierMismatch);
  CHECK(world.bindings("acct-1").empty());
}

TEST_CASE("rotation: a challenge started under v1 still verifies after v2 is added",
          "[rotation][verifier]") {
  Keys keys;
  World world;
  const PhoneNumber phone = number("+92 300 1234567");
  Verifier before = world.verifier(*keys.old_ring);
  Challenge c = before.start(phone, Purpose::kSignup).value();
  const std::string code = world.sender.last_code();

  Verifier after = world.verifier(*keys.new_ring);
  CheckResult wrong =
      after.check(c.id, code == "000000" ? "111111" : "000000", Purpose::kSignup).value();
  CHECK(wrong.outcome == CheckOutcome::kWrongCode);
  CheckResult r = after.check(c.id, code, Purpose::kSignup).value();
  REQUIRE(r.outcome == CheckOutcome::kVerified);
  CHECK(r.verified->index().key_version == 1);
  // Linked with the identifier, the binding is made under the current version all the same.
  Registry registry = world.registry(*keys.new_ring);
  REQUIRE(registry.link("acct-1", std::move(*r.verified), phone).is_ok());
  CHECK(world.bindings("acct-1")[0].index.key_version == 2);

  // A resend of a v1 challenge works too, under v1 keys, but never extends its life (so that it
  // cannot keep v1 in use); new challenges use v2.
  Challenge c2 = before.start(phone, Purpose::kLogin).value();
  world.clock.advance(31s);
  auto resent = after.resend(c2.id, phone);
  REQUIRE(resent.is_ok());
  REQUIRE(resent->sent());
  CHECK(resent->expires_at == c2.expires_at);
  CheckResult r2 = after.check(c2.id, world.sender.last_code(), Purpose::kLogin).value();
  CHECK(r2.outcome == CheckOutcome::kVerified);
  Challenge c3 = after.start(phone, Purpose::kLogin).value();
  CheckResult r3 = after.check(c3.id, world.sender.last_code(), Purpose::kLogin).value();
  REQUIRE(r3.outcome == CheckOutcome::kVerified);
  CHECK(r3.verified->index().key_version == 2);
  // A verifier that no longer holds v1 (retired) treats a v1 challenge as a wrong code.
  KeyRing only_v2 =
      KeyRing::from_master_key(SecretBytes::random(KeyRing::kMasterKeyBytes), 2).value();
  Challenge c4 = before.start(phone, Purpose::kLogin).value();
  Verifier retired = world.verifier(only_v2);
  CHECK(retired.check(c4.id, world.sender.last_code(), Purpose::kLogin)->outcome ==
        CheckOutcome::kWrongCode);
}

TEST_CASE("rotation: rotate re-indexes sealed bindings; unsealed ones move on their next verify",
          "[rotation][sealed]") {
  Keys keys;
  World world;
  const PhoneNumber sealed_phone = number("+92 300 1111111");
  const PhoneNumber plain_phone = number("+92 300 2222222");
  {
    Registry sealing = world.registry(*keys.old_ring, RetainContact::kSealed);
    REQUIRE(sealing.link("acct-sealed", world.verify(*keys.old_ring, sealed_phone), sealed_phone)
                .is_ok());
    Registry plain = world.registry(*keys.old_ring);
    REQUIRE(plain.link("acct-plain", world.verify(*keys.old_ring, plain_phone)).is_ok());
  }
  Registry registry = world.registry(*keys.new_ring, RetainContact::kSealed);
  Verifier checks = world.verifier(*keys.new_ring);
  KeyUsage v1 = registry.key_version_usage(1, checks).value();
  CHECK(v1.bindings == 2);
  CHECK(v1.data_keys == 1);

  RotationReport report = registry.rotate(1).value();  // batch of 1: the cursor is exercised
  CHECK(report.data_keys_rewrapped == 1);
  CHECK(report.sealed_reindexed == 1);
  CHECK(report.awaiting_verification == 1);
  CHECK(report.sealed_unreadable == 0);
  CHECK(world.bindings("acct-sealed")[0].index.key_version == 2);
  CHECK(world.bindings("acct-plain")[0].index.key_version == 1);
  // Still found, still readable after the move (its associated data changed with its index).
  CHECK(registry.find(sealed_phone).value() == std::vector<std::string>{"acct-sealed"});
  CHECK(registry.contact("acct-sealed", SecurityPurpose::kRecovery)->canonical() ==
        "+923001111111");
  // Running it again finds nothing more to move.
  RotationReport again = registry.rotate().value();
  CHECK(again.data_keys_rewrapped == 0);
  CHECK(again.sealed_reindexed == 0);
  CHECK(again.awaiting_verification == 1);

  v1 = registry.key_version_usage(1, checks).value();
  CHECK(v1.bindings == 1);
  CHECK(v1.data_keys == 0);

  // The owner of the unsealed binding logs in: refresh moves it.
  CHECK(registry.refresh(sealed_phone, world.verify(*keys.new_ring, plain_phone, Purpose::kLogin))
            .code() == ErrorCode::kIdentifierMismatch);
  CHECK(world.bindings("acct-plain")[0].index.key_version == 1);
  auto moved =
      registry.refresh(plain_phone, world.verify(*keys.new_ring, plain_phone, Purpose::kLogin));
  REQUIRE(moved.is_ok());
  CHECK(*moved == 1);
  CHECK(world.bindings("acct-plain")[0].index.key_version == 2);
  CHECK(registry.find(plain_phone).value() == std::vector<std::string>{"acct-plain"});
  auto none =
      registry.refresh(plain_phone, world.verify(*keys.new_ring, plain_phone, Purpose::kLogin));
  REQUIRE(none.is_ok());
  CHECK(*none == 0);
  CHECK(registry.key_version_usage(1, checks)->total() == 0);
}

TEST_CASE("rotation: a version is in use while a binding, live challenge or data key needs it",
          "[rotation]") {
  Keys keys;
  World world;
  const PhoneNumber phone = number("+92 300 1234567");
  REQUIRE(
      world.registry(*keys.old_ring).link("acct-1", world.verify(*keys.old_ring, phone)).is_ok());
  (void)world.verifier(*keys.old_ring).start(phone, Purpose::kLogin).value();
  Registry registry = world.registry(*keys.new_ring);
  Verifier checks = world.verifier(*keys.new_ring);
  KeyUsage used = registry.key_version_usage(1, checks).value();
  CHECK(used.bindings == 1);
  CHECK(used.challenges == 1);
  CHECK(used.total() == 2);
  // The challenge stops counting once expired; the binding once its owner verifies again.
  world.clock.advance(11min);
  CHECK(registry.key_version_usage(1, checks)->challenges == 0);
  REQUIRE(registry.refresh(phone, world.verify(*keys.new_ring, phone, Purpose::kLogin)).is_ok());
  CHECK(registry.key_version_usage(1, checks)->total() == 0);
  CHECK(registry.key_version_usage(2, checks)->bindings == 1);
}

TEST_CASE("rotation: audit entries keep their version in use, so the log stays verifiable",
          "[rotation][audit]") {
  Keys keys;
  World world;
  const PhoneNumber phone = number("+92 300 1234567");
  const LegalRequest request{"Authority", "REF-1", "Order 7", "operator"};
  REQUIRE(world.registry(*keys.old_ring).disclose(phone, request).is_ok());
  Registry registry = world.registry(*keys.new_ring);
  Verifier checks = world.verifier(*keys.new_ring);
  KeyUsage used = registry.key_version_usage(1, checks).value();
  CHECK(used.audit_entries == 2);  // the entry and the head
  CHECK(used.total() == 2);
  REQUIRE(registry.disclose(phone, request).is_ok());  // under v2 from now on, the head too
  CHECK(registry.key_version_usage(1, checks)->audit_entries == 1);
  CHECK(registry.key_version_usage(2, checks)->audit_entries == 2);
}

TEST_CASE("rotation: rotate refuses a batch of 0 and changes nothing", "[rotation]") {
  Keys keys;
  World world;
  Registry registry = world.registry(*keys.new_ring);
  CHECK(registry.rotate(0).code() == ErrorCode::kInvalidArgument);
}
