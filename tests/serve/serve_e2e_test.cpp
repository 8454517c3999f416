// `veribind serve` end to end, on an SQLite database: the real program on a loopback port, spoken
// to over HTTP the way a backend would, with codes read from what the throwaway SMTP server and
// SMS gateway received. Each test runs its own server and stops it with SIGTERM, which must end
// it with exit status 0.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "serve/serve_harness.hpp"

namespace {

namespace s = veribind::testing::serve;
using s::HttpClient;
using s::json;
using s::RawReply;
using s::Reply;
using s::RigOptions;
using s::ServeRig;

constexpr const char* kPhone = "+923001234567";  // a Pakistani mobile, as the gateway sees it
constexpr const char* kPhoneTyped = "+92 300 1234567";
constexpr const char* kPhoneNational = "3001234567";

// The keys every answer to a start has, whether a code was sent or a limit refused it.
const std::set<std::string> kStartKeys = {"id", "channel", "to", "purpose", "status", "expires_at"};

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

Reply start(ServeRig& rig, const std::string& to, const std::string& channel) {
  return rig.client->post("/v1/verifications", rig.verify_key, {{"to", to}, {"channel", channel}});
}

// A start that must be answered the uniform way; its verification id.
std::string started_id(const Reply& reply, const std::string& channel) {
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  const json body = reply.json_body();
  CHECK(keys_of(body) == kStartKeys);
  CHECK(body["status"] == "pending");
  CHECK(body["channel"] == channel);
  CHECK(body["purpose"] == "signup");
  REQUIRE(body["id"].is_string());
  return body["id"].get<std::string>();
}

Reply check(ServeRig& rig, const std::string& id, const std::string& code) {
  return rig.client->post("/v1/verifications/" + id + "/check", rig.verify_key, {{"code", code}});
}

Reply bind_account(ServeRig& rig, const std::string& account, const std::string& id,
                   const std::string& code, const std::string& policy = "") {
  json body = {{"verification_id", id}, {"code", code}};
  if (!policy.empty()) body["policy"] = policy;
  return rig.client->post("/v1/accounts/" + account + "/bindings", rig.verify_key, body);
}

// The rig's defaults, but no resend cooldown: the tests that bind the one number several times.
RigOptions without_cooldown() {
  RigOptions options;
  options.verifier = "resend_cooldown_seconds = 0\n";
  return options;
}

// At most two starts per client, with or without a proxy whose X-Forwarded-For is believed.
RigOptions two_starts_per_client(bool trusted_proxy) {
  RigOptions options;
  options.client_limits = "client_starts_per_window = 2\n";
  if (trusted_proxy) options.server = "trusted_proxies = [\"127.0.0.1\"]\n";
  return options;
}

// A six-digit code that is not `code`.
std::string other_code(const std::string& code) {
  std::string wrong = code;
  wrong[0] = code[0] == '0' ? '1' : '0';
  return wrong;
}

bool approved(const Reply& reply) {
  return reply.status == 200 && reply.json_body() == json{{"status", "approved"}, {"valid", true}};
}
bool pending(const Reply& reply) {
  return reply.status == 200 && reply.json_body() == json{{"status", "pending"}, {"valid", false}};
}

Reply find(ServeRig& rig, const std::string& to, const std::string& channel) {
  return rig.client->post("/v1/operator/find", rig.operator_key,
                          {{"to", to}, {"channel", channel}});
}
// The accounts that find reports bound to `to`.
json found_accounts(ServeRig& rig, const std::string& to, const std::string& channel) {
  const Reply found = find(rig, to, channel);
  INFO(found.body);
  REQUIRE(found.status == 200);
  return found.json_body()["accounts"];
}

// What the store holds, as the operator's retention report counts it: rows per kind.
json stored_rows(ServeRig& rig) {
  const Reply report = rig.client->get("/v1/operator/retention", rig.operator_key);
  INFO(report.body);
  REQUIRE(report.status == 200);
  const json body = report.json_body();
  json rows = json::object();
  for (const json& kind : body["kinds"]) {
    rows[kind["kind"].get<std::string>()] = kind["rows"];
  }
  REQUIRE(!rows.empty());
  return rows;
}

// No line the server wrote holds any of `secrets` (identifiers, codes, account ids).
void expect_output_free_of(const ServeRig& rig, const std::vector<std::string>& secrets) {
  const std::string written = rig.server->stderr_text() + rig.server->stdout_text();
  for (const std::string& secret : secrets) {
    INFO("the server wrote " << secret << ":\n" << written);
    CHECK_FALSE(s::holds(written, secret));
  }
}

// The request log has, after its first `before` lines, one for a refusal with `status` and
// `reason`, on `route`: the pattern, never the ids in the path ("-" for the transport's own).
bool logged_refusal(ServeRig& rig, std::size_t before, int status, const std::string& reason,
                    const std::string& route) {
  const auto line = rig.server->wait_for_log(before, [&](const json& entry) {
    return entry.value("status", 0) == status && entry.value("reason", "") == reason;
  });
  INFO("request log:\n" << rig.server->stderr_text());
  if (!line) return false;
  CHECK((*line)["method"].is_string());
  CHECK((*line)["latency_us"].is_number());
  CHECK((*line)["route"] == route);
  return true;
}

// A verification of kPhone under way, with its code read from the gateway.
struct PhoneCode {
  std::string id;
  std::string code;
};
PhoneCode phone_code(ServeRig& rig, const std::string& to = kPhoneTyped,
                     const std::string& e164 = kPhone) {
  PhoneCode out;
  out.id = started_id(start(rig, to, "sms"), "sms");
  out.code = rig.inboxes.sms_code(e164);
  REQUIRE(out.code.size() == 6);
  return out;
}

std::string disclose_body(const std::string& to) {
  return json{{"to", to},
              {"channel", "sms"},
              {"authority", "FIA Cybercrime Wing"},
              {"reference", "CR-2026-0042"},
              {"legal_basis", "PECA 2016 s.35"},
              {"requested_by", "duty-operator"}}
      .dump();
}

}  // namespace

