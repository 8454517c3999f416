#include "delivery/internal/mime.hpp"

#include <sodium.h>

#include <array>
#include <ctime>

#include "internal/hex.hpp"
#include "internal/sodium.hpp"
#include "internal/utf8.hpp"
#include "internal/wipe.hpp"
#include "veribind/identifier.hpp"

namespace veribind::internal {

namespace {

constexpr std::size_t kMaxEncodedWord = 75;                    // RFC 2047 section 2
constexpr std::string_view kWordPrefix = "=?UTF-8?B?";         // 10 characters
constexpr std::size_t kWordOverhead = kWordPrefix.size() + 2;  // and "?="
// The most bytes whose base64 fits one encoded word: 4 characters per 3 bytes.
constexpr std::size_t kWordBytes = (kMaxEncodedWord - kWordOverhead) / 4 * 3;
// A short ASCII subject stays as it is: "Subject: " plus this fits the 78-character line.
constexpr std::size_t kPlainHeaderText = 66;

// Valid UTF-8 without C0/C1 controls or DEL: nothing that could end a header line or hide.
bool header_safe(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = decode_utf8(text, i, cp);
    if (n == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    i += n;
  }
  return true;
}

// Valid UTF-8, where line ends and tabs are allowed (they are body text).
bool body_safe(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = decode_utf8(text, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool plain_ascii(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  // "=?" would read as the start of an encoded word.
  return text.find("=?") == std::string_view::npos;
}

std::string base64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string random_hex(std::size_t bytes) {
  ensure_sodium();
  std::array<std::uint8_t, 32> buffer{};
  randombytes_buf(buffer.data(), bytes);
  return to_hex({buffer.data(), bytes});
}

// A display name as a quoted string (RFC 5322 section 3.2.4) when it needs one.
std::string display_name(std::string_view name) {
  if (!plain_ascii(name) || name.size() > kPlainHeaderText) return encode_header_text(name);
  if (name.find_first_of("()<>[]:;@\\,.\"") == std::string_view::npos) return std::string(name);
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

void append_line(std::string& out, std::string_view a, std::string_view b = {}) {
  out.append(a);
  out.append(b);
  out.append("\r\n");
}

void append_part(std::string& out, std::string_view boundary, std::string_view type,
                 std::string_view body) {
  append_line(out, "--", boundary);
  append_line(out, "Content-Type: ", type);
  append_line(out, "Content-Transfer-Encoding: quoted-printable");
  append_line(out, "");
  append_quoted_printable(out, body);
  append_line(out, "");
}

}  // namespace

Result<Mailbox> parse_mailbox(std::string_view text) {
  const Status refused(ErrorCode::kInvalidArgument, "not a mailbox");
  if (!header_safe(text)) return refused;
  text = trim(text);
  std::string_view name;
  std::string_view address = text;
  if (!text.empty() && text.back() == '>') {
    const std::size_t open = text.rfind('<');
    if (open == std::string_view::npos) return refused;
    name = trim(text.substr(0, open));
    address = text.substr(open + 1, text.size() - open - 2);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
  }
  auto parsed = EmailAddress::parse(address);
  if (!parsed) return refused;
  Mailbox box;
  box.address = std::string(parsed->canonical());
  box.domain = std::string(parsed->domain());
  box.header = name.empty() ? box.address : display_name(name) + " <" + box.address + ">";
  return box;
}

std::string encode_header_text(std::string_view text) {
  if (plain_ascii(text) && text.size() <= kPlainHeaderText) return std::string(text);
  std::string out;
  // Reserved so that it never reallocates: it may hold the code (code_in_subject), and the caller
  // wipes only the final buffer. Each word of at most kWordBytes grows to 4/3 in base64.
  out.reserve(text.size() * 2 + 64);
  std::size_t i = 0;
  while (i < text.size()) {
    // Take whole characters while they fit one word.
    std::size_t end = i;
    while (end < text.size()) {
      char32_t cp = 0;
      std::size_t n = decode_utf8(text, end, cp);
      if (n == 0) n = 1;  // precondition broken: still make progress
      if (end + n - i > kWordBytes) break;
      end += n;
    }
    if (!out.empty()) out.append("\r\n ");
    out.append(kWordPrefix);
    std::string word = base64(text.substr(i, end - i));
    WipeOnExit wipe_word(word);
    out.append(word);
    out.append("?=");
    i = end;
  }
  return out;
}

std::string format_date(Timestamp t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  // Names written out rather than strftime's %a/%b, which follow the process locale.
  std::array<char, 40> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buffer.data();
}

void append_quoted_printable(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  constexpr std::size_t kMaxLine = 76;
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      if (c == '\r') ++i;
      out.append("\r\n");  // a hard line break
      line = 0;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
    // Spaces and tabs at a line end are encoded: transports may strip trailing whitespace.
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    const std::size_t width = literal ? 1 : 3;
    // Leave room for the "=" of a soft line break.
    if (line + width > kMaxLine - 1) {
      out.append("=\r\n");
      line = 0;
    }
    if (literal) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('=');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
    line += width;
  }
}

Result<SecretText> build_message(const Mailbox& from, const MailContent& content) {
  const Status injected(ErrorCode::kInvalidArgument,
                        "message header holds a control character or is not UTF-8");
  if (!header_safe(content.subject) || !header_safe(content.to)) return injected;
  if (content.to.empty() || content.to.find_first_of(" <>\"") != std::string_view::npos ||
      content.to.find('@') == std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, "destination is not a plain address");
  }
  if (!body_safe(content.text) || !body_safe(content.html)) {
    return Status(ErrorCode::kInvalidArgument, "message body is not UTF-8");
  }
  const std::string boundary = "=_vb" + random_hex(12);  // "=_" never occurs in QP output
  std::string out;
  WipeOnExit wipe_out(out);
  // Reserved to the worst case (every byte escaped, plus soft breaks) so that the buffer never
  // reallocates and leaves an unwiped copy of the code in freed memory.
  out.reserve(
      2048 + from.header.size() + from.domain.size() +
      4 * (content.subject.size() + content.to.size() + content.text.size() + content.html.size()));
  append_line(out, "From: ", from.header);
  append_line(out, "To: ", content.to);
  {
    // The subject may hold the code (code_in_subject): its encoded form is wiped too.
    std::string subject = encode_header_text(content.subject);
    WipeOnExit wipe_subject(subject);
    append_line(out, "Subject: ", subject);
  }
  append_line(out, "Date: ", format_date(content.date));
  append_line(out, "Message-ID: <" + random_hex(16) + "@" + from.domain + ">");
  append_line(out, "MIME-Version: 1.0");
  // RFC 3834: an automatic message, so that autoresponders do not answer it.
  append_line(out, "Auto-Submitted: auto-generated");
  if (content.html.empty()) {
    append_line(out, "Content-Type: text/plain; charset=UTF-8");
    append_line(out, "Content-Transfer-Encoding: quoted-printable");
    append_line(out, "");
    append_quoted_printable(out, content.text);
    append_line(out, "");
  } else {
    append_line(out, "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"");
    append_line(out, "");
    // Clients show the last alternative they can render: plain text first, HTML last.
    append_part(out, boundary, "text/plain; charset=UTF-8", content.text);
    append_part(out, boundary, "text/html; charset=UTF-8", content.html);
    append_line(out, "--" + boundary + "--");
  }
  return SecretText::copy_of(out);
}

}  // namespace veribind::internal
