// PhoneNumber::parse: canonical E.164, classification, and the exact error for each bad input.
//
// Expectations are libphonenumber's own verdicts (metadata of libphonenumber 8.12) except where
// veribind adds a rule of its own: the 64-byte input cap, the 15-digit E.164 cap, refusing
// extensions, and "ZZ" for non-geographic numbers.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "veribind/identifier.hpp"

namespace {

using veribind::ErrorCode;
using veribind::PhoneNumber;
using veribind::PhoneType;
using veribind::PhoneTypeSet;

bool has_digit(std::string_view s) {
  for (char c : s) {
    if (c >= '0' && c <= '9') return true;
  }
  return false;
}

}  // namespace

TEST_CASE("phone: +92 300 1234567, 0300-1234567 (PK) and +923001234567 parse to the same E.164",
          "[phone]") {
  for (auto [text, region] : {std::pair<std::string_view, std::string_view>{"+92 300 1234567", ""},
                              {"0300-1234567", "PK"},
                              {"+923001234567", ""},
                              {"+92 300 1234567", "US"},  // a +prefix overrides the default
                              {"(0300) 123 4567", "pk"}}) {
    CAPTURE(text, region);
    auto r = PhoneNumber::parse(text, region);
    REQUIRE(r.is_ok());
    CHECK(r->e164() == "+923001234567");
    CHECK(r->region() == "PK");
    CHECK(r->type() == PhoneType::kMobile);
    CHECK(r->calling_code() == 92);
  }
}

TEST_CASE("phone: a US number is FIXED_LINE_OR_MOBILE and allowed by the SMS default", "[phone]") {
  auto r = PhoneNumber::parse("(650) 253-0000", "US", PhoneTypeSet::sms_default());
  REQUIRE(r.is_ok());
  CHECK(r->e164() == "+16502530000");
  CHECK(r->region() == "US");
  CHECK(r->type() == PhoneType::kFixedLineOrMobile);
  CHECK(r->calling_code() == 1);
}

TEST_CASE("phone: text without a number is kPhoneNotANumber", "[phone]") {
  CHECK(PhoneNumber::parse("hello", "US").code() == ErrorCode::kPhoneNotANumber);
  CHECK(PhoneNumber::parse("", "US").code() == ErrorCode::kPhoneNotANumber);
  CHECK(PhoneNumber::parse("+1 2", "").code() == ErrorCode::kPhoneNotANumber);
}

TEST_CASE("phone: ill-formed UTF-8 is kPhoneNotANumber before libphonenumber sees it", "[phone]") {
  CHECK(PhoneNumber::parse("+92 300 \xC3 1234567", "").code() == ErrorCode::kPhoneNotANumber);
  CHECK(PhoneNumber::parse("+92 300 \xED\xA0\x80 1234567", "").code() ==
        ErrorCode::kPhoneNotANumber);  // an encoded surrogate
}

TEST_CASE(
    "phone: an unknown country code, or no +prefix and no region, is kPhoneInvalidCountryCode",
    "[phone]") {
  CHECK(PhoneNumber::parse("+999 1234567", "").code() == ErrorCode::kPhoneInvalidCountryCode);
  CHECK(PhoneNumber::parse("3001234567", "").code() == ErrorCode::kPhoneInvalidCountryCode);
}

