#include "veribind/verifier.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>

#include "internal/code_tag.hpp"
#include "internal/counter_key.hpp"
#include "internal/keyed_hash.hpp"
#include "internal/sodium.hpp"
#include "verify/internal/send_limiter.hpp"
#include "verify/internal/window.hpp"

namespace veribind {

static_assert(VerifierConfig::kMaxCodeLength == internal::kMaxCodeDigits);

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

using internal::CounterKind;

// Longest client key accepted (an IPv6 address with zone, a device id, a hash of either).
constexpr std::size_t kMaxClientKeyBytes = 256;
constexpr std::size_t kMaxLocaleBytes = 16;

Status validate_context(const RequestContext& context) {
  if (context.client_key.size() > kMaxClientKeyBytes) {
    return {ErrorCode::kInputTooLong, "a client key is at most 256 bytes"};
  }
  if (context.locale.size() > kMaxLocaleBytes) {
    return {ErrorCode::kInputTooLong, "a locale is at most 16 bytes"};
  }
  for (const char c : context.locale) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!allowed) return {ErrorCode::kInvalidArgument, "a locale is letters, digits and '-'"};
  }
  return Status::ok();
}

}  // namespace

VerifiedIdentifier::VerifiedIdentifier(const ChallengeRecord& record, Purpose purpose,
                                       Timestamp now)
    : channel_(record.channel),
      index_(record.index),
      purpose_(purpose),
      phone_type_(record.phone_type),
      region_(record.region),
      verified_at_(now),
      provider_canonical_(record.provider_canonical) {}

Result<Verifier> Verifier::create(const VerifierConfig& config, const KeyRing& ring,
                                  VerificationStore& store, Sender& sender, const Clock& clock,
                                  VerificationMetrics* metrics) {
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
                    std::move(counter_key).value(), store, sender, clock, metrics);
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
                   SecretBytes counter_key, VerificationStore& store, Sender& sender,
                   const Clock& clock, VerificationMetrics* metrics)
    : config_(config),
      indexer_(std::move(indexer)),
      tag_key_(std::move(tag_key)),
      counter_key_(std::move(counter_key)),
      decoy_key_(SecretBytes::random(crypto_shorthash_siphashx24_KEYBYTES)),
      store_(&store),
      sender_(&sender),
      clock_(&clock),
      metrics_(metrics) {}

Verifier::~Verifier() = default;

bool Verifier::region_allowed(std::string_view region) const {
  const auto listed = [region](const std::vector<std::string>& list) {
    return std::find(list.begin(), list.end(), region) != list.end();
  };
  if (listed(config_.denied_regions)) return false;
  return config_.allowed_regions.empty() || listed(config_.allowed_regions);
}

Result<Challenge> Verifier::start(const Identifier& identifier, Purpose purpose,
                                  const RequestContext& context) {
  if (!is_valid_purpose(purpose)) return Status(ErrorCode::kInvalidArgument, "unknown purpose");
  if (Status s = validate_context(context); !s) return s;
  ChallengeRecord record;
  record.id = ChallengeId::random();
  record.index = indexer_.compute(identifier);
  record.purpose = purpose;
  record.channel = identifier.channel();
  if (const PhoneNumber* phone = identifier.phone()) {
    record.phone_type = phone->type();
    record.region = {phone->region()[0], phone->region()[1]};
    record.calling_code = static_cast<std::uint16_t>(phone->calling_code());
  }
  if (const EmailAddress* email = identifier.email()) {
    record.provider_canonical = email->provider_canonical();
  }
  record.attempts = 0;
  record.max_attempts = static_cast<std::uint8_t>(config_.max_checks);
  return send_new_code(identifier, record, /*reissue=*/false, context, tag_key_);
}

Result<Challenge> Verifier::resend(std::string_view challenge_id, const Identifier& identifier,
                                   const RequestContext& context) {
  auto id = ChallengeId::parse(challenge_id);
  if (!id) return id.status();
  if (Status s = validate_context(context); !s) return s;
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
  ChallengeRecord base = *record;
  Timestamp latest_expiry = Timestamp::max();
  if (record->index.key_version != indexer_.key_version()) {
    // A challenge from before a rotation: the limits are the identifier's current ones (counted
    // under its current index), and a resend never extends its life, so that it cannot be kept
    // alive past the retirement of its key version.
    base.index = indexer_.compute(identifier);
    latest_expiry = record->expires_at;
  }
  return send_new_code(identifier, base, /*reissue=*/true, context, *tag_key, latest_expiry);
}

