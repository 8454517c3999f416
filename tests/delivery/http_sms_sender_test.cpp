// WebhookSender and TwilioSender against a real HTTPS receiver on loopback
// (tests/delivery/http_receiver.py), which verifies the webhook signature with the shared key and
// Twilio's basic authentication, and records what it received.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "delivery/fixtures.hpp"
#include "veribind/sms_senders.hpp"

using veribind::AttemptClass;
using veribind::ErrorCode;
using veribind::OutgoingMessage;
using veribind::SecretText;
using veribind::TwilioConfig;
using veribind::TwilioSender;
using veribind::WebhookConfig;
using veribind::WebhookSender;
using veribind::testing::HttpFixture;
using veribind::testing::kTwilioSid;
using veribind::testing::kWebhookKey;

namespace {

OutgoingMessage sms() {
  OutgoingMessage m;
  m.channel = veribind::Channel::kPhone;
  m.challenge_id = "ch_0123";
  m.destination = SecretText::copy_of("+14155550123");
  // Quotes, a backslash, a newline and UTF-8: the JSON and form encodings must carry them.
  m.text = SecretText::copy_of("Your \"code\" is 428173\\ \xe2\x9c\x93\nBye & go=now");
  return m;
}

template <typename Sender, typename Config>
std::unique_ptr<Sender> make(const Config& config) {
  auto sender = Sender::create(config);
  REQUIRE(sender);
  return std::move(sender).value();
}

}  // namespace

TEST_CASE("webhook: the receiver verifies the signature and gets the message as JSON",
          "[delivery][http]") {
  HttpFixture f;
  auto sender = make<WebhookSender>(f.webhook());
  CHECK(sender->name() == "hook-test");
  CHECK(sender->channel() == veribind::Channel::kPhone);
  const auto result = sender->deliver(sms());
  CHECK(result.result == AttemptClass::kSent);
  CHECK(result.reply_code == 201);
  const auto got = f.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0]["verified"] == true);
  CHECK(got[0]["content_type"] == "application/json");
  CHECK(got[0]["json"]["to"] == "+14155550123");
  CHECK(got[0]["json"]["text"] == "Your \"code\" is 428173\\ \xe2\x9c\x93\nBye & go=now");
  CHECK(got[0]["json"]["id"] == "ch_0123");
  // One webhook-id per message: the same on a retry, so the receiver can drop the duplicate.
  CHECK(sender->deliver(sms()).result == AttemptClass::kSent);
  const auto both = f.received();
  REQUIRE(both.size() == 2);
  CHECK(both[0]["webhook_id"] == both[1]["webhook_id"]);
  const std::string id = both[0]["webhook_id"];
  CHECK(id.rfind("msg_ch_0123_", 0) == 0);
  CHECK(id.find("428173") == std::string::npos);
}

TEST_CASE("twilio: the receiver verifies basic auth and the form fields", "[delivery][http]") {
  HttpFixture f;
  auto sender = make<TwilioSender>(f.twilio());
  CHECK(sender->name() == "twilio");
  const auto result = sender->deliver(sms());
  CHECK(result.result == AttemptClass::kSent);
  const auto got = f.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0]["verified"] == true);
  CHECK(got[0]["path"] == std::string("/2010-04-01/Accounts/") + kTwilioSid + "/Messages.json");
  CHECK(got[0]["form"]["To"] == "+14155550123");
  CHECK(got[0]["form"]["From"] == "+15005550006");
  CHECK(got[0]["form"]["Body"] == "Your \"code\" is 428173\\ \xe2\x9c\x93\nBye & go=now");
  CHECK(got[0]["form"].count("MessagingServiceSid") == 0);
}

