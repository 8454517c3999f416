// MemoryStore: every store contract, plus what only the in-process store offers.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "store/account_contract.hpp"
#include "store/audit_contract.hpp"
#include "store/retention_contract.hpp"
#include "store/verification_contract.hpp"
#include "veribind/store.hpp"

VERIBIND_VERIFICATION_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
VERIBIND_ACCOUNT_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
VERIBIND_AUDIT_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
VERIBIND_RETENTION_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())

namespace veribind {
namespace {

using std::chrono::minutes;
using testing::contract::kT0;
using testing::contract::make_challenge;

TEST_CASE("MemoryStore: challenge_count counts live and expired challenges until they are purged",
          "[store][memory]") {
  MemoryStore store;
  REQUIRE(store.challenge_count() == 0);

  REQUIRE(store.create_challenge(make_challenge(1, kT0 - minutes(1)), {}, kT0).is_ok());
  REQUIRE(store.create_challenge(make_challenge(2, kT0 + minutes(10)), {}, kT0).is_ok());
  REQUIRE(store.create_challenge(make_challenge(3, kT0 + minutes(10)), {}, kT0).is_ok());
  REQUIRE(store.challenge_count() == 3);

  // A refused duplicate adds nothing.
  REQUIRE(store.create_challenge(make_challenge(3), {}, kT0).code() == ErrorCode::kStoreError);
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
    REQUIRE(store.create_challenge(r, {}, kT0).is_ok());
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

TEST_CASE("MemoryStore: 20,000 failure counts and counters survive growth and purge exactly",
          "[store][memory]") {
  MemoryStore store;
  std::mt19937_64 rng(20261201);
  std::vector<ChallengeRecord> records;
  for (int i = 0; i < 20000; ++i) {
    ChallengeRecord r;
    for (auto& b : r.id.bytes) b = static_cast<std::uint8_t>(rng());
    for (auto& b : r.index.value) b = static_cast<std::uint8_t>(rng());
    r.index.key_version = 1;
    r.expires_at = kT0 + minutes(10);
    r.max_attempts = 3;
    REQUIRE(store.create_challenge(r, {}, kT0).is_ok());
    records.push_back(r);
  }
  // Half the identifiers fail once with a window ending in 1 hour, the others twice with 2 hours.
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Timestamp end = kT0 + std::chrono::hours(i % 2 == 0 ? 1 : 2);
    const int charges = i % 2 == 0 ? 1 : 2;
    for (int c = 0; c < charges; ++c) {
      REQUIRE(store.charge_attempt(records[i].id, kT0, end)->outcome == ChargeOutcome::kCharged);
    }
  }
  std::array<CounterState, 0> none{};
  for (std::size_t i = 0; i < records.size(); i += 97) {
    const std::uint32_t want = i % 2 == 0 ? 1 : 2;
    REQUIRE(store.read_counters(records[i].index, {}, std::span(none), kT0)->count == want);
  }
  std::size_t removed = 0;
  for (;;) {
    auto purged = store.purge_expired(kT0 + std::chrono::hours(1), 1000);
    REQUIRE(purged.is_ok());
    removed += purged->counters;
    if (purged->counters < 1000) break;
  }
  CHECK(removed == records.size() / 2);
  for (std::size_t i = 1; i < records.size(); i += 98) {  // odd ones: windows of 2 hours
    REQUIRE(store.read_counters(records[i].index, {}, std::span(none), kT0 + std::chrono::hours(1))
                ->count == 2);
  }
}

}  // namespace
}  // namespace veribind
