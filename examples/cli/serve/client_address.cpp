// Address parsing with inet_pton (no names resolved), CIDR matching over 128 bits.
#include "serve/client_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace veribind::serve {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool all_digits(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<IpAddress> parse_plain(std::string_view text) {
  // INET6_ADDRSTRLEN is 46; anything longer is not an address.
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  in_addr v4{};
  if (inet_pton(AF_INET, buffer, &v4) == 1) {
    address.bytes[10] = 0xff;
    address.bytes[11] = 0xff;
    std::memcpy(address.bytes.data() + 12, &v4, 4);
    return address;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buffer, &v6) == 1) {
    std::memcpy(address.bytes.data(), &v6, 16);
    return address;
  }
  return std::nullopt;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return std::nullopt;
    const std::string_view inner = text.substr(1, close - 1);
    if (inner.find(':') == std::string_view::npos) return std::nullopt;  // brackets are for v6
    return parse_plain(inner);
  }
  // One colon: an IPv4 address with a port. Two or more: IPv6.
  const std::size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    if (!all_digits(text.substr(colon + 1))) return std::nullopt;
    auto address = parse_plain(text.substr(0, colon));
    if (!address || !address->is_v4()) return std::nullopt;
    return address;
  }
  return parse_plain(text);
}

bool IpAddress::is_v4() const noexcept {
  for (int i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::string IpAddress::text() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buffer, sizeof buffer);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buffer, sizeof buffer);
  }
  return buffer;
}

Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& entries) {
  TrustedProxies proxies;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Status bad(ErrorCode::kInvalidConfig, "trusted_proxies: entry " + std::to_string(i + 1) +
                                                    " is not an address or CIDR block");
    const std::string_view entry = trim(entries[i]);
    if (entry == "unix") {
      proxies.unix_socket_ = true;
      continue;
    }
    const std::size_t slash = entry.find('/');
    const auto address = parse_plain(entry.substr(0, slash));
    if (!address) return bad;
    Block block{*address, 128};
    if (slash != std::string_view::npos) {
      const std::string_view bits = entry.substr(slash + 1);
      int prefix = -1;
      const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      const int max = address->is_v4() ? 32 : 128;
      if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || prefix < 0 ||
          prefix > max) {
        return bad;
      }
      block.prefix_bits = address->is_v4() ? prefix + 96 : prefix;
    }
    proxies.blocks_.push_back(block);
  }
  return proxies;
}

bool TrustedProxies::contains(const IpAddress& address) const noexcept {
  for (const Block& block : blocks_) {
    int bits = block.prefix_bits;
    bool match = true;
    for (std::size_t i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
      match = (address.bytes[i] & mask) == (block.network.bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const TrustedProxies& trusted) {
  const auto peer_address = IpAddress::parse(peer);
  const bool peer_trusted = peer_address ? trusted.contains(*peer_address)
                                         : (peer == "unix" && trusted.trusts_unix_socket());
  std::string client = peer_address ? peer_address->text() : std::string(peer);
  if (!peer_trusted || trim(forwarded_for).empty()) return client;
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    const std::size_t comma = rest.rfind(',');
    const std::string_view hop = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    const auto address = IpAddress::parse(hop);
    if (!address) break;  // written by someone no trusted proxy vouches for
    client = address->text();
    if (!trusted.contains(*address)) break;
  }
  return client;
}

}  // namespace veribind::serve
