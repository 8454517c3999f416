// The operator routes, and what the metrics and the log lines hold.
#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>

#include "serve/api_log.hpp"
#include "serve/api_support.hpp"

using nlohmann::json;
using veribind::testing::ApiHarness;
using veribind::testing::body_of;
using veribind::testing::error_code_of;
using veribind::testing::kOperatorKey;
using veribind::testing::kPhone;

namespace {

// A harness with "acct-1" bound to kPhone.
void bind(ApiHarness& h, const std::string& account = "acct-1") {
  const std::string id = h.start();
  REQUIRE(h.post("/v1/accounts/" + account + "/bindings",
                 {{"verification_id", id}, {"code", h.sender.last_code()}})
              .status == 201);
}

json legal_request() {
  return {{"to", kPhone},
          {"channel", "sms"},
          {"authority", "FIA Cybercrime Wing"},
          {"reference", "2026-0042"},
          {"legal_basis", "PECA 2016 s. 31"},
          {"requested_by", "operator on duty"}};
}

}  // namespace

TEST_CASE("operator find answers the accounts bound to the identifier", "[api][operator]") {
  ApiHarness h;
  bind(h);
  auto reply = h.post("/v1/operator/find", {{"to", kPhone}, {"channel", "sms"}}, kOperatorKey);
  REQUIRE(reply.status == 200);
  CHECK(body_of(reply) == json{{"policy", "phone-linked"}, {"accounts", {"acct-1"}}});
  auto none = h.post("/v1/operator/find",
                     {{"to", veribind::testing::kOtherPhone}, {"channel", "sms"}}, kOperatorKey);
  CHECK(body_of(none)["accounts"] == json::array());
  CHECK(h.rows("audit_log") == 0);  // find is not audited
}

TEST_CASE("operator find refuses bad input with its code", "[api][operator]") {
  ApiHarness h;
  bind(h);
  auto missing = h.post("/v1/operator/find", {{"to", kPhone}}, kOperatorKey);
  CHECK(missing.status == 400);
  CHECK(error_code_of(missing) == "missing_field");
  auto unknown = h.post("/v1/operator/find", {{"to", kPhone}, {"channel", "sms"}, {"all", true}},
                        kOperatorKey);
  CHECK(error_code_of(unknown) == "unknown_field");
  auto bad = h.post("/v1/operator/find", {{"to", "+92"}, {"channel", "sms"}}, kOperatorKey);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("acct-1") == std::string::npos);
  auto wrong_type = h.request("POST", "/v1/operator/find", R"({"to":"x","channel":"sms"})",
                              kOperatorKey, "text/plain");
  CHECK(wrong_type.status == 415);
  auto get = h.get("/v1/operator/find");
  CHECK(get.status == 405);
  CHECK(h.rows("audit_log") == 0);
}

TEST_CASE("operator disclose answers once its audit entry is written", "[api][operator]") {
  ApiHarness h;
  bind(h);
  auto reply = h.post("/v1/operator/disclose", legal_request(), kOperatorKey);
  REQUIRE(reply.status == 200);
  const json body = body_of(reply);
  CHECK(body["accounts"] == json{"acct-1"});
  CHECK(body["policy"] == "phone-linked");
  CHECK(body["audit_sequence"] == 1);
  CHECK(body["blind_index"].get<std::string>().size() == 64);
  CHECK(h.rows("audit_log") == 1);

  auto verify = h.get("/v1/operator/audit/verify");
  REQUIRE(verify.status == 200);
  CHECK(body_of(verify)["ok"] == true);
  CHECK(body_of(verify)["entries_verified"] == 1);
  CHECK(body_of(verify)["head"]["count"] == 1);

  auto transparency = h.get("/v1/operator/transparency?since=2025-12-31");
  REQUIRE(transparency.status == 200);
  CHECK(body_of(transparency)["requests"] == 1);
  CHECK(body_of(transparency)["by_authority"]["FIA Cybercrime Wing"] == 1);
  CHECK(body_of(transparency)["since"] == "2025-12-31T00:00:00Z");
}

