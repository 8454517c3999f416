// The outbox's capacity, shutdown, concurrency, events, rendering and use by a Verifier.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/keys.hpp"
#include "fakes/outbox_harness.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/outbox.hpp"
#include "veribind/verifier.hpp"

using namespace veribind;
using namespace std::chrono_literals;
using namespace veribind::testing;
using S = DeliveryState;

TEST_CASE("outbox: a full outbox refuses with kOutboxFull and loses nothing it holds", "[outbox]") {
  OutboxConfig c = fast_config();
  c.workers = 1;
  c.capacity = 3;
  Harness h({"sms-a"}, c);
  h.provider(0).hold();
  REQUIRE(h.send("c1").is_ok());
  REQUIRE(h.send("c2").is_ok());
  REQUIRE(h.send("c3").is_ok());
  const Status refused = h.send("c4");
  CHECK(refused.code() == ErrorCode::kOutboxFull);
  CHECK(h.outbox->held() == 3);
  h.provider(0).release();
  for (const char* id : {"c1", "c2", "c3"}) CHECK(h.wait(id) == S::kSent);
  CHECK(h.provider(0).calls_per_message() ==
        std::map<std::string, int>{{"c1", 1}, {"c2", 1}, {"c3", 1}});
  CHECK(h.outbox->wait("c4", 10ms).code() == ErrorCode::kInvalidArgument);
  CHECK(h.outbox->held() == 0);
  REQUIRE(h.send("c5").is_ok());  // room again
  CHECK(h.wait("c5") == S::kSent);
}

TEST_CASE("outbox: shutdown drains what is due and refuses new messages", "[outbox]") {
  Harness h({"sms-a"});
  for (const char* id : {"c1", "c2", "c3"}) REQUIRE(h.send(id).is_ok());
  CHECK(h.outbox->shutdown(5s) == 0);
  CHECK(h.provider(0).calls() == 3);
  for (const char* id : {"c1", "c2", "c3"}) CHECK(h.wait(id) == S::kSent);
  CHECK(h.send("c4").code() == ErrorCode::kUnavailable);
  CHECK(h.outbox->shutdown(5s) == 0);  // again: nothing more
}

TEST_CASE("outbox: shutdown abandons what is not due before its deadline", "[outbox]") {
  OutboxConfig c = fast_config();
  c.initial_backoff = 10s;
  c.max_backoff = 10s;
  Harness h({"sms-a"}, c);
  h.provider(0).set_fallback(temporary());
  REQUIRE(h.send("c1").is_ok());
  REQUIRE(h.send("c2").is_ok());
  REQUIRE(h.provider(0).wait_for_calls(2, 5s));
  const auto started = std::chrono::steady_clock::now();
  // Both retries fall due after the deadline: shutdown stops at once instead of waiting it out.
  CHECK(h.outbox->shutdown(2s) == 2);
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  for (const char* id : {"c1", "c2"}) {
    CHECK(h.wait(id) == S::kAbandoned);
    CHECK(h.observer.states_of(id).back() == S::kAbandoned);
  }
  CHECK(h.observer.events().back().reason == AbandonReason::kShutdown);
}

TEST_CASE("outbox: shutdown abandons an attempt that fails after its deadline", "[outbox]") {
  Harness h({"sms-a"});
  h.provider(0).set_fallback(temporary());
  h.provider(0).hold();
  REQUIRE(h.send("c1").is_ok());
  REQUIRE(h.provider(0).wait_for_calls(1, 5s));
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);  // past shutdown's deadline
    h.provider(0).release();
  });
  CHECK(h.outbox->shutdown(20ms) == 1);
  releaser.join();
  CHECK(h.provider(0).calls() == 1);
  CHECK(h.wait("c1") == S::kAbandoned);
}

TEST_CASE("outbox: a slow attempt is never duplicated by idle workers", "[outbox]") {
  OutboxConfig c = fast_config();
  c.workers = 4;
  Harness h({"sms-a"}, c);
  h.provider(0).hold();
  REQUIRE(h.send("c1").is_ok());
  REQUIRE(h.provider(0).wait_for_calls(1, 5s));
  // Far longer than any backoff: three idle workers, and still no second attempt.
  CHECK_FALSE(h.provider(0).wait_for_calls(2, 300ms));
  h.provider(0).release();
  CHECK(h.wait("c1") == S::kSent);
  CHECK(h.provider(0).calls() == 1);
}

