// Personal data typed where it does not belong: in an account id (stored in the clear, beside the
// blind index it is meant to stand apart from) or in a field of a lawful request (recorded in the
// audit log, which is never edited or purged). A guard against an operator's or an integrator's
// mistake, not a data-loss-prevention system: SECURITY.md states what it cannot see.
//
// What counts as found:
// - an email address: around each '@', the longest run of local-part characters before it and of
//   domain characters after it (ASCII, then also non-ASCII, so that an IDN or a non-ASCII local
//   part is seen), leading and trailing dots dropped, that EmailAddress::parse() accepts, or
//   refuses only for a non-ASCII local part;
// - a phone number in international form: from a '+', or from "00" at the start of a group of
//   digits, through the run of digits, spaces, '-', '.', '(' and ')' that follows (or through a
//   part of it ending before a separator), holding at least 7 digits, that PhoneNumber::parse()
//   accepts with no default region ("00" read as '+'); account ids have no spaces;
// - in request fields only, also any such run holding 10 or more digits, whatever its prefix: a
//   national number names no region, so its length is all there is to go on.
#pragma once

#include <cstdint>
#include <string_view>

namespace veribind::internal {

enum class PersonalData : std::uint8_t { kNone, kEmailAddress, kPhoneNumber };

// An email address or a phone number in international form. A bare run of digits is not
// refused: numeric account ids ("1234567890") are common.
[[nodiscard]] PersonalData personal_data_in_account_id(std::string_view account_id);

// An email address, a phone number in international form, or a run of 10 or more digits.
[[nodiscard]] PersonalData personal_data_in_text(std::string_view text);

// "an email address" / "a phone number", for messages that must not repeat the value.
[[nodiscard]] std::string_view personal_data_name(PersonalData found) noexcept;

}  // namespace veribind::internal