TEST_CASE(
    "serve: an SMS code from the gateway binds an account, and the same number for a second "
    "account is refused 409 already_bound",
    "[serve][e2e]") {
  ServeRig rig(without_cooldown());
  // A national form with its region reaches the same number.
  PhoneCode first;
  first.id =
      started_id(rig.client->post("/v1/verifications", rig.verify_key,
                                  {{"to", "0300 1234567"}, {"channel", "sms"}, {"region", "PK"}}),
                 "sms");
  first.code = rig.inboxes.sms_code(kPhone);
  REQUIRE(first.code.size() == 6);

  // The masked destination shows neither the number nor most of its digits.
  const Reply masked = start(rig, "+92 300 7654321", "sms");
  REQUIRE(masked.status == 201);
  const std::string to = masked.json_body()["to"].get<std::string>();
  CHECK(to.find("3007654321") == std::string::npos);
  CHECK(to.find("7654321") == std::string::npos);
  CHECK(rig.inboxes.sms_code("+923007654321").size() == 6);

  // A wrong code is refused without saying why.
  const Reply wrong = bind_account(rig, "acct-e2e-1", first.id, other_code(first.code));
  CHECK(wrong.status == 422);
  CHECK(wrong.error_code() == "invalid_or_expired_code");

  const PhoneCode fresh = phone_code(rig);
  const Reply bound = bind_account(rig, "acct-e2e-1", fresh.id, fresh.code);
  INFO(bound.body);
  REQUIRE(bound.status == 201);
  const json binding = bound.json_body();
  CHECK(binding["account_id"] == "acct-e2e-1");
  CHECK(binding["status"] == "bound");
  CHECK(binding["policy"] == "phone-linked");
  CHECK(binding["channel"].is_string());
  CHECK(found_accounts(rig, kPhone, "sms") == json::array({"acct-e2e-1"}));

  const PhoneCode again = phone_code(rig);
  const Reply taken = bind_account(rig, "acct-e2e-2", again.id, again.code);
  CHECK(taken.status == 409);
  CHECK(taken.error_code() == "already_bound");
  CHECK(found_accounts(rig, kPhone, "sms") == json::array({"acct-e2e-1"}));

  rig.stop();
  expect_output_free_of(rig, {kPhone, kPhoneNational, first.code, fresh.code, again.code,
                              "acct-e2e-1", "acct-e2e-2"});
}

TEST_CASE(
    "serve: check approves the right code once, and answers pending for a wrong code, an "
    "unknown id, a locked challenge and a reused code",
    "[serve][e2e]") {
  ServeRig rig(without_cooldown());
  const PhoneCode verification = phone_code(rig);
  CHECK(pending(check(rig, verification.id, other_code(verification.code))));
  CHECK(approved(check(rig, verification.id, verification.code)));
  // A code works once.
  CHECK(pending(check(rig, verification.id, verification.code)));

  // An id that was never handed out is pending like the rest; one that is not even the shape
  // of an id is bad input, which says nothing about any verification.
  const std::string unknown = verification.id.substr(0, verification.id.size() - 1) +
                              (verification.id.back() == '0' ? "1" : "0");
  CHECK(pending(check(rig, unknown, verification.code)));
  const Reply malformed = check(rig, "not-a-verification", verification.code);
  CHECK(malformed.status == 400);
  CHECK(!malformed.error_code().empty());

  // Five wrong guesses lock the challenge: the right code is then refused like any other.
  const PhoneCode locked = phone_code(rig);
  for (int i = 0; i < 5; ++i) CHECK(pending(check(rig, locked.id, other_code(locked.code))));
  CHECK(pending(check(rig, locked.id, locked.code)));
  CHECK(bind_account(rig, "acct-locked", locked.id, locked.code).status == 422);

  // The log names the route by its pattern: the verification ids are not in it.
  const auto checked = rig.server->wait_for_log(0, [](const json& entry) {
    return entry.value("route", "") == "/v1/verifications/{id}/check";
  });
  CHECK(checked.has_value());
  rig.stop();
  expect_output_free_of(rig, {kPhone, kPhoneNational, verification.code, locked.code, "acct-locked",
                              verification.id, locked.id, unknown});
}