TEST_CASE("operator disclose refuses an incomplete request and writes no audit entry",
          "[api][operator]") {
  ApiHarness h;
  bind(h);
  for (const char* field : {"authority", "reference", "legal_basis", "requested_by"}) {
    json request = legal_request();
    request.erase(field);
    auto reply = h.post("/v1/operator/disclose", request, kOperatorKey);
    CHECK(reply.status == 400);
    CHECK(error_code_of(reply) == "missing_field");
  }
  json personal = legal_request();
  personal["reference"] = "+92 300 1234567";
  auto reply = h.post("/v1/operator/disclose", personal, kOperatorKey);
  CHECK(error_code_of(reply) == "legal_request_personal_data");
  CHECK(reply.body.find("1234567") == std::string::npos);
  CHECK(h.rows("audit_log") == 0);
}

TEST_CASE("operator audit verify checks a published head and refuses a malformed one",
          "[api][operator]") {
  ApiHarness h;
  const std::string empty_head = "0:" + std::string(64, '0');
  auto ok = h.get("/v1/operator/audit/verify?expect_head=" + empty_head);
  CHECK(ok.status == 200);
  CHECK(body_of(ok)["ok"] == true);
  auto ahead = h.get("/v1/operator/audit/verify?expect_head=1:" + std::string(64, 'a'));
  CHECK(ahead.status == 200);
  CHECK(body_of(ahead)["ok"] == false);
  CHECK(body_of(ahead)["problem"] == "published_head_mismatch");
  CHECK(ahead.reason == "audit_log_corrupt");
  auto malformed = h.get("/v1/operator/audit/verify?expect_head=nonsense");
  CHECK(malformed.status == 400);
  CHECK(error_code_of(malformed) == "invalid_argument");
  auto unknown = h.get("/v1/operator/audit/verify?other=1");
  CHECK(error_code_of(unknown) == "unknown_field");
  auto twice = h.get("/v1/operator/transparency?since=1&since=2");
  CHECK(error_code_of(twice) == "duplicate_field");
  auto since = h.get("/v1/operator/transparency?since=yesterday");
  CHECK(error_code_of(since) == "invalid_argument");
}

TEST_CASE("operator unlink and erase remove the account's bindings", "[api][operator]") {
  ApiHarness h;
  bind(h, "acct-1");
  auto unlink = h.post("/v1/operator/unlink", {{"account_id", "acct-1"}}, kOperatorKey);
  REQUIRE(unlink.status == 200);
  CHECK(body_of(unlink) == json{{"account_id", "acct-1"}, {"removed", 1}});
  CHECK(h.rows("bindings") == 0);
  h.clock.advance(std::chrono::seconds(31));
  bind(h, "acct-2");
  auto erase = h.post("/v1/operator/erase", {{"account_id", "acct-2"}}, kOperatorKey);
  REQUIRE(erase.status == 200);
  CHECK(body_of(erase) ==
        json{{"account_id", "acct-2"}, {"bindings_removed", 1}, {"key_copies_remain", false}});
  auto bad = h.post("/v1/operator/erase", {{"account_id", "a b"}}, kOperatorKey);
  CHECK(bad.status == 400);
  CHECK(error_code_of(bad) == "invalid_account_id");
  auto missing = h.post("/v1/operator/unlink", json::object(), kOperatorKey);
  CHECK(error_code_of(missing) == "missing_field");
}

TEST_CASE("operator retention, purge and keys report the store", "[api][operator]") {
  ApiHarness h;
  h.start();
  auto retention = h.get("/v1/operator/retention");
  REQUIRE(retention.status == 200);
  bool challenges_seen = false;
  const json report = body_of(retention);
  for (const json& kind : report["kinds"]) {
    if (kind["kind"] == "challenges") {
      challenges_seen = true;
      CHECK(kind["rows"] == 1);
    }
  }
  CHECK(challenges_seen);

  h.clock.advance(std::chrono::hours(25));
  auto purge = h.post("/v1/operator/purge", {{"batch", 100}}, kOperatorKey);
  REQUIRE(purge.status == 200);
  CHECK(body_of(purge)["purged"]["challenges"] == 1);
  CHECK(body_of(purge)["batch_size"] == 100);
  CHECK(h.rows("challenges") == 0);
  auto bad_batch = h.post("/v1/operator/purge", {{"batch", 0}}, kOperatorKey);
  CHECK(error_code_of(bad_batch) == "invalid_argument");
  auto string_batch = h.post("/v1/operator/purge", {{"batch", "10"}}, kOperatorKey);
  CHECK(error_code_of(string_batch) == "wrong_type");
  auto default_batch = h.post("/v1/operator/purge", json::object(), kOperatorKey);
  CHECK(body_of(default_batch)["batch_size"] == 10000);

  auto keys = h.get("/v1/operator/keys");
  REQUIRE(keys.status == 200);
  CHECK(body_of(keys)["current"] == 1);
  CHECK(body_of(keys)["versions"].size() == 1);
  CHECK(body_of(keys)["versions"][0]["version"] == 1);
}

