#include "veribind/result.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace veribind;

TEST_CASE("Status: default is ok; an error keeps its code and message", "[result]") {
  CHECK(Status().is_ok());
  Status s(ErrorCode::kPhoneTooShort, "phone number is too short");
  CHECK_FALSE(s.is_ok());
  CHECK(s.code() == ErrorCode::kPhoneTooShort);
  CHECK(s.message() == "phone number is too short");
}

TEST_CASE("Result: holds a value or the status that explains its absence", "[result]") {
  Result<int> ok = 42;
  REQUIRE(ok.is_ok());
  CHECK(*ok == 42);
  CHECK(ok.code() == ErrorCode::kOk);
  Result<int> bad(ErrorCode::kInvalidArgument, "no");
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("error_code_name: every code has a distinct, stable snake_case name", "[result]") {
  std::set<std::string_view> names;
  int named = 0;
  for (int v = 0; v < 100; ++v) {
    const std::string_view n = error_code_name(static_cast<ErrorCode>(v));
    if (n == "unknown_error") continue;
    ++named;
    names.insert(n);
    for (char c : n) CHECK(((c >= 'a' && c <= 'z') || c == '_'));
  }
  CHECK(names.size() == static_cast<std::size_t>(named));
  CHECK(error_code_name(ErrorCode::kAlreadyBound) == "already_bound");
  CHECK(error_code_name(ErrorCode::kPhoneTooShort) == "phone_too_short");
}