TEST_CASE(
    "serve: an email code from the SMTP server binds under email-linked, is refused 422 "
    "wrong_channel under phone-linked, and a start within the cooldown gets the same answer",
    "[serve][e2e]") {
  ServeRig rig;  // the default 30 s resend cooldown, phone-linked by default
  const std::size_t log_before = rig.server->request_log().size();
  const Reply first = start(rig, "Pat@Example.org", "email");
  const std::string first_id = started_id(first, "email");
  const std::string code = rig.inboxes.email_code("pat@example.org");
  REQUIRE(code.size() == 6);

  // Within the cooldown the answer has the same shape and status; the log says which limit.
  const Reply second = start(rig, "pat@example.org", "email");
  const std::string second_id = started_id(second, "email");
  CHECK(second_id != first_id);
  CHECK(keys_of(second.json_body()) == keys_of(first.json_body()));
  const auto refused = rig.server->wait_for_log(log_before, [](const json& line) {
    return line.value("route", "") == "/v1/verifications" &&
           line.value("reason", "").find("resend_cooldown") != std::string::npos;
  });
  CHECK(refused.has_value());
  if (refused) {
    CHECK((*refused)["status"] == 201);
    CHECK((*refused)["method"] == "POST");
    CHECK((*refused)["key_id"] == rig.verify_id);
    CHECK((*refused)["latency_us"].is_number());
  }

  const Reply wrong_channel = bind_account(rig, "acct-mail-1", first_id, code);
  CHECK(wrong_channel.status == 422);
  CHECK(wrong_channel.error_code() == "wrong_channel");
  CHECK(found_accounts(rig, "pat@example.org", "email").empty());

  const std::string other_id = started_id(start(rig, "sam@example.org", "email"), "email");
  const std::string other_code_sent = rig.inboxes.email_code("sam@example.org");
  REQUIRE(other_code_sent.size() == 6);
  const Reply bound = bind_account(rig, "acct-mail-2", other_id, other_code_sent, "email-linked");
  INFO(bound.body);
  REQUIRE(bound.status == 201);
  CHECK(bound.json_body()["policy"] == "email-linked");
  CHECK(bound.json_body()["status"] == "bound");
  CHECK(found_accounts(rig, "Sam@example.org", "email") == json::array({"acct-mail-2"}));

  // The refused second start sent nothing: only the two codes above were mailed.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(rig.inboxes.emails_received() == 2);

  rig.stop();
  expect_output_free_of(rig, {"pat@example.org", "Pat@Example.org", "sam@example.org", code,
                              other_code_sent, "acct-mail-1", "acct-mail-2"});
}

TEST_CASE(
    "serve: the operator finds, discloses with an audit entry that verifies, unlinks, erases, "
    "purges and reads the reports and metrics",
    "[serve][e2e]") {
  ServeRig rig(without_cooldown());
  HttpClient& c = *rig.client;
  const PhoneCode verification = phone_code(rig);
  REQUIRE(bind_account(rig, "acct-op-1", verification.id, verification.code).status == 201);
  CHECK(found_accounts(rig, kPhoneTyped, "sms") == json::array({"acct-op-1"}));

  const Reply disclosed =
      c.post_raw("/v1/operator/disclose", rig.operator_key, disclose_body(kPhoneTyped));
  INFO(disclosed.body);
  REQUIRE(disclosed.status == 200);
  CHECK(disclosed.json_body()["accounts"] == json::array({"acct-op-1"}));

  const Reply audit = c.get("/v1/operator/audit/verify", rig.operator_key);
  INFO(audit.body);
  REQUIRE(audit.status == 200);
  CHECK(audit.json_body()["ok"] == true);

  const Reply transparency = c.get("/v1/operator/transparency", rig.operator_key);
  INFO(transparency.body);
  CHECK(transparency.status == 200);
  CHECK(transparency.json_body().is_object());
  CHECK(transparency.body.find("FIA Cybercrime Wing") != std::string::npos);

  const json rows = stored_rows(rig);
  const Reply purged = c.post("/v1/operator/purge", rig.operator_key, json::object());
  INFO(purged.body);
  CHECK(purged.status == 200);
  // Nothing has expired yet: purge removes nothing live.
  CHECK(purged.json_body()["purged"] == json{{"challenges", 0}, {"counters", 0}});
  CHECK(stored_rows(rig) == rows);

  const Reply keys = c.get("/v1/operator/keys", rig.operator_key);
  INFO(keys.body);
  CHECK(keys.status == 200);
  CHECK(keys.json_body()["current"] == 1);
  CHECK(keys.json_body()["versions"].is_array());

  const Reply metrics = c.get("/metrics", rig.operator_key);
  REQUIRE(metrics.status == 200);
  CHECK(metrics.content_type.find("text/plain") == 0);
  CHECK(metrics.body.find("veribind_checks_total") != std::string::npos);
  CHECK(metrics.body.find("veribind_http_requests_total") != std::string::npos);
  for (const std::string& secret : {std::string(kPhone), std::string(kPhoneNational),
                                    verification.code, std::string("acct-op-1")}) {
    CHECK_FALSE(s::holds(metrics.body, secret));
  }

  const Reply unlinked =
      c.post("/v1/operator/unlink", rig.operator_key, {{"account_id", "acct-op-1"}});
  INFO(unlinked.body);
  CHECK(unlinked.status == 200);
  CHECK(found_accounts(rig, kPhone, "sms").empty());

  const PhoneCode next = phone_code(rig);
  REQUIRE(bind_account(rig, "acct-op-2", next.id, next.code).status == 201);
  CHECK(found_accounts(rig, kPhone, "sms") == json::array({"acct-op-2"}));
  const Reply erased =
      c.post("/v1/operator/erase", rig.operator_key, {{"account_id", "acct-op-2"}});
  INFO(erased.body);
  CHECK(erased.status == 200);
  CHECK(found_accounts(rig, kPhone, "sms").empty());
  // Erasing the only binding leaves the audit chain whole.
  CHECK(c.get("/v1/operator/audit/verify", rig.operator_key).json_body()["ok"] == true);

  rig.stop();
  expect_output_free_of(
      rig, {kPhone, kPhoneNational, verification.code, next.code, "acct-op-1", "acct-op-2"});
}

