// Sealed contacts (LinkPolicy::retain_contact = kSealed): the round trip, the refusals, tamper
// detection, and crypto-shredding: a copy of the main store taken before erase() cannot be
// opened after it, because the only key that opens it is gone from the separate key store.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "veribind/contact_key_store.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/registry.hpp"
#include "veribind/sqlite_contact_key_store.hpp"
#include "veribind/sqlite_store.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
namespace fs = std::filesystem;
using veribind::testing::FakeClock;
using veribind::testing::RecordingSender;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/veribind-sealed-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

LinkPolicy sealed(LinkPolicy policy) {
  policy.retain_contact = RetainContact::kSealed;
  return policy;
}

PhoneNumber pk_mobile() { return PhoneNumber::parse("+92 300 1234567").value(); }

// A sealing deployment over any store and key store.
struct Sealing {
  template <typename Main>
  Sealing(Main& main, ContactKeyStore& keys, LinkPolicy policy = sealed(LinkPolicy::phone_linked()))
      : ring(veribind::testing::random_ring()),
        store(&main),
        contact_keys(&keys),
        verifier(Verifier::create(config(), ring, main, sender, clock).value()),
        registry(Registry::create(std::move(policy), ring, main, main, clock, keys).value()) {}
  static VerifierConfig config() {
    VerifierConfig c;
    c.max_sends_per_hour = 100;
    c.resend_cooldown = std::chrono::seconds(0);  // verifications of one identifier back to back
    return c;
  }
  VerifiedIdentifier verify(const Identifier& id) {
    Challenge c = verifier.start(id, Purpose::kSignup).value();
    CheckResult r = verifier.check(c.id, sender.last_code(), Purpose::kSignup).value();
    REQUIRE(r.outcome == CheckOutcome::kVerified);
    return std::move(*r.verified);
  }
  Status link(const std::string& account, const Identifier& id) {
    return registry.link(account, verify(id), id);
  }
  std::size_t data_keys() { return contact_keys->count_kek_version(1).value(); }
  KeyRing ring;
  AccountStore* store;
  ContactKeyStore* contact_keys;
  RecordingSender sender;
  FakeClock clock;
  Verifier verifier;
  Registry registry;
};

}  // namespace

TEST_CASE("sealed contact: a phone number is read back for recovery and for a security notice",
          "[sealed]") {
  MemoryStore store;
  MemoryContactKeyStore keys;
  Sealing s(store, keys);
  REQUIRE(s.link("acct-1", PhoneNumber::parse("0300-1234567", "PK").value()).is_ok());
  CHECK(s.data_keys() == 1);
  for (SecurityPurpose purpose : {SecurityPurpose::kRecovery, SecurityPurpose::kSecurityNotice}) {
    auto contact = s.registry.contact("acct-1", purpose);
    REQUIRE(contact.is_ok());
    CHECK(contact->canonical() == "+923001234567");
    CHECK(contact->channel() == Channel::kPhone);
  }
  // The binding is still an ordinary one for lookups.
  CHECK(s.registry.find(pk_mobile()).value() == std::vector<std::string>{"acct-1"});
}

TEST_CASE("sealed contact: an email address is read back in its canonical form", "[sealed]") {
  MemoryStore store;
  MemoryContactKeyStore keys;
  Sealing s(store, keys, sealed(LinkPolicy::email_linked()));
  REQUIRE(s.link("acct-1", EmailAddress::parse("Alice@Example.COM").value()).is_ok());
  auto contact = s.registry.contact("acct-1", SecurityPurpose::kSecurityNotice);
  REQUIRE(contact.is_ok());
  CHECK(contact->canonical() == "alice@example.com");
}

TEST_CASE("sealed contact: reading it without a security purpose is refused", "[sealed]") {
  MemoryStore store;
  MemoryContactKeyStore keys;
  Sealing s(store, keys);
  REQUIRE(s.link("acct-1", pk_mobile()).is_ok());
  for (int value : {0, 3, 255}) {
    auto refused = s.registry.contact("acct-1", static_cast<SecurityPurpose>(value));
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.code() == ErrorCode::kNotASecurityPurpose);
    CHECK(refused.status().message().find("+92") == std::string::npos);
  }
  CHECK(security_purpose_from_name("recovery") == SecurityPurpose::kRecovery);
  CHECK(security_purpose_from_name("security_notice") == SecurityPurpose::kSecurityNotice);
  CHECK_FALSE(security_purpose_from_name("marketing").has_value());
  CHECK_FALSE(security_purpose_from_name("").has_value());
  CHECK(s.data_keys() == 1);  // nothing changed
}

