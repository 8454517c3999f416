#include "veribind/delivery.hpp"

namespace veribind {

std::string_view attempt_class_name(AttemptClass c) noexcept {
  switch (c) {
    case AttemptClass::kSent: return "sent";
    case AttemptClass::kTemporary: return "temporary";
    case AttemptClass::kPermanent: return "permanent";
  }
  return "unknown";
}

}  // namespace veribind
