// The API's verify routes, routing and strict bodies, through Api::handle() in-process.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "serve/api_support.hpp"

using nlohmann::json;
using veribind::testing::ApiHarness;
using veribind::testing::body_of;
using veribind::testing::error_code_of;
using veribind::testing::kEmail;
using veribind::testing::kOperatorKey;
using veribind::testing::kPhone;
using veribind::testing::kVerifyKey;

namespace {

std::vector<std::string> keys_of(const json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

}  // namespace

TEST_CASE("healthz and readyz answer without an API key", "[api]") {
  ApiHarness h;
  auto health = h.get("/healthz", "");
  CHECK(health.status == 200);
  CHECK(body_of(health) == json{{"status", "ok"}});
  auto ready = h.get("/readyz", "");
  CHECK(ready.status == 200);
  CHECK(body_of(ready) == json{{"status", "ready"}});
  CHECK(ready.route == "/readyz");
}

TEST_CASE("a start answers 201 with the masked destination and sends one code", "[api]") {
  ApiHarness h;
  auto reply = h.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}});
  REQUIRE(reply.status == 201);
  const json body = body_of(reply);
  CHECK(keys_of(body) ==
        std::vector<std::string>{"channel", "expires_at", "id", "purpose", "status", "to"});
  CHECK(body["channel"] == "sms");
  CHECK(body["purpose"] == "signup");
  CHECK(body["status"] == "pending");
  CHECK(body["expires_at"] == "2026-01-01T00:10:00Z");
  CHECK(body["to"].get<std::string>().find("1234567") == std::string::npos);
  CHECK(body["id"].get<std::string>().size() == 32);
  CHECK(h.sender.count() == 1);
  CHECK(reply.route == "/v1/verifications");
  CHECK(reply.key_id == "k-verify");
  CHECK(reply.reason.empty());
}

TEST_CASE("a start by email takes a purpose and a locale", "[api]") {
  ApiHarness h;
  auto reply =
      h.post("/v1/verifications",
             {{"to", kEmail}, {"channel", "email"}, {"purpose", "login"}, {"locale", "ur"}});
  REQUIRE(reply.status == 201);
  CHECK(body_of(reply)["channel"] == "email");
  CHECK(body_of(reply)["purpose"] == "login");
  REQUIRE(h.sender.count() == 1);
  CHECK(h.sender.sent()[0].purpose == veribind::Purpose::kLogin);
}

TEST_CASE("a start refused by a limit answers exactly like a sent one", "[api]") {
  ApiHarness h;
  auto sent = h.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}});
  // Within the resend cooldown: refused, no code sent.
  auto refused = h.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}});
  REQUIRE(sent.status == 201);
  CHECK(refused.status == sent.status);
  CHECK(keys_of(body_of(refused)) == keys_of(body_of(sent)));
  CHECK(body_of(refused)["to"] == body_of(sent)["to"]);
  CHECK(body_of(refused)["status"] == "pending");
  CHECK(body_of(refused)["id"] != body_of(sent)["id"]);
  CHECK(h.sender.count() == 1);
  // Only the log line knows.
  CHECK(refused.reason == "resend_cooldown");
  CHECK(h.metrics.render().find(
            "veribind_verification_refusals_total{limit=\"resend_cooldown\"} 1") !=
        std::string::npos);
}

namespace {

// An outbox at its capacity: every send is refused, as Outbox::send() refuses it.
class FullOutbox final : public veribind::Sender {
 public:
  veribind::Status send(const veribind::Delivery&) override {
    return {veribind::ErrorCode::kOutboxFull, "the outbox is full"};
  }
};

}  // namespace

TEST_CASE("a start the outbox cannot take answers exactly like a sent one", "[api]") {
  ApiHarness sent_harness;
  auto sent = sent_harness.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}});
  FullOutbox full;
  ApiHarness h({}, {}, {}, &full);
  auto refused = h.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}});
  REQUIRE(sent.status == 201);
  CHECK(refused.status == 201);
  const json a = body_of(sent);
  const json b = body_of(refused);
  CHECK(keys_of(a) == keys_of(b));
  for (const char* field : {"channel", "to", "purpose", "status", "expires_at"}) {
    CHECK(a[field] == b[field]);
  }
  CHECK(b["id"].get<std::string>().size() == 32);
  CHECK(refused.reason == "outbox_full");
  // Its id checks like any other that no code verifies.
  auto check =
      h.post("/v1/verifications/" + b["id"].get<std::string>() + "/check", {{"code", "123456"}});
  CHECK(body_of(check) == json{{"status", "pending"}, {"valid", false}});
}