TEST_CASE(
    "serve: a request without a key gets 401, a verify key on an operator route 403, and a "
    "revoked key 401 within two seconds without a restart",
    "[serve][e2e]") {
  ServeRig rig;
  HttpClient& c = *rig.client;
  const json before = stored_rows(rig);

  // One start with the verify key goes through; none of the refused requests below stores.
  started_id(start(rig, kPhoneTyped, "sms"), "sms");
  const json after_one = stored_rows(rig);
  CHECK(after_one != before);

  const Reply no_key =
      c.post("/v1/verifications", "", {{"to", "+92 300 7654321"}, {"channel", "sms"}});
  CHECK(no_key.status == 401);
  CHECK(no_key.error_code() == "unauthorized");
  CHECK(c.get("/v1/operator/retention").status == 401);
  CHECK(c.get("/metrics").status == 401);
  const Reply forged = c.post("/v1/verifications", "vbk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAA",
                              {{"to", "+92 300 7654321"}, {"channel", "sms"}});
  CHECK(forged.status == 401);
  CHECK(forged.error_code() == "unauthorized");
  const auto find_with = [](HttpClient& client, const std::string& key) {
    return client.post("/v1/operator/find", key, {{"to", kPhoneTyped}, {"channel", "sms"}});
  };
  const Reply verify_on_operator = find_with(c, rig.verify_key);
  CHECK(verify_on_operator.status == 403);
  CHECK(verify_on_operator.error_code() == "forbidden");
  CHECK(c.get("/metrics", rig.verify_key).status == 403);
  CHECK(c.get("/v1/operator/keys", rig.verify_key).status == 403);
  CHECK(stored_rows(rig) == after_one);

  const auto revoked =
      rig.veribind({"apikey", "revoke", rig.verify_id, "--api-keys", rig.api_keys});
  INFO(revoked.out << revoked.err);
  REQUIRE(revoked.exit_code == 0);
  const auto revoked_at = s::Clock::now();
  const bool refused = s::eventually([&] { return find_with(c, rig.verify_key).status == 401; },
                                     std::chrono::seconds(5));
  CHECK(refused);
  CHECK(s::Clock::now() - revoked_at < std::chrono::milliseconds(3000));
  const Reply after_revoke =
      c.post("/v1/verifications", rig.verify_key, {{"to", "+92 300 7654321"}, {"channel", "sms"}});
  CHECK(after_revoke.status == 401);
  CHECK(after_revoke.error_code() == "unauthorized");
  CHECK(stored_rows(rig) == after_one);
  // The operator key still works.
  CHECK(c.get("/v1/operator/keys", rig.operator_key).status == 200);

  rig.stop();
  expect_output_free_of(rig, {kPhone, kPhoneNational, rig.verify_key, rig.operator_key});
}