TEST_CASE("phone: a default region that is not a supported two-letter code is kInvalidArgument",
          "[phone]") {
  CHECK(PhoneNumber::parse("+16502530000", "XX").code() == ErrorCode::kInvalidArgument);
  CHECK(PhoneNumber::parse("+16502530000", "001").code() == ErrorCode::kInvalidArgument);
  CHECK(PhoneNumber::parse("+16502530000", "USA").code() == ErrorCode::kInvalidArgument);
  CHECK(PhoneNumber::parse("+16502530000", "U1").code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("phone: too few digits is kPhoneTooShort", "[phone]") {
  CHECK(PhoneNumber::parse("+92 3", "").code() == ErrorCode::kPhoneTooShort);  // parser: short NSN
  CHECK(PhoneNumber::parse("011", "US").code() == ErrorCode::kPhoneTooShort);  // nothing after IDD
  CHECK(PhoneNumber::parse("+1 65025300", "").code() == ErrorCode::kPhoneTooShort);
}

TEST_CASE("phone: a local-only number (no area code) is kPhoneTooShort", "[phone]") {
  CHECK(PhoneNumber::parse("253-0000", "US").code() == ErrorCode::kPhoneTooShort);
}

TEST_CASE("phone: too many digits for the region is kPhoneTooLong", "[phone]") {
  CHECK(PhoneNumber::parse("+1 650 253 00001", "").code() == ErrorCode::kPhoneTooLong);
  CHECK(PhoneNumber::parse("12345678901234567890", "US").code() == ErrorCode::kPhoneTooLong);
}

TEST_CASE("phone: 15 digits is the E.164 maximum and a 16-digit number is kPhoneTooLong",
          "[phone]") {
  // libphonenumber's German plan admits both lengths (and calls the 16-digit one valid), so the
  // second refusal comes from veribind's own E.164 cap.
  auto fifteen = PhoneNumber::parse("+49 30 12345678901", "");
  REQUIRE(fifteen.is_ok());
  CHECK(fifteen->e164() == "+493012345678901");
  CHECK(fifteen->e164().size() == 1 + 15);
  CHECK(PhoneNumber::parse("+49 30 123456789012", "").code() == ErrorCode::kPhoneTooLong);

  auto austria = PhoneNumber::parse("+43 1 234567890123", "");
  REQUIRE(austria.is_ok());
  CHECK(austria->e164().size() == 1 + 15);
  CHECK(PhoneNumber::parse("+43 1 2345678901234", "").code() == ErrorCode::kPhoneTooLong);
}

TEST_CASE("phone: a possible length with no such number in the plan is kPhoneInvalidForRegion",
          "[phone]") {
  CHECK(PhoneNumber::parse("+1 555 555 5555", "").code() == ErrorCode::kPhoneInvalidForRegion);
  CHECK(PhoneNumber::parse("+44 20 7946 095", "").code() == ErrorCode::kPhoneInvalidForRegion);
}

TEST_CASE(
    "phone: a length between the region's lengths but matching none is kPhoneInvalidForRegion",
    "[phone]") {
  // Andorra has 6-, 8- and 9-digit numbers; libphonenumber says INVALID_LENGTH for 7 digits.
  CHECK(PhoneNumber::parse("+376 312 3455", "").code() == ErrorCode::kPhoneInvalidForRegion);
}

TEST_CASE("phone: a UK premium-rate and a US toll-free number are refused by the SMS default",
          "[phone]") {
  auto premium = PhoneNumber::parse("+44 909 876 5432", "", PhoneTypeSet::sms_default());
  CHECK(premium.code() == ErrorCode::kPhoneTypeNotAllowed);
  auto toll_free = PhoneNumber::parse("1-800-253-0000", "US", PhoneTypeSet::sms_default());
  CHECK(toll_free.code() == ErrorCode::kPhoneTypeNotAllowed);

  // The same numbers parse when every type is allowed, and report their type.
  auto p = PhoneNumber::parse("+44 909 876 5432", "");
  REQUIRE(p.is_ok());
  CHECK(p->type() == PhoneType::kPremiumRate);
  auto t = PhoneNumber::parse("1-800-253-0000", "US");
  REQUIRE(t.is_ok());
  CHECK(t->type() == PhoneType::kTollFree);
}

TEST_CASE("phone: an allowed set admits exactly its types", "[phone]") {
  const PhoneTypeSet voip_too = PhoneTypeSet::sms_default().with(PhoneType::kVoip);
  auto voip = PhoneNumber::parse("+44 56 1234 5678", "", voip_too);
  REQUIRE(voip.is_ok());
  CHECK(voip->type() == PhoneType::kVoip);
  CHECK(PhoneNumber::parse("+44 56 1234 5678", "", PhoneTypeSet::sms_default()).code() ==
        ErrorCode::kPhoneTypeNotAllowed);
  CHECK(PhoneNumber::parse("+923001234567", "", PhoneTypeSet{}).code() ==
        ErrorCode::kPhoneTypeNotAllowed);
}

TEST_CASE("phone: input of 65 bytes is kInputTooLong, and 64 bytes is parsed", "[phone]") {
  std::string at_limit = "+92 300 1234567";
  at_limit.append(PhoneNumber::kMaxInputBytes - at_limit.size(), ' ');
  REQUIRE(at_limit.size() == 64);
  auto ok = PhoneNumber::parse(at_limit, "");
  REQUIRE(ok.is_ok());
  CHECK(ok->e164() == "+923001234567");

  const std::string over = at_limit + " ";
  CHECK(PhoneNumber::parse(over, "").code() == ErrorCode::kInputTooLong);

  // 64 bytes of digits goes through libphonenumber without trouble and is simply too long.
  const std::string digits(64, '9');
  CHECK(PhoneNumber::parse(digits, "US").code() == ErrorCode::kPhoneTooLong);
  CHECK(PhoneNumber::parse("+" + std::string(63, '1'), "").code() == ErrorCode::kPhoneTooLong);
  CHECK(PhoneNumber::parse(std::string(64, '+'), "").code() == ErrorCode::kPhoneNotANumber);
}

TEST_CASE("phone: a number with an extension is refused with kInvalidArgument", "[phone]") {
  CHECK(PhoneNumber::parse("+1 650 253 0000 ext. 12", "").code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("phone: a non-geographic number keeps region ZZ", "[phone]") {
  auto r = PhoneNumber::parse("+800 1234 5678", "");
  REQUIRE(r.is_ok());
  CHECK(r->e164() == "+80012345678");
  CHECK(r->region() == "ZZ");
  CHECK(r->calling_code() == 800);
  CHECK(r->type() == PhoneType::kTollFree);
}

TEST_CASE("phone: error messages contain no digit of the input", "[phone]") {
  const std::pair<std::string_view, std::string_view> bad[] = {
      {"+92 3", ""},           {"+999 1234567", ""},       {"+1 650 253 00001", ""},
      {"+1 555 555 5555", ""}, {"+376 312 3455", ""},      {"+49 30 123456789012", ""},
      {"253-0000", "US"},      {"+1 650 253 0000 x9", ""}, {"+44 909 876 5432", ""},
      {"hello 42", "US"},      {"3001234567", ""},
  };
  for (auto [text, region] : bad) {
    CAPTURE(text);
    auto r = PhoneNumber::parse(text, region, PhoneTypeSet::sms_default());
    REQUIRE_FALSE(r.is_ok());
    CHECK_FALSE(r.status().message().empty());
    CHECK_FALSE(has_digit(r.status().message()));
  }
  const std::string long_input(65, '7');
  auto r = PhoneNumber::parse(long_input, "US");
  REQUIRE(r.code() == ErrorCode::kInputTooLong);
  CHECK_FALSE(has_digit(r.status().message()));
}

TEST_CASE("phone: masked() shows the calling code and the last two digits only", "[phone]") {
  auto pk = PhoneNumber::parse("+923001234567", "");
  REQUIRE(pk.is_ok());
  CHECK(pk->masked() == "+92 ********67");

  auto us = PhoneNumber::parse("+16502530000", "");
  REQUIRE(us.is_ok());
  CHECK(us->masked() == "+1 ********00");

  // Italian numbers keep their leading zero in E.164, and in the mask.
  auto it = PhoneNumber::parse("+39 06 1234 5678", "");
  REQUIRE(it.is_ok());
  CHECK(it->e164() == "+390612345678");
  CHECK(it->masked() == "+39 ********78");

  // Too few national digits to give any away: Niue has four-digit numbers.
  auto nu = PhoneNumber::parse("+683 4002", "");
  REQUIRE(nu.is_ok());
  CHECK(nu->masked() == "+683 ****");
}

TEST_CASE("phone: phone_type_name gives libphonenumber's names", "[phone]") {
  CHECK(veribind::phone_type_name(PhoneType::kMobile) == "MOBILE");
  CHECK(veribind::phone_type_name(PhoneType::kFixedLineOrMobile) == "FIXED_LINE_OR_MOBILE");
  CHECK(veribind::phone_type_name(PhoneType::kPremiumRate) == "PREMIUM_RATE");
  CHECK(veribind::phone_type_name(PhoneType::kUnknown) == "UNKNOWN");
}

TEST_CASE("phone: a copy and a move keep the canonical form", "[phone]") {
  auto r = PhoneNumber::parse("+923001234567", "");
  REQUIRE(r.is_ok());
  PhoneNumber copy = *r;
  PhoneNumber moved = std::move(copy);
  CHECK(moved.e164() == "+923001234567");
  CHECK(moved.region() == "PK");
}
