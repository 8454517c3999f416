// PhoneNumber: parsing and classification through libphonenumber.
//
// libphonenumber does the hard part (national prefixes, IDD, per-region number plans); this file
// decides which of its verdicts become which ErrorCode, keeps every message free of the input,
// and wipes the copies of the number it makes along the way. libphonenumber's own temporaries
// cannot be reached and are not wiped; that is a documented limit, not an oversight.
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "internal/wipe.hpp"
#include "veribind/identifier.hpp"

namespace veribind {
namespace {

using i18n::phonenumbers::PhoneNumberUtil;
using LibPhoneNumber = i18n::phonenumbers::PhoneNumber;

// E.164 caps a number at 15 digits, country code included. libphonenumber's parser allows a
// national number of up to 17 digits, and some plans (DE) have possible lengths that would put a
// 16-digit number through the length check, so the cap is applied here.
constexpr std::size_t kMaxE164Digits = 15;

// libphonenumber's parse is not idempotent: it strips one national prefix per parse and still
// admits plans that no longer exist (Mexico's mobile "1"), so "+52 1 1 55 1234 5678" parses to
// +5215512345678, which parses to +525512345678. Re-parsing the E.164 form until it stops
// changing gives one canonical form per line. Every case seen converges in at most two rounds;
// the bound keeps a pathological plan from looping.
constexpr int kMaxCanonicalRounds = 4;

// Fewer national digits than this are masked completely: revealing two of four digits is
// revealing half the number.
constexpr std::size_t kMinDigitsToRevealTail = 6;
constexpr std::size_t kRevealedTailDigits = 2;

// The protobuf holds the number as an integer plus optional strings (extension, raw input,
// carrier code); Clear() alone would release those strings without zeroing them.
class ClearOnExit {
 public:
  explicit ClearOnExit(LibPhoneNumber& n) : n_(n) {}
  ClearOnExit(const ClearOnExit&) = delete;
  ClearOnExit& operator=(const ClearOnExit&) = delete;
  ~ClearOnExit() {
    if (n_.has_extension()) internal::wipe(*n_.mutable_extension());
    if (n_.has_raw_input()) internal::wipe(*n_.mutable_raw_input());
    if (n_.has_preferred_domestic_carrier_code()) {
      internal::wipe(*n_.mutable_preferred_domestic_carrier_code());
    }
    n_.Clear();
  }

 private:
  LibPhoneNumber& n_;
};

// libphonenumber feeds its input to regular expressions and a hand-written UTF-8 decoder; no
// legitimate phone number is ill-formed UTF-8, so such input is refused before it gets there.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// Upper-cases a two-letter region code; returns false when it is not two ASCII letters.
bool normalize_region(std::string_view in, std::string& out) {
  if (in.size() != 2) return false;
  out.clear();
  for (char c : in) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return false;
    out.push_back(c);
  }
  return true;
}

PhoneType to_phone_type(PhoneNumberUtil::PhoneNumberType t) {
  switch (t) {
    case PhoneNumberUtil::FIXED_LINE: return PhoneType::kFixedLine;
    case PhoneNumberUtil::MOBILE: return PhoneType::kMobile;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE: return PhoneType::kFixedLineOrMobile;
    case PhoneNumberUtil::TOLL_FREE: return PhoneType::kTollFree;
    case PhoneNumberUtil::PREMIUM_RATE: return PhoneType::kPremiumRate;
    case PhoneNumberUtil::SHARED_COST: return PhoneType::kSharedCost;
    case PhoneNumberUtil::VOIP: return PhoneType::kVoip;
    case PhoneNumberUtil::PERSONAL_NUMBER: return PhoneType::kPersonalNumber;
    case PhoneNumberUtil::PAGER: return PhoneType::kPager;
    case PhoneNumberUtil::UAN: return PhoneType::kUan;
    case PhoneNumberUtil::VOICEMAIL: return PhoneType::kVoicemail;
    case PhoneNumberUtil::UNKNOWN: return PhoneType::kUnknown;
  }
  return PhoneType::kUnknown;
}

Status too_short() { return {ErrorCode::kPhoneTooShort, "phone number is too short"}; }
Status too_long() { return {ErrorCode::kPhoneTooLong, "phone number is too long"}; }
Status invalid_for_region() {
  return {ErrorCode::kPhoneInvalidForRegion, "phone number is not valid in its region"};
}
Status invalid_country_code() {
  return {ErrorCode::kPhoneInvalidCountryCode,
          "phone number has no valid country code (give a default region or a +prefix)"};
}
Status not_a_number() { return {ErrorCode::kPhoneNotANumber, "input is not a phone number"}; }
Status has_letters() {
  return {ErrorCode::kPhoneHasLetters, "phone number contains letters (type digits only)"};
}
Status no_stable_form() {
  return {ErrorCode::kPhoneInvalidForRegion, "phone number has no stable canonical form"};
}

Status parse_error(PhoneNumberUtil::ErrorType error) {
  switch (error) {
    case PhoneNumberUtil::NO_PARSING_ERROR: break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return invalid_country_code();
    case PhoneNumberUtil::NOT_A_NUMBER: return not_a_number();
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN: return too_short();
    case PhoneNumberUtil::TOO_LONG_NSN: return too_long();
  }
  return Status::ok();
}

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool has_ascii_letter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), is_ascii_letter);
}