TEST_CASE("sealed contact: link needs the identifier, and the very one that was verified",
          "[sealed]") {
  MemoryStore store;
  MemoryContactKeyStore keys;
  Sealing s(store, keys);
  CHECK(s.registry.link("acct-1", s.verify(pk_mobile())).code() == ErrorCode::kIdentifierRequired);
  CHECK(s.registry
            .link("acct-1", s.verify(pk_mobile()), PhoneNumber::parse("+92 300 1234568").value())
            .code() == ErrorCode::kIdentifierMismatch);
  CHECK(s.data_keys() == 0);
  CHECK(store.bindings_of_account("acct-1")->empty());
}

TEST_CASE("sealed contact: a refused link leaves no data key behind", "[sealed]") {
  MemoryStore store;
  MemoryContactKeyStore keys;
  Sealing s(store, keys);
  REQUIRE(s.link("acct-1", pk_mobile()).is_ok());
  CHECK(s.link("acct-2", pk_mobile()).code() == ErrorCode::kAlreadyBound);
  CHECK(s.data_keys() == 1);
  CHECK(s.registry.contact("acct-2", SecurityPurpose::kRecovery).code() == ErrorCode::kNoContact);
}

TEST_CASE("sealed contact: the sealing policy needs a key store; unsealed accounts have none",
          "[sealed]") {
  MemoryStore store;
  FakeClock clock;
  KeyRing ring = veribind::testing::random_ring();
  CHECK(Registry::create(sealed(LinkPolicy::phone_linked()), ring, store, store, clock).code() ==
        ErrorCode::kInvalidConfig);

  MemoryContactKeyStore keys;
  Sealing s(store, keys);
  Registry plain =
      Registry::create(LinkPolicy::phone_linked(), s.ring, store, store, s.clock).value();
  REQUIRE(plain.link("acct-plain", s.verify(pk_mobile())).is_ok());
  CHECK(s.registry.contact("acct-plain", SecurityPurpose::kRecovery).code() ==
        ErrorCode::kNoContact);
  CHECK(s.registry.contact("nobody", SecurityPurpose::kRecovery).code() == ErrorCode::kNoContact);
  CHECK(s.registry.contact("", SecurityPurpose::kRecovery).code() == ErrorCode::kInvalidAccountId);
}

TEST_CASE("sealed contact: tampered ciphertext, or a seal moved to another account, is refused",
          "[sealed]") {
  MemoryStore store;
  MemoryContactKeyStore keys;
  Sealing s(store, keys);
  REQUIRE(s.link("acct-1", pk_mobile()).is_ok());
  REQUIRE(s.link("acct-2", PhoneNumber::parse("+92 300 7654321").value()).is_ok());
  const BindingRecord original = store.bindings_of_account("acct-1")->at(0);

  for (std::size_t at : {std::size_t{20}, original.sealed_contact.size() - 1}) {
    std::vector<std::uint8_t> tampered = original.sealed_contact;
    tampered[at] ^= 0x01;
    REQUIRE(*store.reindex_binding("acct-1", Channel::kPhone, original.index, original.index,
                                   tampered));
    auto refused = s.registry.contact("acct-1", SecurityPurpose::kRecovery);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.code() == ErrorCode::kContactSealBroken);
  }
  // acct-1's seal copied onto acct-2's binding: the associated data names another account.
  const BindingRecord other = store.bindings_of_account("acct-2")->at(0);
  REQUIRE(*store.reindex_binding("acct-2", Channel::kPhone, other.index, other.index,
                                 original.sealed_contact));
  CHECK(s.registry.contact("acct-2", SecurityPurpose::kRecovery).code() ==
        ErrorCode::kContactSealBroken);
  // Restored, it opens again.
  REQUIRE(*store.reindex_binding("acct-1", Channel::kPhone, original.index, original.index,
                                 original.sealed_contact));
  CHECK(s.registry.contact("acct-1", SecurityPurpose::kRecovery)->canonical() == "+923001234567");
}

TEST_CASE("sealed contact: erase without the key store is refused and changes nothing",
          "[sealed]") {
  MemoryStore store;
  MemoryContactKeyStore keys;
  Sealing s(store, keys);
  REQUIRE(s.link("acct-1", pk_mobile()).is_ok());
  Registry keyless =
      Registry::create(LinkPolicy::phone_linked(), s.ring, store, store, s.clock).value();
  CHECK(keyless.erase("acct-1").code() == ErrorCode::kInvalidConfig);
  CHECK(keyless.unlink("acct-1").code() == ErrorCode::kInvalidConfig);
  CHECK(store.bindings_of_account("acct-1")->size() == 1);
  CHECK(s.data_keys() == 1);
  CHECK(s.registry.erase("").code() == ErrorCode::kInvalidAccountId);
}