TEST_CASE("a start refuses a destination the channel cannot read with the parser's code", "[api]") {
  ApiHarness h;
  auto phone = h.post("/v1/verifications", {{"to", "12"}, {"channel", "sms"}});
  CHECK(phone.status == 400);
  CHECK(error_code_of(phone) == "phone_invalid_country_code");
  auto email = h.post("/v1/verifications", {{"to", "not-an-email"}, {"channel", "email"}});
  CHECK(email.status == 400);
  CHECK(error_code_of(email) == "email_syntax");
  auto channel = h.post("/v1/verifications", {{"to", kPhone}, {"channel", "pigeon"}});
  CHECK(error_code_of(channel) == "invalid_argument");
  auto purpose =
      h.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}, {"purpose", "x"}});
  CHECK(error_code_of(purpose) == "invalid_argument");
  auto region =
      h.post("/v1/verifications", {{"to", kEmail}, {"channel", "email"}, {"region", "PK"}});
  CHECK(error_code_of(region) == "invalid_argument");
  for (const auto& reply : {phone, email, channel, purpose, region}) {
    CHECK(reply.body.find("not-an-email") == std::string::npos);
  }
  CHECK(h.sender.count() == 0);
  CHECK(h.rows("challenges") == 0);
}

TEST_CASE("a national number is read in the region given", "[api]") {
  ApiHarness h;
  auto reply =
      h.post("/v1/verifications", {{"to", "0300 1234567"}, {"channel", "sms"}, {"region", "PK"}});
  CHECK(reply.status == 201);
  REQUIRE(h.sender.count() == 1);
  CHECK(h.sender.sent()[0].destination == kPhone);
}

TEST_CASE("every malformed start body is refused with its code and nothing is stored", "[api]") {
  ApiHarness h;
  struct Case {
    std::string body;
    std::string code;
    std::string message_part;
  };
  const std::string long_to(321, 'a');
  const std::vector<Case> cases = {
      {R"({"channel":"sms"})", "missing_field", "\"to\""},
      {R"({"to":5,"channel":"sms"})", "wrong_type", "\"to\""},
      {R"({"to":"+923001234567","channel":"sms","foo":1})", "unknown_field", "\"foo\""},
      {R"({"to":"+923001234567","to":"+923001234568","channel":"sms"})", "duplicate_field",
       "\"to\""},
      {R"({"to":"+923001234567","channel":"sms")", "bad_json", ""},
      {"{\"to\":\"\xff\",\"channel\":\"sms\"}", "bad_json", ""},
      {"{\"to\":\"\xc0\xaf\",\"channel\":\"sms\"}", "bad_json", ""},
      {"{\"to\":\"\xed\xa0\x80\",\"channel\":\"sms\"}", "bad_json", ""},
      {R"({"to":"\ud800","channel":"sms"})", "bad_json", ""},
      {"{\"t\xffo\":\"+923001234567\",\"channel\":\"sms\"}", "bad_json", ""},
      {R"(["to"])", "bad_json", ""},
      {R"("just a string")", "bad_json", ""},
      {R"({"to":"x","channel":"sms"} {})", "bad_json", ""},
      {R"({"to":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}},"channel":"sms"})", "bad_json",
       ""},
      {R"({"to":["+923001234567"],"channel":"sms"})", "wrong_type", "\"to\""},
      {R"({"to":null,"channel":"sms"})", "wrong_type", "\"to\""},
      {"{\"to\":\"" + long_to + "\",\"channel\":\"sms\"}", "input_too_long", "\"to\""},
      {"", "bad_json", ""},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    auto reply = h.post_raw("/v1/verifications", c.body);
    CHECK(reply.status == 400);
    CHECK(error_code_of(reply) == c.code);
    CHECK(reply.reason == c.code);
    CHECK(body_of(reply)["error"]["message"].get<std::string>().find(c.message_part) !=
          std::string::npos);
    CHECK(reply.body.find("923001234567") == std::string::npos);
  }
  CHECK(h.sender.count() == 0);
  CHECK(h.sender.decoys() == 0);
  CHECK(h.rows("challenges") == 0);
}

