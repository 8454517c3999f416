#include "veribind/verifier.hpp"

#include <sodium.h>

#include <array>
#include <string>

#include "internal/code_tag.hpp"
#include "internal/keyed_hash.hpp"
#include "internal/sodium.hpp"

namespace veribind {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Uniform decimal digits. randombytes_uniform(upper) has no modulo bias for any upper < 2^32, so
// one draw covers a code of up to 9 digits and a 10-digit code takes two draws of 5. Few draws
// matter: each one is a getrandom() system call in libsodium 1.0.18.
void generate_code(char* out, int length) noexcept {
  const int chunk = length > 9 ? 5 : length;
  for (int done = 0; done < length; done += chunk) {
    std::uint32_t upper = 1;
    for (int i = 0; i < chunk; ++i) upper *= 10;
    std::uint32_t value = randombytes_uniform(upper);
    for (int i = chunk - 1; i >= 0; --i) {
      out[done + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  }
}

// Wipes a stack buffer that held a code on every path out.
struct CodeBuffer {
  std::array<char, VerifierConfig::kMaxCodeLength> digits{};
  CodeBuffer() = default;
  CodeBuffer(const CodeBuffer&) = delete;
  CodeBuffer& operator=(const CodeBuffer&) = delete;
  ~CodeBuffer() { sodium_memzero(digits.data(), digits.size()); }
};

}  // namespace

std::string_view check_outcome_name(CheckOutcome outcome) noexcept {
  switch (outcome) {
    case CheckOutcome::kVerified: return "verified";
    case CheckOutcome::kWrongCode: return "wrong_code";
    case CheckOutcome::kExpired: return "expired";
    case CheckOutcome::kLocked: return "locked";
    case CheckOutcome::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string_view public_answer(CheckOutcome outcome) noexcept {
  return outcome == CheckOutcome::kVerified ? "verified" : "invalid_or_expired_code";
}

Status VerifierConfig::validate() const {
  if (code_length < kMinCodeLength || code_length > kMaxCodeLength) {
    return {ErrorCode::kInvalidConfig, "code_length must be 4..10"};
  }
  if (code_length < kMinStrongCodeLength && !allow_weak_codes) {
    return {ErrorCode::kInvalidConfig,
            "code_length below 6 needs allow_weak_codes (a 4-digit code is a 1-in-10^4 guess)"};
  }
  if (code_ttl < std::chrono::seconds(1) || code_ttl > std::chrono::hours(24)) {
    return {ErrorCode::kInvalidConfig, "code_ttl must be 1 s..24 h"};
  }
  if (max_checks < 1 || max_checks > 100) {
    return {ErrorCode::kInvalidConfig, "max_checks must be 1..100"};
  }
  if (resend_cooldown < std::chrono::seconds(0) || resend_cooldown >= code_ttl) {
    return {ErrorCode::kInvalidConfig, "resend_cooldown must be 0 s or more and below code_ttl"};
  }
  if (max_sends_per_hour < 1 || max_sends_per_hour > 1000) {
    return {ErrorCode::kInvalidConfig, "max_sends_per_hour must be 1..1000"};
  }
  if (sms_phone_types == PhoneTypeSet()) {
    return {ErrorCode::kInvalidConfig, "sms_phone_types is empty: no SMS could ever be sent"};
  }
  return Status::ok();
}

Status VerifierConfig::validate_code(std::string_view code) const {
  bool digits_only = code.size() == static_cast<std::size_t>(code_length);
  for (char c : code) digits_only = digits_only && c >= '0' && c <= '9';
  if (!digits_only) {
    return {ErrorCode::kInvalidCode, "a code is " + std::to_string(code_length) + " digits"};
  }
  return Status::ok();
}

VerifiedIdentifier::VerifiedIdentifier(const ChallengeRecord& record, Purpose purpose,
                                       Timestamp now)
    : channel_(record.channel),
      index_(record.index),
      purpose_(purpose),
      phone_type_(record.phone_type),
      region_(record.region),
      verified_at_(now),
      provider_canonical_(record.provider_canonical) {}

Result<Verifier> Verifier::create(const VerifierConfig& config, const KeyRing& ring, Store& store,
                                  Sender& sender, const Clock& clock) {
  internal::ensure_sodium();
  if (Status s = config.validate(); !s) return s;
  auto indexer = BlindIndexer::create(ring);
  if (!indexer) return indexer.status();
  auto tag_key = ring.derive(KeyPurpose::kCodeTag, ring.current_version());
  if (!tag_key) return tag_key.status();
  static_assert(KeyRing::kSubkeyBytes >= crypto_shorthash_siphashx24_KEYBYTES);
  auto counter_key = ring.derive(KeyPurpose::kCounter, ring.current_version());
  if (!counter_key) return counter_key.status();
  Verifier verifier(config, std::move(indexer).value(), std::move(tag_key).value(),
                    std::move(counter_key).value(), store, sender, clock);
  for (std::uint32_t version : ring.versions()) {
    if (version == ring.current_version()) continue;
    auto older_indexer = BlindIndexer::create(ring, version);
    if (!older_indexer) return older_indexer.status();
    auto older_tag_key = ring.derive(KeyPurpose::kCodeTag, version);
    if (!older_tag_key) return older_tag_key.status();
    verifier.older_.push_back({std::move(older_indexer).value(), std::move(older_tag_key).value()});
  }
  return verifier;
}

const SecretBytes* Verifier::tag_key_for(std::uint32_t version) const noexcept {
  if (version == indexer_.key_version()) return &tag_key_;
  for (const OlderVersion& older : older_) {
    if (older.indexer.key_version() == version) return &older.tag_key;
  }
  return nullptr;
}

Verifier::Verifier(const VerifierConfig& config, BlindIndexer indexer, SecretBytes tag_key,
                   SecretBytes counter_key, Store& store, Sender& sender, const Clock& clock)
    : config_(config),
      indexer_(std::move(indexer)),
      tag_key_(std::move(tag_key)),
      counter_key_(std::move(counter_key)),
      store_(&store),
      sender_(&sender),
      clock_(&clock) {}

Verifier::~Verifier() = default;

Result<Challenge> Verifier::start(const Identifier& identifier, Purpose purpose) {
  if (!is_valid_purpose(purpose)) return Status(ErrorCode::kInvalidArgument, "unknown purpose");
  if (const PhoneNumber* phone = identifier.phone();
      phone != nullptr && !config_.sms_phone_types.contains(phone->type())) {
    return Status(ErrorCode::kPhoneTypeNotAllowed,
                  std::string("codes are not sent to numbers of type ") +
                      std::string(phone_type_name(phone->type())));
  }
  ChallengeRecord record;
  record.id = ChallengeId::random();
  record.index = indexer_.compute(identifier);
  record.purpose = purpose;
  record.channel = identifier.channel();
  if (const PhoneNumber* phone = identifier.phone()) {
    record.phone_type = phone->type();
    record.region = {phone->region()[0], phone->region()[1]};
  }
  if (const EmailAddress* email = identifier.email()) {
    record.provider_canonical = email->provider_canonical();
  }
  record.attempts = 0;
  record.max_attempts = static_cast<std::uint8_t>(config_.max_checks);
  return send_new_code(identifier, record, /*reissue=*/false, tag_key_);
}

Result<Challenge> Verifier::resend(std::string_view challenge_id, const Identifier& identifier) {
  auto id = ChallengeId::parse(challenge_id);
  if (!id) return id.status();
  auto found = store_->find_challenge(*id);
  if (!found) return found.status();
  const Timestamp now = clock_->now();
  const std::optional<ChallengeRecord>& record = *found;
  if (!record || now >= record->expires_at || record->attempts >= record->max_attempts) {
    return Status(ErrorCode::kChallengeNotFound, "no live challenge with that id");
  }
  // A challenge started before a rotation keeps its own key version.
  const BlindIndexer* indexer = &indexer_;
  for (const OlderVersion& older : older_) {
    if (older.indexer.key_version() == record->index.key_version) indexer = &older.indexer;
  }
  const SecretBytes* tag_key = tag_key_for(record->index.key_version);
  const BlindIndex index = indexer->compute(identifier);
  if (tag_key == nullptr || index.key_version != record->index.key_version ||
      sodium_memcmp(index.value.data(), record->index.value.data(), index.value.size()) != 0) {
    return Status(ErrorCode::kIdentifierMismatch,
                  "the challenge was not started for this identifier");
  }
  // The last send is when the current expiry was set: expires_at - code_ttl.
  const Timestamp last_sent = record->expires_at - duration_cast<milliseconds>(config_.code_ttl);
  if (now < last_sent + duration_cast<milliseconds>(config_.resend_cooldown)) {
    return Status(ErrorCode::kResendTooSoon, "a code was sent moments ago; wait before resending");
  }
  return send_new_code(identifier, *record, /*reissue=*/true, *tag_key);
}

Result<Challenge> Verifier::send_new_code(const Identifier& identifier, const ChallengeRecord& base,
                                          bool reissue, const SecretBytes& tag_key) {
  const Timestamp now = clock_->now();
  // Per-identifier send budget: the counter key is a keyed hash of the blind index, so the
  // counters table links to nothing without the key.
  CounterKey counter;
  internal::keyed_blake2b(counter, counter_key_, {internal::bytes_of("sends"), base.index.value});
  auto sends = store_->increment_counter(counter, now + std::chrono::hours(1), now);
  if (!sends) return sends.status();
  if (*sends > static_cast<std::uint32_t>(config_.max_sends_per_hour)) {
    return Status(ErrorCode::kRateLimited,
                  "too many codes sent to this identifier this hour; retry later");
  }

  ChallengeRecord record = base;
  record.expires_at = now + duration_cast<milliseconds>(config_.code_ttl);
  CodeBuffer code;
  generate_code(code.digits.data(), config_.code_length);
  const std::string_view code_text(code.digits.data(),
                                   static_cast<std::size_t>(config_.code_length));
  record.code_tag = internal::compute_code_tag(tag_key, record.id, record.purpose, code_text);

  // Stored before it is sent, so a fast user never checks a code the store does not know yet.
  if (reissue) {
    auto replaced = store_->reissue_challenge(record.id, record.code_tag, record.expires_at, now);
    if (!replaced) return replaced.status();
    if (!*replaced) return Status(ErrorCode::kChallengeNotFound, "no live challenge with that id");
  } else if (Status s = store_->create_challenge(record); !s) {
    return s;
  }

  Challenge challenge{record.id.to_string(), record.expires_at, record.channel, record.purpose,
                      identifier.masked()};
  const Delivery delivery{record.channel, identifier.canonical(), challenge.masked_destination,
                          code_text,      record.purpose,         record.expires_at};
  if (Status s = sender_->send(delivery); !s) {
    // An undelivered code must not stay checkable. Best effort: the error returned is the
    // sender's, and an orphan left by a failing store expires anyway.
    (void)store_->consume_challenge(record.id);
    return s;
  }
  return challenge;
}

Result<CheckResult> Verifier::check(std::string_view challenge_id, std::string_view code,
                                    Purpose purpose) {
  auto id = ChallengeId::parse(challenge_id);
  if (!id) return id.status();
  if (Status s = config_.validate_code(code); !s) return s;
  if (!is_valid_purpose(purpose)) return Status(ErrorCode::kInvalidArgument, "unknown purpose");

  const Timestamp now = clock_->now();
  auto charged = store_->charge_attempt(*id, now);  // the one atomic step, before any compare
  if (!charged) return charged.status();
  CheckResult result;
  switch (charged->outcome) {
    case ChargeOutcome::kNotFound: result.outcome = CheckOutcome::kUnknown; return result;
    case ChargeOutcome::kExpired: result.outcome = CheckOutcome::kExpired; return result;
    case ChargeOutcome::kExhausted: result.outcome = CheckOutcome::kLocked; return result;
    case ChargeOutcome::kCharged: break;
  }
  const ChallengeRecord& record = charged->record;
  // The tag is computed for the caller's purpose: a code sent for another purpose cannot match. A
  // challenge is checked with the tag key of its own key version (an older one while it is still
  // in the ring, for challenges started before a rotation); under a version the ring no longer
  // holds it cannot match. Both stay wrong codes, and their attempts stay charged.
  const SecretBytes* tag_key = tag_key_for(record.index.key_version);
  const internal::CodeTag tag = internal::compute_code_tag(tag_key != nullptr ? *tag_key : tag_key_,
                                                           record.id, purpose, code);
  const bool match =
      tag_key != nullptr && sodium_memcmp(tag.data(), record.code_tag.data(), tag.size()) == 0;
  if (!match) {
    result.outcome = CheckOutcome::kWrongCode;
    result.attempts_left = record.max_attempts - record.attempts;
    return result;
  }
  auto consumed = store_->consume_challenge(record.id);
  if (!consumed) return consumed.status();
  if (!*consumed) {  // a concurrent check with the same code won the race
    result.outcome = CheckOutcome::kUnknown;
    return result;
  }
  result.outcome = CheckOutcome::kVerified;
  result.verified.emplace(VerifiedIdentifier(record, purpose, now));
  return result;
}

}  // namespace veribind
