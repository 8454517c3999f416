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
#include <string>
#include <vector>

#include "veribind/identifier.hpp"
#include "veribind/result.hpp"

namespace veribind {

struct LinkPolicy {
  std::string name;
  Channel channel = Channel::kPhone;  // the channel that binds an account
  std::uint32_t max_accounts_per_identifier = 1;
  PhoneTypeSet allowed_phone_types = PhoneTypeSet::sms_default();
  std::vector<std::string> allowed_regions;  // ISO 3166-1 alpha-2; empty means any region
  EmailOptions email_options;                // provider canonicalization: off by default

  static LinkPolicy phone_linked();
  static LinkPolicy email_linked();
  // "phone-linked" / "email-linked"; kInvalidArgument for anything else.
  static Result<LinkPolicy> by_name(std::string_view name);

  // kInvalidConfig with the offending field named, or ok.
  [[nodiscard]] Status validate() const;
};

}  // namespace veribind
