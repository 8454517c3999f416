// Status and Result<T>: how every fallible veribind call reports failure.
//
// No exception crosses the public API. A call that can fail returns Status (no value) or
// Result<T> (a value or a Status). ErrorCode is short and stable: embedding backends may log it
// and map it; its numeric values and names never change meaning. Messages are for operators and
// never contain a phone number, an email address, a code or a key.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace veribind {

enum class ErrorCode : std::uint16_t {
  kOk = 0,
  // Bad input from the caller or end user.
  kInvalidArgument = 1,   // malformed argument not covered by a finer code below
  kInputTooLong = 2,      // over the documented byte limit of the input
  kPhoneNotANumber = 10,  // no digits that could form a phone number
  kPhoneInvalidCountryCode = 11,
  kPhoneTooShort = 12,
  kPhoneTooLong = 13,
  kPhoneInvalidForRegion = 14,  // right length, but no such number in its region's plan
  kPhoneTypeNotAllowed = 15,    // e.g. premium-rate, VoIP, toll-free where not allowed
  kPhoneHasLetters = 16,        // "1-800-FLOWERS": letters are refused, not mapped
  kEmailSyntax = 20,            // not local@domain in dot-atom form
  kEmailLocalPartTooLong = 21,  // > 64 octets
  kEmailDomainTooLong = 22,     // > 255 octets, or a label > 63
  kEmailTooLong = 23,           // whole address > 254 octets
  kEmailQuotedLocalPart = 24,   // "quoted"@example.com: valid RFC 5321, refused by design
  kEmailNonAsciiLocalPart = 25,
  kEmailInvalidDomain = 26,  // label not letters/digits/hyphen, or IDNA conversion failed
  kInvalidCode = 30,         // a code that is not the configured number of digits
  kInvalidChallengeId = 31,  // not a well-formed challenge id
  kInvalidAccountId = 32,
  kInvalidConfig = 33,
  kConfigFileInvalid = 35,  // the configuration file: bad TOML, an unknown key or a bad value
  // An account id that holds something that parses as an email address or an international phone
  // number: account ids are stored in the clear, beside the blind indexes.
  kAccountIdPersonalData = 34,
  // A LegalRequest field that holds something that parses as an email address or looks like a
  // phone number: the audit log is never edited or purged.
  kLegalRequestPersonalData = 38,
  kInvalidLegalRequest = 39,  // a LegalRequest field that is empty or not printable text
  // Verification state.
  kChallengeNotFound = 40,  // unknown, consumed or expired (resend only; check() uses CheckOutcome)
  kIdentifierMismatch = 41,  // resend with an identifier that did not start the challenge
  kResendTooSoon = 42,
  kRateLimited = 43,
  // Policy.
  kWrongChannel = 50,  // e.g. an email verification offered to a phone-linked registry
  kAlreadyBound = 51,  // the identifier holds the maximum number of accounts
  kRegionNotAllowed = 52,
  kWrongPurpose = 53,  // e.g. a login verification offered to link()
  kAccountHasBinding = 54,
  kEmailFormMismatch = 55,  // email parsed with other EmailOptions than the policy's
  kVerificationSpent = 56,  // a VerifiedIdentifier that was already used (moved from)
  // Keys, stores, delivery, system.
  kKeyFileInsecure = 60,   // readable by group or others
  kKeyFileMalformed = 61,  // wrong size or not a key file
  kKeyUnavailable = 62,    // missing, unreadable, or a version the ring does not hold
  kStoreError = 70,        // the store refused or failed an operation
  kUnavailable = 71,       // a backend or channel is unreachable; retrying may succeed
  kDeliveryFailed = 72,    // every provider failed, or the message was abandoned
  kOutboxFull = 73,        // the outbox holds its capacity of messages: refused, never blocked
  kDeliveryRefused = 74,   // a provider refused the message permanently (SMTP 5xx, HTTP 4xx)
  kAuditLogCorrupt = 79,   // the audit log does not verify (edited, deleted, reordered, truncated)
  kInternal = 80,
  // Sealed contacts and key rotation.
  kIdentifierRequired = 90,   // the call needs the identifier itself (sealed contact, or several
                              // active key versions) and none was given
  kNotASecurityPurpose = 91,  // a sealed contact is read only for recovery or a security notice
  kNoContact = 92,            // the account has no sealed contact (none retained, or erased)
  kContactSealBroken = 93,    // a sealed contact failed authentication: tampered or misplaced
  kKeyVersionInUse = 94,      // a key version cannot be retired while rows still use it
  // A sealed contact's data key is not in the contact key store given (the wrong store, or an
  // erasure interrupted after its keys went: see Registry::erase).
  kContactKeyMissing = 95,
};

// Stable snake_case name of a code ("phone_too_short"), for logs and JSON.
[[nodiscard]] std::string_view error_code_name(ErrorCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != ErrorCode::kOk);
  }
  static Status ok() { return {}; }

  [[nodiscard]] bool is_ok() const noexcept { return code_ == ErrorCode::kOk; }
  explicit operator bool() const noexcept { return is_ok(); }
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  // Operator-facing text; never contains personal data or secrets.
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value of T, or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.is_ok());
  }
  Result(ErrorCode code, std::string message) : status_(code, std::move(message)) {}

  [[nodiscard]] bool is_ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return is_ok(); }
  [[nodiscard]] const Status& status() const noexcept { return status_; }
  [[nodiscard]] ErrorCode code() const noexcept { return status_.code(); }

  // Precondition: is_ok().
  T& value() & {
    assert(is_ok());
    return *value_;
  }
  const T& value() const& {
    assert(is_ok());
    return *value_;
  }
  T&& value() && {
    assert(is_ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace veribind
