// PublishedAuditHead: the head of the audit log in the form an operator publishes (COUNT:MAC).
#include <limits>
#include <string>

#include "internal/hex.hpp"
#include "veribind/audit.hpp"

namespace veribind {

Result<PublishedAuditHead> PublishedAuditHead::parse(std::string_view text) {
  const Status bad(ErrorCode::kInvalidArgument,
                   "published audit head: expected COUNT:MAC, the entry count in decimal and the "
                   "last entry's mac as 64 lower-case hex digits (as transparency prints it)");
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 20) return bad;
  const std::string_view count = text.substr(0, colon);
  const std::string_view mac = text.substr(colon + 1);
  if (count.size() > 1 && count[0] == '0') return bad;  // one spelling per head
  PublishedAuditHead head;
  for (char c : count) {
    if (c < '0' || c > '9') return bad;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (head.count > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return bad;
    head.count = head.count * 10 + digit;
  }
  // Lower case only (one spelling per head), then the one hex decoder.
  if (mac.find_first_not_of("0123456789abcdef") != std::string_view::npos) return bad;
  if (!internal::from_hex(mac, head.last_mac)) return bad;
  // An empty log has no last entry: only the all-zero mac goes with a count of 0.
  if (head.count == 0 && head.last_mac != decltype(head.last_mac){}) return bad;
  return head;
}

std::string PublishedAuditHead::text() const {
  return std::to_string(count) + ":" + internal::to_hex(last_mac);
}

PublishedAuditHead PublishedAuditHead::of(const std::optional<AuditHead>& head) {
  PublishedAuditHead published;
  if (head) published.count = head->count, published.last_mac = head->last_mac;
  return published;
}

}  // namespace veribind