TEST_CASE(
    "serve: malformed requests get their exact error code on every endpoint and change nothing "
    "stored",
    "[serve][e2e]") {
  ServeRig rig(without_cooldown());
  HttpClient& c = *rig.client;
  // One account bound and one verification pending, so that a request that wrongly went through
  // would change what is stored.
  const PhoneCode bound = phone_code(rig);
  REQUIRE(bind_account(rig, "acct-bad-1", bound.id, bound.code).status == 201);
  const PhoneCode pending_one = phone_code(rig, "+92 300 7654321", "+923007654321");
  const json before = stored_rows(rig);
  const std::size_t sms_before = rig.inboxes.sms_received();

  const std::string check_path = "/v1/verifications/" + pending_one.id + "/check";
  const std::string bind_path = "/v1/accounts/acct-bad-2/bindings";
  struct Case {
    std::string path;
    std::string body;
    std::string code;
    std::string key;
  };
  const std::string& v = rig.verify_key;
  const std::string& o = rig.operator_key;
  const std::string start_path = "/v1/verifications";
  std::vector<Case> cases = {
      {start_path, R"({"channel":"sms"})", "missing_field", v},
      {start_path, R"({"to":"+923001234568"})", "missing_field", v},
      {start_path, R"({"to":923001234568,"channel":"sms"})", "wrong_type", v},
      {start_path, R"({"to":"+923001234568","channel":["sms"]})", "wrong_type", v},
      {start_path, R"({"to":"+923001234568","channel":"sms","purpose":7})", "wrong_type", v},
      {start_path, R"({"to":"+923001234568","channel":"sms","code_length":4})", "unknown_field", v},
      {start_path, R"({"to":"+923001234568","channel":"sms")", "bad_json", v},
      {start_path, R"(["+923001234568","sms"])", "bad_json", v},
      {start_path, R"({"to":"+923001234568","channel":"sms","to":"+923001234569"})",
       "duplicate_field", v},
      {start_path, "{\"to\":\"+92300123\xff\xfe\",\"channel\":\"sms\"}", "bad_json", v},
      {start_path, "", "bad_json", v},
      {check_path, R"({})", "missing_field", v},
      {check_path, R"({"code":123456})", "wrong_type", v},
      {check_path, R"({"code":"123456","attempt":1})", "unknown_field", v},
      {check_path, R"({"code":"123456")", "bad_json", v},
      {check_path, "{\"code\":\"12\xc3\x28\"}", "bad_json", v},
      {bind_path, "{\"code\":\"" + pending_one.code + "\"}", "missing_field", v},
      {bind_path, "{\"verification_id\":\"" + pending_one.id + "\"}", "missing_field", v},
      {bind_path, "{\"verification_id\":\"" + pending_one.id + "\",\"code\":123456}", "wrong_type",
       v},
      {bind_path,
       "{\"verification_id\":\"" + pending_one.id + "\",\"code\":\"" + pending_one.code +
           "\",\"retain_contact\":\"sealed\"}",
       "unknown_field", v},
      {bind_path, "{\"verification_id\":", "bad_json", v},
      {"/v1/operator/find", R"({"to":"+923001234567"})", "missing_field", o},
      {"/v1/operator/find", R"({"to":923001234567,"channel":"sms"})", "wrong_type", o},
      {"/v1/operator/find", R"({"to":"+923001234567","channel":"sms","all":true})", "unknown_field",
       o},
      {"/v1/operator/find", R"({"to":)", "bad_json", o},
      {"/v1/operator/unlink", R"({})", "missing_field", o},
      {"/v1/operator/unlink", R"({"account_id":1})", "wrong_type", o},
      {"/v1/operator/unlink", R"({"account_id":"acct-bad-1","force":true})", "unknown_field", o},
      {"/v1/operator/unlink", R"({"account_id":"acct-bad-1")", "bad_json", o},
      {"/v1/operator/erase", R"({})", "missing_field", o},
      {"/v1/operator/erase", R"({"account_id":["acct-bad-1"]})", "wrong_type", o},
      {"/v1/operator/erase", R"({"account_id":"acct-bad-1","now":1})", "unknown_field", o},
      {"/v1/operator/erase", "{\"account_id\":\"acct-bad-\xff\"}", "bad_json", o},
      {"/v1/operator/purge", R"({"batch":"all"})", "wrong_type", o},
      {"/v1/operator/purge", R"({"older_than":1})", "unknown_field", o},
      {"/v1/operator/purge", R"({)", "bad_json", o},
  };
  // Each of the legal request's four fields is required.
  for (const char* field : {"authority", "reference", "legal_basis", "requested_by"}) {
    json body = json::parse(disclose_body(kPhone));
    body.erase(field);
    cases.push_back({"/v1/operator/disclose", body.dump(), "missing_field", o});
    body[field] = 42;
    cases.push_back({"/v1/operator/disclose", body.dump(), "wrong_type", o});
  }
  {
    json body = json::parse(disclose_body(kPhone));
    body.erase("to");
    cases.push_back({"/v1/operator/disclose", body.dump(), "missing_field", o});
    body = json::parse(disclose_body(kPhone));
    body["scope"] = "everything";
    cases.push_back({"/v1/operator/disclose", body.dump(), "unknown_field", o});
  }

  for (const Case& bad : cases) {
    const std::size_t log_before = rig.server->request_log().size();
    const Reply reply = c.post_raw(bad.path, bad.key, bad.body);
    INFO(bad.path << " " << bad.body << " -> " << reply.status << " " << reply.body);
    CHECK(reply.status == 400);
    CHECK(reply.error_code() == bad.code);
    const std::string route = bad.path == check_path  ? "/v1/verifications/{id}/check"
                              : bad.path == bind_path ? "/v1/accounts/{account_id}/bindings"
                                                      : bad.path;
    CHECK(logged_refusal(rig, log_before, 400, bad.code, route));
    CHECK(stored_rows(rig) == before);
  }

  // The transport's refusals, on a start and on an operator route.
  for (const auto& [path, key] : std::vector<std::pair<std::string, std::string>>{
           {start_path, v}, {"/v1/operator/find", o}}) {
    const std::string body = R"({"to":"+923001234568","channel":"sms"})";
    INFO(path);
    const Reply text = c.post_raw(path, key, body, "text/plain");
    CHECK(text.status == 415);
    CHECK(text.error_code() == "unsupported_media_type");
    const Reply form = c.post_raw(path, key, body, "application/x-www-form-urlencoded");
    CHECK(form.status == 415);

    const std::string head = "POST " + path +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key +
                             "\r\nContent-Type: application/json\r\n";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    std::size_t log_before = rig.server->request_log().size();
    const RawReply chunked =
        s::raw_exchange(rig.server->port(), head + "Transfer-Encoding: chunked\r\n\r\n" + size +
                                                "\r\n" + body + "\r\n0\r\n\r\n");
    INFO(chunked.all);
    CHECK(chunked.status == 411);
    CHECK(chunked.error_code() == "length_required");
    CHECK(logged_refusal(rig, log_before, 411, "length_required", "-"));

    // Refused from Content-Length alone, before any of the body is sent.
    // Both framings at once (how requests are smuggled past a proxy): refused, never served.
    const RawReply both = s::raw_exchange(rig.server->port(),
                                          head + "Content-Length: " + std::to_string(body.size()) +
                                              "\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    INFO(both.all);
    CHECK((both.status == 411 || both.status == 400));
    CHECK(both.status != 0);

    log_before = rig.server->request_log().size();
    const RawReply large = s::raw_exchange(
        rig.server->port(), head + "Content-Length: " + std::to_string(16 * 1024 + 1) + "\r\n\r\n");
    INFO(large.all);
    CHECK(large.status == 413);
    CHECK(large.error_code() == "body_too_large");
    CHECK(logged_refusal(rig, log_before, 413, "body_too_large", "-"));
    // And with the body sent whole, as a client that does not wait would.
    std::string padded = R"({"to":"+923001234568","channel":"sms","pad":")";
    padded += std::string(17 * 1024, 'x') + "\"}";
    const Reply too_large = c.post_raw(path, key, padded);
    CHECK(too_large.status == 413);
    if (too_large.status == 413) CHECK(too_large.error_code() == "body_too_large");

    log_before = rig.server->request_log().size();
    const RawReply headers = s::raw_exchange(
        rig.server->port(), head + "X-Padding: " + std::string(9 * 1024, 'a') +
                                "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                                body);
    INFO(headers.all);
    CHECK(headers.status == 431);
    CHECK(headers.error_code() == "headers_too_large");
    CHECK(logged_refusal(rig, log_before, 431, "headers_too_large", "-"));
    CHECK(stored_rows(rig) == before);
  }

  // Nothing was sent, and the pending verification was charged no attempt: its code still
  // works (five charged attempts would have locked it).
  CHECK(rig.inboxes.sms_received() == sms_before);
  CHECK(approved(check(rig, pending_one.id, pending_one.code)));

  rig.stop();
  expect_output_free_of(
      rig, {kPhone, kPhoneNational, "+923001234568", "3001234568", "+923007654321", "3007654321",
            bound.code, pending_one.code, "acct-bad-1", "acct-bad-2"});
}

TEST_CASE(
    "serve: backends starting, checking and binding at once on their own connections all get "
    "right answers",
    "[serve][e2e]") {
  ServeRig rig;
  constexpr int kBackends = 8;
  std::vector<std::string> numbers;
  for (int i = 0; i < kBackends; ++i) numbers.push_back("+92300555000" + std::to_string(i));
  std::vector<std::string> ids(kBackends);
  std::vector<long> statuses(kBackends);
  const auto in_parallel = [&](const std::function<void(int, HttpClient&)>& work) {
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < kBackends; ++i) clients.push_back(rig.new_client());
    for (int i = 0; i < kBackends; ++i) {
      threads.emplace_back([&, i] { work(i, *clients[static_cast<std::size_t>(i)]); });
    }
    for (std::thread& thread : threads) thread.join();
  };
  // Catch's assertions are not thread-safe: the threads only record, the test checks after.
  std::vector<std::string> bodies(kBackends);
  in_parallel([&](int i, HttpClient& client) {
    const auto at = static_cast<std::size_t>(i);
    const Reply reply =
        client.post("/v1/verifications", rig.verify_key, {{"to", numbers[at]}, {"channel", "sms"}});
    statuses[at] = reply.status;
    bodies[at] = reply.body;
  });
  std::vector<std::string> codes;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    INFO(bodies[i]);
    REQUIRE(statuses[i] == 201);
    ids[i] = json::parse(bodies[i])["id"].get<std::string>();
    codes.push_back(rig.inboxes.sms_code(numbers[i]));
    REQUIRE(codes.back().size() == 6);
  }
  // Half check a wrong code and then bind; half bind straight away.
  in_parallel([&](int i, HttpClient& client) {
    const auto at = static_cast<std::size_t>(i);
    if (i % 2 == 0) {
      client.post("/v1/verifications/" + ids[at] + "/check", rig.verify_key,
                  {{"code", other_code(codes[at])}});
    }
    const Reply reply =
        client.post("/v1/accounts/acct-many-" + std::to_string(i) + "/bindings", rig.verify_key,
                    {{"verification_id", ids[at]}, {"code", codes[at]}});
    statuses[at] = reply.status;
    bodies[at] = reply.body;
  });
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    INFO(bodies[i]);
    CHECK(statuses[i] == 201);
    CHECK(found_accounts(rig, numbers[i], "sms") ==
          json::array({"acct-many-" + std::to_string(i)}));
  }
  rig.stop();
}

