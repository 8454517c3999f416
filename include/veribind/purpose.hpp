// Why a code was sent. A code is bound to one purpose: a code sent for login never verifies a
// signup, a recovery or a change of identifier.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace veribind {

enum class Purpose : std::uint8_t {
  kSignup = 1,
  kLogin = 2,
  kRecovery = 3,
  kChangeIdentifier = 4,
};

// True for the four purposes above; false for any other value cast to Purpose.
[[nodiscard]] bool is_valid_purpose(Purpose purpose) noexcept;
// "signup", "login", "recovery", "change-identifier".
[[nodiscard]] std::string_view purpose_name(Purpose purpose) noexcept;
// The inverse of purpose_name; nullopt for anything else.
[[nodiscard]] std::optional<Purpose> purpose_from_name(std::string_view name) noexcept;

}  // namespace veribind
