#include "veribind/verifier.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>

#include "internal/code_tag.hpp"
#include "internal/counter_key.hpp"
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

using internal::CounterKind;

// Longest client key accepted (an IPv6 address with zone, a device id, a hash of either).
constexpr std::size_t kMaxClientKeyBytes = 256;

// An aligned window of `width` that holds `now`: its number and its end.
struct Window {
  std::uint64_t number;
  Timestamp end;
};
Window window_of(Timestamp now, std::chrono::seconds width) {
  const std::int64_t ms = now.time_since_epoch().count();
  const std::int64_t w = duration_cast<milliseconds>(width).count();
  const std::int64_t number = ms >= 0 ? ms / w : (ms - w + 1) / w;
  return {static_cast<std::uint64_t>(number), Timestamp(milliseconds((number + 1) * w))};
}

std::span<const std::uint8_t> code_bytes(const std::uint16_t& calling_code) {
  return {reinterpret_cast<const std::uint8_t*>(&calling_code), sizeof calling_code};
}

bool is_region_code(std::string_view r) {
  return r.size() == 2 && r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z';
}

Status validate_context(const RequestContext& context) {
  if (context.client_key.size() > kMaxClientKeyBytes) {
    return {ErrorCode::kInputTooLong, "a client key is at most 256 bytes"};
  }
  return Status::ok();
}

}  // namespace

std::string_view limit_name(Limit limit) noexcept {
  switch (limit) {
    case Limit::kNone: return "none";
    case Limit::kPhoneType: return "phone_type";
    case Limit::kRegion: return "region";
    case Limit::kIdentifierLocked: return "identifier_locked";
    case Limit::kResendCooldown: return "resend_cooldown";
    case Limit::kIdentifierSends: return "identifier_sends";
    case Limit::kCallingCodeBudget: return "calling_code_budget";
    case Limit::kGlobalBudget: return "global_budget";
    case Limit::kClientStarts: return "client_starts";
    case Limit::kClientChecks: return "client_checks";
  }
  return "none";
}

std::string_view check_outcome_name(CheckOutcome outcome) noexcept {
  switch (outcome) {
    case CheckOutcome::kVerified: return "verified";
    case CheckOutcome::kWrongCode: return "wrong_code";
    case CheckOutcome::kExpired: return "expired";
    case CheckOutcome::kLocked: return "locked";
    case CheckOutcome::kUnknown: return "unknown";
    case CheckOutcome::kRateLimited: return "rate_limited";
  }
  return "unknown";
}

std::string_view public_answer(const Challenge& /*challenge*/) noexcept { return "code_sent"; }

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
  if (max_failed_checks < 1 || max_failed_checks > 1000) {
    return {ErrorCode::kInvalidConfig, "max_failed_checks must be 1..1000"};
  }
  if (failure_window < std::chrono::minutes(1) || failure_window > std::chrono::hours(24 * 30)) {
    return {ErrorCode::kInvalidConfig, "failure_window must be 1 min..30 days"};
  }
  if (sms_phone_types == PhoneTypeSet()) {
    return {ErrorCode::kInvalidConfig, "sms_phone_types is empty: no SMS could ever be sent"};
  }
  for (const auto* list : {&allowed_regions, &denied_regions}) {
    for (const std::string& r : *list) {
      if (!is_region_code(r)) {
        return {ErrorCode::kInvalidConfig,
                "allowed_regions and denied_regions hold ISO 3166-1 alpha-2 codes in upper case"};
      }
    }
  }
  for (const std::string& r : allowed_regions) {
    if (std::find(denied_regions.begin(), denied_regions.end(), r) != denied_regions.end()) {
      return {ErrorCode::kInvalidConfig, "a region is both in allowed_regions and denied_regions"};
    }
  }
  for (const auto& [code, budget] : calling_code_budgets) {
    if (code < 1 || code > 999) {
      return {ErrorCode::kInvalidConfig, "calling_code_budgets keys are calling codes 1..999"};
    }
  }
  if (client_starts_per_window < 1 || client_checks_per_window < 1) {
    return {ErrorCode::kInvalidConfig,
            "client_starts_per_window and client_checks_per_window must be at least 1"};
  }
  if (client_window < std::chrono::seconds(1) || client_window > std::chrono::hours(24)) {
    return {ErrorCode::kInvalidConfig, "client_window must be 1 s..24 h"};
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
                                  Sender& sender, const Clock& clock,
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
                   SecretBytes counter_key, Store& store, Sender& sender, const Clock& clock,
                   VerificationMetrics* metrics)
    : config_(config),
      indexer_(std::move(indexer)),
      tag_key_(std::move(tag_key)),
      counter_key_(std::move(counter_key)),
      store_(&store),
      sender_(&sender),
      clock_(&clock),
      metrics_(metrics) {}