TEST_CASE(
    "sealed contact: after erase, a copy of the main store taken before it can no longer be "
    "decrypted",
    "[sealed][sqlite][shredding]") {
  TempDir dir;
  const fs::path main_db = dir.path / "veribind.db";
  const fs::path key_db = dir.path / "contact-keys.db";
  const fs::path main_copy = dir.path / "backup-before-erase.db";
  const fs::path keys_copy = dir.path / "keys-backup-before-erase.db";

  auto main = SqliteStore::open(main_db.string()).value();
  auto keys = SqliteContactKeyStore::open(key_db.string()).value();
  auto s = std::make_unique<Sealing>(*main, *keys);
  REQUIRE(s->link("acct-1", pk_mobile()).is_ok());
  REQUIRE(s->link("acct-2", PhoneNumber::parse("+92 300 7654321").value()).is_ok());
  const BindingRecord sealed_binding = main->bindings_of_account("acct-1")->at(0);
  const DataKeyId key_id = [&] {
    DataKeyId id;
    std::copy(sealed_binding.sealed_contact.begin() + 1, sealed_binding.sealed_contact.begin() + 17,
              id.begin());
    return id;
  }();
  const WrappedDataKey wrapped = keys->get(key_id)->value();

  // The backup: a plain file copy of the main store (closed first, so the WAL is folded in), and,
  // to show what shredding does not cover, a copy of the key store too.
  KeyRing ring = std::move(s->ring);
  s.reset();
  main.reset();
  keys.reset();
  fs::copy_file(main_db, main_copy);
  fs::copy_file(key_db, keys_copy);

  main = SqliteStore::open(main_db.string()).value();
  keys = SqliteContactKeyStore::open(key_db.string()).value();
  FakeClock clock;
  Registry live =
      Registry::create(sealed(LinkPolicy::phone_linked()), ring, *main, *main, clock, *keys)
          .value();
  REQUIRE(live.contact("acct-1", SecurityPurpose::kRecovery).is_ok());
  REQUIRE(live.erase("acct-1").value().bindings_removed == 1);
  CHECK(live.contact("acct-1", SecurityPurpose::kRecovery).code() == ErrorCode::kNoContact);
  CHECK(live.find(pk_mobile()).value().empty());
  // acct-2 is untouched.
  CHECK(live.contact("acct-2", SecurityPurpose::kRecovery)->canonical() == "+923007654321");

  // The pre-erasure copy still holds acct-1's binding and its ciphertext...
  auto restored = SqliteStore::open(main_copy.string()).value();
  const std::vector<BindingRecord> in_backup = restored->bindings_of_account("acct-1").value();
  REQUIRE(in_backup.size() == 1);
  CHECK(in_backup[0].sealed_contact == sealed_binding.sealed_contact);
  // ...but with what remains (the key ring and the live key store), it cannot be opened.
  Registry from_backup =
      Registry::create(sealed(LinkPolicy::phone_linked()), ring, *restored, *restored, clock, *keys)
          .value();
  auto shredded = from_backup.contact("acct-1", SecurityPurpose::kRecovery);
  REQUIRE_FALSE(shredded.is_ok());
  CHECK(shredded.code() == ErrorCode::kKeyUnavailable);
  CHECK_FALSE(keys->get(key_id)->has_value());
  // Nor do the key store's files hold the wrapped key any more (secure_delete + checkpoint).
  std::string key_bytes = read_all(key_db);
  if (fs::exists(key_db.string() + "-wal")) key_bytes += read_all(key_db.string() + "-wal");
  const std::string wrapped_text(wrapped.wrapped.begin(), wrapped.wrapped.end());
  CHECK(key_bytes.find(wrapped_text) == std::string::npos);

  // What shredding does not cover: a backup of the key store taken before the erasure still opens
  // the old copy. Key-store backups must be short-lived, or not taken (SECURITY.md).
  auto old_keys = SqliteContactKeyStore::open(keys_copy.string()).value();
  Registry both_backups = Registry::create(sealed(LinkPolicy::phone_linked()), ring, *restored,
                                           *restored, clock, *old_keys)
                              .value();
  CHECK(both_backups.contact("acct-1", SecurityPurpose::kRecovery)->canonical() == "+923001234567");
}

