// The outbox's retry rules: backoff, expiry, Retry-After, failover, resting providers.
#include "veribind/outbox.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/outbox_harness.hpp"

using namespace veribind;
using namespace std::chrono_literals;
using namespace veribind::testing;
using S = DeliveryState;

TEST_CASE("outbox: a temporary failure is retried and delivered once", "[outbox]") {
  Harness h({"sms-a"});
  h.provider(0).script({temporary(), sent()});
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.wait("c1") == S::kSent);
  CHECK(h.provider(0).calls() == 2);
  CHECK(h.observer.states_of("c1") ==
        std::vector<S>{S::kQueued, S::kFailed, S::kRetrying, S::kSent});
  const auto events = h.observer.events();
  CHECK(events.back().attempt == 2);
  CHECK(events.back().provider == "sms-a");
}

TEST_CASE("outbox: a permanent refusal is abandoned at once, without failover", "[outbox]") {
  Harness h({"sms-a", "sms-b"});
  h.provider(0).script({permanent()});
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.wait("c1") == S::kAbandoned);
  CHECK(h.provider(0).calls() == 1);
  CHECK(h.provider(1).calls() == 0);
  CHECK(h.observer.states_of("c1") == std::vector<S>{S::kQueued, S::kFailed, S::kAbandoned});
  CHECK(h.observer.events().back().reason == AbandonReason::kPermanent);
  CHECK(h.observer.events().back().reply_code == 550);
}

TEST_CASE("outbox: no attempt is scheduled at or after the code's expiry", "[outbox]") {
  Harness h({"sms-a"});
  h.provider(0).set_fallback(temporary());
  // The fake clock stands still, so 30 ms of life remain at every decision: the backoffs 5, 10
  // and 20 ms fit, the fourth (40 ms) would reach the expiry, and the message is abandoned.
  REQUIRE(h.send("c1", 30ms).is_ok());
  CHECK(h.wait("c1") == S::kAbandoned);
  CHECK(h.provider(0).calls() == 4);
  CHECK(h.observer.events().back().reason == AbandonReason::kExpired);
  CHECK(h.observer.events().back().attempt == 4);
}

TEST_CASE("outbox: a message whose code expires while it waits for a retry is abandoned",
          "[outbox]") {
  OutboxConfig c = fast_config();
  c.initial_backoff = 200ms;
  c.max_backoff = 200ms;
  Harness h({"sms-a"}, c);
  h.provider(0).set_fallback(temporary());
  REQUIRE(h.send("c1", 10min).is_ok());
  REQUIRE(h.provider(0).wait_for_calls(1, 5s));
  h.clock.advance(11min);
  CHECK(h.wait("c1") == S::kAbandoned);
  CHECK(h.provider(0).calls() == 1);
  CHECK(h.observer.events().back().reason == AbandonReason::kExpired);
}

TEST_CASE("outbox: a backoff longer than the code's remaining life abandons the message",
          "[outbox]") {
  OutboxConfig c = fast_config();
  c.initial_backoff = 1s;
  c.max_backoff = 1s;
  Harness h({"sms-a"}, c);
  h.provider(0).set_fallback(temporary());
  REQUIRE(h.send("c1", 1s).is_ok());
  CHECK(h.wait("c1") == S::kAbandoned);
  CHECK(h.provider(0).calls() == 1);
  CHECK(h.observer.states_of("c1") == std::vector<S>{S::kQueued, S::kFailed, S::kAbandoned});
}

TEST_CASE("outbox: retries back off exponentially within the jitter and stop at max_attempts",
          "[outbox]") {
  OutboxConfig c = fast_config();
  c.initial_backoff = 10ms;
  c.max_backoff = 20ms;
  c.jitter = Jitter::kHalf;
  c.max_attempts = 4;
  Harness h({"sms-a"}, c);
  h.provider(0).set_fallback(temporary());
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.wait("c1") == S::kAbandoned);
  CHECK(h.provider(0).calls() == 4);
  std::vector<std::chrono::milliseconds> waits;
  for (const auto& e : h.observer.events()) {
    if (e.state == S::kRetrying) waits.push_back(e.retry_in);
  }
  REQUIRE(waits.size() == 3);
  CHECK((waits[0] >= 5ms && waits[0] <= 15ms));   // 10 ms +-50%
  CHECK((waits[1] >= 10ms && waits[1] <= 30ms));  // 20 ms +-50%
  CHECK((waits[2] >= 10ms && waits[2] <= 30ms));  // capped at 20 ms before jitter
  CHECK(h.observer.events().back().reason == AbandonReason::kMaxAttempts);
}

TEST_CASE("outbox: a provider's Retry-After is waited for before trying it again", "[outbox]") {
  OutboxConfig c = fast_config();
  c.initial_backoff = 1ms;
  Harness h({"sms-a"}, c);
  h.provider(0).script({temporary(150ms), sent()});
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.wait("c1") == S::kSent);
  const auto received = h.provider(0).received();
  REQUIRE(received.size() == 2);
  CHECK(received[1].at - received[0].at >= 150ms);
}

TEST_CASE("outbox: a temporary failure fails over to the next provider", "[outbox]") {
  Harness h({"sms-a", "sms-b"});
  h.provider(0).set_fallback(temporary());
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.wait("c1") == S::kSent);
  CHECK(h.provider(0).calls() == 1);
  CHECK(h.provider(1).calls() == 1);
  const auto events = h.observer.events();
  CHECK(events[1].state == S::kFailed);
  CHECK(events[1].provider == "sms-a");
  CHECK(events.back().state == S::kSent);
  CHECK(events.back().provider == "sms-b");
}

TEST_CASE("outbox: a provider that keeps failing is skipped for a while, then tried again",
          "[outbox]") {
  OutboxConfig c = fast_config();
  c.provider_failure_threshold = 2;
  c.provider_skip_for = 300ms;
  Harness h({"sms-a", "sms-b"}, c);
  h.provider(0).set_fallback(temporary());
  REQUIRE(h.send("c1").is_ok());
  CHECK(h.wait("c1") == S::kSent);
  REQUIRE(h.send("c2").is_ok());
  CHECK(h.wait("c2") == S::kSent);
  const auto rested_from = std::chrono::steady_clock::now();
  CHECK(h.provider(0).calls() == 2);  // two failures in a row: it rests now
  REQUIRE(h.send("c3").is_ok());
  CHECK(h.wait("c3") == S::kSent);
  CHECK(h.provider(0).calls() == 2);  // skipped
  CHECK(h.provider(1).calls() == 3);
  // Time is what ends the rest: wait it out.
  std::this_thread::sleep_until(rested_from + 350ms);
  REQUIRE(h.send("c4").is_ok());
  CHECK(h.wait("c4") == S::kSent);
  CHECK(h.provider(0).calls() == 3);  // tried again
}
