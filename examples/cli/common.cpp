// Helpers shared by the commands: exit statuses, output, identifier parsing, key loading.
#include <sys/stat.h>

#include <ctime>
#include <iostream>

#include "cli.hpp"

namespace veribind::cli {

Status JsonLineSender::send(const Delivery& delivery) {
  // Written piece by piece so that the code is never copied into another buffer.
  std::cerr << R"({"delivery":{"channel":")" << channel_name(delivery.channel) << R"(","to":)"
            << nlohmann::json(std::string(delivery.masked_destination)).dump() << R"(,"code":")"
            << delivery.code << "\"}}\n";
  std::cerr.flush();
  if (!std::cerr) return {ErrorCode::kDeliveryFailed, "could not write the delivery line"};
  return Status::ok();
}

namespace {

// One object, one line. Text from the command line (a path) need not be UTF-8, which JSON cannot
// carry: dump() would throw and abort the program (after keygen had written its key), so such
// bytes are printed as U+FFFD instead.
std::string json_line(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
}

}  // namespace

int exit_code_for(ErrorCode code) noexcept {
  // No default: a new ErrorCode makes -Wswitch (and so -Werror) ask where it belongs.
  switch (code) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInputTooLong:
    case ErrorCode::kPhoneNotANumber:
    case ErrorCode::kPhoneInvalidCountryCode:
    case ErrorCode::kPhoneTooShort:
    case ErrorCode::kPhoneTooLong:
    case ErrorCode::kPhoneInvalidForRegion:
    case ErrorCode::kPhoneHasLetters:
    case ErrorCode::kEmailSyntax:
    case ErrorCode::kEmailLocalPartTooLong:
    case ErrorCode::kEmailDomainTooLong:
    case ErrorCode::kEmailTooLong:
    case ErrorCode::kEmailQuotedLocalPart:
    case ErrorCode::kEmailNonAsciiLocalPart:
    case ErrorCode::kEmailInvalidDomain:
    case ErrorCode::kInvalidCode:
    case ErrorCode::kInvalidChallengeId:
    case ErrorCode::kInvalidAccountId:
    case ErrorCode::kInvalidConfig:
    case ErrorCode::kConfigFileInvalid:
    case ErrorCode::kAccountIdPersonalData:
    case ErrorCode::kLegalRequestPersonalData:
    case ErrorCode::kInvalidLegalRequest: return kExitBadInput;
    // What a check reports as "not verified" when it comes as an error (resend's wording).
    case ErrorCode::kChallengeNotFound:
    case ErrorCode::kIdentifierMismatch: return kExitRefused;
    // A valid number of a type codes are not sent to is a policy decision, not bad input.
    case ErrorCode::kPhoneTypeNotAllowed:
    case ErrorCode::kResendTooSoon:
    case ErrorCode::kRateLimited:
    case ErrorCode::kWrongChannel:
    case ErrorCode::kAlreadyBound:
    case ErrorCode::kRegionNotAllowed:
    case ErrorCode::kWrongPurpose:
    case ErrorCode::kAccountHasBinding:
    case ErrorCode::kEmailFormMismatch:
    case ErrorCode::kVerificationSpent:
    case ErrorCode::kNotASecurityPurpose:
    case ErrorCode::kKeyVersionInUse: return kExitPolicy;
    case ErrorCode::kIdentifierRequired: return kExitBadInput;
    case ErrorCode::kNoContact: return kExitRefused;
    case ErrorCode::kContactSealBroken:
    case ErrorCode::kContactKeyMissing:
    case ErrorCode::kKeyFileInsecure:
    case ErrorCode::kKeyFileMalformed:
    case ErrorCode::kKeyUnavailable:
    case ErrorCode::kStoreError:
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeliveryFailed:
    case ErrorCode::kOutboxFull:
    case ErrorCode::kDeliveryRefused:
    case ErrorCode::kAuditLogCorrupt:
    case ErrorCode::kInternal: return kExitSystem;
  }
  return kExitSystem;
}

ErrorCode refusal_error_code(Limit limit) noexcept {
  switch (limit) {
    case Limit::kPhoneType: return ErrorCode::kPhoneTypeNotAllowed;
    case Limit::kRegion: return ErrorCode::kRegionNotAllowed;
    case Limit::kResendCooldown: return ErrorCode::kResendTooSoon;
    default: return ErrorCode::kRateLimited;
  }
}

int Output::error(ErrorCode code, std::string_view message) const {
  if (json_) {
    const nlohmann::json object = {
        {"error", {{"code", std::string(error_code_name(code))}, {"message", message}}}};
    std::cout << json_line(object);
  } else {
    std::cerr << "veribind: " << message << " [" << error_code_name(code) << "]\n";
  }
  return exit_code_for(code);
}

void Output::emit(const nlohmann::json& object) const { std::cout << json_line(object); }

std::string iso8601_utc(Timestamp time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[sizeof "2024-05-01T12:10:00Z" + 8];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return {text, n};
}

Result<Identifier> parse_identifier(const IdentifierOptions& options) {
  if (options.phone.has_value() == options.email.has_value()) {
    return Status(ErrorCode::kInvalidArgument, "give exactly one of --phone or --email");
  }
  if (options.phone) {
    auto phone = PhoneNumber::parse(*options.phone, options.region, PhoneTypeSet::all());
    if (!phone) return Status(phone.code(), "--phone: " + phone.status().message());
    return Identifier(std::move(phone).value());
  }
  if (!options.region.empty()) {
    return Status(ErrorCode::kInvalidArgument, "--region applies to --phone only");
  }
  auto email = EmailAddress::parse(*options.email);
  if (!email) return Status(email.code(), "--email: " + email.status().message());
  return Identifier(std::move(email).value());
}

bool is_postgres_url(std::string_view db) noexcept {
  return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

Result<KeyRing> load_key(const std::string& path) {
  // Every version present: the key file itself (version 1) and "<key file>.vN" beside it.
  auto ring = KeyRing::load_key_files(path);
  if (!ring && ring.code() == ErrorCode::kKeyUnavailable) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      return Status(ErrorCode::kKeyUnavailable,
                    "no key file at " + path +
                        "; create one with `veribind keygen` (or point --key-file at yours)");
    }
  }
  return ring;
}

}  // namespace veribind::cli
