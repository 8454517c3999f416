// The CLI with real delivery: veribind.toml names an SMTP server and an SMS gateway (throwaway
// ones on loopback, started here), `start` waits for its message and reports it, `send-test`
// reports each attempt, and nothing the process writes holds the code or the destination.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "delivery/servers.hpp"

namespace {

namespace t = veribind::testing;
using t::cli::error_code_of;
using t::cli::json;
using t::cli::json_of;
using t::cli::Run;
using t::cli::run_cli;

constexpr const char* kUser = "mailer";
constexpr const char* kPassword = "correct horse battery staple";

// A working directory with a key, and an SMTP server (STARTTLS and AUTH required) in another.
struct MailRig {
  explicit MailRig(const std::string& mode = "ok")
      : certs(servers), mail(servers.file("mail")), work(servers.file("work")) {
    std::filesystem::create_directories(mail);
    std::filesystem::create_directories(work);
    t::write_file(servers.file("password"), std::string(kPassword) + "\n", 0600);
    smtp = std::make_unique<t::ServerProcess>(std::vector<std::string>{
        t::kScripts + "/smtp_server.py", "--dir", mail, "--mode", mode, "--tls-cert", certs.cert(),
        "--tls-key", certs.key(), "--user", kUser, "--password", kPassword});
    REQUIRE(run_cli(work, {"keygen"}).exit_code == 0);
  }

  // [delivery.email] for this server, plus `extra` TOML.
  void configure(const std::string& extra = "") const {
    t::write_file(work + "/veribind.toml",
                  "[delivery]\ninitial_backoff_ms = 20\nmax_backoff_ms = 50\nwait_seconds = 20\n"
                  "\n[delivery.email]\nname = \"mail-test\"\nurl = \"smtp://127.0.0.1:" +
                      std::to_string(smtp->port()) +
                      "\"\nfrom = \"Example <no-reply@example.com>\"\nca_file = \"" + certs.ca() +
                      "\"\nusername = \"" + kUser + "\"\npassword_file = \"" +
                      servers.file("password") + "\"\n\n[templates]\napp_name = \"Example\"\n" +
                      extra,
                  0600);
  }

  [[nodiscard]] std::vector<std::filesystem::path> received() const {
    return t::files_ending(mail, ".eml");
  }

  t::TempDir servers;
  t::Certificates certs;
  std::string mail;
  std::string work;
  std::unique_ptr<t::ServerProcess> smtp;
};

// The first run of six digits after "code is" in a received message's text part.
std::string code_in(const std::string& message) {
  auto at = message.find("code is");
  REQUIRE(at != std::string::npos);
  at = message.find_first_of("0123456789", at);
  REQUIRE(at != std::string::npos);
  return message.substr(at, 6);
}

// Every file under `dir`, read whole: what the process left on disk.
std::string everything_under(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) all += t::read_file(e.path());
  }
  return all;
}

}  // namespace

TEST_CASE("cli delivery: start sends the code by SMTP, waits for it, and the code verifies",
          "[cli][delivery]") {
  MailRig rig;
  rig.configure();
  const Run started = run_cli(rig.work, {"start", "--email", "pat@example.org", "--json"});
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  const json result = json_of(started);
  REQUIRE(result["attempts"].size() == 1);
  CHECK(result["attempts"][0]["state"] == "sent");
  CHECK(result["attempts"][0]["provider"] == "mail-test");
  // The development sender's line is gone: the code went by mail only.
  CHECK(started.err.find("\"code\"") == std::string::npos);

  const auto received = rig.received();
  REQUIRE(received.size() == 1);
  const std::string message = t::read_file(received[0]);
  const std::string headers = message.substr(0, message.find("\r\n\r\n"));
  CHECK(headers.find("To: pat@example.org\r\n") != std::string::npos);
  const std::string code = code_in(message);
  CHECK(headers.find(code) == std::string::npos);  // not on a lock screen

  // Nothing veribind wrote holds the code or the address (the server's mailbox is elsewhere).
  const std::string on_disk = everything_under(rig.work);
  CHECK(on_disk.find(code) == std::string::npos);
  CHECK(on_disk.find("pat@example.org") == std::string::npos);

  const Run checked = run_cli(rig.work, {"check", "--json", "--challenge",
                                         result["challenge"].get<std::string>(), "--code", code});
  CHECK(checked.exit_code == 0);
  CHECK(json_of(checked)["outcome"] == "verified");
}

