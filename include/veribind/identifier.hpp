// Identifiers: a phone number or an email address, parsed once into canonical form.
//
// Instances are made only by parse(), so a PhoneNumber is always valid canonical E.164 and an
// EmailAddress is always within RFC 5321 limits with a lower-cased ASCII (A-label) domain. These
// objects hold personal data in plaintext: keep them for the duration of one call, never store or
// log them. Their memory is wiped when they are destroyed. Errors never echo the input.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "veribind/channel.hpp"
#include "veribind/result.hpp"

namespace veribind {

// libphonenumber's number types, with stable values (they are stored with a challenge).
enum class PhoneType : std::uint8_t {
  kFixedLine = 0,
  kMobile = 1,
  kFixedLineOrMobile = 2,
  kTollFree = 3,
  kPremiumRate = 4,
  kSharedCost = 5,
  kVoip = 6,
  kPersonalNumber = 7,
  kPager = 8,
  kUan = 9,
  kVoicemail = 10,
  kUnknown = 11,
};
[[nodiscard]] std::string_view phone_type_name(PhoneType type) noexcept;  // "MOBILE", ...

class PhoneTypeSet {
 public:
  constexpr PhoneTypeSet() = default;
  constexpr PhoneTypeSet(std::initializer_list<PhoneType> types) {
    for (PhoneType t : types) bits_ |= bit(t);
  }
  // MOBILE and FIXED_LINE_OR_MOBILE: the numbers an SMS can reach without feeding a premium line.
  static constexpr PhoneTypeSet sms_default() {
    return {PhoneType::kMobile, PhoneType::kFixedLineOrMobile};
  }
  static constexpr PhoneTypeSet all() {
    PhoneTypeSet s;
    s.bits_ = (1u << (static_cast<unsigned>(PhoneType::kUnknown) + 1)) - 1;
    return s;
  }
  [[nodiscard]] constexpr bool contains(PhoneType t) const { return (bits_ & bit(t)) != 0; }
  [[nodiscard]] constexpr PhoneTypeSet with(PhoneType t) const {
    PhoneTypeSet s = *this;
    s.bits_ |= bit(t);
    return s;
  }
  constexpr bool operator==(const PhoneTypeSet&) const = default;

 private:
  // 0 for a value outside the enum, so a corrupt type is in no set.
  static constexpr std::uint16_t bit(PhoneType t) {
    const auto n = static_cast<unsigned>(t);
    return n <= static_cast<unsigned>(PhoneType::kUnknown) ? static_cast<std::uint16_t>(1u << n)
                                                           : std::uint16_t{0};
  }
  std::uint16_t bits_ = 0;
};

class PhoneNumber {
 public:
  // Longest input accepted, in bytes; longer input is kInputTooLong.
  static constexpr std::size_t kMaxInputBytes = 64;

  // Parses `text` as typed by a person ("+92 300 1234567", "0300-1234567"). `default_region` is an
  // ISO 3166-1 alpha-2 code used when the number has no "+country" prefix (may be empty; either
  // case). Errors: kInputTooLong, kPhoneNotANumber (also ill-formed UTF-8),
  // kPhoneInvalidCountryCode (unknown code, or no "+" and no default region), kPhoneTooShort
  // (also a local-only number missing its area code), kPhoneTooLong (also more than the 15 digits
  // E.164 allows, even where libphonenumber's plan admits more), kPhoneInvalidForRegion (no such
  // number in the plan, or a length between the region's lengths that matches none of them),
  // kPhoneTypeNotAllowed (type not in `allowed`), kInvalidArgument (`default_region` is not a
  // supported region, or the number has an extension: it cannot receive an SMS, and dropping it
  // would merge distinct inputs), kPhoneHasLetters (an ASCII letter where a digit could go).
  //
  // Letters are refused, never mapped to keypad digits ("1-800-FLOWERS" is kPhoneHasLetters): a
  // person verifying a line they own types its digits, and a letter is a typo or an attempt to
  // pass one number off as another. Letters that carry no digit stay accepted: a leading "tel:"
  // (any case) and a tel: URI's parameters (";isub=", a domain-name ";phone-context="), but not
  // letters in a global-number ";phone-context=+..", whose digits join the number. Extension
  // markers ("ext. 12", "x9") are still kInvalidArgument.
  //
  // The result is a fixed point: parsing e164(), with or without any default region, gives the
  // same e164(), type() and region(), hence the same blind index. libphonenumber alone does not
  // guarantee it (it strips one national prefix per parse, and still admits Mexico's abolished
  // mobile "1"), so parse() re-parses the E.164 form until it stops changing and judges
  // validity, type and region on that final form: "+52 1 1 55 1234 5678", "+52 1 55 1234 5678"
  // and "044 1 55 1234 5678" (MX) are all +525512345678. A number that does not settle within a
  // few rounds is kPhoneInvalidForRegion.
  static Result<PhoneNumber> parse(std::string_view text, std::string_view default_region = {},
                                   PhoneTypeSet allowed = PhoneTypeSet::all());

