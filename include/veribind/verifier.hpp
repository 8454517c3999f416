// Verifier: the one-time-code engine. start() sends a code, check() verifies it.
//
//   auto verifier = veribind::Verifier::create({}, ring, store, sender, clock);
//   auto challenge = verifier->start(phone, veribind::Purpose::kSignup);   // code goes to sender
//   auto result = verifier->check(challenge->id, code_typed_by_user, veribind::Purpose::kSignup);
//   if (result && result->outcome == veribind::CheckOutcome::kVerified) {
//     registry.link(account_id, std::move(*result->verified));
//   }
//
// Codes are uniform random digits (libsodium), never stored (only a keyed tag of challenge id,
// purpose and code), valid for one challenge and one purpose, for `code_ttl`, for at most
// `max_checks` checks, and once. Every check charges an attempt atomically in the store before the
// tag comparison, which is constant time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "veribind/blind_index.hpp"
#include "veribind/clock.hpp"
#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/purpose.hpp"
#include "veribind/result.hpp"
#include "veribind/sender.hpp"
#include "veribind/store.hpp"

namespace veribind {

struct VerifierConfig {
  static constexpr int kMinCodeLength = 4;
  static constexpr int kMinStrongCodeLength = 6;
  static constexpr int kMaxCodeLength = 10;

  int code_length = 6;            // 4-5 only with allow_weak_codes; at most 10
  bool allow_weak_codes = false;  // explicit opt-in to 4- and 5-digit codes
  std::chrono::seconds code_ttl{600};
  int max_checks = 5;  // per challenge, 1..100
  std::chrono::seconds resend_cooldown{30};
  int max_sends_per_hour = 5;  // per identifier, start() and resend() together
  // Phone types a code may be sent to by SMS (SMS-pumping guard).
  PhoneTypeSet sms_phone_types = PhoneTypeSet::sms_default();

  // kInvalidConfig with the offending field named, or ok.
  [[nodiscard]] Status validate() const;
  // kInvalidCode unless `code` is exactly code_length ASCII digits. check() applies it first; a
  // caller may apply it earlier to refuse input before touching anything.
  [[nodiscard]] Status validate_code(std::string_view code) const;
};

// What start() returns: safe to show the end user and to log.
struct Challenge {
  std::string id;  // ChallengeId::to_string()
  Timestamp expires_at;
  Channel channel;
  Purpose purpose;
  std::string masked_destination;
};

enum class CheckOutcome : std::uint8_t {
  kVerified,   // the code was right; the challenge is consumed
  kWrongCode,  // attempts_left more checks are allowed
  kExpired,    // the code's time is up
  kLocked,     // max_checks reached; the correct code is refused too
  kUnknown,    // no such challenge, or already used
};
[[nodiscard]] std::string_view check_outcome_name(CheckOutcome outcome) noexcept;

// Proof that an identifier was verified: made only by a successful Verifier::check(), carries no
// plaintext, and is spent once used. It cannot be copied; moving it leaves the source spent, so
// Registry::link(), which takes it by value, accepts each proof once.
class VerifiedIdentifier {
 public:
  VerifiedIdentifier(VerifiedIdentifier&& other) noexcept { take(other); }
  VerifiedIdentifier& operator=(VerifiedIdentifier&& other) noexcept {
    if (this != &other) take(other);
    return *this;
  }
  VerifiedIdentifier(const VerifiedIdentifier&) = delete;
  VerifiedIdentifier& operator=(const VerifiedIdentifier&) = delete;

  // True once moved from: the proof has been handed on (or used) and proves nothing here.
  [[nodiscard]] bool spent() const noexcept { return spent_; }

  [[nodiscard]] Channel channel() const noexcept { return channel_; }
  [[nodiscard]] const BlindIndex& index() const noexcept { return index_; }
  [[nodiscard]] Purpose purpose() const noexcept { return purpose_; }
  [[nodiscard]] PhoneType phone_type() const noexcept { return phone_type_; }
  [[nodiscard]] std::string_view region() const noexcept { return {region_.data(), 2}; }
  [[nodiscard]] Timestamp verified_at() const noexcept { return verified_at_; }
  // For an email: whether it was parsed with provider canonicalization (see EmailAddress).
  [[nodiscard]] bool provider_canonical() const noexcept { return provider_canonical_; }