TEST_CASE("a field's name is repeated in a message only when it looks like a field name", "[api]") {
  ApiHarness h;
  const auto message = [](const veribind::serve::HttpReply& reply) {
    return body_of(reply)["error"]["message"].get<std::string>();
  };
  auto known_shape = h.post_raw("/v1/verifications", "{\"colour_2\":1}");
  CHECK(error_code_of(known_shape) == "unknown_field");
  CHECK(message(known_shape) == "unknown field \"colour_2\"");
  // An email address, a phone number, capitals, a control byte, a long name: not repeated.
  for (const std::string& name :
       {std::string(kEmail), std::string(kPhone), std::string("To"), std::string("a\\u0001b"),
        std::string("_to"), std::string(33, 'x')}) {
    INFO(name);
    auto unknown = h.post_raw("/v1/verifications", "{\"" + name + "\":1}");
    CHECK(error_code_of(unknown) == "unknown_field");
    CHECK(message(unknown) == "unknown field");
    auto duplicate = h.post_raw("/v1/verifications", "{\"" + name + "\":1,\"" + name + "\":2}");
    CHECK(error_code_of(duplicate) == "duplicate_field");
    CHECK(message(duplicate) == "duplicate field");
  }
  auto longest = h.post_raw("/v1/verifications", "{\"" + std::string(32, 'x') + "\":1}");
  CHECK(message(longest) == "unknown field \"" + std::string(32, 'x') + "\"");
  auto wrong_type = h.post("/v1/verifications", {{"to", 1}, {"channel", "sms"}});
  CHECK(error_code_of(wrong_type) == "wrong_type");
  CHECK(message(wrong_type) == "expected a string for field \"to\"");

  auto query = h.get("/v1/operator/retention?x%40y.com=1");
  CHECK(error_code_of(query) == "unknown_field");
  CHECK(message(query) == "unknown parameter");
  auto named = h.get("/v1/operator/retention?since=1");
  CHECK(message(named) == "unknown parameter \"since\"");
  auto twice = h.get("/v1/operator/transparency?since=1&since=2");
  CHECK(error_code_of(twice) == "duplicate_field");
  CHECK(message(twice) == "duplicate parameter \"since\"");
}

TEST_CASE("a POST without application/json is 415 and a charset parameter is fine", "[api]") {
  ApiHarness h;
  const std::string body = json{{"to", kPhone}, {"channel", "sms"}}.dump();
  auto plain = h.request("POST", "/v1/verifications", body, kVerifyKey, "text/plain");
  CHECK(plain.status == 415);
  CHECK(error_code_of(plain) == "unsupported_media_type");
  auto none = h.request("POST", "/v1/verifications", body, kVerifyKey, "");
  CHECK(none.status == 415);
  CHECK(h.sender.count() == 0);
  auto charset =
      h.request("POST", "/v1/verifications", body, kVerifyKey, "Application/JSON; charset=utf-8");
  CHECK(charset.status == 201);
}

TEST_CASE("an unknown route is 404 and a wrong method 405 with Allow", "[api]") {
  ApiHarness h;
  auto unknown = h.get("/v1/nothing", kVerifyKey);
  CHECK(unknown.status == 404);
  CHECK(error_code_of(unknown) == "not_found");
  CHECK(unknown.route == "-");
  auto method = h.request("GET", "/v1/verifications", {}, kVerifyKey);
  CHECK(method.status == 405);
  CHECK(error_code_of(method) == "method_not_allowed");
  REQUIRE(method.headers.size() == 1);
  CHECK(method.headers[0] == std::pair<std::string, std::string>{"Allow", "POST"});
  CHECK(method.route == "/v1/verifications");
  auto trailing = h.post("/v1/verifications/", {{"to", kPhone}, {"channel", "sms"}});
  CHECK(trailing.status == 404);
  CHECK(h.sender.count() == 0);
}

