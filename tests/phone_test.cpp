// PhoneNumber::parse: canonical E.164, classification, and the exact error for each bad input.
//
// Expectations are libphonenumber's own verdicts (metadata of libphonenumber 8.12) except where
// veribind adds a rule of its own: the 64-byte input cap, the 15-digit E.164 cap, refusing
// extensions and letters, "ZZ" for non-geographic numbers, and a canonical form that is a fixed
// point of re-parsing (which drops Mexico's abolished mobile "1").
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "veribind/blind_index.hpp"
#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/result.hpp"

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

// --- The canonical form is a fixed point ---------------------------------------------------------
//
// For every accepted input, parsing its E.164 form, with or without a default region, gives the
// same number, type and region, and so the same blind index; and every spelling of one number
// gives that one form. libphonenumber alone does not guarantee it (it strips one national prefix
// per parse, and still accepts Mexico's abolished mobile "1").

namespace {

using LibPhoneNumber = i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

struct Spelling {
  std::string text;
  std::string region;  // the default region it is parsed with
};

const veribind::BlindIndexer& fixed_indexer() {
  static const veribind::KeyRing ring = [] {
    std::array<std::uint8_t, veribind::KeyRing::kMasterKeyBytes> master{};
    master.fill(7);
    return veribind::KeyRing::from_master_key(veribind::SecretBytes::copy_of(master), 1).value();
  }();
  static const veribind::BlindIndexer indexer = veribind::BlindIndexer::create(ring).value();
  return indexer;
}

bool same_number(const PhoneNumber& a, const PhoneNumber& b) {
  return a.e164() == b.e164() && a.region() == b.region() && a.type() == b.type() &&
         a.calling_code() == b.calling_code();
}

// Checks the fixed point for one parsed number; returns false (with CHECK failures) if broken.
bool is_fixed_point(const PhoneNumber& n, std::string_view region) {
  const std::string e164(n.e164());
  CAPTURE(e164, region);
  bool ok = true;
  for (std::string_view r : {std::string_view{}, region, std::string_view{"DE"}}) {
    CAPTURE(r);
    auto again = PhoneNumber::parse(e164, r);
    CHECK(again.is_ok());
    if (!again.is_ok()) {
      ok = false;
      continue;
    }
    CHECK(same_number(*again, n));
    CHECK(fixed_indexer().compute(*again) == fixed_indexer().compute(n));
    ok = ok && same_number(*again, n);
  }
  return ok;
}

// Every accepted spelling gives one canonical form, and that form is a fixed point. Returns how
// many spellings were accepted.
std::size_t check_one_form(const std::vector<Spelling>& spellings) {
  std::optional<PhoneNumber> first;
  std::string first_text;
  std::size_t accepted = 0;
  for (const Spelling& s : spellings) {
    auto r = PhoneNumber::parse(s.text, s.region);
    if (!r) continue;
    ++accepted;
    CAPTURE(s.text, s.region, r->e164(), first_text);
    is_fixed_point(*r, s.region);
    if (!first) {
      first = *r;
      first_text = s.text;
      continue;
    }
    CHECK(r->e164() == first->e164());
    CHECK(r->type() == first->type());
    CHECK(r->region() == first->region());
    CHECK(fixed_indexer().compute(*r) == fixed_indexer().compute(*first));
  }
  return accepted;
}

// E.164, international with spaces, tel: URI, 00-prefixed (from Germany, whose IDD is 00), and
// for a geographic number: national as libphonenumber formats it, the national significant
// number alone, and the national prefix followed by it, each with the number's region.
std::vector<Spelling> spellings_of(const LibPhoneNumber& n, const std::string& region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::string e164, international, rfc3966, national, nsn, prefix;
  util.Format(n, PhoneNumberUtil::E164, &e164);
  util.Format(n, PhoneNumberUtil::INTERNATIONAL, &international);
  util.Format(n, PhoneNumberUtil::RFC3966, &rfc3966);
  std::vector<Spelling> out = {{e164, ""},
                               {e164, region == "001" ? "" : region},
                               {international, ""},
                               {rfc3966, ""},
                               {"00" + e164.substr(1), "DE"}};
  if (region != "001") {
    util.Format(n, PhoneNumberUtil::NATIONAL, &national);
    util.GetNationalSignificantNumber(n, &nsn);
    util.GetNddPrefixForRegion(region, true, &prefix);
    out.push_back({national, region});
    out.push_back({nsn, region});
    if (!prefix.empty()) out.push_back({prefix + nsn, region});
  }
  return out;
}

constexpr PhoneNumberUtil::PhoneNumberType kExampleTypes[] = {
    PhoneNumberUtil::FIXED_LINE,      PhoneNumberUtil::MOBILE,      PhoneNumberUtil::TOLL_FREE,
    PhoneNumberUtil::PREMIUM_RATE,    PhoneNumberUtil::SHARED_COST, PhoneNumberUtil::VOIP,
    PhoneNumberUtil::PERSONAL_NUMBER, PhoneNumberUtil::PAGER,       PhoneNumberUtil::UAN,
    PhoneNumberUtil::VOICEMAIL};

// The review's Mexican spellings of one national number `n` (ten digits, spaced): today's form,
// the abolished mobile "1" once and twice, "011" after +52, and with region MX the old national
// prefixes 01, 044 and 045 with and without the "1".
std::vector<Spelling> mexican_spellings(const std::string& n) {
  std::string compact;
  for (char c : n) {
    if (c != ' ') compact.push_back(c);
  }
  return {{"+52 " + n, ""},       {"+52" + compact, ""},  {"+52 1 " + n, ""},
          {"+521" + compact, ""}, {"+52 11 " + n, ""},    {"+52 1 1 " + n, ""},
          {"+52 011 " + n, ""},   {"+52 1 1 " + n, "MX"}, {n, "MX"},
          {"1 " + n, "MX"},       {"01 " + n, "MX"},      {"044 " + n, "MX"},
          {"045 " + n, "MX"},     {"011 " + n, "MX"},     {"01 1 " + n, "MX"},
          {"044 1 " + n, "MX"},   {"045 1 " + n, "MX"},   {"tel:+52-1-" + compact, ""}};
}

}  // namespace