TEST_CASE(
    "serve: behind a trusted proxy each X-Forwarded-For client has its own start limit, and "
    "without one the header is ignored",
    "[serve][e2e]") {
  const auto start_from = [](ServeRig& rig, const std::string& forwarded, const std::string& to) {
    return rig.client->request("POST", "/v1/verifications", rig.verify_key,
                               json{{"to", to}, {"channel", "sms"}}.dump(), "application/json",
                               {"X-Forwarded-For: " + forwarded});
  };
  // The newest start's log line refused by the client limit, or not.
  const auto refused_by_client_limit = [](ServeRig& rig, std::size_t log_before) {
    const auto line = rig.server->wait_for_log(log_before, [](const json& entry) {
      return entry.value("route", "") == "/v1/verifications";
    });
    REQUIRE(line.has_value());
    return line->value("reason", "").find("client_starts") != std::string::npos;
  };
  const std::vector<std::string> numbers = {"+923001230001", "+923001230002", "+923001230003",
                                            "+923001230004", "+923001230005"};
  {
    ServeRig rig(two_starts_per_client(true));
    for (int i = 0; i < 2; ++i) {
      const std::size_t log_before = rig.server->request_log().size();
      started_id(start_from(rig, "203.0.113.7", numbers[i]), "sms");
      CHECK(rig.inboxes.sms_code(numbers[i]).size() == 6);
      CHECK_FALSE(refused_by_client_limit(rig, log_before));
    }
    // The third from the same client: the uniform answer, but no code, and the log says why.
    std::size_t log_before = rig.server->request_log().size();
    started_id(start_from(rig, "203.0.113.7", numbers[2]), "sms");
    CHECK(refused_by_client_limit(rig, log_before));
    // The proxy appends the address it saw: the client is the rightmost untrusted one.
    log_before = rig.server->request_log().size();
    started_id(start_from(rig, "198.51.100.20, 203.0.113.7", numbers[3]), "sms");
    CHECK(refused_by_client_limit(rig, log_before));
    // Another client behind the same proxy still gets its code.
    log_before = rig.server->request_log().size();
    started_id(start_from(rig, "198.51.100.9", numbers[4]), "sms");
    CHECK(rig.inboxes.sms_code(numbers[4]).size() == 6);
    CHECK_FALSE(refused_by_client_limit(rig, log_before));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(rig.inboxes.sms_received_for(numbers[2]) == 0);
    CHECK(rig.inboxes.sms_received_for(numbers[3]) == 0);
    rig.stop();
    expect_output_free_of(rig, {numbers[0], numbers[2], numbers[4], "3001230004"});
  }
  {
    // No trusted proxy: the header is the client's own claim, and every start counts against
    // 127.0.0.1 whatever it says.
    ServeRig rig(two_starts_per_client(false));
    for (int i = 0; i < 2; ++i) {
      started_id(start_from(rig, "203.0.113." + std::to_string(i + 1), numbers[i]), "sms");
      CHECK(rig.inboxes.sms_code(numbers[i]).size() == 6);
    }
    const std::size_t log_before = rig.server->request_log().size();
    started_id(start_from(rig, "198.51.100.9", numbers[2]), "sms");
    CHECK(refused_by_client_limit(rig, log_before));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(rig.inboxes.sms_received_for(numbers[2]) == 0);
    rig.stop();
  }
}

