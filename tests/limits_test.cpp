// The abuse limits, one behaviour per test: the identifier lockout, client keys,
// calling-code and global budgets, region lists, SMS-pumping type guards, the metrics hook and
// pumping alert, limits shared between nodes, and start()'s uniform work.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/counting_store.hpp"
#include "fakes/failing_store.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "internal/mac_count.hpp"
#include "veribind/metrics.hpp"
#include "veribind/registry.hpp"
#include "veribind/sqlite_store.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
using namespace std::chrono_literals;
using veribind::testing::CountingStore;
using veribind::testing::FakeClock;
using veribind::testing::RecordingSender;

namespace {

// 2026-01-01T00:00:00Z, the FakeClock's default: a clock-hour boundary.
const Timestamp kMidnight(1767225600000ms);

PhoneNumber phone(const std::string& e164) {
  auto p = PhoneNumber::parse(e164, "", PhoneTypeSet::all());
  INFO(e164);
  REQUIRE(p.is_ok());
  return std::move(p).value();
}
EmailAddress email(const std::string& text) { return EmailAddress::parse(text).value(); }
// "<prefix><n>@example.com", built by appending: GCC 12 at -O3 reports a false -Wrestrict
// warning inside libstdc++ for "literal" + std::to_string(n) in a loop.
EmailAddress numbered_email(std::string_view prefix, int n) {
  std::string text(prefix);
  text += std::to_string(n);
  text += "@example.com";
  return email(text);
}

std::string wrong_for(const std::string& code) {
  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  return wrong;
}

template <typename S = MemoryStore>
struct Fixture {
  explicit Fixture(VerifierConfig config = {}, VerificationMetrics* metrics = nullptr)
      : ring(veribind::testing::random_ring()),
        verifier(Verifier::create(config, ring, store, sender, clock, metrics).value()) {}
  KeyRing ring;
  S store;
  RecordingSender sender;
  FakeClock clock;
  Verifier verifier;

  Challenge start(const Identifier& id, const RequestContext& context = {}) {
    auto c = verifier.start(id, Purpose::kSignup, context);
    REQUIRE(c.is_ok());
    return std::move(c).value();
  }
  CheckResult check(const std::string& id, const std::string& code,
                    const RequestContext& context = {}) {
    auto r = verifier.check(id, code, Purpose::kSignup, context);
    REQUIRE(r.is_ok());
    return std::move(r).value();
  }
};

}  // namespace

// --- the identifier lockout (NIST SP 800-63B 5.2.2) --------------------------------------------

TEST_CASE("lockout: the identifier locks at max_failed_checks across challenges, right code too",
          "[limits][lockout]") {
  VerifierConfig config;
  config.max_failed_checks = 12;
  config.max_sends_per_hour = 100;
  Fixture f(config);
  const Identifier id = email("a@example.com");
  const Timestamp first_failure = f.clock.now();
  int failures = 0;
  Challenge last;
  while (failures < 11) {  // three challenges of up to 5 wrong codes each
    last = f.start(id);
    REQUIRE(last.sent());
    for (int i = 0; i < 5 && failures < 11; ++i, ++failures) {
      CHECK(f.check(last.id, wrong_for(f.sender.last_code())).outcome == CheckOutcome::kWrongCode);
    }
    f.clock.advance(30s);
  }
  // The 12th failure locks: it is reported as kLocked with when the lock lifts.
  Challenge c = f.start(id);
  const std::string code = f.sender.last_code();
  CheckResult twelfth = f.check(c.id, wrong_for(code));
  CHECK(twelfth.outcome == CheckOutcome::kLocked);
  CHECK(twelfth.refusal.limit == Limit::kIdentifierLocked);
  CHECK(twelfth.refusal.retry_at == first_failure + 24h);
  // The right code of a live challenge is refused now, and its attempt stays charged.
  CheckResult right = f.check(c.id, code);
  CHECK(right.outcome == CheckOutcome::kLocked);
  CHECK_FALSE(right.verified.has_value());
  // start() refuses too, without sending.
  f.clock.advance(30s);
  const std::size_t sent = f.sender.count();
  Challenge refused = f.start(id);
  CHECK(refused.refusal.limit == Limit::kIdentifierLocked);
  CHECK(f.sender.count() == sent);
  // Another identifier is not affected.
  Challenge other = f.start(email("b@example.com"));
  CHECK(f.check(other.id, f.sender.last_code()).outcome == CheckOutcome::kVerified);
  // When the failure window has passed, the identifier is free again.
  f.clock.set(first_failure + 24h);
  Challenge again = f.start(id);
  REQUIRE(again.sent());
  CHECK(f.check(again.id, f.sender.last_code()).outcome == CheckOutcome::kVerified);
}

