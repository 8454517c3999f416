// The outbox driving the real providers against real servers on loopback: SmtpSender to the
// aiosmtpd server, WebhookSender and TwilioSender to the HTTPS receiver (tests/delivery/*.py).
// What the scripted providers of outbox_test.cpp cannot show: that what the outbox counts as sent
// arrived exactly once and carries a code that verifies, that retries, failover and abandonment
// follow the servers' real replies, and that nothing on the way writes a code or an address.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/fixtures.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/scripted_provider.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/outbox.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace t = veribind::testing;
using S = DeliveryState;

namespace {

// Short backoffs without jitter, so that a retry is quick and its delay known.
OutboxConfig quick_config(int workers = 2) {
  OutboxConfig c;
  c.workers = workers;
  c.capacity = 2000;
  c.initial_backoff = 20ms;
  c.max_backoff = 50ms;
  c.jitter = Jitter::kNone;
  c.max_attempts = 5;
  c.provider_failure_threshold = 100;  // no resting: each test names every attempt it expects
  return c;
}

template <typename Provider, typename Config>
std::unique_ptr<DeliveryProvider> provider(const Config& config) {
  auto created = Provider::create(config);
  REQUIRE(created);
  return std::move(created).value();
}

// An outbox over `providers`, in failover order, with the built-in English and Urdu templates.
template <typename... Providers>
std::unique_ptr<Outbox> make_outbox(OutboxConfig config, const Clock& clock,
                                    DeliveryObserver& observer, Providers... providers) {
  std::vector<std::unique_ptr<DeliveryProvider>> list;
  (list.push_back(std::move(providers)), ...);
  TemplateSettings settings;
  settings.app_name = "Example";
  auto templates = Templates::builtin(settings);
  REQUIRE(templates);
  auto outbox =
      Outbox::create(config, std::move(templates).value(), std::move(list), clock, &observer);
  REQUIRE(outbox);
  return std::move(outbox).value();
}

// Queues one login code for `destination` directly (no Verifier), valid for ten minutes.
Status send(Outbox& outbox, const Clock& clock, Channel channel, std::string_view destination,
            std::string_view challenge_id, std::string_view code = "428173") {
  const Delivery delivery{channel,         destination,         "(masked)",   code,
                          Purpose::kLogin, clock.now() + 10min, challenge_id, "en"};
  return outbox.send(delivery);
}

DeliveryState wait_for(Outbox& outbox, std::string_view challenge_id) {
  const auto state = outbox.wait(challenge_id, 60s);
  REQUIRE(state);
  return *state;
}

// One message's events, each as a line: the state, the provider and attempt number, and what
// the state carries (a failure's class, reply code and detail; a retry's delay; an abandonment's
// reason).
std::vector<std::string> trail(const t::RecordingObserver& observer, const std::string& id) {
  std::vector<std::string> lines;
  for (const t::RecordedEvent& e : observer.events()) {
    if (e.challenge_id != id) continue;
    std::string line(delivery_state_name(e.state));
    if (e.state != S::kQueued) line += " " + e.provider + " #" + std::to_string(e.attempt);
    if (e.state == S::kFailed) {
      line += " " + std::string(attempt_class_name(e.attempt_class)) + " " +
              std::to_string(e.reply_code) + " " + e.detail;
    }
    if (e.state == S::kRetrying) line += " in " + std::to_string(e.retry_in.count()) + "ms";
    if (e.state == S::kAbandoned) line += " " + std::string(abandon_reason_name(e.reason));
    lines.push_back(line);
  }
  return lines;
}

std::size_t count(const DeliveryCounters::Snapshot& s, DeliveryState state) {
  return s.total[static_cast<std::size_t>(state)];
}

// One message the SMTP server accepted: its envelope recipients and its bytes.
struct Mail {
  std::vector<std::string> recipients;
  std::string message;
};

std::vector<Mail> mailbox(const std::string& dir) {
  std::vector<Mail> mails;
  for (const fs::path& eml : t::files_ending(dir, ".eml")) {
    Mail mail;
    fs::path env = eml;
    env.replace_extension(".env");
    std::istringstream lines(t::read_file(env));
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("to ")) mail.recipients.push_back(line.substr(3));
    }
    mail.message = t::read_file(eml);
    mails.push_back(std::move(mail));
  }
  return mails;
}

std::string header(const std::string& message, const std::string& name) {
  const std::string prefix = "\r\n" + name + ": ";
  const auto at = message.find(prefix);
  REQUIRE(at != std::string::npos);
  const auto start = at + prefix.size();
  return message.substr(start, message.find("\r\n", start) - start);
}