TEST_CASE("a request without a valid key is 401 and one of the other scope 403", "[api]") {
  ApiHarness h;
  const json start = {{"to", kPhone}, {"channel", "sms"}};
  auto none = h.post("/v1/verifications", start, "");
  CHECK(none.status == 401);
  CHECK(error_code_of(none) == "unauthorized");
  REQUIRE(none.headers.size() == 1);
  CHECK(none.headers[0] == std::pair<std::string, std::string>{"WWW-Authenticate", "Bearer"});
  auto wrong = h.post("/v1/verifications", start, "Bearer vbk_0000000000000000_nope");
  CHECK(wrong.status == 401);
  auto operator_key = h.post("/v1/verifications", start, kOperatorKey);
  CHECK(operator_key.status == 403);
  CHECK(error_code_of(operator_key) == "forbidden");
  CHECK(operator_key.key_id == "k-operator");
  auto verify_key = h.post("/v1/operator/find", start, kVerifyKey);
  CHECK(verify_key.status == 403);
  auto metrics = h.get("/metrics", kVerifyKey);
  CHECK(metrics.status == 403);
  CHECK(h.sender.count() == 0);
  // Authentication comes before the body is read: a bad body without a key is still 401.
  CHECK(h.post_raw("/v1/verifications", "{", "").status == 401);
}

TEST_CASE("a check of the right code is approved, once", "[api]") {
  ApiHarness h;
  const std::string id = h.start();
  auto approved = h.post("/v1/verifications/" + id + "/check", {{"code", h.sender.last_code()}});
  CHECK(approved.status == 200);
  CHECK(body_of(approved) == json{{"status", "approved"}, {"valid", true}});
  CHECK(approved.route == "/v1/verifications/{id}/check");
  CHECK(approved.reason == "verified");
  auto again = h.post("/v1/verifications/" + id + "/check", {{"code", h.sender.last_code()}});
  CHECK(body_of(again) == json{{"status", "pending"}, {"valid", false}});
}

TEST_CASE("wrong, unknown, expired and locked checks get one and the same answer", "[api]") {
  veribind::VerifierConfig config;
  config.max_checks = 2;
  ApiHarness h(config);
  const json pending = {{"status", "pending"}, {"valid", false}};
  const auto check = [&](const std::string& id, const std::string& code) {
    return h.post("/v1/verifications/" + id + "/check", {{"code", code}});
  };
  const std::string id = h.start();
  const std::string code = h.sender.last_code();
  const std::string wrong = code == "000000" ? "111111" : "000000";

  auto wrong_reply = check(id, wrong);
  auto unknown_reply = check(std::string(32, 'a'), code);
  check(id, wrong);
  auto locked_reply = check(id, code);  // max_checks reached: even the right code

  h.clock.advance(std::chrono::seconds(31));
  const std::string second = h.start(veribind::testing::kOtherPhone);
  const std::string second_code = h.sender.last_code();
  h.clock.advance(std::chrono::minutes(11));
  auto expired_reply = check(second, second_code);

  for (const auto* reply : {&wrong_reply, &unknown_reply, &locked_reply, &expired_reply}) {
    CHECK(reply->status == 200);
    CHECK(reply->body == pending.dump());
  }
  CHECK(wrong_reply.reason == "wrong_code");
  CHECK(unknown_reply.reason == "unknown");
  CHECK(locked_reply.reason == "locked");
  CHECK(expired_reply.reason == "expired");
}

TEST_CASE("a check refuses a malformed code or id before anything is charged", "[api]") {
  ApiHarness h;
  const std::string id = h.start();
  auto short_code = h.post("/v1/verifications/" + id + "/check", {{"code", "12"}});
  CHECK(short_code.status == 400);
  CHECK(error_code_of(short_code) == "invalid_code");
  auto long_code = h.post("/v1/verifications/" + id + "/check", {{"code", std::string(17, '1')}});
  CHECK(error_code_of(long_code) == "input_too_long");
  auto bad_id = h.post("/v1/verifications/not-an-id/check", {{"code", "123456"}});
  CHECK(bad_id.status == 400);
  CHECK(error_code_of(bad_id) == "invalid_challenge_id");
  auto missing = h.post("/v1/verifications/" + id + "/check", json::object());
  CHECK(error_code_of(missing) == "missing_field");
  // Nothing was charged: the right code still verifies.
  auto approved = h.post("/v1/verifications/" + id + "/check", {{"code", h.sender.last_code()}});
  CHECK(body_of(approved)["status"] == "approved");
}

