#include "veribind/blind_index.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <string>

#include "fakes/keys.hpp"

using namespace veribind;

namespace {
KeyRing fixed_ring(std::uint8_t fill, std::uint32_t version = 1) {
  std::array<std::uint8_t, 32> master{};
  master.fill(fill);
  return KeyRing::from_master_key(SecretBytes::copy_of(master), version).value();
}
}  // namespace

TEST_CASE("blind index: the three spellings of one PK number get one index", "[blind-index]") {
  KeyRing ring = veribind::testing::random_ring();
  BlindIndexer indexer = BlindIndexer::create(ring).value();
  const BlindIndex a = indexer.compute(PhoneNumber::parse("+92 300 1234567").value());
  const BlindIndex b = indexer.compute(PhoneNumber::parse("0300-1234567", "PK").value());
  const BlindIndex c = indexer.compute(PhoneNumber::parse("+923001234567").value());
  CHECK(a == b);
  CHECK(b == c);
  CHECK(a.key_version == 1);
  CHECK(a.hex().size() == 64);
}

TEST_CASE("blind index: a phone and an email with the same text never share an index",
          "[blind-index]") {
  KeyRing ring = veribind::testing::random_ring();
  BlindIndexer indexer = BlindIndexer::create(ring).value();
  CHECK(indexer.compute(Channel::kPhone, "+923001234567") !=
        indexer.compute(Channel::kEmail, "+923001234567"));
}

TEST_CASE("blind index: another key or key version gives an unrelated index", "[blind-index]") {
  KeyRing one = fixed_ring(1);
  KeyRing two = fixed_ring(2);
  KeyRing one_v2 = fixed_ring(1, 2);
  const auto index = [](const KeyRing& r) {
    return BlindIndexer::create(r).value().compute(Channel::kEmail, "a@example.com");
  };
  CHECK(index(one).value != index(two).value);
  CHECK(index(one).value != index(one_v2).value);
  CHECK(index(one_v2).key_version == 2);
  CHECK(BlindIndexer::create(one, 2).code() == ErrorCode::kKeyUnavailable);
}

TEST_CASE("blind index: known answer (stored indexes must never change meaning)",
          "[blind-index][kat]") {
  // Master key 32 x 0x01, version 1. A change here orphans every stored binding. The expected
  // values were computed independently with Python's hashlib: subkey = BLAKE2b-256(key=master,
  // salt=version as 8 little-endian bytes, person="vbblindx"), as crypto_kdf_derive_from_key does;
  // index = BLAKE2b-256(key=subkey, "veribind.bi.v1" || channel byte || canonical).
  BlindIndexer indexer = BlindIndexer::create(fixed_ring(1)).value();
  CHECK(indexer.compute(Channel::kPhone, "+923001234567").hex() ==
        "359c0b35e39c9046d1187e66250f2f3bc00074746368507aadb34f8ebb60fb7b");
  CHECK(indexer.compute(Channel::kEmail, "alice@example.com").hex() ==
        "8480d7bf29147449c453229b50c7abee66fcc4f4c8cb5a0cd94b1b95b9108e9d");
}
