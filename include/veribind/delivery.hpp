// Delivery providers: what carries one rendered message to a mail server or an SMS gateway.
//
// The Verifier hands a code to a Sender (sender.hpp); the Outbox (outbox.hpp) is the Sender that
// renders the message from a template, queues it in memory and lets worker threads pass it to
// the providers configured for its channel, in order, retrying and failing over. A provider makes
// exactly one attempt per call and classifies its outcome; it never retries by itself, so that
// the outbox alone decides whether a message is sent again (a message is never sent twice because
// two parts of the code each retried).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "veribind/channel.hpp"
#include "veribind/clock.hpp"
#include "veribind/secret.hpp"

namespace veribind {

// One rendered message, owned. Everything that holds the code or the destination is SecretText:
// wiped when the message is destroyed, never written anywhere by veribind.
struct OutgoingMessage {
  Channel channel = Channel::kPhone;
  std::string challenge_id;  // names the message in events and logs; not secret
  SecretText destination;    // E.164 number, or the canonical email address
  std::string subject;       // email only; templates never put the code in it unless configured
  SecretText text;           // the SMS text, or the email's text/plain part
  SecretText html;           // the email's text/html part; empty for SMS
  Timestamp expires_at{};    // no attempt is made at or after this instant
};

// How one attempt ended.
enum class AttemptClass : std::uint8_t {
  kSent,       // the provider accepted the message (SMTP 250 after DATA, HTTP 2xx)
  kTemporary,  // may succeed later: SMTP 4xx, connection errors, timeouts, HTTP 408/425/429/5xx
  kPermanent,  // will not succeed: SMTP 5xx, other HTTP 4xx, a TLS certificate that fails
};

[[nodiscard]] std::string_view attempt_class_name(AttemptClass c) noexcept;  // "sent", ...

struct AttemptResult {
  AttemptClass result = AttemptClass::kTemporary;
  int reply_code = 0;  // the SMTP or HTTP reply code; 0 when there was none (no connection)
  // The provider's Retry-After (HTTP 429/503), 0 when it gave none: the outbox waits at least
  // this long before the next attempt at this provider.
  std::chrono::milliseconds retry_after{0};
  // Short, fixed text naming what happened ("connect timeout", "smtp reply 451",
  // "certificate verify failed"); never the destination, the code or the provider's reply text.
  std::string detail;
};

// A channel's provider: SmtpSender, WebhookSender, TwilioSender, or an application's own.
// deliver() blocks for at most the provider's configured total timeout and must be safe to call
// from several threads at once.
class DeliveryProvider {
 public:
  virtual ~DeliveryProvider() = default;
  // A stable, configured name ("smtp-primary"): it appears in events, logs and metrics.
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  [[nodiscard]] virtual Channel channel() const noexcept = 0;
  // One attempt. Must not log the destination, the code or the message text.
  [[nodiscard]] virtual AttemptResult deliver(const OutgoingMessage& message) = 0;
};

}  // namespace veribind
