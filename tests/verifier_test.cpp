#include "veribind/verifier.hpp"

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fakes/failing_store.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "veribind/sqlite_store.hpp"

using namespace veribind;
using namespace std::chrono_literals;
using veribind::testing::FakeClock;
using veribind::testing::RecordingSender;

namespace {

EmailAddress email(const std::string& text) { return EmailAddress::parse(text).value(); }
// "<prefix><n>@example.com", built by appending: GCC 12 at -O3 reports a false -Wrestrict
// warning inside libstdc++ for "literal" + std::to_string(n) in a loop.
EmailAddress numbered_email(std::string_view prefix, int n) {
  std::string text(prefix);
  text += std::to_string(n);
  text += "@example.com";
  return email(text);
}
PhoneNumber phone(const std::string& text) { return PhoneNumber::parse(text, "PK").value(); }

struct Fixture {
  explicit Fixture(VerifierConfig config = {})
      : ring(veribind::testing::random_ring()),
        verifier(Verifier::create(config, ring, store, sender, clock).value()) {}
  KeyRing ring;
  MemoryStore store;
  RecordingSender sender;
  FakeClock clock;
  Verifier verifier;

  Challenge start(const Identifier& id, Purpose purpose = Purpose::kSignup) {
    auto c = verifier.start(id, purpose);
    REQUIRE(c.is_ok());
    INFO(limit_name(c->refusal.limit));
    REQUIRE(c->sent());
    return std::move(c).value();
  }
  CheckResult check(const std::string& id, const std::string& code,
                    Purpose purpose = Purpose::kSignup) {
    auto r = verifier.check(id, code, purpose);
    REQUIRE(r.is_ok());
    return std::move(r).value();
  }
  ChallengeRecord stored(const std::string& id) {
    auto r = store.find_challenge(ChallengeId::parse(id).value());
    REQUIRE(r.is_ok());
    REQUIRE(r->has_value());
    return **r;
  }
};

std::string other_code(const std::string& code) {
  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  return wrong;
}

}  // namespace

TEST_CASE("config: the defaults are the documented ones and valid", "[verifier][config]") {
  VerifierConfig c;
  CHECK(c.code_length == 6);
  CHECK(c.code_ttl == 600s);
  CHECK(c.max_checks == 5);
  CHECK(c.resend_cooldown == 30s);
  CHECK(c.max_sends_per_hour == 5);
  CHECK(c.sms_phone_types == PhoneTypeSet::sms_default());
  CHECK(c.validate().is_ok());
}

TEST_CASE("config: 4- and 5-digit codes need the explicit weak-code opt-in", "[verifier][config]") {
  for (int length : {4, 5}) {
    VerifierConfig c;
    c.code_length = length;
    CHECK(c.validate().code() == ErrorCode::kInvalidConfig);
    c.allow_weak_codes = true;
    CHECK(c.validate().is_ok());
  }
}

TEST_CASE("config: out-of-range values are refused with kInvalidConfig", "[verifier][config]") {
  auto refused = [](auto mutate) {
    VerifierConfig c;
    mutate(c);
    return c.validate().code() == ErrorCode::kInvalidConfig;
  };
  CHECK(refused([](VerifierConfig& c) { c.code_length = 11; }));
  CHECK(refused([](VerifierConfig& c) { c.code_length = 3, c.allow_weak_codes = true; }));
  CHECK(refused([](VerifierConfig& c) { c.code_ttl = 0s; }));
  CHECK(refused([](VerifierConfig& c) { c.max_checks = 0; }));
  CHECK(refused([](VerifierConfig& c) { c.max_checks = 101; }));
  CHECK(refused([](VerifierConfig& c) { c.resend_cooldown = c.code_ttl; }));
  CHECK(refused([](VerifierConfig& c) { c.max_sends_per_hour = 0; }));
  CHECK(refused([](VerifierConfig& c) { c.sms_phone_types = PhoneTypeSet(); }));

  KeyRing ring = veribind::testing::random_ring();
  MemoryStore store;
  RecordingSender sender;
  FakeClock clock;
  VerifierConfig bad;
  bad.code_length = 11;
  CHECK(Verifier::create(bad, ring, store, sender, clock).code() == ErrorCode::kInvalidConfig);
}