TEST_CASE("lockout: a verified code resets the failure count", "[limits][lockout]") {
  VerifierConfig config;
  config.max_failed_checks = 6;
  config.max_sends_per_hour = 100;
  Fixture f(config);
  const Identifier id = email("a@example.com");
  auto fail_five = [&] {
    Challenge c = f.start(id);
    for (int i = 0; i < 5; ++i) {
      REQUIRE(f.check(c.id, wrong_for(f.sender.last_code())).outcome == CheckOutcome::kWrongCode);
    }
    f.clock.advance(30s);
  };
  fail_five();
  Challenge good = f.start(id);
  REQUIRE(f.check(good.id, f.sender.last_code()).outcome == CheckOutcome::kVerified);
  f.clock.advance(30s);
  fail_five();  // 5 more, not 10: the count restarted
  Challenge next = f.start(id);
  REQUIRE(next.sent());
  CHECK(f.check(next.id, f.sender.last_code()).outcome == CheckOutcome::kVerified);
}

TEST_CASE("lockout: the default is 100 failed checks", "[limits][lockout]") {
  VerifierConfig config;
  config.max_sends_per_hour = 1000;
  config.resend_cooldown = 0s;
  Fixture f(config);
  const Identifier id = email("a@example.com");
  for (int n = 1; n <= 100; ++n) {
    Challenge c = f.start(id);
    REQUIRE(c.sent());
    const CheckOutcome outcome = f.check(c.id, wrong_for(f.sender.last_code())).outcome;
    REQUIRE(outcome == (n < 100 ? CheckOutcome::kWrongCode : CheckOutcome::kLocked));
  }
  CHECK(f.start(id).refusal.limit == Limit::kIdentifierLocked);
}

// --- client keys -------------------------------------------------------------------------------

TEST_CASE("client key: starts per window are limited, then free again in the next window",
          "[limits][client]") {
  VerifierConfig config;
  config.client_starts_per_window = 3;
  config.client_window = 10min;
  Fixture f(config);
  const RequestContext client{"203.0.113.7"};
  for (int i = 0; i < 3; ++i) {
    CHECK(f.start(numbered_email("u", i), client).sent());
  }
  Challenge refused = f.start(email("u9@example.com"), client);
  CHECK(refused.refusal.limit == Limit::kClientStarts);
  CHECK(refused.refusal.retry_at == kMidnight + 10min);
  CHECK(f.sender.count() == 3);
  // Another client, and a request without a client key, are not limited by this one.
  CHECK(f.start(email("u9@example.com"), RequestContext{"198.51.100.1"}).sent());
  CHECK(f.start(email("u8@example.com")).sent());
  f.clock.set(kMidnight + 10min);
  CHECK(f.start(email("u7@example.com"), client).sent());
}