 private:
  friend class Verifier;
  // `purpose` is the one the check was made for, which the matching tag proves.
  VerifiedIdentifier(const ChallengeRecord& record, Purpose purpose, Timestamp now);
  void take(VerifiedIdentifier& other) noexcept {
    channel_ = other.channel_;
    index_ = other.index_;
    purpose_ = other.purpose_;
    phone_type_ = other.phone_type_;
    region_ = other.region_;
    verified_at_ = other.verified_at_;
    provider_canonical_ = other.provider_canonical_;
    spent_ = std::exchange(other.spent_, true);
  }
  Channel channel_ = Channel::kPhone;
  BlindIndex index_;
  Purpose purpose_ = Purpose::kSignup;
  PhoneType phone_type_ = PhoneType::kUnknown;
  std::array<char, 2> region_{};
  Timestamp verified_at_{};
  bool provider_canonical_ = false;
  bool spent_ = false;
};

struct CheckResult {
  CheckOutcome outcome = CheckOutcome::kUnknown;
  int attempts_left = 0;                       // meaningful for kWrongCode
  std::optional<VerifiedIdentifier> verified;  // set iff outcome == kVerified
};

// The one answer an end user should see for any CheckOutcome: "verified" for kVerified and
// "invalid_or_expired_code" for every other outcome, so that the answer does not tell an attacker
// whether a challenge exists, expired or is locked. The embedding backend logs the outcome itself.
[[nodiscard]] std::string_view public_answer(CheckOutcome outcome) noexcept;

class Verifier {
 public:
  // Validates `config` (kInvalidConfig) and derives its subkeys from `ring` (kKeyUnavailable).
  // New challenges use the ring's current key version; challenges started under an older version
  // the ring still holds are checked and resent with that version's keys.
  // `store`, `sender` and `clock` are not owned and must outlive the Verifier.
  static Result<Verifier> create(const VerifierConfig& config, const KeyRing& ring, Store& store,
                                 Sender& sender, const Clock& clock);

  // Creates a challenge for `identifier` and sends it a new code.
  // Errors: kInvalidArgument (not a Purpose), kPhoneTypeNotAllowed (number type not in
  // sms_phone_types: nothing sent), kRateLimited (max_sends_per_hour reached),
  // kDeliveryFailed/kUnavailable from the sender (the challenge is removed), store errors.
  Result<Challenge> start(const Identifier& identifier, Purpose purpose);

  // Sends a new code for a live challenge; the old code stops working; attempts already charged
  // stay charged; the expiry restarts. Errors: kInvalidChallengeId, kChallengeNotFound (unknown,
  // used, expired or locked), kIdentifierMismatch (not the identifier the challenge was started
  // for), kResendTooSoon (within resend_cooldown of the last send, taken as expires_at - code_ttl:
  // the cooldown assumes code_ttl has not changed since), kRateLimited, sender errors (the
  // challenge is then removed: its old code is already void and the new one never arrived).
  // Two resends racing on one challenge may both send; each counts against max_sends_per_hour.
  Result<Challenge> resend(std::string_view challenge_id, const Identifier& identifier);

  // Checks `code` against the challenge, for `purpose`: the purpose the caller is about to act on
  // (a login handler passes kLogin). The tag covers the purpose, so a code sent for another
  // purpose is a wrong code (and is charged). A code that is not exactly code_length ASCII digits
  // is kInvalidCode, an unknown purpose kInvalidArgument, a malformed id kInvalidChallengeId: none
  // of these charges an attempt or changes anything stored. Otherwise the outcome is in the
  // CheckResult; only store failures are errors.
  Result<CheckResult> check(std::string_view challenge_id, std::string_view code, Purpose purpose);

  [[nodiscard]] const VerifierConfig& config() const noexcept { return config_; }

  Verifier(Verifier&&) noexcept = default;
  Verifier& operator=(Verifier&&) noexcept = default;
  ~Verifier();

 private:
  Verifier(const VerifierConfig& config, BlindIndexer indexer, SecretBytes tag_key,
           SecretBytes counter_key, Store& store, Sender& sender, const Clock& clock);
  // Keys of an older, still active master key version: a challenge started under it before a
  // rotation can still be checked and resent (new challenges always use the current version).
  struct OlderVersion {
    BlindIndexer indexer;
    SecretBytes tag_key;
  };
  Result<Challenge> send_new_code(const Identifier& identifier, const ChallengeRecord& base,
                                  bool reissue, const SecretBytes& tag_key);
  // The code-tag key of `version`, or nullptr if the ring did not hold it.
  [[nodiscard]] const SecretBytes* tag_key_for(std::uint32_t version) const noexcept;
  VerifierConfig config_;
  BlindIndexer indexer_;
  SecretBytes tag_key_;
  std::vector<OlderVersion> older_;
  SecretBytes counter_key_;
  Store* store_;
  Sender* sender_;
  const Clock* clock_;
};

}  // namespace veribind
