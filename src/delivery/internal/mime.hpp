// Building the email veribind sends: curl uploads the bytes it is given and adds no Date,
// Message-ID, From or To, and does not encode subjects, so the whole RFC 5322 / MIME message is
// made here.
#pragma once

#include <string>
#include <string_view>

#include "veribind/clock.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind::internal {

// A sender mailbox: "Example <no-reply@example.com>" or a bare address.
struct Mailbox {
  std::string address;  // canonical, for MAIL FROM and the Message-ID's domain
  std::string domain;
  std::string header;  // the From header's value, display name encoded when not ASCII
};

// kInvalidArgument when the text is not a mailbox: no address, an address EmailAddress::parse
// refuses, a display name with control characters (CR/LF: header injection) or invalid UTF-8.
// The message never contains the text.
Result<Mailbox> parse_mailbox(std::string_view text);

struct MailContent {
  std::string_view to;       // a bare address
  std::string_view subject;  // UTF-8
  std::string_view text;     // the text/plain part, UTF-8
  std::string_view html;     // the text/html part; empty: the message is text/plain only
  Timestamp date;
};

// The whole message with CRLF line ends: From, To, Subject (RFC 2047 B-encoded words when not
// plain ASCII), Date (UTC), Message-ID (random, at the sender's domain), MIME-Version,
// Auto-Submitted, and a multipart/alternative body, text/plain first, each part UTF-8 and
// quoted-printable. It is returned as SecretText because the body holds the code; no unwiped copy
// is left behind. kInvalidArgument when `to` or the subject holds CR, LF or another control
// character (header injection), `to` is not a plain address, or a text is not UTF-8.
Result<SecretText> build_message(const Mailbox& from, const MailContent& content);

// Exposed for the tests. A header value as RFC 2047 encoded words ("=?UTF-8?B?...?=", each at
// most 75 characters, never splitting a UTF-8 character) joined by folding whitespace, or the
// text itself when it is short printable ASCII. Precondition: valid UTF-8 without controls.
std::string encode_header_text(std::string_view text);
// RFC 5322 date-time in UTC: "Wed, 02 Dec 2026 01:10:04 +0000".
std::string format_date(Timestamp t);
// Appends `text` quoted-printable (RFC 2045): lines at most 76 characters, line ends as CRLF.
void append_quoted_printable(std::string& out, std::string_view text);

}  // namespace veribind::internal