TEST_CASE(
    "start: returns a printable 128-bit id, the expiry and a masked destination, and sends "
    "a code",
    "[verifier]") {
  Fixture f;
  Challenge c = f.start(phone("+92 300 1234567"));
  CHECK(c.id.size() == 32);
  CHECK(ChallengeId::parse(c.id).is_ok());
  CHECK(c.expires_at == f.clock.now() + 10min);
  CHECK(c.channel == Channel::kPhone);
  CHECK(c.purpose == Purpose::kSignup);
  CHECK(c.masked_destination.find("1234567") == std::string::npos);
  REQUIRE(f.sender.count() == 1);
  const auto sent = f.sender.sent().front();
  CHECK(sent.destination == "+923001234567");
  CHECK(sent.code.size() == 6);
  CHECK(sent.masked_destination == c.masked_destination);
}

TEST_CASE("start: two challenges never share an id", "[verifier]") {
  VerifierConfig config;
  config.max_sends_per_hour = 1000;
  config.resend_cooldown = 0s;
  Fixture f(config);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(f.start(email("a@example.com")).id);
  CHECK(ids.size() == 1000);
}

TEST_CASE("codes: 10^5 codes use the whole code space with uniform digits (chi-square)",
          "[verifier][randomness]") {
  VerifierConfig config;
  config.max_sends_per_hour = 1000;
  Fixture f(config);
  constexpr int kCodes = 100000;
  std::array<std::array<long, 10>, 6> per_position{};
  std::array<long, 10> overall{};
  std::set<std::string> distinct;
  for (int i = 0; i < kCodes; ++i) {
    if (i % 1000 == 0) f.clock.advance(1h);  // stay inside the per-identifier send budget
    (void)f.start(email("user" + std::to_string(i % 1000) + "@example.com"));
    const std::string code = f.sender.last_code();
    REQUIRE(code.size() == 6);
    for (std::size_t p = 0; p < 6; ++p) {
      REQUIRE((code[p] >= '0' && code[p] <= '9'));
      ++per_position[p][code[p] - '0'];
      ++overall[code[p] - '0'];
    }
    distinct.insert(code);
  }
  // df = 9; P(chi2 > 46) = 6e-7, so seven such checks fail by chance about once in 10^5 runs.
  // A `byte % 10` modulo bias would score about 36 per position and 216 over all digits.
  auto chi_square = [](const std::array<long, 10>& counts, double expected) {
    double x = 0;
    for (long c : counts) x += (c - expected) * (c - expected) / expected;
    return x;
  };
  for (const auto& counts : per_position) CHECK(chi_square(counts, kCodes / 10.0) < 46.0);
  CHECK(chi_square(overall, kCodes * 6 / 10.0) < 46.0);
  // 10^5 draws from 10^6 codes: about 95,163 distinct expected (birthday bound); far fewer would
  // mean a shrunken code space.
  CHECK(distinct.size() > 94500);
  // Leading zeros are part of the space.
  CHECK(per_position[0][0] > 9000);
}

TEST_CASE("check: the right code verifies once and yields a VerifiedIdentifier", "[verifier]") {
  Fixture f;
  Challenge c = f.start(phone("0300-1234567"));
  CheckResult r = f.check(c.id, f.sender.last_code());
  CHECK(r.outcome == CheckOutcome::kVerified);
  REQUIRE(r.verified.has_value());
  CHECK(r.verified->channel() == Channel::kPhone);
  CHECK(r.verified->purpose() == Purpose::kSignup);
  CHECK(r.verified->phone_type() == PhoneType::kMobile);
  CHECK(r.verified->region() == "PK");
  CHECK(r.verified->index() == BlindIndexer::create(f.ring)->compute(phone("+923001234567")));
  CHECK(r.verified->verified_at() == f.clock.now());
}

