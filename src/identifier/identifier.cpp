// Identifier: the channel-independent view the verifier and the registry work with.
#include "veribind/identifier.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace veribind {

std::string_view Identifier::canonical() const noexcept {
  if (const PhoneNumber* p = phone()) return p->e164();
  return email()->canonical();
}

std::string Identifier::masked() const {
  if (const PhoneNumber* p = phone()) return p->masked();
  return email()->masked();
}

}  // namespace veribind
