// The API's parts on their own: the client address behind proxies, the demo routes and their
// sender, the media type check.
#include <catch2/catch.hpp>
#include <sstream>

#include "serve/api_json.hpp"
#include "serve/api_log.hpp"
#include "serve/api_support.hpp"
#include "serve/client_address.hpp"

using nlohmann::json;
using veribind::serve::client_address;
using veribind::serve::IpAddress;
using veribind::serve::TrustedProxies;
using veribind::testing::ApiHarness;
using veribind::testing::body_of;
using veribind::testing::error_code_of;
using veribind::testing::kEmail;
using veribind::testing::kPhone;

namespace {

TrustedProxies proxies(const std::vector<std::string>& entries) {
  auto parsed = TrustedProxies::parse(entries);
  REQUIRE(parsed);
  return *parsed;
}

}  // namespace

TEST_CASE("client address: the peer is the client unless it is a trusted proxy",
          "[client_address]") {
  const TrustedProxies trusted = proxies({"10.0.0.0/8"});
  CHECK(client_address("192.0.2.7", "198.51.100.1", trusted) == "192.0.2.7");
  CHECK(client_address("10.1.2.3", "198.51.100.1", trusted) == "198.51.100.1");
  CHECK(client_address("10.1.2.3", "", trusted) == "10.1.2.3");
  CHECK(client_address("192.0.2.7", "", TrustedProxies()) == "192.0.2.7");
}

TEST_CASE("client address: hops are read from the right, trusted proxies skipped",
          "[client_address]") {
  const TrustedProxies trusted = proxies({"10.0.0.0/8", "2001:db8::/32"});
  // The client wrote the leftmost entry itself: it is not believed.
  CHECK(client_address("10.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2", trusted) == "198.51.100.1");
  CHECK(client_address("10.0.0.1", "198.51.100.1,10.0.0.9", trusted) == "198.51.100.1");
  CHECK(client_address("2001:db8::1", "2001:DB8::5, 2001:0db8:0:0::7", trusted) == "2001:db8::5");
}

TEST_CASE("client address: if every hop is trusted the leftmost is the client",
          "[client_address]") {
  const TrustedProxies trusted = proxies({"10.0.0.0/8"});
  CHECK(client_address("10.0.0.1", "10.0.0.3, 10.0.0.2", trusted) == "10.0.0.3");
}

TEST_CASE("client address: an invalid entry stops the walk at the proxy before it",
          "[client_address]") {
  const TrustedProxies trusted = proxies({"10.0.0.0/8"});
  CHECK(client_address("10.0.0.1", "198.51.100.1, garbage, 10.0.0.2", trusted) == "10.0.0.2");
  CHECK(client_address("10.0.0.1", "unknown", trusted) == "10.0.0.1");
  CHECK(client_address("10.0.0.1", "198.51.100.1, , 10.0.0.2", trusted) == "10.0.0.2");
}

TEST_CASE("client address: ports, brackets and IPv4-mapped forms are one address",
          "[client_address]") {
  const TrustedProxies trusted = proxies({"10.0.0.1", "::1"});
  CHECK(client_address("::ffff:10.0.0.1", "198.51.100.1:4711", trusted) == "198.51.100.1");
  CHECK(client_address("::1", "[2001:db8::9]:443", trusted) == "2001:db8::9");
  CHECK(IpAddress::parse("::ffff:192.0.2.1") == IpAddress::parse("192.0.2.1"));
  CHECK_FALSE(IpAddress::parse("192.0.2.1:x"));
  CHECK_FALSE(IpAddress::parse("[192.0.2.1]"));
  CHECK_FALSE(IpAddress::parse("example.com"));
  CHECK_FALSE(IpAddress::parse(""));
}

TEST_CASE("client address: a unix socket peer is trusted only when configured",
          "[client_address]") {
  CHECK(client_address("unix", "198.51.100.1", TrustedProxies()) == "unix");
  CHECK(client_address("unix", "198.51.100.1", proxies({"unix"})) == "198.51.100.1");
}

TEST_CASE("trusted proxies: a malformed entry is refused without repeating it",
          "[client_address]") {
  for (const char* bad : {"10.0.0.0/33", "proxy.internal", "10.0.0.0/", "::/129", "1/8"}) {
    auto parsed = TrustedProxies::parse({"10.0.0.1", bad});
    REQUIRE_FALSE(parsed);
    CHECK(parsed.code() == veribind::ErrorCode::kInvalidConfig);
    CHECK(parsed.status().message() == "trusted_proxies: entry 2 is not an address or CIDR block");
  }
}

TEST_CASE("the client address keys the per-client limits", "[api][client_address]") {
  veribind::VerifierConfig config;
  config.client_starts_per_window = 1;
  ApiHarness h(config, {}, proxies({"10.0.0.0/8"}));
  const std::string body = json{{"to", kPhone}, {"channel", "sms"}}.dump();
  const auto start = [&](const std::string& to, const std::string& xff) {
    return h.request("POST", "/v1/verifications", json{{"to", to}, {"channel", "sms"}}.dump(),
                     veribind::testing::kVerifyKey, "application/json", "10.0.0.1", xff);
  };
  CHECK(start(kPhone, "198.51.100.1").reason.empty());
  // The same client, another number: over its starts.
  CHECK(start(veribind::testing::kOtherPhone, "6.6.6.6, 198.51.100.1").reason == "client_starts");
  // Another client.
  CHECK(start(veribind::testing::kOtherPhone, "198.51.100.2").reason.empty());
}

