// ChallengeId: 128 random bits naming one challenge; printable as 32 lower-case hex characters.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "veribind/result.hpp"

namespace veribind {

struct ChallengeId {
  static constexpr std::size_t kBytes = 16;
  static constexpr std::size_t kTextLength = 2 * kBytes;
  std::array<std::uint8_t, kBytes> bytes{};

  // From libsodium's CSPRNG.
  static ChallengeId random();
  // Accepts exactly kTextLength hex characters (either case). kInvalidChallengeId otherwise.
  static Result<ChallengeId> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
  bool operator==(const ChallengeId&) const = default;
};

}  // namespace veribind