TEST_CASE("twilio: a messaging service is sent instead of a From number", "[delivery][http]") {
  HttpFixture f;
  TwilioConfig config = f.twilio();
  config.from.clear();
  config.messaging_service_sid = "MG0123456789abcdef";
  auto sender = make<TwilioSender>(config);
  CHECK(sender->deliver(sms()).result == AttemptClass::kSent);
  const auto got = f.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0]["form"]["MessagingServiceSid"] == "MG0123456789abcdef");
  CHECK(got[0]["form"].count("From") == 0);
}

TEST_CASE("http: a 500 reply is a temporary failure", "[delivery][http]") {
  HttpFixture f("500");
  const auto result = make<WebhookSender>(f.webhook())->deliver(sms());
  CHECK(result.result == AttemptClass::kTemporary);
  CHECK(result.reply_code == 500);
  CHECK(result.retry_after == std::chrono::milliseconds(0));
}

TEST_CASE("http: a 429 reply with Retry-After: 7 is temporary and waits 7 seconds",
          "[delivery][http]") {
  HttpFixture f("429");
  const auto hook = make<WebhookSender>(f.webhook())->deliver(sms());
  CHECK(hook.result == AttemptClass::kTemporary);
  CHECK(hook.reply_code == 429);
  CHECK(hook.retry_after == std::chrono::seconds(7));
  const auto twilio = make<TwilioSender>(f.twilio())->deliver(sms());
  CHECK(twilio.result == AttemptClass::kTemporary);
  CHECK(twilio.retry_after == std::chrono::seconds(7));
}

TEST_CASE("http: a 400 reply is a permanent failure", "[delivery][http]") {
  HttpFixture f("400");
  const auto hook = make<WebhookSender>(f.webhook())->deliver(sms());
  CHECK(hook.result == AttemptClass::kPermanent);
  CHECK(hook.reply_code == 400);
  CHECK(make<TwilioSender>(f.twilio())->deliver(sms()).result == AttemptClass::kPermanent);
}

TEST_CASE("http: a slow server is a temporary failure within the timeout", "[delivery][http]") {
  HttpFixture f("slow", "10");
  WebhookConfig config = f.webhook();
  config.connect_timeout = std::chrono::seconds(1);
  config.response_timeout = std::chrono::seconds(1);
  config.total_timeout = std::chrono::seconds(2);
  auto sender = make<WebhookSender>(config);
  const auto started = std::chrono::steady_clock::now();
  const auto result = sender->deliver(sms());
  CHECK(result.result == AttemptClass::kTemporary);
  CHECK(result.detail == "timeout");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(4));
}

TEST_CASE("http: a certificate from another CA is a permanent failure and nothing is received",
          "[delivery][http]") {
  HttpFixture f;
  WebhookConfig config = f.webhook();
  config.ca_file = f.certs.other_ca();
  const auto result = make<WebhookSender>(config)->deliver(sms());
  CHECK(result.result == AttemptClass::kPermanent);
  CHECK(result.detail == "certificate verify failed");
  CHECK(f.received().empty());
}

TEST_CASE("http: http:// to a host that is not loopback is refused at create()",
          "[delivery][http]") {
  HttpFixture f;
  WebhookConfig hook = f.webhook();
  hook.url = "http://sms.example.com/hook";
  const auto refused = WebhookSender::create(hook);
  CHECK(refused.code() == ErrorCode::kInvalidConfig);
  CHECK(refused.status().message().find("url") == 0);
  TwilioConfig twilio = f.twilio();
  twilio.base_url = "http://api.twilio.com";
  CHECK(TwilioSender::create(twilio).code() == ErrorCode::kInvalidConfig);
  // To this machine it is allowed (a local relay).
  hook.url = "http://127.0.0.1:9/hook";
  CHECK(WebhookSender::create(hook));
}

TEST_CASE("http: a secret file readable by others is refused at create()", "[delivery][http]") {
  HttpFixture f;
  veribind::testing::write_file(f.dir.file("open.key"), kWebhookKey, 0644);
  WebhookConfig hook = f.webhook();
  hook.secret_file = f.dir.file("open.key");
  const auto refused = WebhookSender::create(hook);
  CHECK(refused.code() == ErrorCode::kKeyFileInsecure);
  CHECK(refused.status().message().find("whsec") == std::string::npos);
  TwilioConfig twilio = f.twilio();
  twilio.auth_token_file = f.dir.file("open.key");
  CHECK(TwilioSender::create(twilio).code() == ErrorCode::kKeyFileInsecure);
}

