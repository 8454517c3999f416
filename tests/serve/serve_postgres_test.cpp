// `veribind serve` end to end on PostgreSQL (the ctest server, a database of the test's own): the
// core flow over HTTP, split across two server processes on the one database, as two nodes
// behind a load balancer would share it.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "serve/serve_harness.hpp"
#include "store/postgres_support.hpp"

namespace veribind::testing {
namespace {

namespace s = serve;
using s::HttpClient;
using s::json;
using s::Reply;
using s::ServeRig;

bool approved(const Reply& reply) {
  return reply.status == 200 && reply.json_body() == json{{"status", "approved"}, {"valid", true}};
}
bool pending(const Reply& reply) {
  return reply.status == 200 && reply.json_body() == json{{"status", "pending"}, {"valid", false}};
}

TEST_CASE(
    "serve on PostgreSQL: a code started on one node verifies and binds on another, and find, "
    "disclose, audit verify and metrics see the same database",
    "[serve][e2e][postgres]") {
  TestDatabase db("vbserve");
  s::RigOptions options;
  options.db = db.url();
  options.verifier = "resend_cooldown_seconds = 0\n";
  ServeRig rig(options);
  // A second node: another process on the same configuration, so the same database.
  s::ServeProcess other_node(rig.work,
                             {"serve", "--config", rig.config, "--listen", "127.0.0.1:0"});
  HttpClient other(other_node.port());
  REQUIRE(s::eventually([&] { return other.get("/readyz").status == 200; }));
  HttpClient& first = *rig.client;
  CHECK(first.get("/readyz").status == 200);

  const std::string phone = "+923001234567";
  const Reply started = first.post("/v1/verifications", rig.verify_key,
                                   {{"to", "+92 300 1234567"}, {"channel", "sms"}});
  INFO(started.body);
  REQUIRE(started.status == 201);
  const std::string id = started.json_body()["id"].get<std::string>();
  const std::string code = rig.inboxes.sms_code(phone);
  REQUIRE(code.size() == 6);

  // A wrong code charged on one node is seen by the other; the right one binds there.
  std::string wrong = code;
  wrong[0] = code[0] == '0' ? '1' : '0';
  CHECK(
      pending(other.post("/v1/verifications/" + id + "/check", rig.verify_key, {{"code", wrong}})));
  const Reply bound = other.post("/v1/accounts/acct-pg-1/bindings", rig.verify_key,
                                 {{"verification_id", id}, {"code", code}});
  INFO(bound.body);
  REQUIRE(bound.status == 201);
  CHECK(bound.json_body()["status"] == "bound");
  CHECK(bound.json_body()["account_id"] == "acct-pg-1");
  // The code was spent on the other node: refused here.
  CHECK(
      pending(first.post("/v1/verifications/" + id + "/check", rig.verify_key, {{"code", code}})));

  // A plain check on the first node, for an email delivered by SMTP.
  const Reply mail = first.post("/v1/verifications", rig.verify_key,
                                {{"to", "pat@example.org"}, {"channel", "email"}});
  REQUIRE(mail.status == 201);
  const std::string mail_id = mail.json_body()["id"].get<std::string>();
  const std::string mail_code = rig.inboxes.email_code("pat@example.org");
  REQUIRE(mail_code.size() == 6);
  CHECK(approved(other.post("/v1/verifications/" + mail_id + "/check", rig.verify_key,
                            {{"code", mail_code}})));

  const Reply found =
      first.post("/v1/operator/find", rig.operator_key, {{"to", phone}, {"channel", "sms"}});
  INFO(found.body);
  REQUIRE(found.status == 200);
  CHECK(found.json_body()["accounts"] == json::array({"acct-pg-1"}));

  const Reply disclosed = other.post("/v1/operator/disclose", rig.operator_key,
                                     {{"to", phone},
                                      {"channel", "sms"},
                                      {"authority", "FIA Cybercrime Wing"},
                                      {"reference", "CR-2026-0042"},
                                      {"legal_basis", "PECA 2016 s.35"},
                                      {"requested_by", "duty-operator"}});
  INFO(disclosed.body);
  REQUIRE(disclosed.status == 200);
  CHECK(disclosed.json_body()["accounts"] == json::array({"acct-pg-1"}));
  const Reply audit = first.get("/v1/operator/audit/verify", rig.operator_key);
  INFO(audit.body);
  REQUIRE(audit.status == 200);
  CHECK(audit.json_body()["ok"] == true);

  const Reply metrics = other.get("/metrics", rig.operator_key);
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("veribind_checks_total") != std::string::npos);
  CHECK(metrics.body.find("veribind_http_requests_total") != std::string::npos);

  // Stored in PostgreSQL, and without the number in plaintext.
  CHECK_FALSE(std::filesystem::exists(rig.work + "/veribind.db"));
  RawPg raw(db.url());
  CHECK(raw.column("SELECT count(*) FROM bindings") == std::vector<std::string>{"1"});
  const std::vector<std::string> rows = raw.column(
      "SELECT t::text FROM bindings t UNION ALL SELECT t::text FROM challenges t "
      "UNION ALL SELECT t::text FROM counters t");
  for (const std::string& row : rows) {
    CHECK(row.find("3001234567") == std::string::npos);
    CHECK(row.find("pat@example.org") == std::string::npos);
  }

  const int other_status = other_node.terminate(std::chrono::seconds(8));
  CHECK(other_status == 0);
  rig.stop();
  for (const std::string& written :
       {rig.server->stderr_text(), other_node.stderr_text(), metrics.body}) {
    for (const std::string& secret :
         {phone, std::string("3001234567"), std::string("pat@example.org"), code, mail_code,
          std::string("acct-pg-1"), db.url()}) {
      INFO(secret << " in:\n" << written);
      CHECK_FALSE(s::holds(written, secret));
    }
  }
}

}  // namespace
}  // namespace veribind::testing