TEST_CASE("outbox: 1,000 sends from 4 threads are each delivered exactly once", "[outbox]") {
  OutboxConfig c = fast_config();
  c.workers = 4;
  c.capacity = 2000;
  Harness h({"sms-a"}, c);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 250; ++i) {
        std::string id = "t" + std::to_string(t);
        id += "-" + std::to_string(i);
        CHECK(h.send(id).is_ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 250; ++i) {
      std::string id = "t" + std::to_string(t);
      id += "-" + std::to_string(i);
      REQUIRE(h.wait(id) == S::kSent);
    }
  }
  const auto calls = h.provider(0).calls_per_message();
  CHECK(calls.size() == 1000);
  for (const auto& [id, n] : calls) CHECK(n == 1);
}

TEST_CASE("outbox: events never hold the code, the destination or the text", "[outbox]") {
  Harness h({"sms-a", "sms-b"});
  h.provider(0).script({temporary(), permanent()});
  h.provider(1).script({temporary()});
  REQUIRE(h.send("c1").is_ok());
  REQUIRE(h.send("c2").is_ok());
  h.wait("c1");
  h.wait("c2");
  const auto events = h.observer.events();
  REQUIRE(events.size() >= 6);
  for (const auto& e : events) {
    for (const std::string& field : {e.challenge_id, e.provider, e.detail}) {
      CHECK(field.find(kCode) == std::string::npos);
      CHECK(field.find(kPhone) == std::string::npos);
      CHECK(field.find("3001234567") == std::string::npos);
      CHECK(field.find("sign-in") == std::string::npos);
    }
  }
}

TEST_CASE("outbox: the provider receives the rendered SMS with the code and the WebOTP line",
          "[outbox]") {
  Harness h({"sms-a"});
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.wait("c1") == S::kSent);
  const auto m = h.provider(0).received().at(0);
  CHECK(m.destination == kPhone);
  CHECK(m.challenge_id == "c1");
  CHECK(m.text.starts_with("987654 is your Acme sign-in code. It expires in 10 min."));
  CHECK(m.text.ends_with("\n@acme.example #987654"));
  CHECK(m.subject.empty());
  CHECK(m.html.empty());
}

TEST_CASE("outbox: an email gets a subject without the code, and text and HTML parts", "[outbox]") {
  Harness h({"mail"}, fast_config(), Channel::kEmail);
  REQUIRE(h.send("c1", 10min, Channel::kEmail).is_ok());
  CHECK(h.wait("c1") == S::kSent);
  const auto m = h.provider(0).received().at(0);
  CHECK(m.destination == "user@example.com");
  CHECK(m.subject == "Your Acme sign-in code");
  CHECK(m.text.find("987654") != std::string::npos);
  CHECK(m.html.find("987654") != std::string::npos);
}

TEST_CASE("outbox: send refuses a channel without a provider and a code already expired",
          "[outbox]") {
  Harness h({"sms-a"});
  CHECK(h.send("c1", 10min, Channel::kEmail).code() == ErrorCode::kDeliveryFailed);
  CHECK(h.send("c2", 0ms).code() == ErrorCode::kDeliveryFailed);
  CHECK(h.provider(0).calls() == 0);
  CHECK(h.outbox->held() == 0);
}

TEST_CASE("outbox: wait refuses an unknown id and times out on a message still in flight",
          "[outbox]") {
  Harness h({"sms-a"});
  CHECK(h.outbox->wait("nope", 10ms).code() == ErrorCode::kInvalidArgument);
  h.provider(0).hold();
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.outbox->wait("c1", 20ms).code() == ErrorCode::kUnavailable);
  h.provider(0).release();
  CHECK(h.wait("c1") == S::kSent);
}