TEST_CASE("client key: checks per window are limited before anything is charged",
          "[limits][client]") {
  VerifierConfig config;
  config.client_checks_per_window = 2;
  Fixture f(config);
  const RequestContext client{"device-42"};
  Challenge c = f.start(email("a@example.com"));
  const std::string code = f.sender.last_code();
  CHECK(f.check(c.id, wrong_for(code), client).outcome == CheckOutcome::kWrongCode);
  CHECK(f.check(c.id, wrong_for(code), client).outcome == CheckOutcome::kWrongCode);
  CheckResult limited = f.check(c.id, code, client);
  CHECK(limited.outcome == CheckOutcome::kRateLimited);
  CHECK(limited.refusal.limit == Limit::kClientChecks);
  CHECK(limited.refusal.retry_at == kMidnight + 15min);
  auto stored = f.store.find_challenge(ChallengeId::parse(c.id).value());
  CHECK((*stored)->attempts == 2);  // the limited check charged nothing
  // The same code from another client verifies.
  CHECK(f.check(c.id, code, RequestContext{"device-43"}).outcome == CheckOutcome::kVerified);
}

TEST_CASE("client key: over 256 bytes is kInputTooLong and changes nothing",
          "[limits][client][bad-input]") {
  Fixture<CountingStore> f;
  const std::string huge(257, 'x');
  CHECK(f.verifier.start(email("a@example.com"), Purpose::kSignup, RequestContext{huge}).code() ==
        ErrorCode::kInputTooLong);
  CHECK(f.verifier
            .check(ChallengeId::random().to_string(), "123456", Purpose::kSignup,
                   RequestContext{huge})
            .code() == ErrorCode::kInputTooLong);
  CHECK(f.verifier
            .resend(ChallengeId::random().to_string(), email("a@example.com"), RequestContext{huge})
            .code() == ErrorCode::kInputTooLong);
  CHECK(f.store.calls.empty());
  CHECK(f.sender.count() == 0);
  CHECK(f.start(email("a@example.com"), RequestContext{std::string(256, 'x')}).sent());
}

// --- budgets -------------------------------------------------------------------------------------

TEST_CASE("calling code budget: per-code override and default, refused until the hour ends",
          "[limits][budget][sms-pumping]") {
  VerifierConfig config;
  config.default_calling_code_budget = 3;
  config.calling_code_budgets = {{92, 2}};
  Fixture f(config);
  f.clock.advance(20min);
  CHECK(f.start(phone("+923001234561")).sent());
  CHECK(f.start(phone("+923001234562")).sent());
  Challenge pk = f.start(phone("+923001234563"));
  CHECK(pk.refusal.limit == Limit::kCallingCodeBudget);
  CHECK(pk.refusal.retry_at == kMidnight + 1h);
  for (int i = 1; i <= 3; ++i) CHECK(f.start(phone("+44740012345" + std::to_string(i))).sent());
  CHECK(f.start(phone("+447400123459")).refusal.limit == Limit::kCallingCodeBudget);
  CHECK(f.start(email("a@example.com")).sent());  // email has no calling code
  CHECK(f.sender.count() == 6);
  f.clock.set(kMidnight + 1h);
  CHECK(f.start(phone("+923001234563")).sent());
}

TEST_CASE("global budget: all sends per clock hour", "[limits][budget][sms-pumping]") {
  VerifierConfig config;
  config.global_sends_per_hour = 4;
  Fixture f(config);
  for (int i = 0; i < 4; ++i) {
    CHECK(f.start(numbered_email("g", i)).sent());
  }
  Challenge refused = f.start(phone("+923001234567"));
  CHECK(refused.refusal.limit == Limit::kGlobalBudget);
  CHECK(refused.refusal.retry_at == kMidnight + 1h);
  f.clock.set(kMidnight + 1h);
  CHECK(f.start(phone("+923001234567")).sent());
}

