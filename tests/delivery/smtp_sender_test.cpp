// SmtpSender against a real aiosmtpd server on loopback (tests/delivery/smtp_server.py) with
// STARTTLS required and AUTH, using a throwaway CA made by tests/delivery/make_certs.sh.
#include "veribind/smtp_sender.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "delivery/fixtures.hpp"

using veribind::AttemptClass;
using veribind::ErrorCode;
using veribind::OutgoingMessage;
using veribind::SecretText;
using veribind::SmtpConfig;
using veribind::SmtpSender;
using veribind::testing::files_ending;
using veribind::testing::read_file;
using veribind::testing::SmtpFixture;
using veribind::testing::TempDir;

namespace {

OutgoingMessage email(const std::string& subject = "Your code") {
  OutgoingMessage m;
  m.channel = veribind::Channel::kEmail;
  m.challenge_id = "ch_test";
  m.destination = SecretText::copy_of("user@example.org");
  m.subject = subject;
  m.text = SecretText::copy_of("Your code is 428173.\nIt expires in 10 minutes.\n");
  m.html = SecretText::copy_of("<p>Your code is <b>428173</b>.</p>");
  return m;
}

std::unique_ptr<SmtpSender> make(const SmtpConfig& config) {
  auto sender = SmtpSender::create(config);
  REQUIRE(sender);
  return std::move(sender).value();
}

// The header block of a received message (before the first empty line).
std::string headers_of(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}

}  // namespace

TEST_CASE("smtp: a message is delivered over STARTTLS with AUTH and every header",
          "[delivery][smtp]") {
  SmtpFixture f;
  auto sender = make(f.config());
  CHECK(sender->name() == "smtp-test");
  CHECK(sender->channel() == veribind::Channel::kEmail);
  // "Your code: ünïcödé" in UTF-8: must arrive as encoded words.
  const auto result =
      sender->deliver(email("Your code: \xc3\xbcn\xc3\xaf"
                            "c\xc3\xb6"
                            "d\xc3\xa9"));
  CHECK(result.result == AttemptClass::kSent);
  CHECK(result.reply_code == 250);
  REQUIRE(f.received() == 1);
  const std::string env = read_file(files_ending(f.mail, ".env").at(0));
  CHECK(env.find("from no-reply@example.com\n") != std::string::npos);
  CHECK(env.find("to user@example.org\n") != std::string::npos);
  CHECK(env.find("tls yes\n") != std::string::npos);
  CHECK(env.find("auth yes\n") != std::string::npos);

  const std::string message = read_file(files_ending(f.mail, ".eml").at(0));
  const std::string headers = headers_of(message);
  CHECK(headers.find("From: Example <no-reply@example.com>\r\n") != std::string::npos);
  CHECK(headers.find("To: user@example.org\r\n") != std::string::npos);
  CHECK(headers.find("Subject: =?UTF-8?B?WW91ciBjb2RlOiDDvG7Dr2PDtmTDqQ==?=\r\n") !=
        std::string::npos);
  CHECK(headers.find("\r\nDate: ") != std::string::npos);
  CHECK(headers.find(" +0000\r\n") != std::string::npos);
  CHECK(headers.find("\r\nMessage-ID: <") != std::string::npos);
  CHECK(headers.find("@example.com>\r\n") != std::string::npos);
  CHECK(headers.find("\r\nMIME-Version: 1.0\r\n") != std::string::npos);
  CHECK(headers.find("Content-Type: multipart/alternative; boundary=") != std::string::npos);
  // The code is in the body only.
  CHECK(headers.find("428173") == std::string::npos);
  const auto plain = message.find("Content-Type: text/plain; charset=UTF-8");
  const auto html = message.find("Content-Type: text/html; charset=UTF-8");
  REQUIRE(plain != std::string::npos);
  REQUIRE(html != std::string::npos);
  CHECK(plain < html);
  CHECK(message.find("Your code is 428173.", plain) < html);
  CHECK(message.find("<b>428173</b>", html) != std::string::npos);
}

