#include "veribind/result.hpp"

namespace veribind {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kInputTooLong: return "input_too_long";
    case ErrorCode::kPhoneNotANumber: return "phone_not_a_number";
    case ErrorCode::kPhoneInvalidCountryCode: return "phone_invalid_country_code";
    case ErrorCode::kPhoneTooShort: return "phone_too_short";
    case ErrorCode::kPhoneTooLong: return "phone_too_long";
    case ErrorCode::kPhoneInvalidForRegion: return "phone_invalid_for_region";
    case ErrorCode::kPhoneTypeNotAllowed: return "phone_type_not_allowed";
    case ErrorCode::kPhoneHasLetters: return "phone_has_letters";
    case ErrorCode::kEmailSyntax: return "email_syntax";
    case ErrorCode::kEmailLocalPartTooLong: return "email_local_part_too_long";
    case ErrorCode::kEmailDomainTooLong: return "email_domain_too_long";
    case ErrorCode::kEmailTooLong: return "email_too_long";
    case ErrorCode::kEmailQuotedLocalPart: return "email_quoted_local_part";
    case ErrorCode::kEmailNonAsciiLocalPart: return "email_non_ascii_local_part";
    case ErrorCode::kEmailInvalidDomain: return "email_invalid_domain";
    case ErrorCode::kInvalidCode: return "invalid_code";
    case ErrorCode::kInvalidChallengeId: return "invalid_challenge_id";
    case ErrorCode::kInvalidAccountId: return "invalid_account_id";
    case ErrorCode::kInvalidConfig: return "invalid_config";
    case ErrorCode::kConfigFileInvalid: return "config_file_invalid";
    case ErrorCode::kAccountIdPersonalData: return "account_id_personal_data";
    case ErrorCode::kLegalRequestPersonalData: return "legal_request_personal_data";
    case ErrorCode::kInvalidLegalRequest: return "invalid_legal_request";
    case ErrorCode::kChallengeNotFound: return "challenge_not_found";
    case ErrorCode::kIdentifierMismatch: return "identifier_mismatch";
    case ErrorCode::kResendTooSoon: return "resend_too_soon";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kWrongChannel: return "wrong_channel";
    case ErrorCode::kAlreadyBound: return "already_bound";
    case ErrorCode::kRegionNotAllowed: return "region_not_allowed";
    case ErrorCode::kWrongPurpose: return "wrong_purpose";
    case ErrorCode::kAccountHasBinding: return "account_has_binding";
    case ErrorCode::kEmailFormMismatch: return "email_form_mismatch";
    case ErrorCode::kVerificationSpent: return "verification_spent";
    case ErrorCode::kKeyFileInsecure: return "key_file_insecure";
    case ErrorCode::kKeyFileMalformed: return "key_file_malformed";
    case ErrorCode::kKeyUnavailable: return "key_unavailable";
    case ErrorCode::kStoreError: return "store_error";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeliveryFailed: return "delivery_failed";
    case ErrorCode::kOutboxFull: return "outbox_full";
    case ErrorCode::kDeliveryRefused: return "delivery_refused";
    case ErrorCode::kAuditLogCorrupt: return "audit_log_corrupt";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kIdentifierRequired: return "identifier_required";
    case ErrorCode::kNotASecurityPurpose: return "not_a_security_purpose";
    case ErrorCode::kNoContact: return "no_contact";
    case ErrorCode::kContactSealBroken: return "contact_seal_broken";
    case ErrorCode::kKeyVersionInUse: return "key_version_in_use";
    case ErrorCode::kContactKeyMissing: return "contact_key_missing";
  }
  return "unknown_error";
}

}  // namespace veribind
