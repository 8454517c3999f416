// The delivery providers, tested against real servers on loopback that each test starts and
// stops itself: tests/delivery/smtp_sender_test.cpp (an aiosmtpd server with STARTTLS and AUTH)
// and tests/delivery/http_sms_sender_test.cpp (an HTTP(S) receiver that checks signatures and
// credentials). This file tests the message veribind builds for email (internal/mime.hpp).
#include <catch2/catch.hpp>
#include <string>

#include "delivery/internal/mime.hpp"

using veribind::ErrorCode;
using veribind::Timestamp;
namespace internal = veribind::internal;

namespace {

Timestamp at(std::int64_t unix_seconds) {
  return Timestamp(std::chrono::milliseconds(unix_seconds * 1000));
}

std::string message_text(const veribind::SecretText& s) { return std::string(s.reveal()); }

}  // namespace

TEST_CASE("mime: an ASCII subject stays as it is", "[delivery][mime]") {
  CHECK(internal::encode_header_text("Your sign-in code") == "Your sign-in code");
}

TEST_CASE("mime: a UTF-8 subject becomes encoded words of at most 75 characters",
          "[delivery][mime]") {
  // 40 two-byte characters: more than one word's 45 bytes, so it must split, never mid-character.
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "\xc3\xa9";  // é
  const std::string encoded = internal::encode_header_text(subject);
  CHECK(encoded.rfind("=?UTF-8?B?", 0) == 0);
  std::size_t words = 0;
  std::size_t start = 0;
  while (start < encoded.size()) {
    std::size_t end = encoded.find("\r\n ", start);
    if (end == std::string::npos) end = encoded.size();
    const std::string word = encoded.substr(start, end - start);
    CHECK(word.size() <= 75);
    CHECK(word.rfind("=?UTF-8?B?", 0) == 0);
    CHECK(word.substr(word.size() - 2) == "?=");
    ++words;
    start = end + 3;
  }
  CHECK(words == 2);
  // 44 bytes (22 characters) in the first word: 45 would split the 23rd character.
  CHECK(encoded.substr(0, encoded.find("\r\n ")) ==
        "=?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=");
}

TEST_CASE("mime: the date is RFC 5322 in UTC whatever the locale", "[delivery][mime]") {
  CHECK(internal::format_date(at(0)) == "Thu, 01 Jan 1970 00:00:00 +0000");
  CHECK(internal::format_date(at(1796173804)) == "Wed, 02 Dec 2026 01:10:04 +0000");
}

TEST_CASE("mime: quoted-printable keeps lines within 76 characters and encodes '='",
          "[delivery][mime]") {
  std::string out;
  internal::append_quoted_printable(out, std::string(200, 'a') + "=\xc3\xa9 \nnext line ");
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find("\r\n", start);
    if (end == std::string::npos) end = out.size();
    CHECK(end - start <= 76);
    start = end + 2;
  }
  CHECK(out.find("=3D=C3=A9=20\r\nnext line=20") != std::string::npos);
}

TEST_CASE("mime: a sender mailbox takes a display name or a bare address", "[delivery][mime]") {
  auto named = internal::parse_mailbox("Example <No-Reply@Example.com>");
  REQUIRE(named);
  CHECK(named->address == "no-reply@example.com");
  CHECK(named->domain == "example.com");
  CHECK(named->header == "Example <no-reply@example.com>");
  auto bare = internal::parse_mailbox("no-reply@example.com");
  REQUIRE(bare);
  CHECK(bare->header == "no-reply@example.com");
  auto dotted = internal::parse_mailbox("Example, Inc. <no-reply@example.com>");
  REQUIRE(dotted);
  CHECK(dotted->header == "\"Example, Inc.\" <no-reply@example.com>");
  CHECK(internal::parse_mailbox("Evil\r\nBcc: x@example.com <a@example.com>").code() ==
        ErrorCode::kInvalidArgument);
  CHECK(internal::parse_mailbox("not an address").code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("mime: a CR or LF in the subject or the destination is refused", "[delivery][mime]") {
  auto from = internal::parse_mailbox("no-reply@example.com");
  REQUIRE(from);
  CHECK(
      internal::build_message(*from, {"a@example.com", "Hi\r\nBcc: x@example.com", "t", "", at(0)})
          .code() == ErrorCode::kInvalidArgument);
  CHECK(
      internal::build_message(*from, {"a@example.com\r\nBcc: x@example.com", "Hi", "t", "", at(0)})
          .code() == ErrorCode::kInvalidArgument);
  CHECK(internal::build_message(*from, {"a@example.com", "Hi\n", "t", "", at(0)}).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("mime: the message has every header and text/plain before text/html",
          "[delivery][mime]") {
  auto from = internal::parse_mailbox("Example <no-reply@example.com>");
  REQUIRE(from);
  auto built = internal::build_message(
      *from, {"user@example.org", "Code", "Your code is 123456.\n", "<p>123456</p>", at(0)});
  REQUIRE(built);
  const std::string m = message_text(*built);
  CHECK(m.find("From: Example <no-reply@example.com>\r\n") == 0);
  CHECK(m.find("\r\nTo: user@example.org\r\n") != std::string::npos);
  CHECK(m.find("\r\nSubject: Code\r\n") != std::string::npos);
  CHECK(m.find("\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n") != std::string::npos);
  CHECK(m.find("@example.com>\r\n") != std::string::npos);
  CHECK(m.find("\r\nMIME-Version: 1.0\r\n") != std::string::npos);
  const auto plain = m.find("Content-Type: text/plain; charset=UTF-8");
  const auto html = m.find("Content-Type: text/html; charset=UTF-8");
  REQUIRE(plain != std::string::npos);
  REQUIRE(html != std::string::npos);
  CHECK(plain < html);
  // Every line ends in CRLF: no bare LF reaches the server.
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') REQUIRE((i > 0 && m[i - 1] == '\r'));
  }
}