TEST_CASE("smtp: a 451 reply is a temporary failure and the next attempt is sent",
          "[delivery][smtp]") {
  SmtpFixture f("451-once");
  auto sender = make(f.config());
  const auto first = sender->deliver(email());
  CHECK(first.result == AttemptClass::kTemporary);
  CHECK(first.reply_code == 451);
  CHECK(first.detail == "smtp reply 451");
  CHECK(f.received() == 0);
  const auto second = sender->deliver(email());
  CHECK(second.result == AttemptClass::kSent);
  CHECK(f.received() == 1);
}

TEST_CASE("smtp: a 554 reply is a permanent failure", "[delivery][smtp]") {
  SmtpFixture f("554");
  auto sender = make(f.config());
  const auto result = sender->deliver(email());
  CHECK(result.result == AttemptClass::kPermanent);
  CHECK(result.reply_code == 554);
  // Fixed text: never the server's reply text.
  CHECK(result.detail == "smtp reply 554");
  CHECK(f.received() == 0);
}

TEST_CASE("smtp: a server that stalls is a temporary failure within the timeout",
          "[delivery][smtp]") {
  SmtpFixture f("stall");
  SmtpConfig config = f.config();
  config.connect_timeout = std::chrono::seconds(1);
  config.response_timeout = std::chrono::seconds(1);
  config.total_timeout = std::chrono::seconds(3);
  auto sender = make(config);
  const auto started = std::chrono::steady_clock::now();
  const auto result = sender->deliver(email());
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(result.result == AttemptClass::kTemporary);
  CHECK(result.detail == "timeout");
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("smtp: an attempt at a server that stops answering ends within total_timeout",
          "[delivery][smtp]") {
  // The reply timeout equal to the total: once it fires, closing the connection must not wait
  // for the stalled server again (curl would send QUIT and wait another reply timeout for it).
  SmtpFixture f("stall");
  SmtpConfig config = f.config();
  config.connect_timeout = std::chrono::seconds(1);
  config.response_timeout = std::chrono::seconds(1);
  config.total_timeout = std::chrono::seconds(1);
  auto sender = make(config);
  const auto started = std::chrono::steady_clock::now();
  const auto result = sender->deliver(email());
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(result.result == AttemptClass::kTemporary);
  CHECK(result.detail == "timeout");
  CHECK(took < std::chrono::milliseconds(1500));
}

TEST_CASE("smtp: a certificate from another CA is refused and nothing is sent",
          "[delivery][smtp]") {
  SmtpFixture f;
  SmtpConfig config = f.config();
  config.ca_file = f.certs.other_ca();
  auto sender = make(config);
  const auto result = sender->deliver(email());
  CHECK(result.result == AttemptClass::kPermanent);
  CHECK(result.detail == "certificate verify failed");
  CHECK(f.received() == 0);
}

TEST_CASE("smtp: a server without STARTTLS is a permanent failure, never a cleartext send",
          "[delivery][smtp]") {
  SmtpFixture f("ok", /*tls=*/false);
  SmtpConfig config = f.config();
  config.username.clear();
  config.password_file.clear();
  auto sender = make(config);
  const auto result = sender->deliver(email());
  CHECK(result.result == AttemptClass::kPermanent);
  CHECK(result.detail == "starttls not offered");
  CHECK(f.received() == 0);
}

TEST_CASE("smtp: plain SMTP to loopback is sent only when allowed", "[delivery][smtp]") {
  SmtpFixture f("ok", /*tls=*/false);
  SmtpConfig config = f.config();
  config.username.clear();
  config.password_file.clear();
  config.allow_plaintext = true;
  auto sender = make(config);
  CHECK(sender->deliver(email()).result == AttemptClass::kSent);
  CHECK(f.received() == 1);
}

TEST_CASE("smtp: plain SMTP to a host that is not loopback is refused at create()",
          "[delivery][smtp]") {
  SmtpConfig config;
  config.url = "smtp://mail.example.com:25";
  config.from = "no-reply@example.com";
  config.allow_plaintext = true;
  const auto sender = SmtpSender::create(config);
  CHECK(sender.code() == ErrorCode::kInvalidConfig);
  CHECK(sender.status().message().find("allow_plaintext") != std::string::npos);
}

TEST_CASE("smtp: create() names the field that is wrong and never the secret", "[delivery][smtp]") {
  TempDir dir;
  veribind::testing::write_file(dir.file("open"), "hunter2-password\n", 0644);
  SmtpConfig good;
  good.url = "smtps://mail.example.com";
  good.from = "no-reply@example.com";
  REQUIRE(SmtpSender::create(good));

  SmtpConfig c = good;
  c.url = "http://mail.example.com";
  CHECK(SmtpSender::create(c).status().message().find("url") == 0);
  c = good;
  c.from = "Someone <not an address>";
  CHECK(SmtpSender::create(c).status().message().find("from") == 0);
  c = good;
  c.username = "u";
  c.password_file = dir.file("open");
  const auto insecure = SmtpSender::create(c);
  CHECK(insecure.code() == ErrorCode::kKeyFileInsecure);
  CHECK(insecure.status().message().find("hunter2") == std::string::npos);
  c.password_file = dir.file("missing");
  CHECK(SmtpSender::create(c).code() == ErrorCode::kInvalidConfig);
  c = good;
  c.total_timeout = std::chrono::milliseconds(0);
  CHECK(SmtpSender::create(c).status().message().find("total_timeout") == 0);
}

TEST_CASE("smtp: a destination or subject with CR/LF is refused and nothing is sent",
          "[delivery][smtp]") {
  SmtpFixture f;
  auto sender = make(f.config());
  OutgoingMessage injected = email("Hello\r\nBcc: victim@example.net");
  const auto result = sender->deliver(injected);
  CHECK(result.result == AttemptClass::kPermanent);
  CHECK(result.detail == "invalid message");
  OutgoingMessage bad_to = email();
  bad_to.destination = SecretText::copy_of("user@example.org\r\nBcc: victim@example.net");
  CHECK(sender->deliver(bad_to).result == AttemptClass::kPermanent);
  CHECK(f.received() == 0);
}

TEST_CASE("smtp: smtps:// delivers over TLS from the first byte", "[delivery][smtp]") {
  SmtpFixture f("ok", /*tls=*/true, "30", /*implicit_tls=*/true);
  SmtpConfig config = f.config();
  config.url = "smtps://127.0.0.1:" + std::to_string(f.server->port());
  auto sender = make(config);
  CHECK(sender->deliver(email()).result == AttemptClass::kSent);
  CHECK(f.received() == 1);
}

TEST_CASE("smtp: a wrong password is a permanent failure and nothing is sent", "[delivery][smtp]") {
  SmtpFixture f;
  veribind::testing::write_file(f.dir.file("wrong"), "not-the-password", 0600);
  SmtpConfig config = f.config();
  config.password_file = f.dir.file("wrong");
  const auto result = make(config)->deliver(email());
  CHECK(result.result == AttemptClass::kPermanent);
  CHECK(result.reply_code == 535);
  CHECK(f.received() == 0);
}

TEST_CASE("smtp: deliver() may be called from several threads at once", "[delivery][smtp]") {
  SmtpFixture f;
  auto sender = make(f.config());
  constexpr int kThreads = 4;
  constexpr int kEach = 3;
  std::atomic<int> sent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (sender->deliver(email()).result == AttemptClass::kSent) ++sent;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(sent == kThreads * kEach);
  CHECK(f.received() == static_cast<std::size_t>(kThreads * kEach));
}

TEST_CASE("smtp: a server that is not listening is a temporary failure", "[delivery][smtp]") {
  SmtpConfig config;
  config.url = "smtp://127.0.0.1:" + std::to_string(veribind::testing::closed_port());
  config.from = "no-reply@example.com";
  const auto result = make(config)->deliver(email());
  CHECK(result.result == AttemptClass::kTemporary);
  CHECK(result.reply_code == 0);
  CHECK(result.detail == "connect failed");
}

TEST_CASE("smtp: a message for the phone channel is refused", "[delivery][smtp]") {
  SmtpConfig config;
  config.url = "smtps://127.0.0.1:" + std::to_string(veribind::testing::closed_port());
  config.from = "no-reply@example.com";
  OutgoingMessage m = email();
  m.channel = veribind::Channel::kPhone;
  const auto result = make(config)->deliver(m);
  CHECK(result.result == AttemptClass::kPermanent);
  CHECK(result.detail == "wrong channel");
}
