// MemoryStore: the Store contract, plus what only the in-process store offers.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "store/store_contract.hpp"
#include "veribind/store.hpp"

VERIBIND_STORE_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())

namespace veribind {
namespace {

using std::chrono::minutes;
using testing::contract::kT0;
using testing::contract::make_challenge;

TEST_CASE("MemoryStore: challenge_count counts live and expired challenges until they are purged",
          "[store][memory]") {
  MemoryStore store;
  REQUIRE(store.challenge_count() == 0);

  REQUIRE(store.create_challenge(make_challenge(1, kT0 - minutes(1))).is_ok());
  REQUIRE(store.create_challenge(make_challenge(2, kT0 + minutes(10))).is_ok());
  REQUIRE(store.create_challenge(make_challenge(3, kT0 + minutes(10))).is_ok());
  REQUIRE(store.challenge_count() == 3);

  // A refused duplicate adds nothing.
  REQUIRE(store.create_challenge(make_challenge(3)).code() == ErrorCode::kStoreError);
  REQUIRE(store.challenge_count() == 3);

  auto consumed = store.consume_challenge(make_challenge(3).id);
  REQUIRE(consumed.is_ok());
  REQUIRE(*consumed);
  REQUIRE(store.challenge_count() == 2);

  // The expired one still counts until purged.
  auto purged = store.purge_expired(kT0);
  REQUIRE(purged.is_ok());
  REQUIRE(purged->challenges == 1);
  REQUIRE(store.challenge_count() == 1);
}

// The table's growth, deletion (backward shift) and place reuse, at a size and with collisions
// the contract's handful of records never reaches. A model (std::map) says what must be there.
TEST_CASE("MemoryStore: 50,000 inserts, deletes and reinserts, with colliding ids, lose nothing",
          "[store][memory]") {
  MemoryStore store;
  std::map<std::array<std::uint8_t, 16>, std::uint8_t> model;  // id -> max_attempts marker
  std::mt19937_64 rng(20261124);  // reproducible: this tests a data structure, not randomness
  auto make = [&](bool colliding) {
    ChallengeRecord r;
    for (auto& b : r.id.bytes) b = static_cast<std::uint8_t>(rng());
    if (colliding) {  // same slot hash (first 8 bytes) and same shard (last byte): one long run
      std::fill(r.id.bytes.begin(), r.id.bytes.begin() + 8, std::uint8_t{0x42});
      r.id.bytes[15] = 7;
    }
    r.expires_at = kT0 + minutes(10);
    r.max_attempts = static_cast<std::uint8_t>(1 + rng() % 200);
    return r;
  };
  std::vector<ChallengeId> ids;
  for (int i = 0; i < 50000; ++i) {
    const ChallengeRecord r = make(i % 50 == 0);
    REQUIRE(store.create_challenge(r).is_ok());
    model[r.id.bytes] = r.max_attempts;
    ids.push_back(r.id);
    if (i % 3 == 0) {  // delete a random earlier one
      const ChallengeId victim = ids[rng() % ids.size()];
      const bool present = model.erase(victim.bytes) == 1;
      REQUIRE(store.consume_challenge(victim).value() == present);
    }
  }
  REQUIRE(store.challenge_count() == model.size());
  for (const ChallengeId& id : ids) {
    auto found = store.find_challenge(id);
    REQUIRE(found.is_ok());
    const auto expected = model.find(id.bytes);
    if (expected == model.end()) {
      REQUIRE_FALSE(found->has_value());
    } else {
      REQUIRE(found->has_value());
      REQUIRE((*found)->max_attempts == expected->second);
    }
  }
  auto purged = store.purge_expired(kT0 + minutes(10), 1000000);
  REQUIRE(purged.is_ok());
  CHECK(purged->challenges == model.size());
  CHECK(store.challenge_count() == 0);
}

}  // namespace
}  // namespace veribind
