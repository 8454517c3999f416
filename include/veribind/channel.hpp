// The channel a code travels by: the core vocabulary every layer shares, with Purpose,
// ChallengeId, Result and the clock.
#pragma once

#include <cstdint>
#include <string_view>

namespace veribind {

// Stable values: they are stored with challenges, bindings and audit entries.
enum class Channel : std::uint8_t { kPhone = 1, kEmail = 2 };
[[nodiscard]] std::string_view channel_name(Channel channel) noexcept;  // "phone" / "email"

}  // namespace veribind
