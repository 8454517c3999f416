// EmailAddress::parse: RFC 5321 limits at their exact boundaries, the refused spellings, IDN
// domains, provider canonicalization, and the Identifier wrapper.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "veribind/identifier.hpp"

namespace {

using veribind::EmailAddress;
using veribind::EmailOptions;
using veribind::ErrorCode;

// A valid host name of exactly `n` octets (n >= 2): labels of at most 63 letters, the last one
// at least two letters long so it is never mistaken for a numeric TLD.
std::string domain_of_length(std::size_t n) {
  std::string d;
  std::size_t remaining = n;
  while (remaining > EmailAddress::kMaxLabel) {
    const std::size_t take = std::min<std::size_t>(EmailAddress::kMaxLabel, remaining - 3);
    d.append(take, 'a');
    d.push_back('.');
    remaining -= take + 1;
  }
  d.append(remaining, 'b');
  return d;
}

EmailOptions with_provider_rules() {
  EmailOptions o;
  o.provider_canonicalization = true;
  return o;
}

}  // namespace

TEST_CASE("email: a plain address parses into local part and domain", "[email]") {
  auto r = EmailAddress::parse("john.doe@example.com");
  REQUIRE(r.is_ok());
  CHECK(r->canonical() == "john.doe@example.com");
  CHECK(r->local_part() == "john.doe");
  CHECK(r->domain() == "example.com");
}

TEST_CASE("email: the whole address is lower-cased, so capitalisations are one mailbox",
          "[email]") {
  auto r = EmailAddress::parse("John.Doe@Example.COM");
  REQUIRE(r.is_ok());
  CHECK(r->canonical() == "john.doe@example.com");
  CHECK(r->local_part() == "john.doe");
  CHECK(r->domain() == "example.com");
  CHECK(EmailAddress::parse("JOHN.DOE@example.com")->canonical() == r->canonical());
}

TEST_CASE("email: every RFC 5322 atext character is accepted in the local part", "[email]") {
  auto r = EmailAddress::parse("a!#$%&'*+-/=?^_`{|}~.Z9@example.com");
  REQUIRE(r.is_ok());
  CHECK(r->local_part() == "a!#$%&'*+-/=?^_`{|}~.z9");
}

TEST_CASE("email: a 64-octet local part is accepted and a 65-octet one is kEmailLocalPartTooLong",
          "[email]") {
  const std::string local64(64, 'x');
  auto ok = EmailAddress::parse(local64 + "@example.com");
  REQUIRE(ok.is_ok());
  CHECK(ok->local_part().size() == 64);
  CHECK(EmailAddress::parse(local64 + "x@example.com").code() == ErrorCode::kEmailLocalPartTooLong);
}

TEST_CASE("email: a 254-octet address is accepted and a 255-octet one is kEmailTooLong",
          "[email]") {
  const std::string local64(64, 'x');
  const std::string at254 = local64 + "@" + domain_of_length(254 - 65);
  REQUIRE(at254.size() == 254);
  auto ok = EmailAddress::parse(at254);
  REQUIRE(ok.is_ok());
  CHECK(ok->canonical() == at254);

  const std::string at255 = local64 + "@" + domain_of_length(255 - 65);
  REQUIRE(at255.size() == 255);
  CHECK(EmailAddress::parse(at255).code() == ErrorCode::kEmailTooLong);
}

TEST_CASE(
    "email: a 255-octet domain passes the domain limit and a 256-octet one is "
    "kEmailDomainTooLong",
    "[email]") {
  // A 255-octet domain cannot fit in a 254-octet address, so it fails on the address limit;
  // one octet more fails on the domain limit itself.
  const std::string d255 = domain_of_length(255);
  const std::string d256 = domain_of_length(256);
  REQUIRE(d255.size() == 255);
  REQUIRE(d256.size() == 256);
  CHECK(EmailAddress::parse("a@" + d255).code() == ErrorCode::kEmailTooLong);
  CHECK(EmailAddress::parse("a@" + d256).code() == ErrorCode::kEmailDomainTooLong);
}

TEST_CASE("email: a 63-octet label is accepted and a 64-octet label is kEmailDomainTooLong",
          "[email]") {
  auto ok = EmailAddress::parse("a@" + std::string(63, 'l') + ".example");
  REQUIRE(ok.is_ok());
  CHECK(EmailAddress::parse("a@" + std::string(64, 'l') + ".example").code() ==
        ErrorCode::kEmailDomainTooLong);
  CHECK(EmailAddress::parse("a@example." + std::string(64, 'l')).code() ==
        ErrorCode::kEmailDomainTooLong);
}

TEST_CASE("email: input over 1024 bytes is kInputTooLong", "[email]") {
  const std::string over = std::string(1025 - 12, 'x') + "@example.com";
  REQUIRE(over.size() == 1025);
  CHECK(EmailAddress::parse(over).code() == ErrorCode::kInputTooLong);
  const std::string at_limit = over.substr(1);
  CHECK(EmailAddress::parse(at_limit).code() == ErrorCode::kEmailLocalPartTooLong);
}