Verifier::~Verifier() = default;

// Counts one request of the client in the current client_window (an aligned window, so its end is
// the same for every node).
Result<CounterState> Verifier::count_client_request(internal::CounterKind kind,
                                                    std::string_view client_key, Timestamp now) {
  const Window w = window_of(now, config_.client_window);
  const CounterKey key =
      internal::counter_key(counter_key_, kind, w.number, internal::bytes_of(client_key));
  return store_->add_to_counter(key, 1, w.end, now);
}

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

// Every request runs every step below, in this order, whatever its outcome: the same store
// operations and keyed hashes. What varies is the delta added (0 once the request is refused, so
// that a refused request never spends a later budget) and the verdict.
Result<Refusal> Verifier::apply_send_limits(const ChallengeRecord& record, bool statically_allowed,
                                            const RequestContext& context, Timestamp now) {
  Refusal refusal;
  if (!statically_allowed) {
    refusal.limit =
        record.channel == Channel::kPhone && !config_.sms_phone_types.contains(record.phone_type)
            ? Limit::kPhoneType
            : Limit::kRegion;
  }
  const auto refuse = [&refusal](Limit limit, Timestamp retry_at) {
    if (!refusal) refusal = Refusal{limit, retry_at};
  };
  const auto delta = [&refusal]() -> std::uint32_t { return refusal ? 0 : 1; };
  const std::span<const std::uint8_t> index = record.index.value;

  // The client's starts count every request, refused or not: that is what they limit.
  if (!context.client_key.empty()) {
    auto starts = count_client_request(CounterKind::kClientStarts, context.client_key, now);
    if (!starts) return starts.status();
    if (starts->count > config_.client_starts_per_window) {
      refuse(Limit::kClientStarts, starts->window_end);
    }
  }

  // The identifier's lock: read only.
  {
    const CounterKey key =
        internal::counter_key(counter_key_, CounterKind::kIdentifierFailures, 0, index);
    auto failures = store_->add_to_counter(key, 0, {}, now);
    if (!failures) return failures.status();
    if (failures->count >= static_cast<std::uint32_t>(config_.max_failed_checks)) {
      refuse(Limit::kIdentifierLocked, failures->window_end);
    }
  }

  // Resend cooldown: a window of resend_cooldown opened by each admitted send (none if 0 s).
  if (config_.resend_cooldown > std::chrono::seconds(0)) {
    const CounterKey key =
        internal::counter_key(counter_key_, CounterKind::kIdentifierCooldown, 0, index);
    const std::uint32_t d = delta();
    auto sends = store_->add_to_counter(
        key, d, now + duration_cast<milliseconds>(config_.resend_cooldown), now);
    if (!sends) return sends.status();
    if (d == 1 && sends->count > 1) refuse(Limit::kResendCooldown, sends->window_end);
  }

  // Sends per rolling hour: this clock hour's count plus the previous one's stays within the
  // limit, which bounds every 60-minute span (it lies within two consecutive clock hours). The
  // price of being exact: whoever reaches the limit waits for the end of the next clock hour. A
  // count lives two hours, so that it can be read as the previous hour's; a refused request is
  // not counted, so that retrying does not push the wait further.
  const Window hour = window_of(now, std::chrono::hours(1));
  {
    const CounterKey previous =
        internal::counter_key(counter_key_, CounterKind::kIdentifierSends, hour.number - 1, index);
    const CounterKey current =
        internal::counter_key(counter_key_, CounterKind::kIdentifierSends, hour.number, index);
    const auto limit = static_cast<std::uint64_t>(config_.max_sends_per_hour);
    auto before = store_->add_to_counter(previous, 0, {}, now);
    if (!before) return before.status();
    auto so_far = store_->add_to_counter(current, 0, {}, now);
    if (!so_far) return so_far.status();
    const std::uint32_t d = before->count + std::uint64_t{so_far->count} < limit ? delta() : 0;
    auto sends = store_->add_to_counter(current, d, hour.end + std::chrono::hours(1), now);
    if (!sends) return sends.status();
    // A concurrent send may have taken the last place between the read and the add: the count
    // after the add decides (and keeps this request's place, erring towards refusing).
    if (d == 0 || before->count + std::uint64_t{sends->count} > limit) {
      // From hour.end, this hour is the previous one: room again then if it left some.
      refuse(Limit::kIdentifierSends,
             sends->count < limit ? hour.end : hour.end + std::chrono::hours(1));
    }
  }

  // The calling code's budget this clock hour (phones only).
  if (record.calling_code != 0) {
    const auto it = config_.calling_code_budgets.find(record.calling_code);
    const std::uint32_t budget =
        it != config_.calling_code_budgets.end() ? it->second : config_.default_calling_code_budget;
    if (budget > 0) {
      const CounterKey key = internal::counter_key(counter_key_, CounterKind::kCallingCodeSends,
                                                   hour.number, code_bytes(record.calling_code));
      const std::uint32_t d = delta();
      auto sends = store_->add_to_counter(key, d, hour.end, now);
      if (!sends) return sends.status();
      if (d == 1 && sends->count > budget) refuse(Limit::kCallingCodeBudget, hour.end);
    }
  }

  // The global budget this clock hour.
  if (config_.global_sends_per_hour > 0) {
    const CounterKey key =
        internal::counter_key(counter_key_, CounterKind::kGlobalSends, hour.number, {});
    const std::uint32_t d = delta();
    auto sends = store_->add_to_counter(key, d, hour.end, now);
    if (!sends) return sends.status();
    if (d == 1 && sends->count > config_.global_sends_per_hour) {
      refuse(Limit::kGlobalBudget, hour.end);
    }
  }
  return refusal;
}