TEST_CASE("outbox: the counters count events by state and by provider", "[outbox]") {
  DeliveryCounters counters;
  FakeClock clock;
  auto p = std::make_unique<ScriptedProvider>("sms-a", Channel::kPhone);
  ScriptedProvider* provider = p.get();
  provider->script({temporary(), sent(), permanent()});
  std::vector<std::unique_ptr<DeliveryProvider>> owned;
  owned.push_back(std::move(p));
  auto outbox = Outbox::create(fast_config(), Templates::builtin(settings("Acme")).value(),
                               std::move(owned), clock, &counters)
                    .value();
  const Delivery d1{Channel::kPhone,     kPhone, "m", kCode, Purpose::kSignup,
                    clock.now() + 10min, "c1",   ""};
  REQUIRE(outbox->send(d1).is_ok());
  REQUIRE(outbox->wait("c1", 10s).value() == S::kSent);
  const Delivery d2{Channel::kPhone,     kPhone, "m", kCode, Purpose::kSignup,
                    clock.now() + 10min, "c2",   ""};
  REQUIRE(outbox->send(d2).is_ok());
  REQUIRE(outbox->wait("c2", 10s).value() == S::kAbandoned);
  const DeliveryCounters::Snapshot s = counters.snapshot();
  CHECK(s.total[static_cast<std::size_t>(S::kQueued)] == 2);
  CHECK(s.total[static_cast<std::size_t>(S::kSent)] == 1);
  CHECK(s.total[static_cast<std::size_t>(S::kFailed)] == 2);
  CHECK(s.total[static_cast<std::size_t>(S::kRetrying)] == 1);
  CHECK(s.total[static_cast<std::size_t>(S::kAbandoned)] == 1);
  CHECK(s.abandoned_by_reason[static_cast<std::size_t>(AbandonReason::kPermanent)] == 1);
  CHECK(s.by_provider.at("sms-a")[static_cast<std::size_t>(S::kFailed)] == 2);
  CHECK(delivery_state_name(S::kRetrying) == "retrying");
  CHECK(abandon_reason_name(AbandonReason::kMaxAttempts) == "max-attempts");
}

TEST_CASE("outbox: a bad configuration is refused naming the field", "[outbox][config]") {
  FakeClock clock;
  const auto make = [&](OutboxConfig c, std::vector<std::string> names) {
    std::vector<std::unique_ptr<DeliveryProvider>> owned;
    for (auto& n : names) owned.push_back(std::make_unique<ScriptedProvider>(n, Channel::kPhone));
    return Outbox::create(c, Templates::builtin(settings("Acme")).value(), std::move(owned), clock);
  };
  OutboxConfig c;
  c.workers = 0;
  auto r = make(c, {"a"});
  REQUIRE(r.code() == ErrorCode::kInvalidConfig);
  CHECK(r.status().message().find("workers") != std::string::npos);
  c = {};
  c.max_backoff = 1ms;
  CHECK(make(c, {"a"}).status().message().find("max_backoff") != std::string::npos);
  CHECK(make({}, {}).code() == ErrorCode::kInvalidConfig);
  CHECK(make({}, {"a", "a"}).code() == ErrorCode::kInvalidConfig);
  CHECK(make({}, {"a", "b"}).is_ok());
}

TEST_CASE("outbox: a Verifier using the outbox returns from start() and the code arrives",
          "[outbox][verifier]") {
  FakeClock clock;
  MemoryStore store;
  const KeyRing ring = veribind::testing::random_ring();
  auto p = std::make_unique<ScriptedProvider>("sms-a", Channel::kPhone);
  ScriptedProvider* provider = p.get();
  std::vector<std::unique_ptr<DeliveryProvider>> owned;
  owned.push_back(std::move(p));
  auto outbox =
      Outbox::create(fast_config(), Templates::builtin(settings("Acme", "acme.example")).value(),
                     std::move(owned), clock)
          .value();
  auto verifier = Verifier::create({}, ring, store, *outbox, clock).value();
  const auto number = PhoneNumber::parse("+923001234567", "PK").value();
  auto challenge = verifier.start(number, Purpose::kSignup, RequestContext{"", "ur"});
  REQUIRE(challenge.is_ok());
  REQUIRE(challenge->sent());
  CHECK(outbox->wait(challenge->id, 10s).value() == S::kSent);
  const auto m = provider->received().at(0);
  CHECK(m.destination == "+923001234567");
  CHECK(m.challenge_id == challenge->id);
  CHECK(m.text.starts_with("Acme تصدیقی کوڈ "));
  const std::size_t hash = m.text.rfind('#');
  REQUIRE(hash != std::string::npos);
  const std::string code = m.text.substr(hash + 1);
  CHECK(code.size() == 6);
  CHECK(m.text.find(code) < hash);  // in the body too
  CHECK(verifier.check(challenge->id, code, Purpose::kSignup).value().outcome ==
        CheckOutcome::kVerified);
}