TEST_CASE(
    "serve: /healthz and /readyz answer 200 without a key, the demo routes do not exist without "
    "--demo, and SIGTERM exits 0 and closes the port",
    "[serve][e2e]") {
  ServeRig rig;
  CHECK(rig.server->listening()["tls"] == false);
  CHECK(rig.server->listening()["demo"] == false);
  CHECK(rig.client->get("/healthz").status == 200);
  CHECK(rig.client->get("/readyz").status == 200);
  CHECK(rig.client->get("/demo/codes/00000000000000000000000000000000").status == 404);
  CHECK(rig.client->get("/").status == 404);
  const Reply demo_start =
      rig.client->post("/demo/v1/verifications", "", {{"to", kPhoneTyped}, {"channel", "sms"}});
  CHECK(demo_start.status == 404);
  const int port = rig.server->port();
  rig.stop();
  const int fd = s::connect_loopback(port);
  CHECK(fd < 0);
  if (fd >= 0) ::close(fd);
}

TEST_CASE("serve --demo refuses to start on a unix socket or behind trusted proxies",
          "[serve][e2e][demo]") {
  veribind::testing::cli::TempDir dir;
  const std::string socket = (dir.path() / "veribind.sock").string();
  const auto on_socket = veribind::testing::cli::run_cli(
      dir.path(), {"serve", "--demo", "--json", "--listen", "unix:" + socket});
  INFO(on_socket.out << on_socket.err);
  CHECK(on_socket.exit_code != 0);
  CHECK(veribind::testing::cli::error_code_of(on_socket) == "invalid_argument");
  CHECK(veribind::testing::cli::json_of(on_socket)["error"]["message"] ==
        "--demo shows every code to whoever asks: it listens on a loopback IP address only (not a "
        "unix socket)");
  CHECK(!std::filesystem::exists(socket));

  veribind::testing::write_file((dir.path() / "veribind.toml").string(),
                                "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n", 0600);
  const auto behind_proxy = veribind::testing::cli::run_cli(
      dir.path(), {"serve", "--demo", "--json", "--listen", "127.0.0.1:0"});
  INFO(behind_proxy.out << behind_proxy.err);
  CHECK(behind_proxy.exit_code != 0);
  CHECK(veribind::testing::cli::error_code_of(behind_proxy) == "invalid_argument");
  CHECK(veribind::testing::cli::json_of(behind_proxy)["error"]["message"] ==
        "--demo shows every code to whoever asks: it does not run behind proxies ([server] "
        "trusted_proxies must be empty)");
}