TEST_CASE("check: a used code is refused the second time (single use)", "[verifier]") {
  Fixture f;
  Challenge c = f.start(email("a@example.com"));
  const std::string code = f.sender.last_code();
  CHECK(f.check(c.id, code).outcome == CheckOutcome::kVerified);
  CheckResult again = f.check(c.id, code);
  CHECK(again.outcome == CheckOutcome::kUnknown);
  CHECK_FALSE(again.verified.has_value());
}

TEST_CASE("check: a code is accepted just before the expiry instant and refused at it",
          "[verifier][expiry]") {
  Fixture f;
  Challenge a = f.start(email("a@example.com"));
  const std::string code_a = f.sender.last_code();
  Challenge b = f.start(email("b@example.com"));
  const std::string code_b = f.sender.last_code();

  f.clock.advance(10min - 1ms);
  CHECK(f.check(a.id, code_a).outcome == CheckOutcome::kVerified);
  f.clock.advance(1ms);
  CheckResult late = f.check(b.id, code_b);
  CHECK(late.outcome == CheckOutcome::kExpired);
  CHECK(f.stored(b.id).attempts == 0);  // nothing charged on an expired challenge
}

TEST_CASE(
    "check: a wrong code counts down the attempts, then the challenge locks, even for "
    "the right code",
    "[verifier][attempts]") {
  Fixture f;
  Challenge c = f.start(email("a@example.com"));
  const std::string code = f.sender.last_code();
  for (int left = 4; left >= 0; --left) {
    CheckResult r = f.check(c.id, other_code(code));
    CHECK(r.outcome == CheckOutcome::kWrongCode);
    CHECK(r.attempts_left == left);
  }
  CHECK(f.check(c.id, code).outcome == CheckOutcome::kLocked);
  CHECK(f.stored(c.id).attempts == 5);
}

TEST_CASE("check: a code from one challenge never verifies another", "[verifier]") {
  Fixture f;
  Challenge a = f.start(email("a@example.com"));
  const std::string code_a = f.sender.last_code();
  f.clock.advance(30s);  // the resend cooldown
  Challenge b = f.start(email("a@example.com"));
  const std::string code_b = f.sender.last_code();
  if (code_a != code_b) {  // equal codes (1 in 10^6) would be a different test
    CHECK(f.check(b.id, code_a).outcome == CheckOutcome::kWrongCode);
  }
  CHECK(f.check(a.id, code_a).outcome == CheckOutcome::kVerified);
  CHECK(f.check(b.id, code_b).outcome == CheckOutcome::kVerified);
}

TEST_CASE("check: a verification carries the purpose it was checked for", "[verifier][purpose]") {
  Fixture f;
  for (Purpose p :
       {Purpose::kSignup, Purpose::kLogin, Purpose::kRecovery, Purpose::kChangeIdentifier}) {
    Challenge c = f.start(numbered_email("p", static_cast<int>(p)), p);
    CHECK(c.purpose == p);
    CheckResult r = f.check(c.id, f.sender.last_code(), p);
    REQUIRE(r.outcome == CheckOutcome::kVerified);
    CHECK(r.verified->purpose() == p);
  }
}