// Every request runs the same two store operations whatever its outcome: one read of the
// counters its limits consult and one atomic write of the challenge with every counter step
// (a refused start stores a challenge too). What varies is the delta added (0 once the request is
// refused, so that a refused request never spends a later budget), the challenge's attempts and
// the verdict.
Result<Challenge> Verifier::send_new_code(const Identifier& identifier, const ChallengeRecord& base,
                                          bool reissue, const RequestContext& context,
                                          const SecretBytes& tag_key, Timestamp latest_expiry) {
  const Timestamp now = clock_->now();
  Refusal static_refusal;
  if (base.channel == Channel::kPhone) {
    if (!config_.sms_phone_types.contains(base.phone_type)) {
      static_refusal.limit = Limit::kPhoneType;
    } else if (!region_allowed({base.region.data(), 2})) {
      static_refusal.limit = Limit::kRegion;
    }
  }
  const internal::SendLimiter limiter(config_, counter_key_);
  internal::SendLimiter::Plan plan = limiter.plan(base, static_refusal, context, now);
  std::array<CounterState, internal::SendLimiter::kSteps> counts{};
  // The identifier whose lock applies: the one the counters are kept for (for a resend of a
  // challenge from before a rotation, its current index).
  auto failures = store_->read_counters(base.index, plan.keys_to_read(),
                                        std::span(counts.data(), plan.reads), now);
  if (!failures) return failures.status();
  limiter.decide(plan, *failures, std::span<const CounterState>(counts.data(), plan.reads));
  const Refusal refusal = plan.refusal;

  ChallengeRecord record = base;
  record.expires_at = std::min(now + duration_cast<milliseconds>(config_.code_ttl), latest_expiry);
  CodeBuffer code;
  generate_code(code.digits.data(), config_.code_length);
  const std::string_view code_text(code.digits.data(),
                                   static_cast<std::size_t>(config_.code_length));
  record.code_tag = internal::compute_code_tag(tag_key, record.id, record.purpose, code_text);
  // A refused start stores a challenge as a sent one is stored, attempts included, but under a
  // decoy tag that no code's tag can match: a PRF of the challenge id under a key drawn for this
  // Verifier and never kept anywhere (a match would be a 2^-128 collision). A check of it is
  // charged, counted and answered as a wrong code, exactly like a live challenge's. Both paths
  // compute the decoy.
  std::array<std::uint8_t, ChallengeRecord::kTagBytes> decoy_tag;
  static_assert(ChallengeRecord::kTagBytes == crypto_shorthash_siphashx24_BYTES);
  crypto_shorthash_siphashx24(decoy_tag.data(), record.id.bytes.data(), record.id.bytes.size(),
                              decoy_key_.reveal().data());
  if (refusal && !reissue) record.code_tag = decoy_tag;

  // What the sender gets, sent or not: a refused request hands it to send_decoy(), which does
  // the work send() does on this thread and delivers nothing.
  // A refused resend leaves the challenge as it was, expiry included.
  Challenge answer{
      record.id.to_string(), (reissue && refusal) ? base.expires_at : record.expires_at,
      record.channel,        record.purpose,
      identifier.masked(),   refusal};
  const Delivery delivery{record.channel, identifier.canonical(), answer.masked_destination,
                          code_text,      record.purpose,         answer.expires_at,
                          answer.id,      context.locale};
  // `delivery` views `answer`'s strings: it is moved out only once the sender is done.
  const auto refused = [&](const Refusal& why) {
    sender_->send_decoy(delivery);
    answer.refusal = why;
    return std::move(answer);
  };

  if (reissue) {
    if (refusal) {  // the challenge stays as it was; the counters still count
      if (Status s = store_->add_to_counters(plan.counter_writes(), now); !s) return s;
      return refused(refusal);
    }
    auto replaced = store_->reissue_challenge(record.id, record.code_tag, record.expires_at,
                                              plan.counter_writes(), now);
    if (!replaced) return replaced.status();
    if (!*replaced) return Status(ErrorCode::kChallengeNotFound, "no live challenge with that id");
  } else {
    // Stored before it is sent, so a fast user never checks a code the store does not know yet.
    if (Status s = store_->create_challenge(record, plan.counter_writes(), now); !s) return s;
  }
  if (refusal) return refused(refusal);
  // A concurrent request took the last place between the read and the write: this one is
  // refused after all. Its challenge stays stored with a code that is never sent, which nobody
  // can know: guesses at it are charged like any other.
  if (const Refusal raced = limiter.recheck(plan)) {
    // The stored challenge holds this code's tag: the decoy gets another code (drawn over it in
    // place), so that no sender ever sees one that verifies.
    generate_code(code.digits.data(), config_.code_length);
    return refused(raced);
  }

  if (Status s = sender_->send(delivery); !s) {
    // An undelivered code must not stay checkable. Best effort: the error returned is the
    // sender's, and an orphan left by a failing store expires anyway.
    (void)store_->consume_challenge(record.id);
    return s;
  }
  if (metrics_ != nullptr) metrics_->on_send(record.calling_code, now);
  return answer;
}