TEST_CASE("a resend sends a new code for the challenge after the cooldown", "[api]") {
  ApiHarness h;
  const std::string id = h.start();
  h.clock.advance(std::chrono::seconds(31));
  auto reply = h.post("/v1/verifications/" + id + "/resend", {{"to", kPhone}, {"channel", "sms"}});
  CHECK(reply.status == 201);
  CHECK(body_of(reply)["id"] == id);
  CHECK(h.sender.count() == 2);
  auto mismatch = h.post("/v1/verifications/" + id + "/resend",
                         {{"to", veribind::testing::kOtherPhone}, {"channel", "sms"}});
  CHECK(mismatch.status == 422);
  CHECK(error_code_of(mismatch) == "identifier_mismatch");
}

TEST_CASE("a binding binds the verified number to the account", "[api][bindings]") {
  ApiHarness h;
  const std::string id = h.start();
  auto reply = h.post("/v1/accounts/acct-1/bindings",
                      {{"verification_id", id}, {"code", h.sender.last_code()}});
  REQUIRE(reply.status == 201);
  CHECK(body_of(reply) == json{{"account_id", "acct-1"},
                               {"status", "bound"},
                               {"channel", "sms"},
                               {"policy", "phone-linked"}});
  CHECK(reply.route == "/v1/accounts/{account_id}/bindings");
  CHECK(h.rows("bindings") == 1);
}

TEST_CASE("a binding of a number bound to another account is 409 already_bound",
          "[api][bindings]") {
  ApiHarness h;
  const std::string first = h.start();
  REQUIRE(h.post("/v1/accounts/acct-1/bindings",
                 {{"verification_id", first}, {"code", h.sender.last_code()}})
              .status == 201);
  h.clock.advance(std::chrono::seconds(31));
  const std::string second = h.start();
  auto reply = h.post("/v1/accounts/acct-2/bindings",
                      {{"verification_id", second}, {"code", h.sender.last_code()}});
  CHECK(reply.status == 409);
  CHECK(error_code_of(reply) == "already_bound");
  CHECK(h.rows("bindings") == 1);
}

TEST_CASE("a binding of the wrong channel is refused before the code is spent", "[api][bindings]") {
  ApiHarness h;
  const std::string id = h.start(kEmail, "email");
  const std::string code = h.sender.last_code();
  auto wrong = h.post("/v1/accounts/acct-1/bindings", {{"verification_id", id}, {"code", code}});
  CHECK(wrong.status == 422);
  CHECK(error_code_of(wrong) == "wrong_channel");
  auto bound = h.post("/v1/accounts/acct-1/bindings",
                      {{"verification_id", id}, {"code", code}, {"policy", "email-linked"}});
  CHECK(bound.status == 201);
  CHECK(body_of(bound)["channel"] == "email");
  CHECK(body_of(bound)["policy"] == "email-linked");
}

TEST_CASE("a binding with a wrong code is 422 invalid_or_expired_code", "[api][bindings]") {
  ApiHarness h;
  const std::string id = h.start();
  const std::string wrong = h.sender.last_code() == "000000" ? "111111" : "000000";
  auto reply = h.post("/v1/accounts/acct-1/bindings", {{"verification_id", id}, {"code", wrong}});
  CHECK(reply.status == 422);
  CHECK(error_code_of(reply) == "invalid_or_expired_code");
  CHECK(reply.reason == "wrong_code");
  auto unknown = h.post("/v1/accounts/acct-1/bindings",
                        {{"verification_id", std::string(32, 'b')}, {"code", wrong}});
  CHECK(unknown.body == reply.body);
  CHECK(h.rows("bindings") == 0);
}