TEST_CASE("phone: every spelling of every region's example numbers gives one fixed canonical form",
          "[phone][canonical]") {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::set<std::string> regions;
  util.GetSupportedRegions(&regions);
  REQUIRE(regions.size() > 200);

  std::size_t numbers = 0;
  std::size_t accepted = 0;
  for (const std::string& region : regions) {
    for (PhoneNumberUtil::PhoneNumberType type : kExampleTypes) {
      LibPhoneNumber example;
      if (!util.GetExampleNumberForType(region, type, &example)) continue;
      CAPTURE(region, static_cast<int>(type));
      ++numbers;
      const std::size_t n = check_one_form(spellings_of(example, region));
      if (n > 0) ++accepted;
    }
  }
  std::set<int> non_geographic;
  util.GetSupportedGlobalNetworkCallingCodes(&non_geographic);
  for (int code : non_geographic) {
    LibPhoneNumber example;
    if (!util.GetExampleNumberForNonGeoEntity(code, &example)) continue;
    CAPTURE(code);
    ++numbers;
    if (check_one_form(spellings_of(example, "001")) > 0) ++accepted;
  }
  // libphonenumber's example numbers are valid by construction; the few that veribind refuses
  // are longer than E.164's fifteen digits.
  CHECK(numbers > 1000);
  CHECK(accepted + 10 > numbers);
}

TEST_CASE("phone: every Mexican spelling with or without the old mobile 1 gives +52 and ten digits",
          "[phone][canonical]") {
  for (auto [national, e164] :
       {std::pair<std::string, std::string_view>{"55 1234 5678", "+525512345678"},
        {"961 234 2567", "+529612342567"}}) {
    CAPTURE(national);
    std::optional<veribind::BlindIndex> index;
    for (const Spelling& s : mexican_spellings(national)) {
      CAPTURE(s.text, s.region);
      auto r = PhoneNumber::parse(s.text, s.region, PhoneTypeSet::sms_default());
      REQUIRE(r.is_ok());
      CHECK(r->e164() == e164);
      CHECK(r->type() == PhoneType::kFixedLineOrMobile);  // still SMS-eligible
      CHECK(r->region() == "MX");
      CHECK(r->calling_code() == 52);
      CHECK(is_fixed_point(*r, s.region));
      const veribind::BlindIndex i = fixed_indexer().compute(*r);
      if (!index) index = i;
      CHECK(i == *index);
    }
    CHECK(check_one_form(mexican_spellings(national)) == mexican_spellings(national).size());
  }
}