TEST_CASE("the demo routes are 404 without demo mode", "[api][demo]") {
  ApiHarness h;
  h.default_peer = "127.0.0.1";
  h.host = "localhost";
  const std::vector<std::string> paths = {"/", "/demo.css", "/demo.js",
                                          "/demo/codes/" + std::string(32, 'a')};
  for (const std::string& path : paths) {
    CHECK(h.get(path, "").status == 404);
  }
  auto start = h.post("/demo/v1/verifications", {{"to", kPhone}, {"channel", "sms"}}, "");
  CHECK(start.status == 404);
  CHECK(error_code_of(start) == "not_found");
  CHECK(h.sender.count() == 0);
}

TEST_CASE("demo mode serves the page and the verify routes without a key", "[api][demo]") {
  veribind::testing::FakeClock demo_clock;
  veribind::serve::DemoSender codes(demo_clock);
  veribind::serve::DemoSettings demo;
  demo.enabled = true;
  demo.codes = &codes;
  demo.page = [](std::string_view path) -> std::optional<veribind::serve::DemoPageAsset> {
    if (path == "/") return veribind::serve::DemoPageAsset{"text/html; charset=utf-8", "<html>"};
    return std::nullopt;
  };
  demo.content_security_policy = "default-src 'self'";
  ApiHarness h({}, demo);
  h.default_peer = "127.0.0.1";
  h.host = "localhost:8080";

  auto page = h.get("/", "");
  CHECK(page.status == 200);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK(page.body == "<html>");
  CHECK(std::find(page.headers.begin(), page.headers.end(),
                  std::pair<std::string, std::string>{"Content-Security-Policy",
                                                      "default-src 'self'"}) != page.headers.end());
  CHECK(h.get("/demo.css", "").status == 404);  // the page function has none

  const std::string id = h.start(kPhone, "sms", "/demo/v1");
  REQUIRE(id.size() == 32);
  auto code = h.get("/demo/codes/" + id, "");
  REQUIRE(code.status == 200);
  const std::string value = body_of(code)["code"];
  CHECK(value.size() == 6);
  CHECK(code.key_id == "demo");
  auto none = h.get("/demo/codes/" + std::string(32, 'c'), "");
  CHECK(none.status == 404);

  auto bound = h.post("/demo/v1/accounts/demo-user/bindings",
                      {{"verification_id", id}, {"code", value}}, "");
  CHECK(bound.status == 201);
  CHECK(bound.route == "/demo/v1/accounts/{account_id}/bindings");
  // The /v1 twins still need a key.
  CHECK(h.post("/v1/verifications", {{"to", kEmail}, {"channel", "email"}}, "").status == 401);
}

TEST_CASE("demo codes of a channel with a real provider are 410", "[api][demo]") {
  veribind::testing::FakeClock demo_clock;
  veribind::serve::DemoSender codes(demo_clock);
  veribind::serve::DemoSettings demo;
  demo.enabled = true;
  demo.codes = &codes;
  demo.sms_has_provider = true;
  ApiHarness h({}, demo);
  h.default_peer = "127.0.0.1";
  h.host = "127.0.0.1:8080";
  const std::string id = h.start(kPhone, "sms", "/demo/v1");
  auto reply = h.get("/demo/codes/" + id, "");
  CHECK(reply.status == 410);
  CHECK(error_code_of(reply) == "delivered_by_provider");
}

