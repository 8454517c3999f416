// One test's delivery world on loopback: a temporary directory, throwaway certificates, the
// secret files, and the SMTP server (SmtpFixture) or HTTPS SMS gateway (HttpFixture) with
// provider configurations that reach it. Shared by the provider tests and the outbox tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "delivery/servers.hpp"
#include "veribind/sms_senders.hpp"
#include "veribind/smtp_sender.hpp"

namespace veribind::testing {

inline constexpr const char* kSmtpUser = "veribind";
inline constexpr const char* kSmtpPassword = "s3cret-password";

// An SMTP server (tests/delivery/smtp_server.py) that requires STARTTLS and AUTH unless told
// otherwise, and writes what it accepts to `mail`.
struct SmtpFixture {
  explicit SmtpFixture(const std::string& mode = "ok", bool tls = true,
                       const std::string& stall = "30", bool implicit_tls = false)
      : certs(dir), mail(dir.file("mail")) {
    std::filesystem::create_directory(mail);
    write_file(dir.file("password"), std::string(kSmtpPassword) + "\n", 0600);
    std::vector<std::string> args = {
        kScripts + "/smtp_server.py", "--dir", mail, "--mode", mode, "--stall", stall};
    // Without TLS the server asks for no AUTH either: a password never crosses in clear.
    if (tls) {
      args.insert(args.end(), {"--tls-cert", certs.cert(), "--tls-key", certs.key(), "--user",
                               kSmtpUser, "--password", kSmtpPassword});
    }
    if (implicit_tls) args.emplace_back("--implicit-tls");
    server = std::make_unique<ServerProcess>(args);
  }

  [[nodiscard]] SmtpConfig config() const {
    SmtpConfig c;
    c.name = "smtp-test";
    c.url = "smtp://127.0.0.1:" + std::to_string(server->port());
    c.from = "Example <no-reply@example.com>";
    c.ca_file = certs.ca();
    c.username = kSmtpUser;
    c.password_file = dir.file("password");
    c.helo_domain = "client.example.com";
    c.connect_timeout = std::chrono::seconds(5);
    c.response_timeout = std::chrono::seconds(5);
    c.total_timeout = std::chrono::seconds(15);
    return c;
  }

  [[nodiscard]] std::size_t received() const { return files_ending(mail, ".eml").size(); }

  TempDir dir;
  Certificates certs;
  std::string mail;
  std::unique_ptr<ServerProcess> server;
};

inline constexpr const char* kTwilioSid = "AC0123456789abcdef0123456789abcdef";
// Bytes a text editor would not leave alone: the key is the file exactly, newline included.
inline const std::string kWebhookKey = "whsec-test-key-0123456789\n";

// An HTTPS SMS gateway (tests/delivery/http_receiver.py) that answers webhooks and Twilio's
// Messages API in `mode`, and records every request it gets in `requests`.
struct HttpFixture {
  explicit HttpFixture(const std::string& mode = "ok", const std::string& delay = "30",
                       const std::string& retry_after = "7")
      : certs(dir), requests(dir.file("requests")) {
    std::filesystem::create_directory(requests);
    write_file(dir.file("webhook.key"), kWebhookKey, 0600);
    write_file(dir.file("twilio.token"), "twilio-token-value\n", 0600);
    server = std::make_unique<ServerProcess>(std::vector<std::string>{
        kScripts + "/http_receiver.py", "--dir", requests, "--mode", mode, "--delay", delay,
        "--retry-after", retry_after, "--tls-cert", certs.cert(), "--tls-key", certs.key(),
        "--secret-file", dir.file("webhook.key"), "--twilio-sid", kTwilioSid, "--twilio-token-file",
        dir.file("twilio.token")});
  }

  [[nodiscard]] std::string base() const {
    return "https://127.0.0.1:" + std::to_string(server->port());
  }

  [[nodiscard]] WebhookConfig webhook() const {
    WebhookConfig c;
    c.name = "hook-test";
    c.url = base() + "/hook";
    c.secret_file = dir.file("webhook.key");
    c.ca_file = certs.ca();
    c.connect_timeout = std::chrono::seconds(5);
    c.response_timeout = std::chrono::seconds(5);
    c.total_timeout = std::chrono::seconds(15);
    return c;
  }

  [[nodiscard]] TwilioConfig twilio() const {
    TwilioConfig c;
    c.base_url = base();
    c.account_sid = kTwilioSid;
    c.auth_token_file = dir.file("twilio.token");
    c.from = "+15005550006";
    c.ca_file = certs.ca();
    c.total_timeout = std::chrono::seconds(15);
    return c;
  }

  [[nodiscard]] std::vector<nlohmann::json> received() const {
    std::vector<nlohmann::json> out;
    for (const auto& p : files_ending(requests, ".json")) {
      out.push_back(nlohmann::json::parse(read_file(p)));
    }
    return out;
  }

  TempDir dir;
  Certificates certs;
  std::string requests;
  std::unique_ptr<ServerProcess> server;
};

}  // namespace veribind::testing
