#include "veribind/channel.hpp"

namespace veribind {

std::string_view channel_name(Channel channel) noexcept {
  switch (channel) {
    case Channel::kPhone: return "phone";
    case Channel::kEmail: return "email";
  }
  return "unknown";
}

}  // namespace veribind
