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
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "veribind/blind_index.hpp"
#include "veribind/clock.hpp"
#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/metrics.hpp"
#include "veribind/purpose.hpp"
#include "veribind/result.hpp"
#include "veribind/sender.hpp"
#include "veribind/verification_store.hpp"

namespace veribind {
// The abuse limits, each store-backed so that it holds across nodes. Defaults follow NIST SP
// 800-63B 5.2.2 and the OWASP cheat sheets; every number is configurable and validated.
struct VerifierConfig {
  static constexpr int kMinCodeLength = 4;
  static constexpr int kMinStrongCodeLength = 6;
  static constexpr int kMaxCodeLength = 10;

  int code_length = 6;            // 4-5 only with allow_weak_codes; at most 10
  bool allow_weak_codes = false;  // explicit opt-in to 4- and 5-digit codes
  std::chrono::seconds code_ttl{600};
  int max_checks = 5;  // per challenge, 1..100
  // Per identifier, start() and resend() together: at most one send per resend_cooldown, and at
  // most max_sends_per_hour sends in any rolling hour.
  std::chrono::seconds resend_cooldown{30};
  int max_sends_per_hour = 5;
  // Per identifier, across all its challenges (NIST SP 800-63B 5.2.2): once max_failed_checks
  // wrong codes are counted, the identifier is locked (every check and start refused) until
  // failure_window has passed since the first counted failure. A verified code resets the count.
  int max_failed_checks = 100;  // 1..1000
  std::chrono::seconds failure_window{std::chrono::hours(24)};

  // SMS-pumping guards. Phone types a code may be sent to by SMS; regions a code may be sent to
  // (ISO 3166-1 alpha-2, upper case; an empty allow list allows every region not denied).
  PhoneTypeSet sms_phone_types = PhoneTypeSet::sms_default();
  std::vector<std::string> allowed_regions;
  std::vector<std::string> denied_regions;
  // Sends per calling code per clock hour: calling_code_budgets[code] if present, else
  // default_calling_code_budget. 0 means no limit.
  std::uint32_t default_calling_code_budget = 1000;
  std::map<int, std::uint32_t> calling_code_budgets;
  // Sends per clock hour in all; 0 means no limit.
  std::uint32_t global_sends_per_hour = 10000;

  // Per client key (RequestContext::client_key): starts (with resends) and checks per
  // client_window. Ignored for requests without a client key.
  std::uint32_t client_starts_per_window = 20;
  std::uint32_t client_checks_per_window = 60;
  std::chrono::seconds client_window{std::chrono::minutes(15)};

  // kInvalidConfig with the offending field named, or ok.
  [[nodiscard]] Status validate() const;
  // kInvalidCode unless `code` is exactly code_length ASCII digits. check() applies it first; a
  // caller may apply it earlier to refuse input before touching anything.
  [[nodiscard]] Status validate_code(std::string_view code) const;
};

// The limit that refused a request. Stable names: limit_name().
enum class Limit : std::uint8_t {
  kNone = 0,
  kPhoneType = 1,          // number type not in sms_phone_types
  kRegion = 2,             // region not in allowed_regions, or in denied_regions
  kIdentifierLocked = 3,   // max_failed_checks reached for the identifier
  kResendCooldown = 4,     // within resend_cooldown of the last send to the identifier
  kIdentifierSends = 5,    // max_sends_per_hour reached for the identifier
  kCallingCodeBudget = 6,  // the calling code's sends this hour
  kGlobalBudget = 7,       // all sends this hour
  kClientStarts = 8,       // the client key's starts this window
  kClientChecks = 9,       // the client key's checks this window
};
[[nodiscard]] std::string_view limit_name(Limit limit) noexcept;

// Why a request was refused, for the embedding backend's logs; never for the end user (see
// public_answer()). retry_at is when the limit lifts, or Timestamp{} if waiting will not help.
struct Refusal {
  Limit limit = Limit::kNone;
  Timestamp retry_at{};

  explicit operator bool() const noexcept { return limit != Limit::kNone; }
};

// What the embedding backend knows about the request beyond its content.
struct RequestContext {
  // The end user's client: an IP address, a device id. Only a keyed hash of it is stored. Empty:
  // no per-client limits for this request.
  std::string_view client_key;
  // The language the message is written in ("en", "ur", "pt-BR"): at most 16 bytes of letters,
  // digits and '-'. Empty: the sender's default. Passed to the Sender in Delivery::locale.
  std::string_view locale = {};
};

// What start() and resend() return. `id`, `expires_at`, `channel`, `purpose` and
// `masked_destination` are the same whether or not a code was sent, and safe to show the end
// user; `refusal` is for logs only. A refused start() still returns a well-formed id, of a
// challenge that no code can ever verify but that checks exactly like a live one (each check is
// charged, counted against the identifier and answered as a wrong code), so that neither the
// answer nor a later check tells the identifier's state.
struct Challenge {
  std::string id;  // ChallengeId::to_string()
  Timestamp expires_at;
  Channel channel;
  Purpose purpose;
  std::string masked_destination;
  Refusal refusal;  // empty if a code was sent

