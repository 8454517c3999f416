// PhoneNumber::parse with fuzzed text, default region and allowed type set.
//
// Input: "REGION\nTYPES\nTEXT". REGION goes to parse() as is (any bytes: often no region at all).
// TYPES lists the allowed types as letters, 'a' for PhoneType 0 (FIXED_LINE) to 'l' for 11
// (UNKNOWN); other bytes are ignored, and '*' allows every type. An input with fewer than two
// newlines is TEXT alone, with no region and every type allowed.
//
// Properties: errors are from the documented set and do not repeat the input; a parsed number is
// canonical, a fixed point (its E.164 form, bare, as a tel: URI, with no region, the input's
// region or another, re-parses to the same number, region, type and calling code), and of an
// allowed type; an accepted input has no ASCII letter outside a tel: URI's scheme and
// parameters; the type filter is the last step (with every
// type allowed the same text gives the same number or the same error, and a number of a type
// that is not allowed is kPhoneTypeNotAllowed); the masked form hides the national number.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "veribind/identifier.hpp"

namespace {

using veribind::ErrorCode;
using veribind::PhoneNumber;
using veribind::PhoneType;
using veribind::PhoneTypeSet;
using veribind::fuzz::count_digits;
using veribind::fuzz::is_ascii_digit;

constexpr unsigned kTypeCount = static_cast<unsigned>(PhoneType::kUnknown) + 1;

struct Input {
  std::string_view region;
  PhoneTypeSet allowed = PhoneTypeSet::all();
  std::string_view text;
};

Input split(std::string_view data) {
  Input in;
  const std::size_t first = data.find('\n');
  const std::size_t second = first == std::string_view::npos ? first : data.find('\n', first + 1);
  if (second == std::string_view::npos) {
    in.text = data;
    return in;
  }
  in.region = data.substr(0, first);
  const std::string_view types = data.substr(first + 1, second - first - 1);
  in.text = data.substr(second + 1);
  if (types.find('*') != std::string_view::npos) return in;
  in.allowed = PhoneTypeSet{};
  for (char c : types) {
    if (c >= 'a' && c < static_cast<char>('a' + kTypeCount)) {
      in.allowed = in.allowed.with(static_cast<PhoneType>(c - 'a'));
    }
  }
  return in;
}

PhoneTypeSet all_but(PhoneType excluded) {
  PhoneTypeSet s;
  for (unsigned t = 0; t < kTypeCount; ++t) {
    if (static_cast<PhoneType>(t) != excluded) s = s.with(static_cast<PhoneType>(t));
  }
  return s;
}

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// True when the text has an ASCII letter and is not a tel: URI (the one place letters may be).
bool has_letter_outside_uri(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
  const std::string_view rest = text.substr(start);
  if (rest.size() >= 4) {
    std::string scheme(rest.substr(0, 4));
    for (char& c : scheme) c = static_cast<char>(c | 0x20);
    if (scheme == "tel:") return false;
  }
  for (char c : text) {
    if (is_ascii_letter(c)) return true;
  }
  return false;
}

bool same_number(const PhoneNumber& a, const PhoneNumber& b) {
  return a.e164() == b.e164() && a.region() == b.region() && a.type() == b.type() &&
         a.calling_code() == b.calling_code();
}

void check_canonical(const PhoneNumber& n, const Input& in) {
  const std::string_view e164 = n.e164();
  FUZZ_CHECK(e164.size() >= 3 && e164.size() <= 16 && e164[0] == '+' && e164[1] != '0',
             "E.164 is '+' and 2 to 15 digits, the first not 0");
  for (char c : e164.substr(1)) FUZZ_CHECK(is_ascii_digit(c), "E.164 holds only digits");
  const std::string cc = std::to_string(n.calling_code());
  FUZZ_CHECK(n.calling_code() > 0 && e164.substr(1, cc.size()) == cc,
             "E.164 starts with the calling code");
  FUZZ_CHECK(n.region().size() == 2 && n.region()[0] >= 'A' && n.region()[0] <= 'Z' &&
                 n.region()[1] >= 'A' && n.region()[1] <= 'Z',
             "the region is two upper-case letters");
  FUZZ_CHECK(in.allowed.contains(n.type()), "the type is one of the allowed types");

  // The fixed point: the canonical form is what every later parse of it says. A failure here
  // is two canonical forms (two blind indexes) for one line.
  const auto plain = PhoneNumber::parse(e164);
  FUZZ_CHECK(plain.is_ok() && same_number(*plain, n), "E.164 re-parses to the same number");
  const auto with_region = PhoneNumber::parse(e164, in.region);
  FUZZ_CHECK(with_region.is_ok() && same_number(*with_region, n),
             "E.164 re-parses to the same number under the same default region");
  const std::string_view other_region = n.region() == "US" ? "DE" : "US";
  const auto elsewhere = PhoneNumber::parse(e164, other_region);
  FUZZ_CHECK(elsewhere.is_ok() && same_number(*elsewhere, n),
             "E.164 re-parses to the same number under another default region");
  const auto uri = PhoneNumber::parse("tel:" + std::string(e164));
  FUZZ_CHECK(uri.is_ok() && same_number(*uri, n), "tel:E.164 parses to the same number");
  if (!in.text.empty()) {
    const auto twice = PhoneNumber::parse(in.text, in.region);
    FUZZ_CHECK(twice.is_ok() && same_number(*twice, n), "parsing is deterministic");
  }

  const std::string_view national = e164.substr(1 + cc.size());
  const std::string masked = n.masked();
  FUZZ_CHECK(masked.rfind("+" + cc + " ", 0) == 0, "the masked form starts with the calling code");
  FUZZ_CHECK(count_digits(masked) <= cc.size() + 2, "the masked form shows at most two digits");
  FUZZ_CHECK(national.size() < 3 || masked.find(national) == std::string::npos,
             "the masked form does not contain the national number");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Input in = split(std::string_view(reinterpret_cast<const char*>(data), size));

  const auto parsed = PhoneNumber::parse(in.text, in.region, in.allowed);
  if (parsed) {
    FUZZ_CHECK(!has_letter_outside_uri(in.text), "an accepted input has no letter in its number");
    check_canonical(*parsed, in);
    const auto any_type = PhoneNumber::parse(in.text, in.region, PhoneTypeSet::all());
    FUZZ_CHECK(any_type.is_ok() && same_number(*any_type, *parsed),
               "allowing every type gives the same number");
    const auto without = PhoneNumber::parse(in.text, in.region, all_but(parsed->type()));
    FUZZ_CHECK(!without && without.code() == ErrorCode::kPhoneTypeNotAllowed,
               "a type left out of the allowed set is kPhoneTypeNotAllowed");
    return 0;
  }

  const ErrorCode code = parsed.code();
  FUZZ_CHECK(
      veribind::fuzz::one_of(code, {ErrorCode::kInputTooLong, ErrorCode::kPhoneNotANumber,
                                    ErrorCode::kPhoneInvalidCountryCode, ErrorCode::kPhoneTooShort,
                                    ErrorCode::kPhoneTooLong, ErrorCode::kPhoneInvalidForRegion,
                                    ErrorCode::kPhoneTypeNotAllowed, ErrorCode::kPhoneHasLetters,
                                    ErrorCode::kInvalidArgument}),
      "the error is one that PhoneNumber::parse documents");
  // Three digits: more than any of the fixed messages holds, so a match can only be an echo.
  FUZZ_CHECK(
      count_digits(in.text) < 3 || parsed.status().message().find(in.text) == std::string::npos,
      "the error does not repeat the input");

  const auto any_type = PhoneNumber::parse(in.text, in.region, PhoneTypeSet::all());
  if (code == ErrorCode::kPhoneTypeNotAllowed) {
    FUZZ_CHECK(any_type.is_ok() && !in.allowed.contains(any_type->type()),
               "kPhoneTypeNotAllowed only for a valid number of a type left out");
    check_canonical(*any_type, Input{in.region, PhoneTypeSet::all(), in.text});
  } else {
    FUZZ_CHECK(!any_type && any_type.code() == code,
               "with every type allowed, the same text fails with the same error");
  }
  return 0;
}