TEST_CASE("budgets: a request refused by one limit does not spend the later budgets",
          "[limits][budget]") {
  VerifierConfig config;
  config.global_sends_per_hour = 2;
  config.sms_phone_types = PhoneTypeSet::sms_default();
  Fixture f(config);
  // Premium-rate and cooldown refusals, many of them, spend nothing of the global budget.
  for (int i = 0; i < 10; ++i) {
    CHECK(f.start(phone("+449012345678")).refusal.limit == Limit::kPhoneType);
  }
  CHECK(f.start(email("a@example.com")).sent());
  for (int i = 0; i < 10; ++i) {
    CHECK(f.start(email("a@example.com")).refusal.limit == Limit::kResendCooldown);
  }
  CHECK(f.start(email("b@example.com")).sent());
  CHECK(f.start(email("c@example.com")).refusal.limit == Limit::kGlobalBudget);
}

TEST_CASE("region lists: a denied region, or one outside the allow list, gets no code",
          "[limits][region]") {
  VerifierConfig deny;
  deny.denied_regions = {"GB"};
  Fixture f(deny);
  Challenge gb = f.start(phone("+447400123456"));
  CHECK(gb.refusal.limit == Limit::kRegion);
  CHECK(gb.refusal.retry_at == Timestamp{});
  CHECK(f.start(phone("+923001234567")).sent());
  CHECK(f.start(email("a@example.co.uk")).sent());  // region lists are about phones

  VerifierConfig allow;
  allow.allowed_regions = {"PK"};
  Fixture g(allow);
  CHECK(g.start(phone("+923001234567")).sent());
  CHECK(g.start(phone("+447400123456")).refusal.limit == Limit::kRegion);
  CHECK(g.sender.count() == 1);
}

// --- SMS-pumping guards
// ----------------------------------------------------------------------------

TEST_CASE("sms pumping: only MOBILE and FIXED_LINE_OR_MOBILE get codes unless allowed",
          "[limits][sms-pumping]") {
  // Example numbers of each type from libphonenumber's metadata.
  const std::vector<std::pair<std::string, PhoneType>> refused = {
      {"+449012345678", PhoneType::kPremiumRate}, {"+971700012345", PhoneType::kSharedCost},
      {"+448001234567", PhoneType::kTollFree},    {"+445612345678", PhoneType::kVoip},
      {"+445512345678", PhoneType::kUan},         {"+447640123456", PhoneType::kPager},
      {"+41860123456789", PhoneType::kVoicemail}, {"+447012345678", PhoneType::kPersonalNumber},
      {"+441212345678", PhoneType::kFixedLine},
  };
  Fixture f;
  for (const auto& [number, type] : refused) {
    INFO(number);
    const PhoneNumber p = phone(number);
    REQUIRE(p.type() == type);
    CHECK(f.start(p).refusal.limit == Limit::kPhoneType);
  }
  CHECK(f.sender.count() == 0);
  CHECK_FALSE(VerifierConfig{}.sms_phone_types.contains(PhoneType::kUnknown));
  CHECK(f.start(phone("+447400123456")).sent());  // MOBILE
  CHECK(f.start(phone("+12015550123")).sent());   // FIXED_LINE_OR_MOBILE (US)

  // Explicitly allowed, a type gets codes.
  VerifierConfig config;
  config.sms_phone_types = PhoneTypeSet::sms_default().with(PhoneType::kVoip);
  Fixture g(config);
  CHECK(g.start(phone("+445612345678")).sent());
  CHECK(g.start(phone("+449012345678")).refusal.limit == Limit::kPhoneType);
}

// --- metrics and the pumping alert
// -----------------------------------------------------------------

namespace {

struct RecordingMetrics final : VerificationMetrics {
  std::vector<std::uint16_t> sends;
  std::vector<std::uint16_t> verified;
  void on_send(std::uint16_t code, Timestamp) noexcept override { sends.push_back(code); }
  void on_verified(std::uint16_t code, Timestamp) noexcept override { verified.push_back(code); }
};

}  // namespace

