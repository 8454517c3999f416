#include "veribind/purpose.hpp"

namespace veribind {

std::string_view purpose_name(Purpose purpose) noexcept {
  switch (purpose) {
    case Purpose::kSignup: return "signup";
    case Purpose::kLogin: return "login";
    case Purpose::kRecovery: return "recovery";
    case Purpose::kChangeIdentifier: return "change-identifier";
  }
  return "unknown";
}

bool is_valid_purpose(Purpose purpose) noexcept {
  switch (purpose) {
    case Purpose::kSignup:
    case Purpose::kLogin:
    case Purpose::kRecovery:
    case Purpose::kChangeIdentifier: return true;
  }
  return false;
}

std::optional<Purpose> purpose_from_name(std::string_view name) noexcept {
  for (Purpose p :
       {Purpose::kSignup, Purpose::kLogin, Purpose::kRecovery, Purpose::kChangeIdentifier}) {
    if (purpose_name(p) == name) return p;
  }
  return std::nullopt;
}

}  // namespace veribind