  [[nodiscard]] std::string_view e164() const noexcept { return e164_; }  // "+923001234567"
  // "PK"; "ZZ" for non-geographic numbers (+800, +882, ...), which libphonenumber calls "001".
  [[nodiscard]] std::string_view region() const noexcept { return {region_, 2}; }
  [[nodiscard]] PhoneType type() const noexcept { return type_; }
  [[nodiscard]] int calling_code() const noexcept { return calling_code_; }
  // "+92 ********67": enough for a person to recognise their number, not enough to recover it.
  // The calling code and the last two national digits are shown; a number with fewer than six
  // national digits is masked completely.
  [[nodiscard]] std::string masked() const;

  PhoneNumber(const PhoneNumber&) = default;
  PhoneNumber(PhoneNumber&&) noexcept = default;
  // Assignment wipes the old number before it is overwritten or its buffer freed.
  PhoneNumber& operator=(const PhoneNumber& other);
  PhoneNumber& operator=(PhoneNumber&& other) noexcept;
  ~PhoneNumber();

 private:
  PhoneNumber() = default;
  std::string e164_;
  char region_[2] = {'Z', 'Z'};
  PhoneType type_ = PhoneType::kUnknown;
  int calling_code_ = 0;
};

struct EmailOptions {
  // Provider-specific canonicalization, off by default. When on, for providers known to ignore
  // them, "+tags" are dropped (gmail.com, googlemail.com, outlook.com, hotmail.com, live.com,
  // icloud.com, me.com, fastmail.com, proton.me, protonmail.com), and dots are dropped and
  // googlemail.com becomes gmail.com (Gmail). Trade-off: one
  // mailbox can no longer mint many "distinct" addresses (abuse resistance), but the canonical form
  // differs from what the person typed, and a provider that changes its rules would merge
  // distinct people.
  bool provider_canonicalization = false;
};

class EmailAddress {
 public:
  static constexpr std::size_t kMaxLocalPart = 64;
  static constexpr std::size_t kMaxDomain = 255;
  static constexpr std::size_t kMaxAddress = 254;
  static constexpr std::size_t kMaxLabel = 63;

  // Parses "local@domain", split at the last '@'. Local part: dot-atom (RFC 5321), ASCII, <= 64
  // octets, lower-cased. RFC 5321 lets a server treat "Alice" and "alice" as two mailboxes, but
  // it discourages relying on it and mail providers do not; keeping the case would let one
  // mailbox hold an account per capitalisation, so veribind folds it. Domain: at least two LDH
  // labels <= 63 octets, no trailing dot, a non-numeric top-level label, lower-cased;
  // internationalized domains (and "xn--" labels) go through UTS #46 and come out as A-labels.
  // Leading or trailing whitespace is refused (kEmailSyntax), not trimmed: callers that want to
  // forgive it trim first. Errors: kInputTooLong (> 1024 bytes of input), kEmailSyntax,
  // kEmailLocalPartTooLong, kEmailDomainTooLong, kEmailTooLong, kEmailQuotedLocalPart,
  // kEmailNonAsciiLocalPart, kEmailInvalidDomain (also domain literals such as "[192.0.2.1]"). The
  // part limits are checked before the whole-address limit, so an over-long part gets its own code.
  // With provider canonicalization, a local part the rules leave empty or malformed is
  // kEmailSyntax.
  static Result<EmailAddress> parse(std::string_view text, EmailOptions options = {});

  [[nodiscard]] std::string_view canonical() const noexcept { return address_; }
  [[nodiscard]] std::string_view local_part() const noexcept;
  [[nodiscard]] std::string_view domain() const noexcept;
  // "a***@example.com"
  [[nodiscard]] std::string masked() const;
  // True when parsed with EmailOptions::provider_canonicalization (whether or not the domain is
  // one of the providers it rewrites). A Registry whose policy canonicalizes refuses to link an
  // address that was not, and vice versa: two forms of one mailbox must never both bind.
  [[nodiscard]] bool provider_canonical() const noexcept { return provider_canonical_; }

  EmailAddress(const EmailAddress&) = default;
  EmailAddress(EmailAddress&&) noexcept = default;
  // Assignment wipes the old address before it is overwritten or its buffer freed.
  EmailAddress& operator=(const EmailAddress& other);
  EmailAddress& operator=(EmailAddress&& other) noexcept;
  ~EmailAddress();

 private:
  EmailAddress() = default;
  std::string address_;
  std::size_t at_ = 0;  // index of '@' in address_
  bool provider_canonical_ = false;
};

// Either kind of identifier; what the verifier and the registry take.
class Identifier {
 public:
  Identifier(PhoneNumber phone)
      : value_(std::move(phone)) {}  // NOLINT(google-explicit-constructor)
  Identifier(EmailAddress email)
      : value_(std::move(email)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] Channel channel() const noexcept {
    return std::holds_alternative<PhoneNumber>(value_) ? Channel::kPhone : Channel::kEmail;
  }
  // E.164 for a phone, the canonical address for an email.
  [[nodiscard]] std::string_view canonical() const noexcept;
  [[nodiscard]] std::string masked() const;
  // nullptr when the identifier is of the other channel.
  [[nodiscard]] const PhoneNumber* phone() const noexcept {
    return std::get_if<PhoneNumber>(&value_);
  }
  [[nodiscard]] const EmailAddress* email() const noexcept {
    return std::get_if<EmailAddress>(&value_);
  }

 private:
  std::variant<PhoneNumber, EmailAddress> value_;
};

}  // namespace veribind