TEST_CASE("a binding refuses a bad account id or purpose without spending the code",
          "[api][bindings]") {
  ApiHarness h;
  const std::string id = h.start();
  const std::string code = h.sender.last_code();
  auto personal = h.post("/v1/accounts/alice%40example.com/bindings",
                         {{"verification_id", id}, {"code", code}});
  CHECK(personal.status == 400);
  CHECK(error_code_of(personal) == "account_id_personal_data");
  CHECK(personal.body.find("alice") == std::string::npos);
  auto spaces = h.post("/v1/accounts/a%20b/bindings", {{"verification_id", id}, {"code", code}});
  CHECK(error_code_of(spaces) == "invalid_account_id");
  auto policy = h.post("/v1/accounts/acct-1/bindings",
                       {{"verification_id", id}, {"code", code}, {"policy", "both"}});
  CHECK(error_code_of(policy) == "invalid_argument");
  auto purpose = h.post("/v1/accounts/acct-1/bindings",
                        {{"verification_id", id}, {"code", code}, {"purpose", "login"}});
  CHECK(error_code_of(purpose) == "invalid_argument");
  auto bad_id = h.post("/v1/accounts/acct-1/bindings", {{"verification_id", "x"}, {"code", code}});
  CHECK(error_code_of(bad_id) == "invalid_challenge_id");
  auto bound = h.post("/v1/accounts/acct-1/bindings", {{"verification_id", id}, {"code", code}});
  CHECK(bound.status == 201);
}

TEST_CASE("with several key versions a binding needs to, refused before the code is spent",
          "[api][bindings]") {
  ApiHarness h({}, {}, {}, nullptr, 2);
  const std::string id = h.start();
  const std::string code = h.sender.last_code();
  auto without = h.post("/v1/accounts/acct-1/bindings", {{"verification_id", id}, {"code", code}});
  CHECK(without.status == 400);
  CHECK(error_code_of(without) == "identifier_required");
  auto other =
      h.post("/v1/accounts/acct-1/bindings",
             {{"verification_id", id}, {"code", code}, {"to", veribind::testing::kOtherPhone}});
  CHECK(other.status == 422);
  CHECK(error_code_of(other) == "identifier_mismatch");
  const std::string again = (h.clock.advance(std::chrono::seconds(31)), h.start());
  auto bound = h.post("/v1/accounts/acct-1/bindings", {{"verification_id", again},
                                                       {"code", h.sender.last_code()},
                                                       {"to", "0300 1234567"},
                                                       {"region", "PK"}});
  CHECK(bound.status == 201);
  CHECK(h.rows("bindings") == 1);
}

TEST_CASE("the handler answers 500 internal without the exception's text", "[api]") {
  ApiHarness h;
  h.api.emplace(veribind::serve::ApiServices{
      .verifier = *h.verifier,
      .phone_registry = *h.phone,
      .email_registry = *h.email,
      .stores = h.stores,
      .ring = h.ring,
      .clock = h.clock,
      .metrics = h.metrics,
      .authenticate = [](std::string_view) -> std::optional<veribind::serve::Caller> {
        throw std::runtime_error("secret detail");
      }});
  auto reply = h.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}});
  CHECK(reply.status == 500);
  CHECK(error_code_of(reply) == "internal");
  CHECK(reply.body.find("secret") == std::string::npos);
}