TEST_CASE("email: a quoted local part is kEmailQuotedLocalPart", "[email]") {
  CHECK(EmailAddress::parse("\"john doe\"@example.com").code() == ErrorCode::kEmailQuotedLocalPart);
  CHECK(EmailAddress::parse("\"john@doe\"@example.com").code() == ErrorCode::kEmailQuotedLocalPart);
}

TEST_CASE("email: a non-ASCII local part is kEmailNonAsciiLocalPart", "[email]") {
  CHECK(EmailAddress::parse("jos\u00E9@example.com").code() == ErrorCode::kEmailNonAsciiLocalPart);
  CHECK(EmailAddress::parse("\u7528\u6237@example.com").code() ==
        ErrorCode::kEmailNonAsciiLocalPart);
}

TEST_CASE("email: dot-atom violations in the local part are kEmailSyntax", "[email]") {
  for (std::string_view text :
       {".john@example.com", "john..doe@example.com", "john.@example.com", "john doe@example.com",
        "john(comment)@example.com", "john,doe@example.com", "a@b@example.com",
        "john\\@example.com", "jo\x01hn@example.com"}) {
    CAPTURE(text);
    CHECK(EmailAddress::parse(text).code() == ErrorCode::kEmailSyntax);
  }
}

TEST_CASE("email: a missing '@', local part or domain is kEmailSyntax", "[email]") {
  CHECK(EmailAddress::parse("john.example.com").code() == ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("@example.com").code() == ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("john@").code() == ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("").code() == ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("@").code() == ErrorCode::kEmailSyntax);
}

TEST_CASE("email: leading or trailing whitespace is kEmailSyntax, never trimmed", "[email]") {
  CHECK(EmailAddress::parse(" john@example.com").code() == ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("john@example.com ").code() == ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("john@example.com\n").code() == ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("\tjohn@example.com").code() == ErrorCode::kEmailSyntax);
}

TEST_CASE("email: a domain that is not a host name is kEmailInvalidDomain", "[email]") {
  for (std::string_view text :
       {"john@localhost", "john@[192.0.2.1]", "john@[IPv6:2001:db8::1]", "john@192.0.2.1",
        "john@example.com.", "john@.example.com", "john@example..com", "john@-example.com",
        "john@example-.com", "john@exa_mple.com", "john@exa mple.com", "john@example.123"}) {
    CAPTURE(text);
    CHECK(EmailAddress::parse(text).code() == ErrorCode::kEmailInvalidDomain);
  }
  // A numeric label is fine anywhere but the top level.
  CHECK(EmailAddress::parse("john@123.example").is_ok());
}

TEST_CASE("email: an internationalized domain becomes its A-label form", "[email]") {
  auto r = EmailAddress::parse("user@b\u00FCcher.example");
  REQUIRE(r.is_ok());
  CHECK(r->canonical() == "user@xn--bcher-kva.example");
  CHECK(r->domain() == "xn--bcher-kva.example");

  // The upper-case U-label and the A-label itself meet in the same canonical form.
  auto upper = EmailAddress::parse("user@B\u00DCCHER.EXAMPLE");
  REQUIRE(upper.is_ok());
  CHECK(upper->canonical() == "user@xn--bcher-kva.example");
  auto ace = EmailAddress::parse("user@XN--BCHER-KVA.example");
  REQUIRE(ace.is_ok());
  CHECK(ace->canonical() == "user@xn--bcher-kva.example");

  // UTS #46 maps the ideographic full stop to a dot.
  auto ideographic = EmailAddress::parse("user@b\u00FCcher\u3002example");
  REQUIRE(ideographic.is_ok());
  CHECK(ideographic->domain() == "xn--bcher-kva.example");
}

TEST_CASE("email: an invalid internationalized domain is kEmailInvalidDomain", "[email]") {
  for (std::string_view text : {
           "user@a\u05D0.example",            // Latin then Hebrew in one label: the Bidi rule
           "user@a\u200Db.example",           // a ZERO WIDTH JOINER out of context
           "user@xn--zz-.example",            // a forged A-label
           "user@b\u00FCcher\xFF.example",    // ill-formed UTF-8
           "user@\u0301abc.example",          // a label starting with a combining mark
           "user@b\u00FCcher.example\u3002",  // a trailing ideographic full stop
       }) {
    CAPTURE(text);
    CHECK(EmailAddress::parse(text).code() == ErrorCode::kEmailInvalidDomain);
  }
}

TEST_CASE("email: provider canonicalization is off by default", "[email]") {
  auto r = EmailAddress::parse("John.Doe+news@GoogleMail.com");
  REQUIRE(r.is_ok());
  CHECK(r->canonical() == "john.doe+news@googlemail.com");
  CHECK(EmailAddress::parse("+tag@gmail.com").is_ok());
}

TEST_CASE(
    "email: with provider canonicalization, Gmail drops dots and +tags and googlemail "
    "becomes gmail",
    "[email]") {
  const EmailOptions o = with_provider_rules();
  for (std::string_view text : {"John.Doe+news@GoogleMail.com", "johndoe@gmail.com",
                                "j.o.h.n.d.o.e+a+b@gmail.com", "JOHNDOE@googlemail.com"}) {
    CAPTURE(text);
    auto r = EmailAddress::parse(text, o);
    REQUIRE(r.is_ok());
    CHECK(r->canonical() == "johndoe@gmail.com");
    CHECK(r->local_part() == "johndoe");
    CHECK(r->domain() == "gmail.com");
  }
}