bool starts_with_ignoring_case(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// libphonenumber reads letters as keypad digits ("1-800-FLOWERS", and "+52 11 96123GB 56s" is
// +52 11 9612342567) once the input holds three of them, and drops them silently when it holds
// fewer. For a line a person owns, a letter is a typo or an attempt to make one number look like
// another, so any ASCII letter where a digit could go is refused. What is left is syntax that
// carries no digit: the "tel:" scheme, and a tel: URI's parameters (";isub=", ";ext=", a domain
// name as ";phone-context="), except a global-number phone-context ("+52-55"), whose digits are
// prepended to the number and so must be digits. Extensions ("ext. 12", "x9") are refused before
// this check, with their own error.
bool has_letter_in_number(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
  text.remove_prefix(start);
  if (!starts_with_ignoring_case(text, "tel:")) return has_ascii_letter(text);

  text.remove_prefix(4);
  const std::size_t params = text.find(';');
  if (has_ascii_letter(text.substr(0, params))) return true;
  std::string_view rest =
      params == std::string_view::npos ? std::string_view{} : text.substr(params);
  constexpr std::string_view kPhoneContext = ";phone-context=";
  while (!rest.empty()) {
    const std::size_t next = rest.find(';', 1);
    const std::string_view param = rest.substr(0, next);
    if (starts_with_ignoring_case(param, kPhoneContext)) {
      const std::string_view value = param.substr(kPhoneContext.size());
      if (!value.empty() && value.front() == '+' && has_ascii_letter(value)) return true;
    }
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next);
  }
  return false;
}

}  // namespace