TEST_CASE("outbox: a resend's new code supersedes the old one still queued", "[outbox]") {
  OutboxConfig c = fast_config();
  c.workers = 1;
  Harness h({"sms-a"}, c);
  h.provider(0).hold();
  REQUIRE(h.send("busy").is_ok());
  REQUIRE(h.provider(0).wait_for_calls(1, 5s));  // the only worker is taken
  REQUIRE(h.send("c1").is_ok());
  REQUIRE(h.send("c1").is_ok());  // the resend: its code voids the first one's
  h.provider(0).release();
  CHECK(h.wait("c1") == S::kSent);
  CHECK(h.wait("busy") == S::kSent);
  CHECK(h.provider(0).calls_per_message() == std::map<std::string, int>{{"busy", 1}, {"c1", 1}});
  CHECK(h.observer.states_of("c1") ==
        std::vector<S>{S::kQueued, S::kQueued, S::kAbandoned, S::kSent});
  bool superseded = false;
  for (const auto& e : h.observer.events()) {
    superseded = superseded || e.reason == AbandonReason::kSuperseded;
  }
  CHECK(superseded);
  CHECK(h.outbox->held() == 0);
}

TEST_CASE("outbox: wait answers for the newest message of a challenge id", "[outbox]") {
  OutboxConfig c = fast_config();
  c.initial_backoff = 10s;  // the first message's retry stays queued long after
  c.max_backoff = 10s;
  Harness h({"sms-a"}, c);
  h.provider(0).script({temporary()});
  REQUIRE(h.send("c1").is_ok());
  REQUIRE(h.provider(0).wait_for_calls(1, 5s));
  REQUIRE(h.send("c1").is_ok());
  // The newest is sent at once; the old one waits for its retry, when it will be dropped.
  CHECK(h.wait("c1") == S::kSent);
  CHECK(h.provider(0).calls() == 2);
}

TEST_CASE("outbox: a decoy is rendered and queued like a message, then dropped unsent and unseen",
          "[outbox]") {
  Harness h({"sms-a"});
  const Delivery d{
      Channel::kPhone, kPhone, "+92*******67", kCode, Purpose::kLogin, h.clock.now() + 10min,
      "decoy-1",       "en"};
  for (int i = 0; i < 50; ++i) h.outbox->send_decoy(d);
  REQUIRE(h.send("real-1").is_ok());
  CHECK(h.wait("real-1") == S::kSent);
  // Decoys are not held messages: once the real one is sent, the outbox holds none.
  CHECK(h.outbox->held() == 0);
  CHECK(h.provider(0).calls() == 1);  // the real message only
  CHECK(h.observer.states_of("decoy-1").empty());
  CHECK(h.outbox->wait("decoy-1", 10ms).code() == ErrorCode::kInvalidArgument);
  // After shutdown a decoy is dropped at once, and shutdown abandons no decoy.
  h.outbox->send_decoy(d);
  CHECK(h.outbox->shutdown(1s) == 0);
  h.outbox->send_decoy(d);
  CHECK(h.outbox->held() == 0);
}

TEST_CASE("outbox: decoys never take a real message's place", "[outbox]") {
  OutboxConfig c = fast_config();
  c.capacity = 1;
  Harness h({"sms-a"}, c);
  h.provider(0).hold();  // the one real message stays in its attempt: the outbox is full of it
  const Delivery d{
      Channel::kPhone, kPhone, "+92*******67", kCode, Purpose::kLogin, h.clock.now() + 10min,
      "decoy-2",       "en"};
  for (int i = 0; i < 20; ++i) h.outbox->send_decoy(d);
  CHECK(h.send("real-2").is_ok());
  CHECK(h.send("real-3").code() == ErrorCode::kOutboxFull);  // real messages keep their bound
  h.provider(0).release();
  CHECK(h.wait("real-2") == S::kSent);
}
