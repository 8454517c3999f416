// MemoryStore: the Store contract, plus what only the in-process store offers.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>

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

}  // namespace
}  // namespace veribind
