#include "veribind/secret.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <type_traits>

using namespace veribind;

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);

TEST_CASE("SecretBytes: holds a copy of its bytes and compares by content", "[secret]") {
  const std::array<std::uint8_t, 4> bytes{1, 2, 3, 4};
  SecretBytes a = SecretBytes::copy_of(bytes);
  SecretBytes b = SecretBytes::copy_of(bytes);
  REQUIRE(a.size() == 4);
  CHECK(a.reveal()[3] == 4);
  CHECK(a == b);
  b.reveal_mutable()[0] = 9;
  CHECK_FALSE(a == b);
  CHECK_FALSE(a == SecretBytes::copy_of(std::array<std::uint8_t, 3>{1, 2, 3}));
}

TEST_CASE("SecretBytes: random secrets differ and a move leaves the source empty", "[secret]") {
  SecretBytes a = SecretBytes::random(32);
  SecretBytes b = SecretBytes::random(32);
  CHECK_FALSE(a == b);
  SecretBytes c = std::move(a);
  CHECK(c.size() == 32);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  SecretBytes d;
  d = std::move(c);
  CHECK(d.size() == 32);
  CHECK(c.empty());  // NOLINT(bugprone-use-after-move)
}