TEST_CASE("http: create() refuses a short webhook key and an ambiguous Twilio sender",
          "[delivery][http]") {
  HttpFixture f;
  veribind::testing::write_file(f.dir.file("short.key"), "short", 0600);
  WebhookConfig hook = f.webhook();
  hook.secret_file = f.dir.file("short.key");
  CHECK(WebhookSender::create(hook).code() == ErrorCode::kInvalidConfig);
  TwilioConfig twilio = f.twilio();
  twilio.messaging_service_sid = "MG0123";
  CHECK(TwilioSender::create(twilio).code() == ErrorCode::kInvalidConfig);
  twilio = f.twilio();
  twilio.account_sid = "AC/../x";
  CHECK(TwilioSender::create(twilio).code() == ErrorCode::kInvalidConfig);
}

TEST_CASE("http: a Retry-After given as an HTTP-date is honoured", "[delivery][http]") {
  // 60 seconds from now, in IMF-fixdate form.
  const std::time_t later = std::time(nullptr) + 60;
  std::tm tm{};
  gmtime_r(&later, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  HttpFixture f("429", "30", date);
  const auto result = make<WebhookSender>(f.webhook())->deliver(sms());
  CHECK(result.result == AttemptClass::kTemporary);
  CHECK(result.retry_after >= std::chrono::seconds(50));
  CHECK(result.retry_after <= std::chrono::seconds(61));
}

TEST_CASE("webhook: deliver() may be called from several threads at once", "[delivery][http]") {
  HttpFixture f;
  auto sender = make<WebhookSender>(f.webhook());
  constexpr int kThreads = 4;
  constexpr int kEach = 5;
  std::atomic<int> sent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (sender->deliver(sms()).result == AttemptClass::kSent) ++sent;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(sent == kThreads * kEach);
  const auto got = f.received();
  CHECK(got.size() == static_cast<std::size_t>(kThreads * kEach));
  for (const auto& r : got) CHECK(r["verified"] == true);
}

TEST_CASE("http: a server that is not listening is a temporary failure", "[delivery][http]") {
  HttpFixture f;
  WebhookConfig hook = f.webhook();
  hook.url = "https://127.0.0.1:" + std::to_string(veribind::testing::closed_port()) + "/hook";
  const auto result = make<WebhookSender>(hook)->deliver(sms());
  CHECK(result.result == AttemptClass::kTemporary);
  CHECK(result.reply_code == 0);
  CHECK(result.detail == "connect failed");
}

TEST_CASE("webhook: a whsec_ secret is base64-decoded into the key, as Standard Webhooks does",
          "[delivery][http]") {
  HttpFixture f;
  // The receiver verifies with the raw key; the sender's file holds its Standard Webhooks form.
  veribind::testing::write_file(f.dir.file("webhook.whsec"),
                                "whsec_d2hzZWMtdGVzdC1rZXktMDEyMzQ1Njc4OQo=\n", 0600);
  WebhookConfig c = f.webhook();
  c.secret_file = f.dir.file("webhook.whsec");
  auto sender = make<WebhookSender>(c);
  CHECK(sender->deliver(sms()).result == AttemptClass::kSent);
  const auto got = f.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0]["verified"] == true);

  veribind::testing::write_file(f.dir.file("webhook.bad"), "whsec_not base64!\n", 0600);
  c.secret_file = f.dir.file("webhook.bad");
  const auto bad = WebhookSender::create(c);
  CHECK(bad.code() == veribind::ErrorCode::kInvalidConfig);
  CHECK(bad.status().message().rfind("secret_file", 0) == 0);
}