TEST_CASE("concurrent requests are each answered and counted once", "[api][threads]") {
  veribind::VerifierConfig config;
  config.client_starts_per_window = 1000;
  config.client_checks_per_window = 1000;
  ApiHarness h(config);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> created{0};
  std::atomic<int> pending{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string number = "+9230012" + std::to_string(10000 + t * 1000 + i);
        auto start = h.post("/v1/verifications", {{"to", number}, {"channel", "sms"}});
        if (start.status != 201) continue;
        ++created;
        const std::string id = json::parse(start.body)["id"];
        auto check = h.post("/v1/verifications/" + id + "/check", {{"code", "0000000"}});
        if (check.status == 400) ++pending;  // 7 digits: refused before the store
        auto wrong = h.post("/v1/verifications/" + id + "/check", {{"code", "000000"}});
        // A code of 000000 is a one-in-a-million chance per start: answered either way.
        if (wrong.status == 200) ++pending;
        (void)h.metrics.render();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(created == kThreads * kPerThread);
  CHECK(pending == 2 * kThreads * kPerThread);
  CHECK(h.sender.count() == kThreads * kPerThread);
  const std::string text = h.metrics.render();
  CHECK(text.find("veribind_verification_starts_total{result=\"sent\"} 100\n") !=
        std::string::npos);
  const auto sent = h.sender.sent();
  const auto lucky = std::count_if(sent.begin(), sent.end(),
                                   [](const auto& message) { return message.code == "000000"; });
  CHECK(text.find("veribind_checks_total{outcome=\"wrong_code\"} " + std::to_string(100 - lucky) +
                  "\n") != std::string::npos);
}

TEST_CASE(
    "a binding whose to is not the verified identifier is refused only after its code verified",
    "[api][bindings]") {
  ApiHarness h;
  const std::string id = h.start();
  const std::string code = h.sender.last_code();
  const std::string wrong = code == "000000" ? "111111" : "000000";
  const auto bind = [&](const std::string& with_code, const std::string& to) {
    return h.post("/v1/accounts/acct-1/bindings",
                  {{"verification_id", id}, {"code", with_code}, {"to", to}});
  };
  // A wrong code is the uniform answer whatever `to` says, and is charged like any check: `to`
  // tells nothing about the challenge to whoever does not hold its code.
  auto wrong_code = bind(wrong, veribind::testing::kOtherPhone);
  CHECK(wrong_code.status == 422);
  CHECK(error_code_of(wrong_code) == "invalid_or_expired_code");
  const auto live = h.verifier->live_challenge(id);
  REQUIRE(live);
  REQUIRE(*live);
  CHECK((*live)->attempts == 1);
  // The right code with another identifier: refused, and the code is spent.
  auto right_code = bind(code, veribind::testing::kOtherPhone);
  CHECK(right_code.status == 422);
  CHECK(error_code_of(right_code) == "identifier_mismatch");
  CHECK(h.rows("bindings") == 0);
  auto after = bind(code, "+92 300 1234567");
  CHECK(after.status == 422);
  CHECK(error_code_of(after) == "invalid_or_expired_code");
  CHECK(h.rows("bindings") == 0);
  CHECK(h.metrics.render().find("veribind_bindings_total{result=\"identifier_mismatch\"} 1") !=
        std::string::npos);
}

TEST_CASE(
    "a start or resend on a channel without a provider is 422 channel_unavailable for any "
    "identifier",
    "[api]") {
  for (const bool sms_served : {false, true}) {
    INFO("sms served: " << sms_served);
    veribind::VerifierConfig config;
    config.max_sends_per_hour = 1;
    ApiHarness h(config, {}, {}, nullptr, 1,
                 veribind::serve::ServedChannels{.sms = sms_served, .email = !sms_served});
    const std::string unserved = sms_served ? "email" : "sms";
    const std::string served = sms_served ? "sms" : "email";
    const std::string unserved_to = sms_served ? kEmail : kPhone;
    const std::string served_to = sms_served ? kPhone : kEmail;
    const json expected = {{"error",
                            {{"code", "channel_unavailable"},
                             {"message", "no provider is configured for this channel"}}}};
    // Whatever a limit would say (the first is allowed, the next over max_sends_per_hour), and
    // for a destination that does not even parse.
    for (const std::string& to : {unserved_to, unserved_to, std::string("not an identifier")}) {
      auto start = h.post("/v1/verifications", {{"to", to}, {"channel", unserved}});
      CHECK(start.status == 422);
      CHECK(body_of(start) == expected);
    }
    const std::string id = h.start(served_to, served);
    REQUIRE(id.size() == 32);
    h.clock.advance(std::chrono::seconds(31));
    auto resend =
        h.post("/v1/verifications/" + id + "/resend", {{"to", unserved_to}, {"channel", unserved}});
    CHECK(resend.status == 422);
    CHECK(body_of(resend) == expected);
    CHECK(h.sender.count() == 1);
    CHECK(h.rows("challenges") == 1);
  }
}
