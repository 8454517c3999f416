// EmailAddress: a deliberately narrow reading of RFC 5321/5322.
//
// The accepted language is what real mail systems deliver to and what a person types: a
// dot-atom local part in ASCII and a host name. The rest of the RFC grammar (quoted strings,
// comments, domain literals, SMTPUTF8 local parts) is refused with its own code, because every
// extra spelling of one mailbox is another way to mint "distinct" accounts and another parser
// disagreement for an attacker to use. Every copy of the address made here is wiped.
#include <unicode/uidna.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "internal/wipe.hpp"
#include "veribind/identifier.hpp"

namespace veribind {
namespace {

// Bounded before any work: the longest valid address is 254 octets, so this only leaves room
// for an internationalized domain whose UTF-8 form is longer than its A-label form.
constexpr std::size_t kMaxInputBytes = 1024;

// masked() reveals the first character of a local part at least this long.
constexpr std::size_t kMinLocalToRevealFirst = 3;
Status syntax(const char* why) { return {ErrorCode::kEmailSyntax, why}; }
Status invalid_domain(const char* why) { return {ErrorCode::kEmailInvalidDomain, why}; }

bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_alpha_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5322 atext.
bool is_atext(char c) {
  if (is_alpha_digit(c)) return true;
  constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return kSpecials.find(c) != std::string_view::npos;
}

// atext runs separated by single dots, none at either end.
bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = '\0';
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool has_non_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// An ASCII label starting "xn--" claims to be an A-label; it goes through IDNA too, so that a
// forged one is refused and "xn--bcher-kva.example" and "bücher.example" meet in one form.
bool has_ace_label(std::string_view domain) {
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t end = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, end - start);
    if (label.size() >= 4 && ascii_lower(label[0]) == 'x' && ascii_lower(label[1]) == 'n' &&
        label[2] == '-' && label[3] == '-') {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// One UTS #46 converter for the process: opening one loads ICU data, and ICU documents a UIDNA
// as immutable and safe to share between threads. It is intentionally never closed, so that a
// thread still parsing during static destruction cannot use a freed object.
const UIDNA* uts46() {
  static const UIDNA* const idna = [] {
    UErrorCode err = U_ZERO_ERROR;
    UIDNA* p = uidna_openUTS46(
        UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ, &err);
    return U_SUCCESS(err) ? p : nullptr;
  }();
  return idna;
}

// Converts a domain to its A-label form. Length errors are left to the caller's own checks, so
// that an over-long IDN gets the same code as an over-long ASCII domain.
Status to_ascii_domain(std::string_view in, std::string& out) {
  const UIDNA* idna = uts46();
  if (idna == nullptr) return {ErrorCode::kInternal, "IDNA converter unavailable"};

  // Punycode never needs more than a few octets per input octet plus the "xn--" prefixes; start
  // large enough that the retry below is rare.
  std::size_t capacity = in.size() * 4 + 64;
  for (int attempt = 0; attempt < 2; ++attempt) {
    internal::wipe(out);
    out.resize(capacity);
    UErrorCode err = U_ZERO_ERROR;
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    const int32_t len =
        uidna_nameToASCII_UTF8(idna, in.data(), static_cast<int32_t>(in.size()), out.data(),
                               static_cast<int32_t>(out.size()), &info, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR && len > 0) {
      capacity = static_cast<std::size_t>(len) + 1;
      continue;
    }
    if (U_FAILURE(err) || len < 0) {
      return invalid_domain("email domain could not be converted to ASCII (IDNA)");
    }
    constexpr uint32_t kLengthErrors =
        UIDNA_ERROR_LABEL_TOO_LONG | UIDNA_ERROR_DOMAIN_NAME_TOO_LONG;
    if ((info.errors & ~kLengthErrors) != 0) {
      return invalid_domain("email domain is not a valid internationalized domain name");
    }
    out.resize(static_cast<std::size_t>(len));
    return Status::ok();
  }
  return {ErrorCode::kInternal, "IDNA conversion did not settle on a buffer size"};
}

// Produces the canonical (lower-case, A-label) domain or says why there is none.
Status canonical_domain(std::string_view in, std::string& out) {
  if (in.front() == '[') {
    // Address literals bypass DNS and name a host, not a mail domain; no signup needs them.
    return invalid_domain("email domain literals are not accepted");
  }
  if (in.back() == '.') return invalid_domain("email domain ends with a dot");

  if (has_non_ascii(in) || has_ace_label(in)) {
    Status s = to_ascii_domain(in, out);
    if (!s.is_ok()) return s;
    // UTS #46 maps ideographic full stops to '.', so the trailing-dot rule is checked again.
    if (!out.empty() && out.back() == '.') return invalid_domain("email domain ends with a dot");
  } else {
    out.assign(in);
  }
  for (char& c : out) c = ascii_lower(c);

  if (out.size() > EmailAddress::kMaxDomain) {
    return {ErrorCode::kEmailDomainTooLong, "email domain is longer than 255 octets"};
  }

  std::size_t labels = 0;
  std::string_view last_label;
  std::size_t start = 0;
  const std::string_view domain(out);
  while (start <= domain.size()) {
    const std::size_t end = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty()) return invalid_domain("email domain has an empty label");
    for (char c : label) {
      if (!is_alpha_digit(c) && c != '-') {
        return invalid_domain("email domain has a character other than a letter, digit or '-'");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return invalid_domain("email domain label starts or ends with '-'");
    }
    if (label.size() > EmailAddress::kMaxLabel) {
      return {ErrorCode::kEmailDomainTooLong, "email domain has a label longer than 63 octets"};
    }
    ++labels;
    last_label = label;
    start = end + 1;
  }
  if (labels < 2) return invalid_domain("email domain has no dot");
  bool all_digits = true;
  for (char c : last_label) all_digits = all_digits && c >= '0' && c <= '9';
  // No top-level domain is numeric; this is also what refuses a bare IPv4 address.
  if (all_digits) return invalid_domain("email domain has a numeric top-level label");
  return Status::ok();
}

struct ProviderRule {
  std::string_view domain;
  bool drops_dots;
  std::string_view canonical_domain;  // empty: keep
};

// Kept in step with the list in the EmailOptions comment.
constexpr std::array<ProviderRule, 10> kProviderRules = {{
    {"gmail.com", true, {}},
    {"googlemail.com", true, "gmail.com"},
    {"outlook.com", false, {}},
    {"hotmail.com", false, {}},
    {"live.com", false, {}},
    {"icloud.com", false, {}},
    {"me.com", false, {}},
    {"fastmail.com", false, {}},
    {"proton.me", false, {}},
    {"protonmail.com", false, {}},
}};

const ProviderRule* find_provider(std::string_view domain) {
  for (const ProviderRule& rule : kProviderRules) {
    if (rule.domain == domain) return &rule;
  }
  return nullptr;
}

}  // namespace

Result<EmailAddress> EmailAddress::parse(std::string_view text, EmailOptions options) {
  if (text.size() > kMaxInputBytes) {
    return Status(ErrorCode::kInputTooLong, "email address input is longer than 1024 bytes");
  }
  // Refused rather than trimmed: the library never silently edits what it was given, and a
  // caller that wants to forgive pasted whitespace can trim before calling.
  if (!text.empty() && (is_ascii_whitespace(text.front()) || is_ascii_whitespace(text.back()))) {
    return syntax("email address has leading or trailing whitespace");
  }

  // The last '@' separates the domain: a domain never contains one, a quoted local part can.
  const std::size_t at = text.rfind('@');
  if (at == std::string_view::npos) return syntax("email address has no '@'");
  const std::string_view local = text.substr(0, at);
  const std::string_view domain_in = text.substr(at + 1);
  if (local.empty()) return syntax("email local part is empty");
  if (domain_in.empty()) return syntax("email domain is empty");

  if (local.front() == '"') {
    return Status(ErrorCode::kEmailQuotedLocalPart, "quoted email local parts are not accepted");
  }
  if (has_non_ascii(local)) {
    return Status(ErrorCode::kEmailNonAsciiLocalPart, "email local part is not ASCII");
  }
  if (!is_dot_atom(local)) return syntax("email local part is not a dot-atom");
  if (local.size() > kMaxLocalPart) {
    return Status(ErrorCode::kEmailLocalPartTooLong, "email local part is longer than 64 octets");
  }

  std::string domain;
  internal::WipeOnExit wipe_domain(domain);
  if (Status s = canonical_domain(domain_in, domain); !s.is_ok()) return s;

  // Checked after the parts so that each over-long part gets its own, more useful code.
  if (local.size() + 1 + domain.size() > kMaxAddress) {
    return Status(ErrorCode::kEmailTooLong, "email address is longer than 254 octets");
  }

  EmailAddress out;
  out.address_.reserve(local.size() + 1 + domain.size());
  out.address_.append(local);
  for (char& c : out.address_) c = ascii_lower(c);  // see the header: one mailbox, one form

  if (options.provider_canonicalization) {
    if (const ProviderRule* rule = find_provider(domain)) {
      std::string& lp = out.address_;
      if (const std::size_t plus = lp.find('+'); plus != std::string::npos) lp.resize(plus);
      if (rule->drops_dots) std::erase(lp, '.');
      // "+tag@gmail.com" or "a.+tag@outlook.com" leave nothing, or a trailing dot: no mailbox
      // at such a provider has that name.
      if (!is_dot_atom(lp)) return syntax("email local part is not valid for its provider");
      if (!rule->canonical_domain.empty()) domain.assign(rule->canonical_domain);
    }
  }

  out.provider_canonical_ = options.provider_canonicalization;
  out.at_ = out.address_.size();
  out.address_.push_back('@');
  out.address_.append(domain);
  return out;
}

std::string_view EmailAddress::local_part() const noexcept {
  return std::string_view(address_).substr(0, at_);
}

std::string_view EmailAddress::domain() const noexcept {
  return std::string_view(address_).substr(at_ + 1);
}

std::string EmailAddress::masked() const {
  if (address_.empty()) return {};  // moved-from
  std::string out;
  out.reserve(address_.size() - at_ + 4);
  // The first character only when it is not most of the local part: "x@" would be shown whole.
  if (at_ >= kMinLocalToRevealFirst) out.push_back(address_.front());
  out.append("***@");
  out.append(domain());
  return out;
}

EmailAddress& EmailAddress::operator=(const EmailAddress& other) {
  if (this != &other) {
    internal::wipe(address_);  // keeps the capacity: a shorter copy reuses the wiped buffer
    address_ = other.address_;
    at_ = other.at_;
    provider_canonical_ = other.provider_canonical_;
  }
  return *this;
}

EmailAddress& EmailAddress::operator=(EmailAddress&& other) noexcept {
  if (this != &other) {
    internal::wipe(address_);
    address_ = std::move(other.address_);
    internal::wipe(other.address_);  // a short string's inline buffer keeps its characters
    at_ = other.at_;
    provider_canonical_ = other.provider_canonical_;
  }
  return *this;
}

EmailAddress::~EmailAddress() {
  internal::wipe(address_);
  at_ = 0;
}

}  // namespace veribind