TEST_CASE("metrics: sends and verifications are reported per calling code", "[limits][metrics]") {
  RecordingMetrics metrics;
  Fixture f({}, &metrics);
  Challenge pk = f.start(phone("+923001234567"));
  const std::string pk_code = f.sender.last_code();
  (void)f.start(phone("+870301234567"));  // Inmarsat: region "ZZ", calling code 870
  Challenge mail = f.start(email("a@example.com"));
  (void)f.start(phone("+449012345678"));  // refused: not reported as a send
  CHECK(metrics.sends == std::vector<std::uint16_t>{92, 870, 0});
  CHECK(f.check(pk.id, wrong_for(pk_code)).outcome == CheckOutcome::kWrongCode);
  CHECK(metrics.verified.empty());
  CHECK(f.check(pk.id, pk_code).outcome == CheckOutcome::kVerified);
  CHECK(f.check(mail.id, f.sender.last_code()).outcome == CheckOutcome::kVerified);
  CHECK(metrics.verified == std::vector<std::uint16_t>{92, 0});
}

TEST_CASE("pumping alert: fires when verified/sent drops below the threshold, once a window",
          "[limits][metrics][sms-pumping]") {
  std::vector<PumpingAlert> alerts;
  PumpingMonitorConfig config;
  config.min_verified_ratio = 0.5;
  config.min_sends = 4;
  config.window = 1h;
  auto monitor =
      PumpingMonitor::create(config, [&](const PumpingAlert& a) { alerts.push_back(a); }).value();
  const Timestamp t0 = kMidnight;
  // 882: three sends, none verified: below min_sends, no verdict yet.
  for (int i = 0; i < 3; ++i) monitor->on_send(882, t0 + std::chrono::minutes(i));
  CHECK(alerts.empty());
  // 92: healthy, every code verified.
  for (int i = 0; i < 8; ++i) {
    monitor->on_send(92, t0 + std::chrono::minutes(i));
    monitor->on_verified(92, t0 + std::chrono::minutes(i));
  }
  CHECK(alerts.empty());
  monitor->on_send(882, t0 + 4min);
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].calling_code == 882);
  CHECK(alerts[0].sent == 4);
  CHECK(alerts[0].verified == 0);
  // Not again within the window ...
  for (int i = 5; i < 30; ++i) monitor->on_send(882, t0 + std::chrono::minutes(i));
  CHECK(alerts.size() == 1);
  // ... but again after it, if still low.
  monitor->on_send(882, t0 + 4min + 1h);
  CHECK(alerts.size() == 2);
  // Old sends leave the window: two hours on, 882 has only what happened since.
  const PumpingAlert later = monitor->window_counts(882, t0 + 3h);
  CHECK(later.sent == 0);
}

TEST_CASE("pumping alert: invalid settings are kInvalidConfig", "[limits][metrics][config]") {
  auto noop = [](const PumpingAlert&) {};
  PumpingMonitorConfig c;
  c.min_verified_ratio = 0;
  CHECK(PumpingMonitor::create(c, noop).code() == ErrorCode::kInvalidConfig);
  c = {};
  c.min_verified_ratio = 1.5;
  CHECK(PumpingMonitor::create(c, noop).code() == ErrorCode::kInvalidConfig);
  c = {};
  c.window = 10s;
  CHECK(PumpingMonitor::create(c, noop).code() == ErrorCode::kInvalidConfig);
  c = {};
  c.min_sends = 0;
  CHECK(PumpingMonitor::create(c, noop).code() == ErrorCode::kInvalidConfig);
  CHECK(PumpingMonitor::create({}, nullptr).code() == ErrorCode::kInvalidConfig);
  CHECK(PumpingMonitor::create({}, noop).is_ok());
}

// --- configuration -------------------------------------------------------------------------------

