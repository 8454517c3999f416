#include "account/internal/plaintext_guard.hpp"

#include <array>
#include <cstddef>
#include <string>

#include "veribind/identifier.hpp"

namespace veribind::internal {

namespace {

constexpr std::size_t kMinInternationalDigits =
    7;                                          // the shortest numbers in use, with country code
constexpr std::size_t kMinNationalDigits = 10;  // see personal_data_in_text

bool ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool digit(char c) { return c >= '0' && c <= '9'; }

// RFC 5322 atext and the dot of a dot-atom.
bool local_char(char c) {
  return ascii_alnum(c) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}
bool domain_char(char c) { return ascii_alnum(c) || c == '-' || c == '.'; }

bool is_email(std::string_view local, std::string_view domain) {
  while (!local.empty() && local.front() == '.') local.remove_prefix(1);
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (local.empty() || domain.empty()) return false;
  std::string candidate(local);
  candidate += '@';
  candidate.append(domain);
  auto parsed = EmailAddress::parse(candidate);
  return parsed.is_ok() || parsed.code() == ErrorCode::kEmailNonAsciiLocalPart;
}

bool contains_email(std::string_view text) {
  for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    // Each side twice: ASCII only (so that text around the address, such as quotation marks,
    // is left out), then with non-ASCII bytes too (IDNs, non-ASCII local parts).
    std::array<std::string_view, 2> locals;
    std::array<std::string_view, 2> domains;
    for (int wide = 0; wide < 2; ++wide) {
      std::size_t begin = at;
      while (begin > 0 && (local_char(text[begin - 1]) || (wide && non_ascii(text[begin - 1])))) {
        --begin;
      }
      std::size_t end = at + 1;
      while (end < text.size() && (domain_char(text[end]) || (wide && non_ascii(text[end])))) {
        ++end;
      }
      locals[wide] = text.substr(begin, at - begin);
      domains[wide] = text.substr(at + 1, end - at - 1);
    }
    for (std::string_view local : locals) {
      for (std::string_view domain : domains) {
        if (is_email(local, domain)) return true;
      }
    }
  }
  return false;
}

bool phone_run_char(char c, bool spaces) {
  return digit(c) || c == '+' || c == '-' || c == '.' || c == '(' || c == ')' ||
         (spaces && c == ' ');
}

std::size_t count_digits(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += digit(c) ? 1 : 0;
  return n;
}

// Whether `run` (digits and separators only) holds a phone number in international form: from a
// '+', or from "00" starting a group of digits, to the end of the run or to a separator in it.
bool international_number_in(std::string_view run) {
  for (std::size_t i = 0; i < run.size(); ++i) {
    std::string candidate;
    if (run[i] == '+') {
      candidate = run.substr(i);
    } else if (run[i] == '0' && i + 2 < run.size() && run[i + 1] == '0' && digit(run[i + 2]) &&
               (i == 0 || !digit(run[i - 1]))) {
      candidate = "+" + std::string(run.substr(i + 2));
    } else {
      continue;
    }
    // The number may be followed by other digits in the same run ("+92 300 1234567-2026"):
    // try the whole rest of the run, then it cut back at each separator.
    while (true) {
      while (!candidate.empty() && !digit(candidate.back())) candidate.pop_back();
      if (count_digits(candidate) < kMinInternationalDigits) break;
      if (PhoneNumber::parse(candidate, {}, PhoneTypeSet::all()).is_ok()) return true;
      while (!candidate.empty() && digit(candidate.back())) candidate.pop_back();
    }
  }
  return false;
}

// Calls `check` on each maximal run of phone characters that holds a digit; true if one did.
template <typename Check>
bool any_phone_run(std::string_view text, bool spaces, Check check) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (!phone_run_char(text[i], spaces)) {
      ++i;
      continue;
    }
    const std::size_t begin = i;
    while (i < text.size() && phone_run_char(text[i], spaces)) ++i;
    const std::string_view run = text.substr(begin, i - begin);
    if (count_digits(run) > 0 && check(run)) return true;
  }
  return false;
}

}  // namespace

PersonalData personal_data_in_account_id(std::string_view account_id) {
  if (contains_email(account_id)) return PersonalData::kEmailAddress;
  if (any_phone_run(account_id, /*spaces=*/false, international_number_in)) {
    return PersonalData::kPhoneNumber;
  }
  return PersonalData::kNone;
}

PersonalData personal_data_in_text(std::string_view text) {
  if (contains_email(text)) return PersonalData::kEmailAddress;
  if (any_phone_run(text, /*spaces=*/true, [](std::string_view run) {
        return count_digits(run) >= kMinNationalDigits || international_number_in(run);
      })) {
    return PersonalData::kPhoneNumber;
  }
  return PersonalData::kNone;
}

std::string_view personal_data_name(PersonalData found) noexcept {
  switch (found) {
    case PersonalData::kEmailAddress: return "an email address";
    case PersonalData::kPhoneNumber: return "a phone number";
    case PersonalData::kNone: return "nothing";
  }
  return "nothing";
}

}  // namespace veribind::internal
