// LinkPolicy: which identifier binds an account, and what a binding demands.
//
// Two presets stand for the two positions in the public argument:
// - phone_linked(): every account is bound to a verified mobile number. Numbers are scarce (a SIM
//   costs money and, in many countries, an identity check), so fake accounts cost more; but a
//   number is low-entropy (enumerable if the index key leaks) and tied to a legal identity.
// - email_linked(): every account is bound to a verified email address. Addresses are free to mint,
//   so abuse is cheaper; but an address reveals less and cannot be enumerated.
// Both allow one account per identifier by default. SECURITY.md gives the measured difference.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/identifier.hpp"
#include "veribind/result.hpp"

namespace veribind {

// Whether a binding keeps a way to reach its owner again (issue 5).
// - kNone (the default): only the blind index is kept; the platform cannot message the user.
// - kSealed: the canonical identifier is also kept, encrypted under a per-binding data key that
//   lives in a separate ContactKeyStore; it is read back one account at a time, for a
//   SecurityPurpose, and erased by destroying its key (Registry::erase).
enum class RetainContact : std::uint8_t { kNone = 0, kSealed = 1 };

// "none" / "sealed".
[[nodiscard]] std::string_view retain_contact_name(RetainContact retain) noexcept;
[[nodiscard]] std::optional<RetainContact> retain_contact_from_name(std::string_view name) noexcept;

struct LinkPolicy {
  std::string name;
  Channel channel = Channel::kPhone;  // the channel that binds an account
  std::uint32_t max_accounts_per_identifier = 1;
  PhoneTypeSet allowed_phone_types = PhoneTypeSet::sms_default();
  std::vector<std::string> allowed_regions;  // ISO 3166-1 alpha-2; empty means any region
  EmailOptions email_options;                // provider canonicalization: off by default
  RetainContact retain_contact = RetainContact::kNone;

  static LinkPolicy phone_linked();
  static LinkPolicy email_linked();
  // "phone-linked" / "email-linked"; kInvalidArgument for anything else.
  static Result<LinkPolicy> by_name(std::string_view name);

  // kInvalidConfig with the offending field named, or ok.
  [[nodiscard]] Status validate() const;
};

}  // namespace veribind