TEST_CASE("config: every new limit is validated", "[limits][config]") {
  const auto refused = [](auto change) {
    VerifierConfig c;
    change(c);
    return c.validate().code() == ErrorCode::kInvalidConfig;
  };
  CHECK(refused([](VerifierConfig& c) { c.max_failed_checks = 0; }));
  CHECK(refused([](VerifierConfig& c) { c.max_failed_checks = 1001; }));
  CHECK(refused([](VerifierConfig& c) { c.failure_window = 59s; }));
  CHECK(refused([](VerifierConfig& c) { c.failure_window = std::chrono::hours(24 * 31); }));
  CHECK(refused([](VerifierConfig& c) { c.allowed_regions = {"pk"}; }));
  CHECK(refused([](VerifierConfig& c) { c.denied_regions = {"PAK"}; }));
  CHECK(refused([](VerifierConfig& c) {
    c.allowed_regions = {"PK"};
    c.denied_regions = {"PK"};
  }));
  CHECK(refused([](VerifierConfig& c) { c.calling_code_budgets = {{0, 5}}; }));
  CHECK(refused([](VerifierConfig& c) { c.calling_code_budgets = {{1000, 5}}; }));
  CHECK(refused([](VerifierConfig& c) { c.client_starts_per_window = 0; }));
  CHECK(refused([](VerifierConfig& c) { c.client_checks_per_window = 0; }));
  CHECK(refused([](VerifierConfig& c) { c.client_window = 0s; }));
  CHECK(refused([](VerifierConfig& c) { c.client_window = 25h; }));
  VerifierConfig defaults;
  CHECK(defaults.max_failed_checks == 100);
  CHECK(defaults.validate().is_ok());
  KeyRing ring = veribind::testing::random_ring();
  MemoryStore store;
  RecordingSender sender;
  FakeClock clock;
  VerifierConfig bad;
  bad.client_window = 0s;
  CHECK(Verifier::create(bad, ring, store, sender, clock).code() == ErrorCode::kInvalidConfig);
}

// --- limits hold across nodes
// ----------------------------------------------------------------------

TEST_CASE("limits are store-backed: two verifiers sharing one SQLite file share them",
          "[limits][sqlite]") {
  char tmpl[] = "/tmp/veribind-limits-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(tmpl);
  {
    auto a_store = SqliteStore::open((dir / "v.db").string());
    auto b_store = SqliteStore::open((dir / "v.db").string());
    REQUIRE(a_store.is_ok());
    REQUIRE(b_store.is_ok());
    KeyRing ring = veribind::testing::random_ring();
    RecordingSender sender;
    FakeClock clock;
    VerifierConfig config;
    config.max_failed_checks = 3;
    Verifier a = Verifier::create(config, ring, **a_store, sender, clock).value();
    Verifier b = Verifier::create(config, ring, **b_store, sender, clock).value();
    const Identifier id = phone("+923001234567");
    Challenge c = a.start(id, Purpose::kSignup).value();
    const std::string code = sender.last_code();
    // The cooldown set by node a holds on node b.
    CHECK(b.start(id, Purpose::kSignup)->refusal.limit == Limit::kResendCooldown);
    // Failures on both nodes add up to one lockout.
    CHECK(a.check(c.id, wrong_for(code), Purpose::kSignup)->outcome == CheckOutcome::kWrongCode);
    CHECK(b.check(c.id, wrong_for(code), Purpose::kSignup)->outcome == CheckOutcome::kWrongCode);
    CHECK(a.check(c.id, wrong_for(code), Purpose::kSignup)->outcome == CheckOutcome::kLocked);
    CHECK(b.check(c.id, code, Purpose::kSignup)->outcome == CheckOutcome::kLocked);
  }
  std::filesystem::remove_all(dir);
}

// --- enumeration safety
// ------------------------------------------------------------------------------

namespace {

struct Work {
  std::vector<std::string> store_calls;
  std::uint64_t macs = 0;
  Challenge challenge;
};

Work measure(Fixture<CountingStore>& f, const Identifier& id, const RequestContext& context) {
  f.store.calls.clear();
  const std::uint64_t before = internal::mac_count;
  auto c = f.verifier.start(id, Purpose::kSignup, context);
  REQUIRE(c.is_ok());
  return Work{f.store.calls, internal::mac_count - before, std::move(c).value()};
}

}  // namespace