std::string_view phone_type_name(PhoneType type) noexcept {
  switch (type) {
    case PhoneType::kFixedLine: return "FIXED_LINE";
    case PhoneType::kMobile: return "MOBILE";
    case PhoneType::kFixedLineOrMobile: return "FIXED_LINE_OR_MOBILE";
    case PhoneType::kTollFree: return "TOLL_FREE";
    case PhoneType::kPremiumRate: return "PREMIUM_RATE";
    case PhoneType::kSharedCost: return "SHARED_COST";
    case PhoneType::kVoip: return "VOIP";
    case PhoneType::kPersonalNumber: return "PERSONAL_NUMBER";
    case PhoneType::kPager: return "PAGER";
    case PhoneType::kUan: return "UAN";
    case PhoneType::kVoicemail: return "VOICEMAIL";
    case PhoneType::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

Result<PhoneNumber> PhoneNumber::parse(std::string_view text, std::string_view default_region,
                                       PhoneTypeSet allowed) {
  // Bounded before libphonenumber sees it: its regular expressions are not linear-time on
  // adversarial input.
  if (text.size() > kMaxInputBytes) {
    return Status(ErrorCode::kInputTooLong, "phone number input is too long");
  }
  if (!is_valid_utf8(text)) return not_a_number();

  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();

  std::string region;
  if (!default_region.empty()) {
    // An unknown region would otherwise surface as "invalid country code", blaming the person
    // for the caller's configuration.
    if (!normalize_region(default_region, region) || util.GetCountryCodeForRegion(region) == 0) {
      return Status(ErrorCode::kInvalidArgument,
                    "default region is not a supported two-letter region code");
    }
  }

  std::string input(text);
  internal::WipeOnExit wipe_input(input);
  LibPhoneNumber number;
  ClearOnExit clear_number(number);

  if (Status s = parse_error(util.Parse(input, region, &number)); !s) return s;

  // An extension cannot receive an SMS, and dropping it would give "+1 650 253 0000 ext. 12"
  // and "+1 650 253 0000" the same canonical form, so numbers with one are refused.
  if (number.has_extension() && !number.extension().empty()) {
    return Status(ErrorCode::kInvalidArgument, "phone number has an extension");
  }
  if (has_letter_in_number(text)) return has_letters();

  // The canonical form is a fixed point: its E.164 form, parsed again (a "+" form ignores the
  // default region), gives the same E.164. Everything below (length, validity, type, region)
  // is judged on that final form, so what is stored is what a re-parse of it would say.
  std::string e164;
  internal::WipeOnExit wipe_e164(e164);
  util.Format(number, PhoneNumberUtil::E164, &e164);
  for (int round = 0;; ++round) {
    if (round == kMaxCanonicalRounds) return no_stable_form();
    LibPhoneNumber next;
    ClearOnExit clear_next(next);
    if (Status s = parse_error(util.Parse(e164, "", &next)); !s) return s;
    std::string next_e164;
    internal::WipeOnExit wipe_next(next_e164);
    util.Format(next, PhoneNumberUtil::E164, &next_e164);
    number.Swap(&next);  // the previous form is cleared with `next`
    if (next_e164 == e164) break;
    e164.swap(next_e164);
  }

  std::string nsn;
  internal::WipeOnExit wipe_nsn(nsn);
  util.GetNationalSignificantNumber(number, &nsn);
  const std::string cc_digits = std::to_string(number.country_code());
  if (cc_digits.size() + nsn.size() > kMaxE164Digits) return too_long();

  switch (util.IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::IS_POSSIBLE: break;
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      // A local-only number lacks its area code: it is shorter than a number that can be
      // dialled from anywhere, which is what a person needs to hear.
      return too_short();
    case PhoneNumberUtil::INVALID_COUNTRY_CODE: return invalid_country_code();
    case PhoneNumberUtil::TOO_SHORT: return too_short();
    case PhoneNumberUtil::INVALID_LENGTH:
      // Between the shortest and longest lengths of the region but matching none of them:
      // neither "too short" nor "too long" would be true, so it is a number that does not exist.
      return invalid_for_region();
    case PhoneNumberUtil::TOO_LONG: return too_long();
  }

  if (!util.IsValidNumber(number)) return invalid_for_region();

  const PhoneType type = to_phone_type(util.GetNumberType(number));
  if (!allowed.contains(type)) {
    return Status(ErrorCode::kPhoneTypeNotAllowed,
                  "phone number type " + std::string(phone_type_name(type)) + " is not allowed");
  }

  PhoneNumber out;
  out.e164_ = e164;
  out.type_ = type;
  out.calling_code_ = number.country_code();

  std::string number_region;
  util.GetRegionCodeForNumber(number, &number_region);
  // Non-geographic numbers (+800, +882, ...) have region "001" in libphonenumber; they keep
  // "ZZ", the unknown-region code, so region() is always two letters and never matches a
  // real country in an allow or deny list.
  if (number_region.size() == 2) {
    out.region_[0] = number_region[0];
    out.region_[1] = number_region[1];
  }
  return out;
}

std::string PhoneNumber::masked() const {
  const std::string cc = std::to_string(calling_code_);
  std::string_view national(e164_);
  national.remove_prefix(std::min(national.size(), 1 + cc.size()));  // "+" and the calling code
  const std::size_t shown =
      national.size() >= kMinDigitsToRevealTail ? kRevealedTailDigits : std::size_t{0};

  std::string out;
  out.reserve(2 + cc.size() + national.size());
  out.push_back('+');
  out.append(cc);
  out.push_back(' ');
  out.append(national.size() - shown, '*');
  out.append(national.substr(national.size() - shown));
  return out;
}

PhoneNumber& PhoneNumber::operator=(const PhoneNumber& other) {
  if (this != &other) {
    internal::wipe(e164_);  // keeps the capacity: the copy reuses the wiped buffer
    e164_ = other.e164_;
    std::copy(std::begin(other.region_), std::end(other.region_), std::begin(region_));
    type_ = other.type_;
    calling_code_ = other.calling_code_;
  }
  return *this;
}

PhoneNumber& PhoneNumber::operator=(PhoneNumber&& other) noexcept {
  if (this != &other) {
    internal::wipe(e164_);
    e164_ = std::move(other.e164_);
    internal::wipe(other.e164_);  // a short string's inline buffer keeps its characters
    std::copy(std::begin(other.region_), std::end(other.region_), std::begin(region_));
    type_ = other.type_;
    calling_code_ = other.calling_code_;
  }
  return *this;
}

PhoneNumber::~PhoneNumber() {
  internal::wipe(e164_);
  calling_code_ = 0;
}

}  // namespace veribind
