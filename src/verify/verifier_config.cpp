// VerifierConfig's validation and the Verifier's stable names and public answers.
#include <algorithm>
#include <string>

#include "veribind/verifier.hpp"

namespace veribind {

namespace {

bool is_region_code(std::string_view r) {
  return r.size() == 2 && r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z';
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

}  // namespace veribind