TEST_CASE("enumeration: start() does the same work for bound, unbound, blocked and limited",
          "[limits][enumeration]") {
  VerifierConfig config;
  config.denied_regions = {"IN"};
  config.calling_code_budgets = {{44, 1}};
  config.max_failed_checks = 1;
  Fixture<CountingStore> f(config);
  Registry registry =
      Registry::create(LinkPolicy::phone_linked(), f.ring, f.store, f.store, f.clock).value();
  const RequestContext client{"192.0.2.1"};

  // Bound: a number with an account.
  const PhoneNumber bound = phone("+923001234501");
  {
    Challenge c = f.start(bound);
    CheckResult r = f.check(c.id, f.sender.last_code());
    REQUIRE(r.verified.has_value());
    REQUIRE(registry.link("acct-1", std::move(r.verified).value()).is_ok());
  }
  // Locked: a number with a failed check (max_failed_checks = 1).
  const PhoneNumber locked = phone("+923001234502");
  {
    Challenge c = f.start(locked);
    REQUIRE(f.check(c.id, wrong_for(f.sender.last_code())).outcome == CheckOutcome::kLocked);
  }
  // Limited: one send to +44 exhausts its calling-code budget.
  (void)f.start(phone("+447400123401"));
  f.clock.advance(31s);  // past every cooldown above

  const Work unbound_work = measure(f, phone("+923001234503"), client);
  REQUIRE(unbound_work.challenge.sent());
  const Work bound_work = measure(f, bound, client);
  REQUIRE(bound_work.challenge.sent());
  const Work locked_work = measure(f, locked, client);
  REQUIRE(locked_work.challenge.refusal.limit == Limit::kIdentifierLocked);
  const Work cooldown_work = measure(f, phone("+923001234503"), client);
  REQUIRE(cooldown_work.challenge.refusal.limit == Limit::kResendCooldown);
  const Work budget_work = measure(f, phone("+447400123402"), client);
  REQUIRE(budget_work.challenge.refusal.limit == Limit::kCallingCodeBudget);
  const Work region_work = measure(f, phone("+919876543210"), client);
  REQUIRE(region_work.challenge.refusal.limit == Limit::kRegion);
  const Work premium_work = measure(f, phone("+449012345678"), client);
  REQUIRE(premium_work.challenge.refusal.limit == Limit::kPhoneType);
  // Each start handed the sender one message: send() for the two sent, send_decoy() for the five
  // refused (three sends were made before, in setting up).
  CHECK(f.sender.count() == 3 + 2);
  CHECK(f.sender.decoys() == 5);

  for (const Work* w :
       {&bound_work, &locked_work, &cooldown_work, &budget_work, &region_work, &premium_work}) {
    CHECK(w->store_calls == unbound_work.store_calls);
    CHECK(w->macs == unbound_work.macs);
    CHECK(public_answer(w->challenge) == public_answer(unbound_work.challenge));
    CHECK(w->challenge.id.size() == unbound_work.challenge.id.size());
  }
  // What the work is: two store operations. One read of the identifier's failure count and six
  // counters (the client's starts, the cooldown, the previous and the current hour's sends, the
  // calling code's and the global budget), then one atomic write of the challenge with five
  // counter steps (all but the previous hour); a blind index, six counter keys and a code tag.
  CHECK(unbound_work.store_calls ==
        std::vector<std::string>{"read_counters/6", "create_challenge/5"});
  CHECK(unbound_work.macs == 1 + 6 + 1);
  // A refused start's challenge id is well-formed and checks like any other wrong one.
  // And it checks like a live one: one store operation, a charged attempt, and the answer a wrong
  // code at a live challenge gets (here kLocked: max_failed_checks is 1, and the check counts).
  f.store.calls.clear();
  const CheckOutcome live = f.check(unbound_work.challenge.id, "123456").outcome;
  const std::vector<std::string> live_calls = f.store.calls;
  f.store.calls.clear();
  CHECK(f.check(premium_work.challenge.id, "123456").outcome == live);
  CHECK(f.store.calls == live_calls);
  CHECK(live_calls == std::vector<std::string>{"charge_attempt"});
  CHECK(public_answer(CheckOutcome::kLocked) == public_answer(CheckOutcome::kWrongCode));
  // So does every refused one: locked, cooldown, budget, region.
  for (const Work* w : {&locked_work, &cooldown_work, &budget_work, &region_work}) {
    CHECK(f.check(w->challenge.id, "123456").outcome == live);
    CHECK(f.store.inner.find_challenge(ChallengeId::parse(w->challenge.id).value())
              .value()
              ->attempts == 1);
  }
}

