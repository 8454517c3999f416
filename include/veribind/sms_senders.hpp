// SMS providers over HTTPS: WebhookSender (a JSON POST to your own gateway, signed the Standard
// Webhooks way) and TwilioSender (Twilio's Messages API).
//
//   veribind::WebhookConfig hook;
//   hook.url = "https://sms-gateway.internal/send";
//   hook.secret_file = "/etc/veribind/webhook.key";  // chmod 600, at least 16 bytes
//   auto sms = veribind::WebhookSender::create(hook);
//
// Security contract: the message travels only over HTTPS with the server's certificate verified
// (system CA store or `ca_file`); "http://" is accepted only to this machine (loopback). Secrets
// are read once from files at create(). Redirects are never followed. Each deliver() makes one
// request and classifies it: 2xx sent; 408, 425, 429, 5xx, connection failures and timeouts
// temporary (Retry-After honoured); other statuses and certificate failures permanent.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "veribind/delivery.hpp"
#include "veribind/result.hpp"

namespace veribind {

struct WebhookConfig {
  std::string name = "webhook";
  std::string url;  // https://...; http:// only to a loopback host
  // The HMAC key, from a file readable by its owner only: a Standard Webhooks secret
  // ("whsec_" + base64, a trailing newline allowed) is decoded, as the scheme's verifiers do;
  // any other content is the key as it is, byte for byte (nothing stripped). At least 16 bytes.
  std::string secret_file;
  std::string ca_file;  // PEM CA bundle to trust instead of the system's; empty: system
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  // The longest the server may go without sending a byte (HTTP has no per-reply timeout).
  std::chrono::milliseconds response_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds total_timeout{std::chrono::seconds(30)};
};

// POSTs {"to":"+E164","text":"...","id":"<challenge id>"} as application/json with the Standard
// Webhooks headers: webhook-id (one per message: the challenge id and a keyed digest of the
// message, the same on every retry of it, so the receiver can drop duplicates), webhook-timestamp
// (Unix seconds) and webhook-signature "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".
class WebhookSender final : public DeliveryProvider {
 public:
  // Errors name the field and never hold a secret: kInvalidConfig (bad URL or scheme, http://
  // to a host that is not loopback, a secret file that is missing, empty or under 16 bytes, bad
  // timeouts), kKeyFileInsecure (the secret file is accessible by group or others). The caller
  // owns the sender.
  static Result<std::unique_ptr<WebhookSender>> create(WebhookConfig config);

  [[nodiscard]] std::string_view name() const noexcept override;
  [[nodiscard]] Channel channel() const noexcept override { return Channel::kPhone; }
  // One request on a fresh connection; never longer than total_timeout. Thread-safe.
  [[nodiscard]] AttemptResult deliver(const OutgoingMessage& message) override;

  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;
  ~WebhookSender() override;

 private:
  struct Settings;
  explicit WebhookSender(std::unique_ptr<const Settings> settings);
  std::unique_ptr<const Settings> settings_;
};

struct TwilioConfig {
  std::string name = "twilio";
  std::string base_url = "https://api.twilio.com";  // http:// only to a loopback host
  std::string account_sid;                          // letters and digits ("AC...")
  // The auth token, read once at create(); one trailing newline is stripped. Owner-only file.
  std::string auth_token_file;
  // Exactly one of the two: the sending number (or alphanumeric sender id), or a messaging
  // service that chooses it.
  std::string from;
  std::string messaging_service_sid;
  std::string ca_file;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds response_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds total_timeout{std::chrono::seconds(30)};
};

// POSTs To, From or MessagingServiceSid, and Body, form-encoded, to
// {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json with HTTP basic authentication
// (account_sid, auth token).
class TwilioSender final : public DeliveryProvider {
 public:
  // Errors as for WebhookSender::create, plus kInvalidConfig for a missing or malformed
  // account_sid, and for neither or both of from and messaging_service_sid.
  static Result<std::unique_ptr<TwilioSender>> create(TwilioConfig config);

  [[nodiscard]] std::string_view name() const noexcept override;
  [[nodiscard]] Channel channel() const noexcept override { return Channel::kPhone; }
  // One request on a fresh connection; never longer than total_timeout. Thread-safe.
  [[nodiscard]] AttemptResult deliver(const OutgoingMessage& message) override;

  TwilioSender(const TwilioSender&) = delete;
  TwilioSender& operator=(const TwilioSender&) = delete;
  ~TwilioSender() override;

 private:
  struct Settings;
  explicit TwilioSender(std::unique_ptr<const Settings> settings);
  std::unique_ptr<const Settings> settings_;
};

}  // namespace veribind