TEST_CASE("the metrics count starts, checks and bindings and hold no identifier or code",
          "[api][metrics]") {
  ApiHarness h;
  const std::string id = h.start();
  const std::string code = h.sender.last_code();
  h.post("/v1/verifications", {{"to", kPhone}, {"channel", "sms"}});  // refused: cooldown
  REQUIRE(
      h.post("/v1/accounts/acct-1/bindings", {{"verification_id", id}, {"code", code}}).status ==
      201);
  h.metrics.count_request("/v1/verifications", 201, std::chrono::microseconds(120));
  h.metrics.count_request("/v1/verifications", 201, std::chrono::milliseconds(7));

  auto reply = h.get("/metrics");
  REQUIRE(reply.status == 200);
  CHECK(reply.content_type == "text/plain; version=0.0.4");
  const std::string& text = reply.body;
  CHECK(text.find("veribind_verification_starts_total{result=\"sent\"} 1\n") != std::string::npos);
  CHECK(text.find("veribind_verification_starts_total{result=\"refused\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("veribind_checks_total{outcome=\"verified\"} 1\n") != std::string::npos);
  CHECK(text.find("veribind_bindings_total{result=\"bound\"} 1\n") != std::string::npos);
  CHECK(text.find("veribind_http_requests_total{route=\"/v1/verifications\",status=\"201\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("veribind_http_request_duration_seconds_bucket{route=\"/v1/verifications\","
                  "le=\"0.00025\"} 1\n") != std::string::npos);
  CHECK(text.find("veribind_http_request_duration_seconds_bucket{route=\"/v1/verifications\","
                  "le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(text.find("veribind_http_connections_open 0\n") != std::string::npos);
  CHECK(text.find("1234567") == std::string::npos);
  CHECK(text.find(code) == std::string::npos);
  CHECK(text.find(id) == std::string::npos);
  CHECK(text.find("acct-1") == std::string::npos);
  CHECK(text.find("k-verify") == std::string::npos);
}

TEST_CASE("the log line of a failed request holds no identifier, code or account id",
          "[api][log]") {
  ApiHarness h;
  const std::string id = h.start();
  const std::string wrong = h.sender.last_code() == "000000" ? "111111" : "000000";
  std::ostringstream out;
  veribind::serve::ApiLog log(out, h.clock);
  const auto hook = veribind::serve::completion_hook(h.metrics, log);
  const std::vector<veribind::serve::HttpReply> replies = {
      h.post("/v1/accounts/acct-secret/bindings", {{"verification_id", id}, {"code", wrong}}),
      h.post("/v1/verifications/" + id + "/check", {{"code", wrong}}),
      h.post("/v1/verifications", {{"to", "+92 300 1234567 x"}, {"channel", "sms"}}),
      h.post("/v1/accounts/alice%40example.com/bindings",
             {{"verification_id", id}, {"code", wrong}}),
  };
  for (const auto& reply : replies) {
    hook(veribind::serve::Completed{"POST", reply, std::chrono::microseconds(250)});
  }
  const std::string lines = out.str();
  INFO(lines);
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 4);
  CHECK(lines.find(id) == std::string::npos);
  CHECK(lines.find(wrong) == std::string::npos);
  CHECK(lines.find("acct-secret") == std::string::npos);
  CHECK(lines.find("1234567") == std::string::npos);
  CHECK(lines.find("alice") == std::string::npos);
  const json first = json::parse(lines.substr(0, lines.find('\n')));
  CHECK(first["route"] == "/v1/accounts/{account_id}/bindings");
  CHECK(first["status"] == 422);
  CHECK(first["latency_us"] == 250);
  CHECK(first["key_id"] == "k-verify");
  CHECK(first["reason"] == "wrong_code");
  CHECK(first["method"] == "POST");
  CHECK(first["ts"] == "2026-01-01T00:00:00.000Z");
}