TEST_CASE("check: a wrong code is one store operation, a right code two, a client key one more",
          "[limits][hot-path]") {
  Fixture<CountingStore> f;
  Challenge c = f.start(email("a@example.com"));
  const std::string code = f.sender.last_code();

  f.store.calls.clear();
  CHECK(f.check(c.id, wrong_for(code)).outcome == CheckOutcome::kWrongCode);
  CHECK(f.store.calls == std::vector<std::string>{"charge_attempt"});

  f.store.calls.clear();
  CHECK(f.check(c.id, wrong_for(code), RequestContext{"192.0.2.7"}).outcome ==
        CheckOutcome::kWrongCode);
  CHECK(f.store.calls == std::vector<std::string>{"add_to_counters/1", "charge_attempt"});

  f.store.calls.clear();
  CHECK(f.check(c.id, code).outcome == CheckOutcome::kVerified);
  CHECK(f.store.calls == std::vector<std::string>{"charge_attempt", "consume_challenge"});

  // The refusals are one operation too: unknown, and a used challenge.
  f.store.calls.clear();
  CHECK(f.check(c.id, code).outcome == CheckOutcome::kUnknown);
  CHECK(f.store.calls == std::vector<std::string>{"charge_attempt"});
}

TEST_CASE("resend: one lookup, one read of the limits and one atomic reissue", "[limits]") {
  VerifierConfig config;
  config.resend_cooldown = 0s;
  Fixture<CountingStore> f(config);
  Challenge c = f.start(email("a@example.com"));
  f.store.calls.clear();
  auto again = f.verifier.resend(c.id, email("a@example.com"));
  REQUIRE(again.is_ok());
  REQUIRE(again->sent());
  // No cooldown: the two hour counts and the global budget (an email has no calling code).
  CHECK(f.store.calls ==
        std::vector<std::string>{"find_challenge", "read_counters/3", "reissue_challenge/2"});
}

TEST_CASE("lock: a right code typed while the identifier is locked is refused and stays locked",
          "[limits][lockout]") {
  VerifierConfig config;
  config.max_failed_checks = 3;
  config.resend_cooldown = 0s;
  Fixture<MemoryStore> f(config);
  const EmailAddress id = email("a@example.com");
  for (int i = 0; i < 3; ++i) {
    Challenge c = f.start(id);
    const CheckOutcome expected = i < 2 ? CheckOutcome::kWrongCode : CheckOutcome::kLocked;
    CHECK(f.check(c.id, wrong_for(f.sender.last_code())).outcome == expected);
  }
  // Locked now: a start is refused, and a challenge from before the lock refuses its right code.
  Challenge c = f.start(id);
  CHECK(c.refusal.limit == Limit::kIdentifierLocked);
  f.clock.advance(24h);  // the failure window ends: the count lapses, and the lock with it
  Challenge fresh = f.start(id);
  REQUIRE(fresh.sent());
  CheckResult ok = f.check(fresh.id, f.sender.last_code());
  CHECK(ok.outcome == CheckOutcome::kVerified);
}
