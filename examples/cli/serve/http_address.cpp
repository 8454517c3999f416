// The plain values of the HTTP transport: error replies, limits and listen addresses.
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <string>

#include "serve/http_server.hpp"

namespace veribind::serve {

namespace {

// JSON string contents for the transport's fixed texts; escapes what JSON needs anyway, so that a
// caller's message can never break the reply's shape.
void append_json_text(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
}

Status bad_address(std::string_view why) {
  return {ErrorCode::kInvalidArgument, "listen address " + std::string(why)};
}

constexpr std::string_view kShapes =
    "must be IPv4:port, [IPv6]:port or unix:/absolute/path (names are not resolved)";

// sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;

}  // namespace

HttpReply error_reply(int status, std::string_view code, std::string_view message) {
  HttpReply reply;
  reply.status = status;
  reply.body.reserve(32 + code.size() + message.size());
  reply.body += "{\"error\":{\"code\":\"";
  append_json_text(reply.body, code);
  reply.body += "\",\"message\":\"";
  append_json_text(reply.body, message);
  reply.body += "\"}}";
  reply.reason = std::string(code);
  return reply;
}

Status ServerLimits::validate() const {
  const auto bad = [](std::string_view what) {
    return Status(ErrorCode::kInvalidConfig, std::string(what));
  };
  if (header_bytes < 1024) return bad("header_bytes must be >= 1024");
  // The parser counts the header in 32 bits.
  if (header_bytes > 0xffffffffu) return bad("header_bytes must be < 4 GiB");
  if (body_bytes == 0) return bad("body_bytes must be > 0");
  if (header_timeout.count() <= 0) return bad("header_timeout must be > 0");
  if (body_timeout.count() <= 0) return bad("body_timeout must be > 0");
  if (write_timeout.count() <= 0) return bad("write_timeout must be > 0");
  if (idle_timeout.count() <= 0) return bad("idle_timeout must be > 0");
  if (max_connections == 0) return bad("max_connections must be > 0");
  if (threads <= 0) return bad("threads must be > 0");
  if (threads > 256) return bad("threads must be <= 256");
  return Status::ok();
}

Result<ListenAddress> ListenAddress::parse(std::string_view text) {
  if (text.empty()) return bad_address(kShapes);
  ListenAddress address;
  if (text.substr(0, 5) == "unix:") {
    const auto path = text.substr(5);
    if (path.size() < 2 || path.front() != '/') {
      return bad_address("unix: needs an absolute path");
    }
    if (path.size() > kMaxSocketPath) return bad_address("unix: path is longer than 107 bytes");
    if (path.find('\0') != std::string_view::npos) return bad_address("unix: path holds a NUL");
    address.unix_socket = true;
    address.host = std::string(path);
    return address;
  }
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad_address(kShapes);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad_address("needs a port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An IPv6 address must be bracketed, so that its last group is not taken for the port.
    if (host.find(':') != std::string_view::npos) return bad_address(kShapes);
  }
  if (host.empty()) return bad_address(kShapes);
  if (port.empty() || port.size() > 5) return bad_address("port must be a number from 0 to 65535");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad_address("port must be a number from 0 to 65535");
  }
  boost::system::error_code parse_error;
  const std::string host_text(host);
  if (text.front() == '[') {
    boost::asio::ip::make_address_v6(host_text, parse_error);
  } else {
    boost::asio::ip::make_address_v4(host_text, parse_error);
  }
  if (parse_error) return bad_address(kShapes);
  address.host = host_text;
  address.port = static_cast<std::uint16_t>(value);
  return address;
}

bool ListenAddress::loopback() const noexcept {
  if (unix_socket) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return false;
  if (address.is_v4()) return (address.to_v4().to_uint() >> 24) == 127;
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return (boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_uint() >> 24) ==
           127;
  }
  return v6.is_loopback();
}

}  // namespace veribind::serve
