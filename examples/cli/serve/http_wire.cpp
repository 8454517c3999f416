#include "serve/http_wire.hpp"

#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace veribind::serve::wire {

namespace {

// RFC 9110's IMF-fixdate, formatted at most once a second per thread (no locale, no lock).
std::string_view http_date() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t formatted_at = -1;
  thread_local char text[40];
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    const int n = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    length = n > 0 ? static_cast<std::size_t>(n) : 0;
    formatted_at = now;
  }
  return {text, length};
}

bool token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A header value that cannot end the header early or split the reply.
bool safe_value(std::string_view value) {
  for (const char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The headers the transport writes itself, so that a handler can neither repeat nor contradict
// them (a second Content-Length would let a proxy read the reply differently).
bool transport_header(std::string_view name) {
  static constexpr std::string_view kOwn[] = {
      "content-length", "transfer-encoding",      "connection",
      "date",           "content-type",           "cache-control",
      "server",         "x-content-type-options", "keep-alive"};
  for (const auto own : kOwn) {
    if (iequals(name, own)) return true;
  }
  return false;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!token_char(c)) return false;
  }
  return true;
}

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace

void ServerState::add(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  connections_.emplace(connection.get(), connection);
}

void ServerState::remove(const Connection* connection) {
  bool last = false;
  {
    std::lock_guard lock(mutex_);
    connections_.erase(connection);
    last = connections_.empty();
  }
  if (last && stopping()) drained();
}

bool sendable_status(int status) noexcept { return status >= 200 && status <= 599; }

void write_head(std::string& out, const HttpReply& reply, bool keep_alive, unsigned version) {
  out.clear();
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(reply.status));
  out += ' ';
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(reply.status));
  out.append(reason.data(), reason.size());
  out += "\r\nDate: ";
  out += http_date();
  if (!reply.content_type.empty() && safe_value(reply.content_type)) {
    out += "\r\nContent-Type: ";
    out += reply.content_type;
  }
  out += "\r\nContent-Length: ";
  append_number(out, reply.body.size());
  out += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [name, value] : reply.headers) {
    if (!valid_name(name) || !safe_value(value) || transport_header(name)) continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version < 11) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

}  // namespace veribind::serve::wire