  [[nodiscard]] bool sent() const noexcept { return !refusal; }
};

enum class CheckOutcome : std::uint8_t {
  kVerified,     // the code was right; the challenge is consumed
  kWrongCode,    // attempts_left more checks are allowed
  kExpired,      // the code's time is up
  kLocked,       // max_checks reached, or the identifier is locked; the correct code is refused
  kUnknown,      // no such challenge, or already used
  kRateLimited,  // the client key's checks this window: nothing was charged or compared
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
  Refusal refusal;  // kIdentifierLocked (with kLocked) or kClientChecks (with kRateLimited)
};

// The uniform answers for the end user. The embedding backend logs the outcome or refusal itself.
// - Any start() or resend() that returned a Challenge: "code_sent" ("if the number can receive
//   codes, one is on its way"), whether the code was sent, refused by a limit, or the identifier
//   is bound, unbound or locked.
// - check(): "verified" for kVerified, "invalid_or_expired_code" for every other outcome, so that
//   the answer does not tell whether a challenge exists, expired, is locked or was limited.
[[nodiscard]] std::string_view public_answer(const Challenge& challenge) noexcept;
[[nodiscard]] std::string_view public_answer(CheckOutcome outcome) noexcept;

class Verifier {
 public:
  // Validates `config` (kInvalidConfig) and derives its subkeys from `ring` (kKeyUnavailable).
  // New challenges use the ring's current key version; challenges started under an older version
  // the ring still holds are checked and resent with that version's keys.
  // `store`, `sender`, `clock` and `metrics` (optional) are not owned and must outlive the
  // Verifier.
  static Result<Verifier> create(const VerifierConfig& config, const KeyRing& ring,
                                 VerificationStore& store, Sender& sender, const Clock& clock,
                                 VerificationMetrics* metrics = nullptr);

  // Creates a challenge for `identifier` and sends it a new code, unless a limit refuses: then no
  // code is sent, the returned Challenge carries the refusal, and its id names a challenge that
  // can never verify (its tag is random) but checks like any live one. Either way start() does
  // the same work: two store operations (one read of
  // the counters, one atomic write of the challenge with the counters), the same keyed hashes;
  // only what is added to the counters, and send() or send_decoy() on the sender, differ. Limits,
  // in the order applied: sms_phone_types and region lists (nothing to wait for), the client key's
  // starts, the identifier's lock, resend cooldown and sends per hour, the calling code's budget,
  // the global budget. A refused request still counts against the client key and against the limit
  // that refused it, never against later ones. Errors: kInvalidArgument (not a Purpose),
  // the sender's own errors (the challenge is then removed): kDeliveryFailed, kUnavailable, and
  // from the Outbox kOutboxFull (map it to the same public answer as any start: it is told only
  // for codes that would have been sent, so a backend should log it and answer as usual) and
  // kInternal; store errors.
  Result<Challenge> start(const Identifier& identifier, Purpose purpose,
                          const RequestContext& context = {});

  // Sends a new code for a live challenge under the same limits as start(); the old code stops
  // working; attempts already charged stay charged; the expiry restarts. A refused resend leaves
  // the challenge as it was and returns it with the refusal. Errors: kInvalidChallengeId,
  // kChallengeNotFound (unknown, used, expired or locked), kIdentifierMismatch (not the
  // identifier the challenge was started for), sender errors (the challenge is then removed: its
  // old code is already void and the new one never arrived).
  Result<Challenge> resend(std::string_view challenge_id, const Identifier& identifier,
                           const RequestContext& context = {});

  // Checks `code` against the challenge, for `purpose`: the purpose the caller is about to act on
  // (a login handler passes kLogin). The tag covers the purpose, so a code sent for another
  // purpose is a wrong code (and is charged). A code that is not exactly code_length ASCII digits
  // is kInvalidCode, an unknown purpose kInvalidArgument, a malformed id kInvalidChallengeId: none
  // of these charges an attempt or changes anything stored. Otherwise the outcome is in the
  // CheckResult; only store failures are errors. Beyond the challenge's own max_checks: a wrong
  // code counts against the identifier's max_failed_checks, and once that is reached every check
  // of the identifier, the right code included, is kLocked; a client key over its checks per
  // window gets kRateLimited before anything is charged.
  Result<CheckResult> check(std::string_view challenge_id, std::string_view code, Purpose purpose,
                            const RequestContext& context = {});

  // The challenge while a check could still verify it (not expired, attempts left), or nullopt.
  // Reads the store, charges nothing. kInvalidChallengeId; store errors.
  Result<std::optional<ChallengeRecord>> live_challenge(std::string_view challenge_id);

  // How many challenges started under master key version `key_version` are still live.
  Result<std::size_t> live_challenges(std::uint32_t key_version);

  [[nodiscard]] const VerifierConfig& config() const noexcept { return config_; }

  Verifier(Verifier&&) noexcept = default;
  Verifier& operator=(Verifier&&) noexcept = default;
  ~Verifier();

 private:
  Verifier(const VerifierConfig& config, BlindIndexer indexer, SecretBytes tag_key,
           SecretBytes counter_key, VerificationStore& store, Sender& sender, const Clock& clock,
           VerificationMetrics* metrics);
  // Keys of an older, still active master key version: a challenge started under it before a
  // rotation can still be checked and resent (new challenges always use the current version).
  struct OlderVersion {
    BlindIndexer indexer;
    SecretBytes tag_key;
  };
  Result<Challenge> send_new_code(const Identifier& identifier, const ChallengeRecord& base,
                                  bool reissue, const RequestContext& context,
                                  const SecretBytes& tag_key,
                                  Timestamp latest_expiry = Timestamp::max());
  [[nodiscard]] bool region_allowed(std::string_view region) const;
  // The code-tag key of `version`, or nullptr if the ring did not hold it.
  [[nodiscard]] const SecretBytes* tag_key_for(std::uint32_t version) const noexcept;
  VerifierConfig config_;
  BlindIndexer indexer_;
  SecretBytes tag_key_;
  SecretBytes counter_key_;
  SecretBytes decoy_key_;  // random, this Verifier's only: the tags of refused starts
  VerificationStore* store_;
  Sender* sender_;
  const Clock* clock_;
  VerificationMetrics* metrics_;
  std::vector<OlderVersion> older_;
};

}  // namespace veribind