Result<Challenge> Verifier::send_new_code(const Identifier& identifier, const ChallengeRecord& base,
                                          bool reissue, const RequestContext& context,
                                          const SecretBytes& tag_key, Timestamp latest_expiry) {
  const Timestamp now = clock_->now();
  const bool statically_allowed =
      base.channel != Channel::kPhone || (config_.sms_phone_types.contains(base.phone_type) &&
                                          region_allowed({base.region.data(), 2}));
  auto refusal = apply_send_limits(base, statically_allowed, context, now);
  if (!refusal) return refusal.status();

  ChallengeRecord record = base;
  record.expires_at = std::min(now + duration_cast<milliseconds>(config_.code_ttl), latest_expiry);
  CodeBuffer code;
  generate_code(code.digits.data(), config_.code_length);
  const std::string_view code_text(code.digits.data(),
                                   static_cast<std::size_t>(config_.code_length));
  record.code_tag = internal::compute_code_tag(tag_key, record.id, record.purpose, code_text);

  if (*refusal) {
    if (reissue) {  // the challenge stays as it was
      return Challenge{base.id.to_string(), base.expires_at,     base.channel,
                       base.purpose,        identifier.masked(), *refusal};
    }
    // A refused start stores a challenge too, as a sent one would be, but with no attempts
    // left: no code, not even a guessed one, can verify it.
    record.attempts = 0;
    record.max_attempts = 0;
    if (Status s = store_->create_challenge(record); !s) return s;
    return Challenge{record.id.to_string(), record.expires_at,   record.channel,
                     record.purpose,        identifier.masked(), *refusal};
  }

  // Stored before it is sent, so a fast user never checks a code the store does not know yet.
  if (reissue) {
    auto replaced = store_->reissue_challenge(record.id, record.code_tag, record.expires_at, now);
    if (!replaced) return replaced.status();
    if (!*replaced) return Status(ErrorCode::kChallengeNotFound, "no live challenge with that id");
  } else if (Status s = store_->create_challenge(record); !s) {
    return s;
  }

  Challenge challenge{record.id.to_string(), record.expires_at,   record.channel,
                      record.purpose,        identifier.masked(), Refusal{}};
  const Delivery delivery{record.channel, identifier.canonical(), challenge.masked_destination,
                          code_text,      record.purpose,         record.expires_at};
  if (Status s = sender_->send(delivery); !s) {
    // An undelivered code must not stay checkable. Best effort: the error returned is the
    // sender's, and an orphan left by a failing store expires anyway.
    (void)store_->consume_challenge(record.id);
    return s;
  }
  if (metrics_ != nullptr) metrics_->on_send(record.calling_code, now);
  return challenge;
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
    auto checks = count_client_request(CounterKind::kClientChecks, context.client_key, now);
    if (!checks) return checks.status();
    if (checks->count > config_.client_checks_per_window) {
      result.outcome = CheckOutcome::kRateLimited;
      result.refusal = Refusal{Limit::kClientChecks, checks->window_end};
      return result;
    }
  }

  auto charged = store_->charge_attempt(*id, now);  // the one atomic step, before any compare
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
  // The identifier's failures across all its challenges (NIST SP 800-63B 5.2.2).
  const CounterKey failures_key =
      internal::counter_key(counter_key_, CounterKind::kIdentifierFailures, 0, record.index.value);
  const auto max_failures = static_cast<std::uint32_t>(config_.max_failed_checks);
  if (!match) {
    auto failures = store_->add_to_counter(
        failures_key, 1, now + duration_cast<milliseconds>(config_.failure_window), now);
    if (!failures) return failures.status();
    if (failures->count >= max_failures) {
      result.outcome = CheckOutcome::kLocked;
      result.refusal = Refusal{Limit::kIdentifierLocked, failures->window_end};
      return result;
    }
    result.outcome = CheckOutcome::kWrongCode;
    result.attempts_left = record.max_attempts - record.attempts;
    return result;
  }
  // The right code: refused while the identifier is locked (the attempt stays charged).
  auto failures = store_->add_to_counter(failures_key, 0, {}, now);
  if (!failures) return failures.status();
  if (failures->count >= max_failures) {
    result.outcome = CheckOutcome::kLocked;
    result.refusal = Refusal{Limit::kIdentifierLocked, failures->window_end};
    return result;
  }
  auto consumed = store_->consume_challenge(record.id);
  if (!consumed) return consumed.status();
  if (!*consumed) {  // a concurrent check with the same code won the race
    result.outcome = CheckOutcome::kUnknown;
    return result;
  }
  // A success resets the failure count. Best effort: the code is already spent, so a failing
  // store must not turn the verification into an error; a count left behind only errs towards
  // locking sooner, and expires with its window.
  if (failures->count > 0) (void)store_->reset_counter(failures_key);
  if (metrics_ != nullptr) metrics_->on_verified(record.calling_code, now);
  result.outcome = CheckOutcome::kVerified;
  result.verified.emplace(VerifiedIdentifier(record, purpose, now));
  return result;
}

}  // namespace veribind
