// SmtpSender: delivers email verification messages to an SMTP server, over TLS.
//
//   veribind::SmtpConfig config;
//   config.url = "smtp://mail.example.com:587";  // STARTTLS, required
//   config.from = "Example <no-reply@example.com>";
//   config.username = "veribind";
//   config.password_file = "/etc/veribind/smtp-password";  // chmod 600
//   auto smtp = veribind::SmtpSender::create(config);      // Result<std::unique_ptr<SmtpSender>>
//
// Security contract: the message travels only inside TLS. "smtp://" requires STARTTLS (a server
// that does not offer it is a permanent failure, never a cleartext send); "smtps://" is TLS from
// the first byte. The server's certificate is verified against the system's CA store or
// `ca_file`. Plain SMTP is possible only when asked for and only to this machine (loopback).
// veribind builds the whole message (curl adds no Date, Message-ID or headers), wiping every
// buffer that held the code.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "veribind/delivery.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind {

struct SmtpConfig {
  std::string name = "smtp";  // the provider's name in events, logs and metrics
  // "smtp://host[:port]" (STARTTLS required) or "smtps://host[:port]" (implicit TLS). No user,
  // password, path or query in it.
  std::string url;
  // Plain SMTP without TLS: allowed only when true AND the URL's host is loopback
  // (127.0.0.0/8, ::1, "localhost"), e.g. a local relay that does its own TLS.
  bool allow_plaintext = false;
  std::string from;      // "Example <no-reply@example.com>" or "no-reply@example.com"
  std::string ca_file;   // PEM CA bundle to trust instead of the system's; empty: system
  std::string username;  // empty: no AUTH
  // The password, read once at create(); one trailing newline is stripped. Required with a
  // username. The file must be readable by its owner only.
  std::string password_file;
  std::string helo_domain;  // the EHLO name; empty: curl's default
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds response_timeout{std::chrono::seconds(10)};  // each server reply
  std::chrono::milliseconds total_timeout{std::chrono::seconds(30)};     // the whole attempt
};

class SmtpSender final : public DeliveryProvider {
 public:
  // Validates the whole configuration and reads the password file. Errors name the field and
  // never hold a secret: kInvalidConfig (a bad URL, scheme, from, timeout, helo_domain; plain
  // SMTP not allowed or not to loopback; a password file that is missing, unreadable or
  // empty; a username without a password file or the reverse), kKeyFileInsecure (the password
  // file is accessible by group or others). The caller owns the sender.
  static Result<std::unique_ptr<SmtpSender>> create(SmtpConfig config);

  [[nodiscard]] std::string_view name() const noexcept override;
  [[nodiscard]] Channel channel() const noexcept override { return Channel::kEmail; }
  // One SMTP transaction on a fresh connection: kSent on 250 after DATA; kTemporary for a 4xx
  // reply, a connection failure or a timeout; kPermanent for a 5xx reply, a certificate that
  // fails verification, a server without STARTTLS, or a message whose headers would carry CR/LF
  // (nothing is sent then). Never blocks longer than total_timeout. Thread-safe.
  [[nodiscard]] AttemptResult deliver(const OutgoingMessage& message) override;

  SmtpSender(const SmtpSender&) = delete;
  SmtpSender& operator=(const SmtpSender&) = delete;
  ~SmtpSender() override;

 private:
  struct Settings;
  explicit SmtpSender(std::unique_ptr<const Settings> settings);
  std::unique_ptr<const Settings> settings_;
};

}  // namespace veribind