TEST_CASE("check: a code sent for one purpose never verifies another, and the try is charged",
          "[verifier][purpose]") {
  Fixture f;
  Challenge login = f.start(email("a@example.com"), Purpose::kLogin);
  const std::string code = f.sender.last_code();
  for (Purpose other : {Purpose::kSignup, Purpose::kRecovery, Purpose::kChangeIdentifier}) {
    CHECK(f.check(login.id, code, other).outcome == CheckOutcome::kWrongCode);
  }
  CHECK(f.stored(login.id).attempts == 3);
  CHECK(f.check(login.id, code, Purpose::kLogin).outcome == CheckOutcome::kVerified);
  CHECK(f.verifier.check(login.id, code, static_cast<Purpose>(9)).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("check: the tag, not the stored purpose field, decides the purpose",
          "[verifier][purpose]") {
  // Someone with write access to the store relabels a login challenge as recovery: the code still
  // verifies only a login.
  Fixture f;
  Challenge login = f.start(email("q@example.com"), Purpose::kLogin);
  ChallengeRecord record = f.stored(login.id);
  record.purpose = Purpose::kRecovery;
  REQUIRE(f.store.consume_challenge(record.id).value());
  REQUIRE(f.store.create_challenge(record, {}, f.clock.now()).is_ok());
  CHECK(f.check(login.id, f.sender.last_code(), Purpose::kRecovery).outcome ==
        CheckOutcome::kWrongCode);
  CheckResult r = f.check(login.id, f.sender.last_code(), Purpose::kLogin);
  REQUIRE(r.outcome == CheckOutcome::kVerified);
  CHECK(r.verified->purpose() == Purpose::kLogin);
}

TEST_CASE("check: malformed codes and ids are input errors that charge nothing",
          "[verifier][bad-input]") {
  Fixture f;
  Challenge c = f.start(email("a@example.com"));
  for (const char* bad : {"", "12345", "1234567", "12345a", "12 345", "１２３４５６"}) {
    auto r = f.verifier.check(c.id, bad, Purpose::kSignup);
    CHECK(r.code() == ErrorCode::kInvalidCode);
  }
  for (const char* bad :
       {"", "zz", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"}) {
    CHECK(f.verifier.check(bad, "123456", Purpose::kSignup).code() ==
          ErrorCode::kInvalidChallengeId);
  }
  CHECK(f.stored(c.id).attempts == 0);
  CHECK(f.check(c.id, f.sender.last_code()).outcome == CheckOutcome::kVerified);
}

TEST_CASE("check: an unknown challenge id is kUnknown", "[verifier]") {
  Fixture f;
  CHECK(f.check(ChallengeId::random().to_string(), "123456").outcome == CheckOutcome::kUnknown);
}

TEST_CASE("check: two threads racing wrong codes never get more than max_checks attempts",
          "[verifier][attempts][race]") {
  VerifierConfig config;
  config.max_failed_checks = 1000;  // 20 rounds of 5 would lock the identifier at the last one
  Fixture f(config);
  for (int round = 0; round < 20; ++round) {
    f.clock.advance(1h);
    Challenge c = f.start(email("race@example.com"));
    const std::string code = f.sender.last_code();
    const std::string wrong = other_code(code);
    std::atomic<int> wrong_answers{0};
    std::atomic<int> locked_answers{0};
    std::atomic<int> errors{0};
    std::latch go(2);  // both threads start guessing together
    auto hammer = [&] {
      go.arrive_and_wait();
      for (int i = 0; i < 50; ++i) {
        auto r = f.verifier.check(c.id, wrong, Purpose::kSignup);
        if (!r)
          ++errors;  // Catch2 assertions are not thread-safe: count, assert after join
        else if (r->outcome == CheckOutcome::kWrongCode)
          ++wrong_answers;
        else if (r->outcome == CheckOutcome::kLocked)
          ++locked_answers;
      }
    };
    std::thread t1(hammer);
    std::thread t2(hammer);
    t1.join();
    t2.join();
    CHECK(errors == 0);
    CHECK(wrong_answers == 5);
    CHECK(locked_answers == 95);
    CHECK(f.stored(c.id).attempts == 5);
    CHECK(f.check(c.id, code).outcome == CheckOutcome::kLocked);
  }
}

TEST_CASE("check: two threads racing the right code verify exactly once", "[verifier][race]") {
  VerifierConfig config;
  config.max_sends_per_hour = 1000;
  config.resend_cooldown = 0s;
  Fixture f(config);
  for (int round = 0; round < 50; ++round) {
    Challenge c = f.start(email("race@example.com"));
    const std::string code = f.sender.last_code();
    std::atomic<int> verified{0};
    std::latch go(2);
    auto attempt = [&] {
      go.arrive_and_wait();
      auto r = f.verifier.check(c.id, code, Purpose::kSignup);
      if (r && r->outcome == CheckOutcome::kVerified) ++verified;
    };
    std::thread t1(attempt);
    std::thread t2(attempt);
    t1.join();
    t2.join();
    CHECK(verified == 1);
  }
}

TEST_CASE("resend: the new code works, the old one no longer does, and attempts are kept",
          "[verifier][resend]") {
  Fixture f;
  Identifier id = email("a@example.com");
  Challenge c = f.start(id);
  const std::string old_code = f.sender.last_code();
  CHECK(f.check(c.id, other_code(old_code)).outcome == CheckOutcome::kWrongCode);
  f.clock.advance(30s);
  auto again = f.verifier.resend(c.id, id);
  REQUIRE(again.is_ok());
  CHECK(again->id == c.id);
  CHECK(again->expires_at == f.clock.now() + 10min);
  const std::string new_code = f.sender.last_code();
  CHECK(f.stored(c.id).attempts == 1);
  if (new_code != old_code) {
    CHECK(f.check(c.id, old_code).outcome == CheckOutcome::kWrongCode);
  }
  CHECK(f.check(c.id, new_code).outcome == CheckOutcome::kVerified);
}

TEST_CASE(
    "resend: refused within the cooldown, for another identifier, and for a dead "
    "challenge, changing nothing",
    "[verifier][resend][bad-input]") {
  Fixture f;
  Identifier id = email("a@example.com");
  Challenge c = f.start(id);
  const ChallengeRecord before = f.stored(c.id);
  f.clock.advance(29s);
  auto too_soon = f.verifier.resend(c.id, id);
  REQUIRE(too_soon.is_ok());
  CHECK_FALSE(too_soon->sent());
  CHECK(too_soon->refusal.limit == Limit::kResendCooldown);
  CHECK(too_soon->refusal.retry_at == f.clock.now() + 1s);
  CHECK(too_soon->id == c.id);
  CHECK(too_soon->expires_at == before.expires_at);
  f.clock.advance(1s);
  CHECK(f.verifier.resend(c.id, email("b@example.com")).code() == ErrorCode::kIdentifierMismatch);
  CHECK(f.verifier.resend("not-an-id", id).code() == ErrorCode::kInvalidChallengeId);
  CHECK(f.verifier.resend(ChallengeId::random().to_string(), id).code() ==
        ErrorCode::kChallengeNotFound);
  CHECK(f.stored(c.id) == before);
  CHECK(f.sender.count() == 1);

  f.clock.advance(10min);
  CHECK(f.verifier.resend(c.id, id).code() == ErrorCode::kChallengeNotFound);
}

TEST_CASE("start: at most 5 codes per identifier in any rolling hour", "[verifier][rate-limit]") {
  Fixture f;
  Identifier id = phone("+923001234567");
  f.clock.advance(10min);  // 00:10
  for (int i = 0; i < 5; ++i) {
    f.start(id);
    f.clock.advance(30s);
  }
  auto refused = f.verifier.start(id, Purpose::kSignup);
  REQUIRE(refused.is_ok());
  CHECK(refused->refusal.limit == Limit::kIdentifierSends);
  // 5 sends this clock hour: the next hour's count would include them, so 02:00.
  CHECK(refused->refusal.retry_at == Timestamp(1767225600000ms) + 2h);
  CHECK(f.sender.count() == 5);
  f.start(email("other@example.com"));  // another identifier is not limited
  f.clock.set(Timestamp(1767225600000ms) + 1h + 30min);
  CHECK_FALSE(f.verifier.start(id, Purpose::kSignup)->sent());  // 01:30: within an hour of 00:12
  f.clock.set(Timestamp(1767225600000ms) + 2h);
  f.start(id);
}

TEST_CASE("start: premium-rate, toll-free and other non-SMS numbers get no code",
          "[verifier][sms-pumping]") {
  Fixture f;
  auto toll_free = PhoneNumber::parse("+1 800 253 0000", "", PhoneTypeSet::all());
  REQUIRE(toll_free.is_ok());
  REQUIRE(toll_free->type() == PhoneType::kTollFree);
  auto refused = f.verifier.start(*toll_free, Purpose::kSignup);
  REQUIRE(refused.is_ok());
  CHECK(refused->refusal.limit == Limit::kPhoneType);
  CHECK(refused->refusal.retry_at == Timestamp{});
  CHECK(f.sender.count() == 0);
  // Its challenge exists, as a sent one would, attempts included, but nothing can verify it: each
  // check is charged and answered as a wrong code, as a live challenge's would be.
  CHECK(f.stored(refused->id).max_attempts == f.verifier.config().max_checks);
  for (const char* guess : {"000000", "123456", "999999"}) {
    CHECK(f.check(refused->id, guess).outcome == CheckOutcome::kWrongCode);
  }
  CHECK(f.stored(refused->id).attempts == 3);
}

TEST_CASE("start: a failing sender leaves no checkable challenge", "[verifier][delivery]") {
  KeyRing ring = veribind::testing::random_ring();
  MemoryStore store;
  veribind::testing::FailingSender sender;
  FakeClock clock;
  Verifier v = Verifier::create({}, ring, store, sender, clock).value();
  CHECK(v.start(email("a@example.com"), Purpose::kSignup).code() == ErrorCode::kDeliveryFailed);
  CHECK(sender.calls == 1);
  CHECK(store.challenge_count() == 0);
}

TEST_CASE("start and check: a store that is down is kUnavailable and nothing is sent",
          "[verifier][store-down]") {
  KeyRing ring = veribind::testing::random_ring();
  veribind::testing::FailingStore store;
  RecordingSender sender;
  FakeClock clock;
  Verifier v = Verifier::create({}, ring, store, sender, clock).value();
  Challenge c = v.start(email("a@example.com"), Purpose::kSignup).value();
  store.down = true;
  CHECK(v.start(email("a@example.com"), Purpose::kSignup).code() == ErrorCode::kUnavailable);
  CHECK(sender.count() == 1);
  CHECK(v.check(c.id, sender.last_code(), Purpose::kSignup).code() == ErrorCode::kUnavailable);
  store.down = false;
  CHECK(v.check(c.id, sender.last_code(), Purpose::kSignup)->outcome == CheckOutcome::kVerified);
}

TEST_CASE("public_answer: every refusal looks the same to the end user", "[verifier]") {
  CHECK(public_answer(CheckOutcome::kVerified) == "verified");
  for (CheckOutcome o : {CheckOutcome::kWrongCode, CheckOutcome::kExpired, CheckOutcome::kLocked,
                         CheckOutcome::kUnknown, CheckOutcome::kRateLimited}) {
    CHECK(public_answer(o) == "invalid_or_expired_code");
  }
  Challenge sent;
  Challenge refused;
  refused.refusal = Refusal{Limit::kIdentifierLocked, Timestamp(1ms)};
  CHECK(public_answer(sent) == "code_sent");
  CHECK(public_answer(refused) == "code_sent");
}

TEST_CASE("check: a weak 4-digit configuration sends and verifies 4-digit codes", "[verifier]") {
  VerifierConfig config;
  config.code_length = 4;
  config.allow_weak_codes = true;
  Fixture f(config);
  Challenge c = f.start(email("a@example.com"));
  CHECK(f.sender.last_code().size() == 4);
  CHECK(f.verifier.check(c.id, "123456", Purpose::kSignup).code() == ErrorCode::kInvalidCode);
  CHECK(f.check(c.id, f.sender.last_code()).outcome == CheckOutcome::kVerified);
}

TEST_CASE("codes: every allowed length, 4 to 10 digits, is sent and verifies", "[verifier]") {
  for (int length = VerifierConfig::kMinCodeLength; length <= VerifierConfig::kMaxCodeLength;
       ++length) {
    VerifierConfig config;
    config.code_length = length;
    config.allow_weak_codes = true;
    config.max_sends_per_hour = 1000;
    config.resend_cooldown = 0s;
    Fixture f(config);
    std::array<int, 10> leading{};
    for (int i = 0; i < 200; ++i) {
      Challenge c = f.start(email("a@example.com"));
      const std::string code = f.sender.last_code();
      REQUIRE(code.size() == static_cast<std::size_t>(length));
      for (char d : code) REQUIRE((d >= '0' && d <= '9'));
      ++leading[code[0] - '0'];
      if (i % 20 == 0) CHECK(f.check(c.id, code).outcome == CheckOutcome::kVerified);
    }
    // The leading digit is as random as the others (a 10-digit code is drawn in two halves).
    for (int count : leading) CHECK(count > 0);
  }
}

TEST_CASE("resend: counts against the per-identifier send budget", "[verifier][resend]") {
  Fixture f;
  Identifier id = email("a@example.com");
  Challenge c = f.start(id);
  for (int i = 0; i < 4; ++i) {
    f.clock.advance(30s);
    REQUIRE(f.verifier.resend(c.id, id).is_ok());
  }
  f.clock.advance(30s);
  auto refused = f.verifier.resend(c.id, id);
  REQUIRE(refused.is_ok());
  CHECK(refused->refusal.limit == Limit::kIdentifierSends);
  CHECK(f.sender.count() == 5);
}

TEST_CASE("resend: a locked challenge is not revived", "[verifier][resend]") {
  Fixture f;
  Identifier id = email("a@example.com");
  Challenge c = f.start(id);
  const std::string wrong = other_code(f.sender.last_code());
  for (int i = 0; i < 5; ++i) (void)f.check(c.id, wrong);
  f.clock.advance(30s);
  CHECK(f.verifier.resend(c.id, id).code() == ErrorCode::kChallengeNotFound);
  CHECK(f.sender.count() == 1);
}

TEST_CASE("resend: a failing sender leaves neither the old nor the new code usable",
          "[verifier][resend][delivery]") {
  KeyRing ring = veribind::testing::random_ring();
  MemoryStore store;
  RecordingSender good;
  veribind::testing::FailingSender bad;
  FakeClock clock;
  Verifier sending = Verifier::create({}, ring, store, good, clock).value();
  Verifier failing = Verifier::create({}, ring, store, bad, clock).value();
  Identifier id = email("a@example.com");
  Challenge c = sending.start(id, Purpose::kSignup).value();
  clock.advance(30s);
  CHECK(failing.resend(c.id, id).code() == ErrorCode::kDeliveryFailed);
  CHECK(store.challenge_count() == 0);
  CHECK(sending.check(c.id, good.last_code(), Purpose::kSignup)->outcome == CheckOutcome::kUnknown);
}

TEST_CASE("flow on SQLite: start, wrong code, resend, right code, reuse refused",
          "[verifier][sqlite]") {
  char tmpl[] = "/tmp/veribind-verifier-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  {
    auto store = SqliteStore::open(dir + "/v.db");
    REQUIRE(store.is_ok());
    KeyRing ring = veribind::testing::random_ring();
    RecordingSender sender;
    FakeClock clock;
    Verifier v = Verifier::create({}, ring, **store, sender, clock).value();
    Identifier id = PhoneNumber::parse("+92 300 1234567").value();
    Challenge c = v.start(id, Purpose::kSignup).value();
    const std::string first = sender.last_code();
    CHECK(v.check(c.id, other_code(first), Purpose::kSignup)->attempts_left == 4);
    clock.advance(30s);
    REQUIRE(v.resend(c.id, id).is_ok());
    const std::string second = sender.last_code();
    if (first != second) {
      CHECK(v.check(c.id, first, Purpose::kSignup)->outcome == CheckOutcome::kWrongCode);
    }
    CheckResult r = v.check(c.id, second, Purpose::kSignup).value();
    CHECK(r.outcome == CheckOutcome::kVerified);
    CHECK(r.verified->region() == "PK");
    CHECK(v.check(c.id, second, Purpose::kSignup)->outcome == CheckOutcome::kUnknown);
  }
  std::filesystem::remove_all(dir);
}