TEST_CASE(
    "serve: with an email provider only, every SMS start is 422 channel_unavailable whatever the "
    "limits would say, and email starts are sent",
    "[serve][e2e]") {
  RigOptions options;
  options.sms_provider = false;
  options.verifier = "max_sends_per_hour = 1\n";
  ServeRig rig(options);
  for (int i = 0; i < 3; ++i) {
    const Reply refused = start(rig, kPhoneTyped, "sms");
    INFO(refused.body);
    CHECK(refused.status == 422);
    CHECK(refused.error_code() == "channel_unavailable");
  }
  const std::string id = started_id(start(rig, "bob@example.com", "email"), "email");
  CHECK(rig.inboxes.email_code("bob@example.com").size() == 6);
  const Reply resend = rig.client->post("/v1/verifications/" + id + "/resend", rig.verify_key,
                                        {{"to", kPhoneTyped}, {"channel", "sms"}});
  CHECK(resend.status == 422);
  CHECK(resend.error_code() == "channel_unavailable");
  rig.stop();
}

TEST_CASE(
    "serve: SIGTERM with a kept-alive connection and a request whose body is still coming exits "
    "0 within the drain time",
    "[serve][e2e]") {
  RigOptions options;
  options.server = "drain_seconds = 2\n";
  ServeRig rig(options);
  const auto idle = rig.new_client();
  CHECK(idle->get("/healthz").status == 200);
  // Headers read, 40 bytes of body announced, a few sent: the request is in flight.
  const int slow = s::connect_loopback(rig.server->port());
  REQUIRE(slow >= 0);
  const std::string partial =
      "POST /v1/verifications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      rig.verify_key +
      "\r\nContent-Type: application/json\r\nContent-Length: 40\r\n"
      "\r\n{\"to\"";
  REQUIRE(::send(slow, partial.data(), partial.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(partial.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  const auto signalled = s::Clock::now();
  rig.stop();  // exit status 0, checked there
  CHECK(s::Clock::now() - signalled < std::chrono::seconds(6));
  // The slow connection was closed (with or without a reply), not left open.
  pollfd p{slow, POLLIN, 0};
  CHECK(::poll(&p, 1, 2000) == 1);
  char buffer[512];
  while (::recv(slow, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
  }
  CHECK(::recv(slow, buffer, sizeof buffer, MSG_DONTWAIT) <= 0);
  ::close(slow);
}

TEST_CASE(
    "serve --demo: with a real SMS provider the code goes to the gateway and the page's code "
    "route does not show it",
    "[serve][e2e]") {
  RigOptions options;
  options.serve_args = {"--demo"};
  ServeRig rig(options);
  CHECK(rig.server->listening()["demo"] == true);
  const Reply page = rig.client->get("/");
  CHECK(page.status == 200);
  CHECK(page.content_type.find("text/html") == 0);
  const Reply started =
      rig.client->post("/demo/v1/verifications", "", {{"to", kPhoneTyped}, {"channel", "sms"}});
  const std::string id = started_id(started, "sms");
  const std::string code = rig.inboxes.sms_code(kPhone);
  REQUIRE(code.size() == 6);
  const Reply shown = rig.client->get("/demo/codes/" + id);
  CHECK(shown.status == 410);
  CHECK(shown.error_code() == "delivered_by_provider");
  CHECK(shown.body.find(code) == std::string::npos);
  // The /v1 routes still want a key in demo mode.
  CHECK(start(rig, kPhoneTyped, "sms").status == 201);
  CHECK(
      rig.client->post("/v1/verifications", "", {{"to", kPhoneTyped}, {"channel", "sms"}}).status ==
      401);
  const Reply checked =
      rig.client->post("/demo/v1/verifications/" + id + "/check", "", {{"code", code}});
  CHECK(approved(checked));
  rig.stop();
  expect_output_free_of(rig, {kPhone, kPhoneNational, code});
}