TEST_CASE("phone: the two spellings that bound two accounts to one SIM now give one index",
          "[phone][canonical]") {
  auto a = PhoneNumber::parse("+52 55 1234 5678", "", PhoneTypeSet::sms_default());
  auto b = PhoneNumber::parse("+52 1 1 55 1234 5678", "", PhoneTypeSet::sms_default());
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(a->e164() == b->e164());
  CHECK(fixed_indexer().compute(*a) == fixed_indexer().compute(*b));

  auto locked = PhoneNumber::parse("+52 961 234 2567", "");
  auto retry = PhoneNumber::parse("+52 1 1 961 234 2567", "");
  REQUIRE(locked.is_ok());
  REQUIRE(retry.is_ok());
  CHECK(fixed_indexer().compute(*locked) == fixed_indexer().compute(*retry));
}

TEST_CASE("phone: a letter where a digit goes is kPhoneHasLetters, never a keypad digit",
          "[phone]") {
  CHECK(PhoneNumber::parse("+52 11 96123GB 56s", "").code() == ErrorCode::kPhoneHasLetters);
  CHECK(PhoneNumber::parse("+52 11 96123GB 56s", "MX").code() == ErrorCode::kPhoneHasLetters);
  CHECK(PhoneNumber::parse("1-800-FLOWERS", "US").code() == ErrorCode::kPhoneHasLetters);
  CHECK(PhoneNumber::parse("+1 650 253 00AB", "").code() == ErrorCode::kPhoneHasLetters);
  CHECK(PhoneNumber::parse("+1 650 253 0000 x", "").code() == ErrorCode::kPhoneHasLetters);
  CHECK(PhoneNumber::parse("hello 42", "US").code() == ErrorCode::kPhoneHasLetters);
  // A global-number phone-context is prepended to the number, so its letters count.
  CHECK(PhoneNumber::parse("tel:2567;phone-context=+52-1-96123GB", "").code() ==
        ErrorCode::kPhoneHasLetters);
  CHECK(PhoneNumber::parse("tel:+52-11-96123GB-56s", "").code() == ErrorCode::kPhoneHasLetters);
  // Text with no number at all is still not a number.
  CHECK(PhoneNumber::parse("hello", "US").code() == ErrorCode::kPhoneNotANumber);
  CHECK(veribind::error_code_name(ErrorCode::kPhoneHasLetters) == "phone_has_letters");
}

TEST_CASE("phone: tel: URIs and their parameters are not letters, and extensions stay refused",
          "[phone]") {
  for (auto [text, region] :
       {std::pair<std::string_view, std::string_view>{"tel:+1-650-253-0000", ""},
        {"TEL:+1-650-253-0000", ""},
        {"tel:253-0000;phone-context=+1-650", "US"},
        {"tel:650-253-0000;phone-context=example.com", "US"},
        {"tel:+1-650-253-0000;isub=abc", ""}}) {
    CAPTURE(text, region);
    auto r = PhoneNumber::parse(text, region);
    REQUIRE(r.is_ok());
    CHECK(r->e164() == "+16502530000");
  }
  // The old mobile "1" in a phone-context is dropped like any other spelling of it.
  auto mx = PhoneNumber::parse("tel:2342567;phone-context=+52-11-961", "");
  REQUIRE(mx.is_ok());
  CHECK(mx->e164() == "+529612342567");

  CHECK(PhoneNumber::parse("+1 650 253 0000 ext. 12", "").code() == ErrorCode::kInvalidArgument);
  CHECK(PhoneNumber::parse("+1 650 253 0000 x9", "").code() == ErrorCode::kInvalidArgument);
  CHECK(PhoneNumber::parse("tel:+1-650-253-0000;ext=12", "").code() == ErrorCode::kInvalidArgument);
}