TEST_CASE("email: with provider canonicalization, Outlook drops +tags but keeps dots", "[email]") {
  auto r = EmailAddress::parse("John.Doe+shop@Outlook.com", with_provider_rules());
  REQUIRE(r.is_ok());
  CHECK(r->canonical() == "john.doe@outlook.com");
  auto icloud = EmailAddress::parse("Jane.Roe+x@icloud.com", with_provider_rules());
  REQUIRE(icloud.is_ok());
  CHECK(icloud->canonical() == "jane.roe@icloud.com");
}

TEST_CASE("email: with provider canonicalization, other domains are untouched", "[email]") {
  for (std::string_view text : {"John.Doe+news@example.com", "John.Doe+news@gmail.com.evil.example",
                                "John.Doe+news@notgmail.com"}) {
    CAPTURE(text);
    auto r = EmailAddress::parse(text, with_provider_rules());
    REQUIRE(r.is_ok());
    CHECK(r->local_part() == "john.doe+news");
  }
}

TEST_CASE(
    "email: with provider canonicalization, a local part that the rules empty is "
    "kEmailSyntax",
    "[email]") {
  CHECK(EmailAddress::parse("+tag@gmail.com", with_provider_rules()).code() ==
        ErrorCode::kEmailSyntax);
  CHECK(EmailAddress::parse("a.+tag@outlook.com", with_provider_rules()).code() ==
        ErrorCode::kEmailSyntax);
}

TEST_CASE("email: masked() shows the domain, and the first character of a longer local part",
          "[email]") {
  auto r = EmailAddress::parse("john.doe@Example.com");
  REQUIRE(r.is_ok());
  CHECK(r->masked() == "j***@example.com");
  CHECK(EmailAddress::parse("abc@example.com")->masked() == "a***@example.com");
  // One or two characters would be shown (nearly) whole.
  CHECK(EmailAddress::parse("x@example.com")->masked() == "***@example.com");
  CHECK(EmailAddress::parse("xy@example.com")->masked() == "***@example.com");
}

TEST_CASE("email: error messages never contain the input", "[email]") {
  const std::string local = "zqxvkwj";
  const std::string domain = "wqmkpfy";
  const std::string inputs[] = {
      local + "." + domain,
      "." + local + "@" + domain + ".example",
      "\"" + local + "\"@" + domain + ".example",
      local + "\u00E9@" + domain + ".example",
      local + std::string(64, 'q') + "@" + domain + ".example",
      local + "@" + domain,
      local + "@" + domain + "_x.example",
      local + "@" + std::string(64, 'q') + domain + ".example",
      local + "@" + domain + "\u05D0.example",
      std::string(64, 'q') + "@" + domain + std::string(63 - domain.size(), 'q') + "." +
          std::string(63, 'q') + "." + std::string(63, 'q'),
      local + std::string(1024, 'q') + "@" + domain + ".example",
  };
  for (const std::string& text : inputs) {
    CAPTURE(text.size());
    auto r = EmailAddress::parse(text);
    REQUIRE_FALSE(r.is_ok());
    const std::string& m = r.status().message();
    CHECK_FALSE(m.empty());
    CHECK(m.find(local) == std::string::npos);
    CHECK(m.find(domain) == std::string::npos);
    CHECK(m.find("qqq") == std::string::npos);
  }
}

TEST_CASE("email: a copy and a move keep local part and domain apart", "[email]") {
  auto r = EmailAddress::parse("john@example.com");
  REQUIRE(r.is_ok());
  EmailAddress copy = *r;
  EmailAddress moved = std::move(copy);
  CHECK(moved.local_part() == "john");
  CHECK(moved.domain() == "example.com");
}

TEST_CASE("identifier: canonical() and masked() follow the channel", "[identifier]") {
  auto email = EmailAddress::parse("John@Example.com");
  REQUIRE(email.is_ok());
  const veribind::Identifier by_email(*email);
  CHECK(by_email.channel() == veribind::Channel::kEmail);
  CHECK(by_email.canonical() == "john@example.com");
  CHECK(by_email.masked() == "j***@example.com");
  CHECK(by_email.phone() == nullptr);
  REQUIRE(by_email.email() != nullptr);

  auto phone = veribind::PhoneNumber::parse("+923001234567");
  REQUIRE(phone.is_ok());
  const veribind::Identifier by_phone(*phone);
  CHECK(by_phone.channel() == veribind::Channel::kPhone);
  CHECK(by_phone.canonical() == "+923001234567");
  CHECK(by_phone.masked() == "+92 ********67");
  CHECK(by_phone.email() == nullptr);

  CHECK(veribind::channel_name(veribind::Channel::kPhone) == "phone");
  CHECK(veribind::channel_name(veribind::Channel::kEmail) == "email");
}