TEST_CASE("sealed contact: the key store refuses to live in the main store's file",
          "[sealed][sqlite]") {
  TempDir dir;
  const fs::path main_db = dir.path / "veribind.db";
  REQUIRE(SqliteStore::open(main_db.string()).is_ok());
  const std::string before = read_all(main_db);
  auto refused = SqliteContactKeyStore::open(main_db.string());
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.code() == ErrorCode::kStoreError);
  CHECK(read_all(main_db) == before);
}

TEST_CASE("contact key store: put, get, rewrap, list by version and erase on both backends",
          "[sealed][contact-key-store]") {
  TempDir dir;
  MemoryContactKeyStore memory;
  auto sqlite = SqliteContactKeyStore::open((dir.path / "keys.db").string()).value();
  for (ContactKeyStore* store :
       {static_cast<ContactKeyStore*>(&memory), static_cast<ContactKeyStore*>(sqlite.get())}) {
    auto key = [](std::uint8_t n, std::uint32_t version) {
      WrappedDataKey k;
      k.key_id.fill(n);
      k.kek_version = version;
      k.wrapped.assign(72, static_cast<std::uint8_t>(n ^ 0x5A));
      return k;
    };
    for (std::uint8_t n = 1; n <= 3; ++n) REQUIRE(store->put(key(n, 1)).is_ok());
    REQUIRE(store->put(key(4, 2)).is_ok());
    CHECK(store->put(key(1, 2)).code() == ErrorCode::kStoreError);
    CHECK(store->get(key(1, 1).key_id)->value() == key(1, 1));  // the refused put changed nothing
    CHECK_FALSE(store->get(key(9, 1).key_id)->has_value());

    CHECK(store->count_kek_version(1).value() == 3);
    auto first = store->with_kek_version(1, std::nullopt, 2).value();
    REQUIRE(first.size() == 2);
    CHECK(first[0] == key(1, 1));
    CHECK(first[1] == key(2, 1));
    auto rest = store->with_kek_version(1, first.back().key_id, 2).value();
    REQUIRE(rest.size() == 1);
    CHECK(rest[0] == key(3, 1));

    WrappedDataKey rewrapped = key(2, 2);
    rewrapped.wrapped.assign(72, 0xEE);
    CHECK_FALSE(store->rewrap(rewrapped, 7).value());  // not under version 7: nothing changed
    CHECK(store->get(rewrapped.key_id)->value() == key(2, 1));
    CHECK(store->rewrap(rewrapped, 1).value());
    CHECK(store->get(rewrapped.key_id)->value() == rewrapped);
    CHECK(store->count_kek_version(1).value() == 2);
    CHECK(store->count_kek_version(2).value() == 2);

    CHECK(store->erase(key(1, 1).key_id).value());
    CHECK_FALSE(store->erase(key(1, 1).key_id).value());
    CHECK_FALSE(store->get(key(1, 1).key_id)->has_value());
    CHECK(store->count_kek_version(1).value() == 1);
  }
}

TEST_CASE(
    "SqliteContactKeyStore: an erased key stays in the live files while a reader holds them, "
    "is reported, and is gone from both files once the reader closes",
    "[sealed][contact-key-store]") {
  TempDir dir;
  const fs::path file = dir.path / "keys.db";
  const fs::path wal = dir.path / "keys.db-wal";
  auto store = SqliteContactKeyStore::open(file.string()).value();
  WrappedDataKey key;
  key.key_id.fill(0x42);
  key.kek_version = 1;
  for (std::size_t i = 0; i < 72; ++i)
    key.wrapped.push_back(static_cast<std::uint8_t>(i * 37 + 11));
  const std::string bytes(key.wrapped.begin(), key.wrapped.end());
  REQUIRE(store->put(key).is_ok());
  CHECK_FALSE(store->erased_copies_remain().value());
  CHECK(read_all(file).find(bytes) != std::string::npos);  // folded into the file

  // A second connection, as another process would hold it: a read transaction on the snapshot
  // that still has the key.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM contact_keys;", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  REQUIRE(store->erase(key.key_id).value());
  CHECK_FALSE(store->get(key.key_id)->has_value());
  CHECK(store->erased_copies_remain().value());
  CHECK(read_all(file).find(bytes) != std::string::npos);

  REQUIRE(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close_v2(reader);
  CHECK_FALSE(store->erased_copies_remain().value());
  CHECK(read_all(file).find(bytes) == std::string::npos);
  CHECK(read_all(wal).find(bytes) == std::string::npos);
  store.reset();
  CHECK(read_all(file).find(bytes) == std::string::npos);
}
