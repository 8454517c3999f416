// The sender of `serve --demo` for channels without a real provider: it sends nothing and keeps
// the latest code of each challenge, so that the demo page can show it (GET /demo/codes/{id}).
// Development only: whoever reaches the demo routes can read every code it holds, which is why
// --demo listens on loopback only.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "veribind/clock.hpp"
#include "veribind/secret.hpp"
#include "veribind/sender.hpp"

namespace veribind::serve {

class DemoSender final : public Sender {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;
  // `clock` is not owned and must outlive the sender.
  explicit DemoSender(const Clock& clock, std::size_t capacity = kDefaultCapacity)
      : clock_(&clock), capacity_(capacity == 0 ? 1 : capacity) {}

  // Keeps the code (SecretText) under the challenge id until the challenge expires, replacing an
  // older one (a resend). When full, expired codes go first, then the one that expires soonest.
  Status send(const Delivery& delivery) override;
  // The code held for `challenge_id`, or nullopt (none, or expired: then it is wiped now).
  [[nodiscard]] std::optional<SecretText> code_for(std::string_view challenge_id);
  [[nodiscard]] std::size_t held() const;

 private:
  struct Held {
    SecretText code;
    Timestamp expires_at;
  };
  void drop_expired(Timestamp now);
  const Clock* clock_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<std::string, Held, std::less<>> codes_;
};

}  // namespace veribind::serve