TEST_CASE(
    "demo routes answer only a loopback peer without X-Forwarded-For that names a loopback Host",
    "[api][demo]") {
  veribind::testing::FakeClock demo_clock;
  veribind::serve::DemoSender codes(demo_clock);
  veribind::serve::DemoSettings demo;
  demo.enabled = true;
  demo.codes = &codes;
  demo.page = [](std::string_view) -> std::optional<veribind::serve::DemoPageAsset> {
    return veribind::serve::DemoPageAsset{"text/html; charset=utf-8", "<html>"};
  };
  ApiHarness h({}, demo);
  h.default_peer = "127.0.0.1";
  h.host = "localhost";
  const std::string id = h.start(kPhone, "sms", "/demo/v1");
  REQUIRE(id.size() == 32);
  const std::vector<std::string> paths = {"/", "/demo.css", "/demo.js", "/demo/codes/" + id};

  const auto answers = [&](const std::string& peer, const std::string& host,
                           const std::string& forwarded_for) {
    h.host = host;
    bool all = true;
    bool none = true;
    for (const std::string& path : paths) {
      const auto reply = h.request("GET", path, {}, "", {}, peer, forwarded_for);
      all = all && reply.status == 200;
      none = none && reply.status == 404 && error_code_of(reply) == "not_found";
    }
    const auto start = h.request("POST", "/demo/v1/verifications",
                                 json{{"to", kEmail}, {"channel", "email"}}.dump(), "",
                                 "application/json", peer, forwarded_for);
    all = all && start.status == 201;
    none = none && start.status == 404;
    INFO(peer << " " << host << " " << forwarded_for);
    CHECK((all || none));
    return all;
  };
  for (const char* host :
       {"localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:1", "[::1]", "[::1]:65535"}) {
    CHECK(answers("127.0.0.1", host, ""));
    CHECK(answers("::1", host, ""));
  }
  CHECK(answers("127.1.2.3", "localhost", ""));
  // Another peer, a proxy's forwarding, or a name that may resolve here (DNS rebinding).
  CHECK_FALSE(answers("192.0.2.10", "localhost", ""));
  CHECK_FALSE(answers("unix", "localhost", ""));
  CHECK_FALSE(answers("127.0.0.1", "localhost", "198.51.100.1"));
  for (const char* host :
       {"", "attacker.example", "localhost.attacker.example", "127.0.0.1.nip.io",
        "localhost:", "localhost:80a", "[::1]x", "LOCALHOST", "::1", "localhost:1234567"}) {
    CHECK_FALSE(answers("127.0.0.1", host, ""));
  }
}

TEST_CASE("the demo sender keeps the latest code until it expires, within its capacity", "[demo]") {
  veribind::testing::FakeClock clock;
  veribind::serve::DemoSender sender(clock, 2);
  const auto delivery = [&](std::string_view id, std::string_view code, int ttl_s) {
    return veribind::Delivery{veribind::Channel::kPhone,
                              kPhone,
                              "+92******67",
                              code,
                              veribind::Purpose::kSignup,
                              clock.now() + std::chrono::seconds(ttl_s),
                              id};
  };
  REQUIRE(sender.send(delivery("a", "111111", 60)));
  REQUIRE(sender.send(delivery("a", "222222", 60)));
  CHECK(sender.code_for("a")->reveal() == "222222");
  REQUIRE(sender.send(delivery("b", "333333", 30)));
  REQUIRE(sender.send(delivery("c", "444444", 90)));  // full: b expires soonest and goes
  CHECK(sender.held() == 2);
  CHECK_FALSE(sender.code_for("b"));
  clock.advance(std::chrono::seconds(61));
  CHECK_FALSE(sender.code_for("a"));
  CHECK(sender.code_for("c")->reveal() == "444444");
}

TEST_CASE("application/json is recognised with parameters and in any case", "[api_json]") {
  using veribind::serve::is_json_media_type;
  CHECK(is_json_media_type("application/json"));
  CHECK(is_json_media_type("application/json; charset=utf-8"));
  CHECK(is_json_media_type(" APPLICATION/JSON ;charset=UTF-8"));
  CHECK_FALSE(is_json_media_type("application/jsonx"));
  CHECK_FALSE(is_json_media_type("text/json"));
  CHECK_FALSE(is_json_media_type("application/x-www-form-urlencoded"));
  CHECK_FALSE(is_json_media_type(""));
}

TEST_CASE("a path id with a bad percent-escape is 404", "[api]") {
  ApiHarness h;
  auto reply = h.post("/v1/accounts/%zz/bindings",
                      {{"verification_id", std::string(32, 'a')}, {"code", "123456"}});
  CHECK(reply.status == 404);
  CHECK(error_code_of(reply) == "not_found");
}

TEST_CASE("delivery events reach the metrics and a given-up message the log", "[api][metrics]") {
  veribind::testing::FakeClock clock;
  std::ostringstream out;
  veribind::serve::ApiLog log(out, clock);
  veribind::DeliveryCounters counters;
  veribind::serve::DeliveryFanOut fan_out(counters, log);
  veribind::serve::ApiMetrics metrics;
  metrics.set_delivery_counters(&counters);
  metrics.set_open_connections([] { return std::size_t{3}; });

  veribind::DeliveryEvent event;
  event.challenge_id = "5f889a2b5da57bd9da45902b0e2969e0";
  event.provider = "twilio";
  event.state = veribind::DeliveryState::kSent;
  event.attempt = 1;
  fan_out.on_delivery_event(event);
  event.state = veribind::DeliveryState::kAbandoned;
  event.reason = veribind::AbandonReason::kMaxAttempts;
  event.attempt = 8;
  fan_out.on_delivery_event(event);

  const std::string text = metrics.render();
  CHECK(text.find("veribind_deliveries_total{state=\"sent\",provider=\"twilio\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("veribind_deliveries_total{state=\"abandoned\",provider=\"twilio\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("veribind_http_connections_open 3\n") != std::string::npos);
  const json line = json::parse(out.str());
  CHECK(line == json{{"delivery", "abandoned"},
                     {"channel", "phone"},
                     {"provider", "twilio"},
                     {"attempts", 8},
                     {"reason", "max-attempts"}});
  CHECK(out.str().find(event.challenge_id) == std::string::npos);
}