Result<CheckResult> Verifier::check(std::string_view challenge_id, std::string_view code,
                                    Purpose purpose, const RequestContext& context) {
  auto id = ChallengeId::parse(challenge_id);
  if (!id) return id.status();
  if (Status s = config_.validate_code(code); !s) return s;
  if (!is_valid_purpose(purpose)) return Status(ErrorCode::kInvalidArgument, "unknown purpose");
  if (Status s = validate_context(context); !s) return s;

  const Timestamp now = clock_->now();
  CheckResult result;
  if (!context.client_key.empty()) {
    const internal::Window w = internal::window_of(now, config_.client_window);
    CounterUpdate checks{internal::counter_key(counter_key_, CounterKind::kClientChecks, w.number,
                                               internal::bytes_of(context.client_key)),
                         1, w.end, CounterState{}};
    if (Status s = store_->add_to_counters(std::span(&checks, 1), now); !s) return s;
    if (checks.after.count > config_.client_checks_per_window) {
      result.outcome = CheckOutcome::kRateLimited;
      result.refusal = Refusal{Limit::kClientChecks, checks.after.window_end};
      return result;
    }
  }

  // The one atomic step, before any compare: the attempt is charged and the identifier's failure
  // counted (NIST SP 800-63B 5.2.2); a right code takes the failure back when it consumes.
  auto charged =
      store_->charge_attempt(*id, now, now + duration_cast<milliseconds>(config_.failure_window));
  if (!charged) return charged.status();
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
  const auto max_failures = static_cast<std::uint64_t>(config_.max_failed_checks);
  // The count includes this check; without it, the failures before it.
  const std::uint64_t failures = charged->failures.count;
  if (!match) {
    if (failures >= max_failures) {
      result.outcome = CheckOutcome::kLocked;
      result.refusal = Refusal{Limit::kIdentifierLocked, charged->failures.window_end};
      return result;
    }
    result.outcome = CheckOutcome::kWrongCode;
    result.attempts_left = record.max_attempts - record.attempts;
    return result;
  }
  // The right code: refused while the identifier is locked (the attempt and its count stay).
  if (failures - 1 >= max_failures) {
    result.outcome = CheckOutcome::kLocked;
    result.refusal = Refusal{Limit::kIdentifierLocked, charged->failures.window_end};
    return result;
  }
  auto consumed = store_->consume_challenge(record.id);  // also clears the failure count
  if (!consumed) return consumed.status();
  if (!*consumed) {  // a concurrent check with the same code won the race
    result.outcome = CheckOutcome::kUnknown;
    return result;
  }
  if (metrics_ != nullptr) metrics_->on_verified(record.calling_code, now);
  result.outcome = CheckOutcome::kVerified;
  result.verified.emplace(VerifiedIdentifier(record, purpose, now));
  return result;
}

Result<std::optional<ChallengeRecord>> Verifier::live_challenge(std::string_view challenge_id) {
  auto id = ChallengeId::parse(challenge_id);
  if (!id) return id.status();
  auto found = store_->find_challenge(*id);
  if (!found) return found.status();
  if (!found->has_value()) return std::optional<ChallengeRecord>();
  const ChallengeRecord& r = **found;
  if (clock_->now() >= r.expires_at || r.attempts >= r.max_attempts) {
    return std::optional<ChallengeRecord>();
  }
  return found;
}

Result<std::size_t> Verifier::live_challenges(std::uint32_t key_version) {
  return store_->live_challenges(key_version, clock_->now());
}

}  // namespace veribind