std::string decode_quoted_printable(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '=') {
      out.push_back(encoded[i]);
    } else if (encoded.substr(i + 1, 2) == "\r\n") {
      i += 2;  // a soft line break
    } else {
      out.push_back(
          static_cast<char>(std::stoi(std::string(encoded.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    }
  }
  return out;
}

// The code in a received message's text/plain part: the digits after "code is:".
std::string code_in(const std::string& message) {
  const auto part = message.find("Content-Type: text/plain");
  REQUIRE(part != std::string::npos);
  const auto body = message.find("\r\n\r\n", part) + 4;
  const std::string text = decode_quoted_printable(
      std::string_view(message).substr(body, message.find("\r\n--", body) - body));
  auto at = text.find("code is:");
  REQUIRE(at != std::string::npos);
  at = text.find_first_of("0123456789", at);
  REQUIRE(at != std::string::npos);
  return text.substr(at, text.find_first_not_of("0123456789", at) - at);
}

bool within(const fs::path& path, const fs::path& root) {
  const auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

// Regular files under `dir` last written at or after `since`, outside `excluded`; directories that
// vanish or cannot be read while the walk runs (other processes share /tmp) are passed over.
void written_since(const fs::path& dir, fs::file_time_type since, const fs::path& excluded,
                   std::vector<fs::path>& out) {
  std::error_code walk;
  fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, walk);
  for (; !walk && it != fs::directory_iterator(); it.increment(walk)) {
    const fs::directory_entry& e = *it;
    std::error_code gone;  // the entry vanished: nothing left to read
    if (within(e.path(), excluded) || e.is_symlink(gone)) continue;
    if (e.is_directory(gone)) {
      written_since(e.path(), since, excluded, out);
    } else if (e.is_regular_file(gone) && e.last_write_time(gone) >= since && !gone) {
      out.push_back(e.path());
    }
  }
}

}  // namespace

TEST_CASE(
    "outbox: 1,000 starts through the outbox against a local SMTP server are each delivered "
    "exactly once",
    "[outbox][delivery][smtp]") {
  t::SmtpFixture f;
  t::FakeClock clock;
  MemoryStore store;
  const KeyRing ring = t::random_ring();
  DeliveryCounters counters;
  // Each message is a fresh connection with a TLS handshake and AUTH, as in production.
  auto outbox = make_outbox(quick_config(4), clock, counters, provider<SmtpSender>(f.config()));
  VerifierConfig config;
  // Every address is sent to once, so the per-address limits never bind; the budgets for all
  // sends are raised far above the 1,000 made here.
  config.global_sends_per_hour = 100'000;
  config.default_calling_code_budget = 100'000;
  auto verifier = Verifier::create(config, ring, store, *outbox, clock).value();

  constexpr int kMessages = 1000;
  std::map<std::string, std::string> challenge_of;  // address -> challenge id
  for (int i = 0; i < kMessages; ++i) {
    const std::string address = "user" + std::to_string(i) + "@example.org";
    const auto challenge = verifier.start(EmailAddress::parse(address).value(), Purpose::kSignup);
    REQUIRE(challenge);
    REQUIRE(challenge->sent());
    challenge_of[address] = challenge->id;
  }
  for (const auto& [address, id] : challenge_of) REQUIRE(wait_for(*outbox, id) == S::kSent);

  const std::vector<Mail> mails = mailbox(f.mail);
  REQUIRE(mails.size() == kMessages);
  std::map<std::string, int> deliveries;  // address -> messages received for it
  for (const Mail& mail : mails) {
    REQUIRE(mail.recipients.size() == 1);
    ++deliveries[mail.recipients[0]];
    CHECK(header(mail.message, "To") == mail.recipients[0]);
  }
  CHECK(deliveries.size() == kMessages);
  for (const auto& [address, n] : deliveries) {
    INFO(address);
    CHECK(challenge_of.contains(address));
    CHECK(n == 1);
  }
  // Every message carries its own challenge's code.
  for (const Mail& mail : mails) {
    const std::string& id = challenge_of.at(mail.recipients[0]);
    const auto checked = verifier.check(id, code_in(mail.message), Purpose::kSignup);
    REQUIRE(checked);
    CHECK(checked->outcome == CheckOutcome::kVerified);
  }
  const DeliveryCounters::Snapshot s = counters.snapshot();
  CHECK(count(s, S::kQueued) == kMessages);
  CHECK(count(s, S::kSent) == kMessages);
  CHECK(count(s, S::kAbandoned) == 0);
  CHECK(outbox->held() == 0);
}

TEST_CASE("outbox: the first provider down, the second delivers", "[outbox][delivery]") {
  t::FakeClock clock;
  t::RecordingObserver observer;

  SECTION("email: an SMTP server not listening, then one that accepts") {
    t::SmtpFixture f;
    SmtpConfig down = f.config();
    down.name = "smtp-down";
    down.url = "smtp://127.0.0.1:" + std::to_string(t::closed_port());
    SmtpConfig up = f.config();
    up.name = "smtp-up";
    auto outbox = make_outbox(quick_config(), clock, observer, provider<SmtpSender>(down),
                              provider<SmtpSender>(up));
    REQUIRE(send(*outbox, clock, Channel::kEmail, "pat@example.org", "ch_mail"));
    CHECK(wait_for(*outbox, "ch_mail") == S::kSent);
    CHECK(trail(observer, "ch_mail") ==
          std::vector<std::string>{"queued", "failed smtp-down #1 temporary 0 connect failed",
                                   "retrying smtp-down #1 in 20ms", "sent smtp-up #2"});
    const std::vector<Mail> mails = mailbox(f.mail);
    REQUIRE(mails.size() == 1);
    CHECK(mails[0].recipients == std::vector<std::string>{"pat@example.org"});
    CHECK(code_in(mails[0].message) == "428173");
  }

  SECTION("SMS: a webhook gateway answering 500, then Twilio") {
    t::HttpFixture failing("500");
    t::HttpFixture twilio;
    auto outbox =
        make_outbox(quick_config(), clock, observer, provider<WebhookSender>(failing.webhook()),
                    provider<TwilioSender>(twilio.twilio()));
    REQUIRE(send(*outbox, clock, Channel::kPhone, "+14155550123", "ch_sms"));
    CHECK(wait_for(*outbox, "ch_sms") == S::kSent);
    CHECK(trail(observer, "ch_sms") ==
          std::vector<std::string>{"queued", "failed hook-test #1 temporary 500 http status 500",
                                   "retrying hook-test #1 in 20ms", "sent twilio #2"});
    // The gateway that answered 500 saw the one attempt; Twilio got the message, once.
    CHECK(failing.received().size() == 1);
    const auto got = twilio.received();
    REQUIRE(got.size() == 1);
    CHECK(got[0]["verified"] == true);
    CHECK(got[0]["form"]["To"] == "+14155550123");
    CHECK(got[0]["form"]["Body"].get<std::string>().starts_with("428173 is your Example "));
  }
}

TEST_CASE("outbox: a 451 then 250 from a real SMTP server is sent once, after a retry",
          "[outbox][delivery][smtp]") {
  t::SmtpFixture f("451-once");
  t::FakeClock clock;
  t::RecordingObserver observer;
  auto outbox = make_outbox(quick_config(), clock, observer, provider<SmtpSender>(f.config()));
  REQUIRE(send(*outbox, clock, Channel::kEmail, "pat@example.org", "ch_451"));
  CHECK(wait_for(*outbox, "ch_451") == S::kSent);
  CHECK(trail(observer, "ch_451") ==
        std::vector<std::string>{"queued", "failed smtp-test #1 temporary 451 smtp reply 451",
                                 "retrying smtp-test #1 in 20ms", "sent smtp-test #2"});
  CHECK(f.received() == 1);
}

TEST_CASE("outbox: a 554 from a real SMTP server is abandoned with no retry",
          "[outbox][delivery][smtp]") {
  t::SmtpFixture f("554");
  t::FakeClock clock;
  t::RecordingObserver observer;
  auto outbox = make_outbox(quick_config(), clock, observer, provider<SmtpSender>(f.config()));
  REQUIRE(send(*outbox, clock, Channel::kEmail, "pat@example.org", "ch_554"));
  CHECK(wait_for(*outbox, "ch_554") == S::kAbandoned);
  CHECK(trail(observer, "ch_554") ==
        std::vector<std::string>{"queued", "failed smtp-test #1 permanent 554 smtp reply 554",
                                 "abandoned smtp-test #1 permanent"});
  CHECK(f.received() == 0);
}

TEST_CASE("outbox: an SMTP server that stalls is retried, then abandoned after max_attempts",
          "[outbox][delivery][smtp]") {
  t::SmtpFixture f("stall");
  SmtpConfig config = f.config();
  config.connect_timeout = 1s;
  config.response_timeout = 1s;
  config.total_timeout = 1s;
  t::FakeClock clock;
  t::RecordingObserver observer;
  OutboxConfig outbox_config = quick_config();
  outbox_config.max_attempts = 2;
  auto outbox = make_outbox(outbox_config, clock, observer, provider<SmtpSender>(config));
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(send(*outbox, clock, Channel::kEmail, "pat@example.org", "ch_stall"));
  CHECK(wait_for(*outbox, "ch_stall") == S::kAbandoned);
  // Two attempts of at most total_timeout each, and one backoff between them.
  CHECK(std::chrono::steady_clock::now() - started < 3s);
  // The last reply each attempt saw is the 354 that invited the message; then silence.
  CHECK(trail(observer, "ch_stall") ==
        std::vector<std::string>{
            "queued", "failed smtp-test #1 temporary 354 timeout", "retrying smtp-test #1 in 20ms",
            "failed smtp-test #2 temporary 354 timeout", "abandoned smtp-test #2 max-attempts"});
}

TEST_CASE("outbox: a certificate from another CA is abandoned and nothing was received",
          "[outbox][delivery][smtp]") {
  t::SmtpFixture f;
  SmtpConfig config = f.config();
  config.ca_file = f.certs.other_ca();
  t::FakeClock clock;
  t::RecordingObserver observer;
  auto outbox = make_outbox(quick_config(), clock, observer, provider<SmtpSender>(config));
  REQUIRE(send(*outbox, clock, Channel::kEmail, "pat@example.org", "ch_ca"));
  CHECK(wait_for(*outbox, "ch_ca") == S::kAbandoned);
  CHECK(trail(observer, "ch_ca") ==
        std::vector<std::string>{"queued",
                                 "failed smtp-test #1 permanent 0 certificate verify failed",
                                 "abandoned smtp-test #1 permanent"});
  CHECK(f.received() == 0);
}

TEST_CASE("outbox: nothing the process writes holds a code or a destination",
          "[outbox][delivery][smtp][no-plaintext]") {
  // The walk below reads every file written anywhere under the temporary directory while this
  // test ran, other processes' included: the needles must be ones nothing else could hold. The
  // addresses carry a token drawn for this run, and the codes have ten digits.
  const auto since = fs::file_time_type::clock::now() - 2s;
  std::random_device random;
  const std::string token = std::to_string(random()) + "x" + std::to_string(random());
  t::SmtpFixture f;
  t::FakeClock clock;
  MemoryStore store;
  const KeyRing ring = t::random_ring();
  DeliveryCounters counters;
  auto outbox = make_outbox(quick_config(), clock, counters, provider<SmtpSender>(f.config()));
  VerifierConfig config;
  config.code_length = 10;
  auto verifier = Verifier::create(config, ring, store, *outbox, clock).value();

  constexpr int kMessages = 20;
  std::vector<std::string> addresses;
  std::map<std::string, std::string> challenge_of;
  for (int i = 0; i < kMessages; ++i) {
    addresses.push_back("reader" + std::to_string(i) + "-" + token + "@example.org");
    const auto challenge =
        verifier.start(EmailAddress::parse(addresses.back()).value(), Purpose::kLogin);
    REQUIRE(challenge);
    REQUIRE(challenge->sent());
    challenge_of[addresses.back()] = challenge->id;
  }
  for (const auto& [address, id] : challenge_of) REQUIRE(wait_for(*outbox, id) == S::kSent);
  std::vector<std::string> codes;
  for (const Mail& mail : mailbox(f.mail)) {
    codes.push_back(code_in(mail.message));
    // The needles are the real ones: each code verifies for its address's challenge.
    const auto checked =
        verifier.check(challenge_of.at(mail.recipients.at(0)), codes.back(), Purpose::kLogin);
    REQUIRE(checked);
    REQUIRE(checked->outcome == CheckOutcome::kVerified);
  }
  REQUIRE(codes.size() == kMessages);

  // The server's mailbox holds them (it is the recipient); nothing else may.
  std::vector<fs::path> files;
  const fs::path temp = fs::temp_directory_path();
  written_since(temp, since, f.mail, files);
  if (!within(fs::current_path(), temp)) written_since(fs::current_path(), since, f.mail, files);
  // The search is not blind: this test's own files are among those read.
  CHECK(std::find(files.begin(), files.end(), fs::path(f.dir.file("password"))) != files.end());
  constexpr std::uintmax_t kLargest = 64 << 20;  // larger files are build products, not ours
  for (const fs::path& file : files) {
    std::error_code ec;
    if (fs::file_size(file, ec) > kLargest || ec) continue;
    const std::string bytes = t::read_file(file);
    const auto holds = [&](const std::string& needle) {
      return bytes.find(needle) != std::string::npos;
    };
    std::size_t found = 0;
    for (const std::string& code : codes) found += holds(code);
    for (const std::string& address : addresses) {
      found += holds(address.substr(0, address.find('@')));  // the local part holds the token
    }
    INFO("a code or an address in " << file.string());
    CHECK(found == 0);
  }
}
