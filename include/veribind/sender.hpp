// Sender: hands a code to a channel (SMS gateway, mail server, console). The one place a code
// leaves the library in plaintext.
#pragma once

#include <iosfwd>
#include <string_view>

#include "veribind/clock.hpp"
#include "veribind/identifier.hpp"
#include "veribind/purpose.hpp"
#include "veribind/result.hpp"

namespace veribind {

// Everything a channel needs for one message. The views are valid only during send(): a sender
// that queues the message must copy what it needs, and must not log `destination` or `code`.
struct Delivery {
  Channel channel;
  std::string_view destination;         // E.164 number or canonical email address
  std::string_view masked_destination;  // safe to log
  std::string_view code;
  Purpose purpose;
  Timestamp expires_at;
  std::string_view challenge_id = {};  // ChallengeId::to_string(): names the message in reports
  std::string_view locale = {};        // RequestContext::locale, validated; empty: the default
};

class Sender {
 public:
  virtual ~Sender() = default;
  // Delivers or refuses. A non-ok Status (kDeliveryFailed, kUnavailable) makes start()/resend()
  // fail; the challenge is then not usable. Must be safe to call from several threads at once.
  virtual Status send(const Delivery& delivery) = 0;
  // Called instead of send() when a limit refused the request, with a Delivery made the same way
  // (for a challenge no code can verify). Must deliver nothing. A sender whose send() works on the
  // request thread (rendering, copying, queuing) does the same work here and drops the message,
  // so that the time start() takes does not tell a refusal from a send. The default does nothing:
  // right for a sender whose send() costs nothing either.
  virtual void send_decoy(const Delivery& delivery) noexcept { (void)delivery; }
};

// For development: writes one human-readable line per delivery to `out`, stating plainly that no
// SMS or email was sent, and including the code (that is the point of it). Never use in production.
class ConsoleSender final : public Sender {
 public:
  explicit ConsoleSender(std::ostream& out) : out_(&out) {}
  Status send(const Delivery& delivery) override;

 private:
  std::ostream* out_;
};

}  // namespace veribind
