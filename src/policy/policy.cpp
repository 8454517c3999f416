#include "veribind/policy.hpp"

namespace veribind {

std::string_view retain_contact_name(RetainContact retain) noexcept {
  switch (retain) {
    case RetainContact::kNone: return "none";
    case RetainContact::kSealed: return "sealed";
  }
  return "unknown";
}

std::optional<RetainContact> retain_contact_from_name(std::string_view name) noexcept {
  if (name == "none") return RetainContact::kNone;
  if (name == "sealed") return RetainContact::kSealed;
  return std::nullopt;
}

LinkPolicy LinkPolicy::phone_linked() {
  LinkPolicy p;
  p.name = "phone-linked";
  p.channel = Channel::kPhone;
  return p;
}

LinkPolicy LinkPolicy::email_linked() {
  LinkPolicy p;
  p.name = "email-linked";
  p.channel = Channel::kEmail;
  return p;
}

Result<LinkPolicy> LinkPolicy::by_name(std::string_view name) {
  if (name == "phone-linked") return phone_linked();
  if (name == "email-linked") return email_linked();
  return Status(ErrorCode::kInvalidArgument,
                "unknown link policy; expected phone-linked or email-linked");
}

Status LinkPolicy::validate() const {
  if (channel != Channel::kPhone && channel != Channel::kEmail) {
    return {ErrorCode::kInvalidConfig, "policy channel must be phone or email"};
  }
  if (max_accounts_per_identifier < 1 || max_accounts_per_identifier > 1000) {
    return {ErrorCode::kInvalidConfig, "max_accounts_per_identifier must be 1..1000"};
  }
  if (channel == Channel::kPhone && allowed_phone_types == PhoneTypeSet()) {
    return {ErrorCode::kInvalidConfig, "allowed_phone_types is empty: nothing could ever link"};
  }
  if (retain_contact != RetainContact::kNone && retain_contact != RetainContact::kSealed) {
    return {ErrorCode::kInvalidConfig, "retain_contact must be none or sealed"};
  }
  for (const std::string& region : allowed_regions) {
    const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    if (region.size() != 2 || !upper(region[0]) || !upper(region[1])) {
      return {ErrorCode::kInvalidConfig,
              "allowed_regions must hold ISO 3166-1 alpha-2 codes in upper case"};
    }
  }
  return Status::ok();
}

}  // namespace veribind
