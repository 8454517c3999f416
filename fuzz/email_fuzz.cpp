// EmailAddress::parse with fuzzed text, with and without provider canonicalization.
//
// Properties: errors are from the documented set and do not repeat the input; a parsed address
// is canonical (ASCII, no upper case, within the RFC 5321 limits, local part + '@' + domain, and
// a fixed point: it re-parses to itself, and a provider-canonical form under both options);
// provider rules only ever narrow (the plain parse fails exactly when the canonicalizing one fails
// for the same reason, except that a local part the rules leave empty is kEmailSyntax) and are
// idempotent over the plain canonical form; the masked form hides the local part.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "veribind/identifier.hpp"

namespace {

using veribind::EmailAddress;
using veribind::EmailOptions;
using veribind::ErrorCode;
using veribind::Result;

constexpr EmailOptions kPlain{false};
constexpr EmailOptions kProvider{true};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void check_error(const Result<EmailAddress>& r, std::string_view text) {
  FUZZ_CHECK(veribind::fuzz::one_of(
                 r.code(), {ErrorCode::kInputTooLong, ErrorCode::kEmailSyntax,
                            ErrorCode::kEmailLocalPartTooLong, ErrorCode::kEmailDomainTooLong,
                            ErrorCode::kEmailTooLong, ErrorCode::kEmailQuotedLocalPart,
                            ErrorCode::kEmailNonAsciiLocalPart, ErrorCode::kEmailInvalidDomain}),
             "the error is one that EmailAddress::parse documents");
  // The fixed messages hold '@' only as "'@'": a letter or digit before an '@' in the input
  // means a match can only be an echo.
  bool echo_detectable = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    echo_detectable = echo_detectable || (text[i] == '@' && is_alnum(text[i - 1]));
  }
  FUZZ_CHECK(!echo_detectable || r.status().message().find(text) == std::string::npos,
             "the error does not repeat the input");
}

void check_canonical(const EmailAddress& a, bool provider) {
  const std::string_view canonical = a.canonical();
  FUZZ_CHECK(a.provider_canonical() == provider, "provider_canonical() tells the options used");
  FUZZ_CHECK(canonical.size() <= EmailAddress::kMaxAddress, "at most 254 octets");
  FUZZ_CHECK(!a.local_part().empty() && a.local_part().size() <= EmailAddress::kMaxLocalPart,
             "a local part of 1 to 64 octets");
  FUZZ_CHECK(a.domain().size() <= EmailAddress::kMaxDomain, "a domain of at most 255 octets");
  FUZZ_CHECK(canonical == std::string(a.local_part()) + "@" + std::string(a.domain()),
             "canonical() is local part, '@', domain");
  for (char c : canonical) {
    FUZZ_CHECK(static_cast<unsigned char>(c) < 0x80 && !(c >= 'A' && c <= 'Z'),
               "the canonical form is ASCII without upper case");
  }

  // A provider-canonical form is canonical under either option; a plain one, under its own
  // (provider rules may still rewrite it).
  for (EmailOptions options : {kPlain, kProvider}) {
    if (!provider && options.provider_canonicalization) continue;
    const auto again = EmailAddress::parse(canonical, options);
    FUZZ_CHECK(again.is_ok() && again->canonical() == canonical,
               "the canonical form re-parses to itself");
  }

  const std::string masked = a.masked();
  const std::string_view shown = std::string_view(masked).substr(0, masked.rfind('@'));
  FUZZ_CHECK(masked.size() > a.domain().size() &&
                 std::string_view(masked).substr(masked.size() - a.domain().size()) == a.domain(),
             "the masked form ends with the domain");
  FUZZ_CHECK(shown == "***" || (shown.size() == 4 && shown[0] == a.local_part()[0] &&
                                shown.substr(1) == "***" && a.local_part().size() >= 3),
             "the masked form shows at most the first character of a longer local part");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto plain = EmailAddress::parse(text, kPlain);
  const auto provider = EmailAddress::parse(text, kProvider);

  if (plain) {
    check_canonical(*plain, false);
  } else {
    check_error(plain, text);
  }
  if (provider) {
    check_canonical(*provider, true);
  } else {
    check_error(provider, text);
  }

  if (!plain) {
    FUZZ_CHECK(!provider && provider.code() == plain.code(),
               "provider rules never accept what the plain parse refuses, nor change the error");
  } else if (!provider) {
    FUZZ_CHECK(provider.code() == ErrorCode::kEmailSyntax,
               "provider rules refuse only a local part they leave malformed (kEmailSyntax)");
  } else {
    const auto via_plain = EmailAddress::parse(plain->canonical(), kProvider);
    FUZZ_CHECK(via_plain.is_ok() && via_plain->canonical() == provider->canonical(),
               "provider canonicalization of the plain canonical form gives the same address");
  }
  return 0;
}