TEST_CASE(
    "cli delivery: a provider's permanent refusal exits 4 with delivery_refused, and the "
    "challenge is voided",
    "[cli][delivery]") {
  MailRig rig("554");
  rig.configure();
  const Run started = run_cli(rig.work, {"start", "--email", "pat@example.org", "--json"});
  INFO(started.out << started.err);
  CHECK(started.exit_code == 4);
  const json result = json_of(started);
  CHECK(result["error"]["code"] == "delivery_refused");
  const std::string message = result["error"]["message"];
  CHECK(message.find("pat@example.org") == std::string::npos);
  // One attempt, no retry: failed (permanent, 554), then abandoned.
  REQUIRE(result["attempts"].size() == 2);
  CHECK(result["attempts"][0]["state"] == "failed");
  CHECK(result["attempts"][0]["class"] == "permanent");
  CHECK(result["attempts"][0]["reply_code"] == 554);
  CHECK(result["attempts"][1]["state"] == "abandoned");
  CHECK(result["attempts"][1]["reason"] == "permanent");
  CHECK(rig.received().empty());
}

TEST_CASE("cli delivery: send-test reports each attempt, a 451 retried and then delivered once",
          "[cli][delivery]") {
  MailRig rig("451-once");
  rig.configure();
  const Run sent = run_cli(rig.work, {"send-test", "--email", "pat@example.org", "--json"});
  INFO(sent.out << sent.err);
  REQUIRE(sent.exit_code == 0);
  const json result = json_of(sent);
  CHECK(result["sent"] == true);
  const json& attempts = result["attempts"];
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[0]["state"] == "failed");
  CHECK(attempts[0]["class"] == "temporary");
  CHECK(attempts[0]["reply_code"] == 451);
  CHECK(attempts[1]["state"] == "retrying");
  CHECK(attempts[2]["state"] == "sent");
  CHECK(attempts[2]["attempt"] == 2);
  CHECK(rig.received().size() == 1);
  // send-test touches no database.
  CHECK(!std::filesystem::exists(rig.work + "/veribind.db"));

  const Run text = run_cli(rig.work, {"send-test", "--email", "sam@example.org"});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("attempt 1   sent via mail-test") != std::string::npos);
}

TEST_CASE("cli delivery: an SMS goes to the webhook gateway, signed, with the origin-bound line",
          "[cli][delivery]") {
  t::TempDir dir;
  t::Certificates certs(dir);
  const std::string received = dir.file("received");
  const std::string work = dir.file("work");
  std::filesystem::create_directories(received);
  std::filesystem::create_directories(work);
  t::write_file(dir.file("hook.secret"), "0123456789abcdef0123456789abcdef", 0600);
  t::ServerProcess gateway({t::kScripts + "/http_receiver.py", "--dir", received, "--tls-cert",
                            certs.cert(), "--tls-key", certs.key(), "--secret-file",
                            dir.file("hook.secret")});
  // The keys the documentation shows, with paths relative to the file.
  t::write_file(work + "/veribind.toml",
                "[delivery.sms]\ntype = \"webhook\"\nurl = \"https://127.0.0.1:" +
                    std::to_string(gateway.port()) +
                    "/hook\"\nsecret_file = \"../hook.secret\"\nca_file = \"../tls/ca.pem\"\n"
                    "\n[templates]\napp_name = \"Example\"\ndomain = \"example.com\"\n",
                0600);
  REQUIRE(run_cli(work, {"keygen"}).exit_code == 0);
  const Run started = run_cli(work, {"start", "--phone", "+92 300 1234567", "--json"});
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  const auto requests = t::files_ending(received, ".json");
  REQUIRE(requests.size() == 1);
  const json request = json::parse(t::read_file(requests[0]));
  CHECK(request["verified"] == true);
  CHECK(request["json"]["to"] == "+923001234567");
  const std::string text = request["json"]["text"];
  const auto origin = text.rfind("\n@example.com #");
  REQUIRE(origin != std::string::npos);
  const std::string code = text.substr(origin + 15);
  CHECK(code.size() == 6);
  const Run checked =
      run_cli(work, {"check", "--json", "--challenge",
                     json_of(started)["challenge"].get<std::string>(), "--code", code});
  CHECK(checked.exit_code == 0);

  // An email start has no provider in this file: refused before anything is stored or sent.
  const Run email = run_cli(work, {"start", "--email", "pat@example.org", "--json"});
  CHECK(email.exit_code == 2);
  CHECK(error_code_of(email) == "invalid_config");
}

