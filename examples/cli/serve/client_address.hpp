// Who the client is, when the server sits behind reverse proxies: the address a request came
// from, or, when that is a proxy the configuration trusts, the address the proxies say they
// forwarded for (X-Forwarded-For). The result keys the library's per-client limits
// (RequestContext::client_key), so a client must not be able to choose it: only hops appended by
// trusted proxies are believed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/result.hpp"

namespace veribind::serve {

// An IPv4 or IPv6 address; IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so that both
// spellings of one address compare equal.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  // "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "[2001:db8::1]"; also with a port as proxies
  // sometimes write it ("192.0.2.1:443", "[2001:db8::1]:443"). nullopt for anything else.
  [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text) noexcept;
  [[nodiscard]] bool is_v4() const noexcept;
  // The canonical text: "192.0.2.1", "2001:db8::1".
  [[nodiscard]] std::string text() const;
  bool operator==(const IpAddress&) const = default;
};

// The proxies whose X-Forwarded-For is believed: addresses and CIDR blocks, and "unix" for
// requests that arrive on the server's unix socket (from a proxy on the same host).
class TrustedProxies {
 public:
  TrustedProxies() = default;
  // kInvalidConfig "trusted_proxies: entry N is not an address or CIDR block" (N from 1; the
  // entry itself is not repeated).
  [[nodiscard]] static Result<TrustedProxies> parse(const std::vector<std::string>& entries);

  [[nodiscard]] bool contains(const IpAddress& address) const noexcept;
  [[nodiscard]] bool trusts_unix_socket() const noexcept { return unix_socket_; }
  [[nodiscard]] bool empty() const noexcept { return blocks_.empty() && !unix_socket_; }

 private:
  struct Block {
    IpAddress network;
    int prefix_bits = 128;  // over the 128-bit (mapped) form
  };
  std::vector<Block> blocks_;
  bool unix_socket_ = false;
};

// The client's address for a request from `peer` (HttpRequest::peer) carrying `forwarded_for`
// (X-Forwarded-For, maybe empty): `peer` itself unless it is a trusted proxy; otherwise the
// X-Forwarded-For hops are read from the right, skipping trusted proxies, and the first one that
// is not trusted is the client. If every hop is trusted, the leftmost is. An entry that is not an
// address stops the walk: the hop before it (a trusted proxy) is the client, since what lies
// further left was written by someone no trusted proxy vouches for. Canonical text.
[[nodiscard]] std::string client_address(std::string_view peer, std::string_view forwarded_for,
                                         const TrustedProxies& trusted);

}  // namespace veribind::serve