TEST_CASE("cli delivery: the first provider down, the fallback delivers", "[cli][delivery]") {
  MailRig rig;
  const int closed = t::closed_port();
  // The first provider's port refuses connections; the fallback is the real server.
  t::write_file(rig.work + "/veribind.toml",
                "[delivery]\ninitial_backoff_ms = 20\nmax_backoff_ms = 50\n\n"
                "[delivery.email]\nname = \"down\"\nurl = \"smtp://127.0.0.1:" +
                    std::to_string(closed) +
                    "\"\nfrom = \"no-reply@example.com\"\n\n[[delivery.email.fallback]]\n"
                    "name = \"up\"\nurl = \"smtp://127.0.0.1:" +
                    std::to_string(rig.smtp->port()) +
                    "\"\nfrom = \"no-reply@example.com\"\nca_file = \"" + rig.certs.ca() +
                    "\"\nusername = \"" + kUser + "\"\npassword_file = \"" +
                    rig.servers.file("password") + "\"\n",
                0600);
  const Run sent = run_cli(rig.work, {"send-test", "--email", "pat@example.org", "--json"});
  INFO(sent.out << sent.err);
  REQUIRE(sent.exit_code == 0);
  const json attempts = json_of(sent)["attempts"];
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[0]["provider"] == "down");
  CHECK(attempts[0]["class"] == "temporary");
  CHECK(attempts[2]["provider"] == "up");
  CHECK(attempts[2]["state"] == "sent");
  CHECK(rig.received().size() == 1);
}

TEST_CASE("cli delivery: a secret file others can read is refused before anything is stored",
          "[cli][delivery]") {
  MailRig rig;
  rig.configure();
  std::filesystem::permissions(
      rig.servers.file("password"),
      std::filesystem::perms::group_read | std::filesystem::perms::others_read,
      std::filesystem::perm_options::add);
  const Run started = run_cli(rig.work, {"start", "--email", "pat@example.org", "--json"});
  CHECK(started.exit_code == 4);
  CHECK(error_code_of(started) == "key_file_insecure");
  CHECK(!std::filesystem::exists(rig.work + "/veribind.db"));
  CHECK(rig.received().empty());
}

TEST_CASE("cli delivery: without a [delivery] section the console sender says nothing was sent",
          "[cli][delivery]") {
  t::TempDir dir;
  REQUIRE(run_cli(dir.path(), {"keygen"}).exit_code == 0);
  const Run started = run_cli(dir.path(), {"start", "--email", "pat@example.org"});
  CHECK(started.exit_code == 0);
  CHECK(started.err.find("NO EMAIL WAS SENT") != std::string::npos);
  const Run test = run_cli(dir.path(), {"send-test", "--email", "pat@example.org", "--json"});
  CHECK(test.exit_code == 2);
  CHECK(error_code_of(test) == "invalid_config");
}
