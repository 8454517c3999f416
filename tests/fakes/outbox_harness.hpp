// An outbox over scripted providers with short backoffs, for the outbox tests.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "fakes/scripted_provider.hpp"
#include "veribind/outbox.hpp"

namespace veribind::testing {

using namespace std::chrono_literals;

// TemplateSettings without designated initializers (-Wmissing-field-initializers).
inline TemplateSettings settings(std::string app, std::string domain = "", std::string hash = "",
                                 bool code_in_subject = false) {
  TemplateSettings s;
  s.app_name = std::move(app);
  s.domain = std::move(domain);
  s.android_app_hash = std::move(hash);
  s.code_in_subject = code_in_subject;
  return s;
}

inline constexpr std::string_view kPhone = "+923001234567";
inline constexpr std::string_view kCode = "987654";

// Short backoffs and no jitter, so that the tests are quick and the retry times known.
inline OutboxConfig fast_config() {
  OutboxConfig c;
  c.workers = 2;
  c.initial_backoff = 5ms;
  c.max_backoff = 50ms;
  c.jitter = Jitter::kNone;
  c.max_attempts = 20;
  c.provider_failure_threshold = 100;  // no resting unless a test asks for it
  return c;
}

// An outbox over the given providers; `providers` keeps pointers to them for the test.
struct Harness {
  explicit Harness(std::vector<std::string> names, OutboxConfig config = fast_config(),
                   Channel channel = Channel::kPhone) {
    std::vector<std::unique_ptr<DeliveryProvider>> owned;
    for (const std::string& name : names) {
      auto p = std::make_unique<ScriptedProvider>(name, channel);
      providers.push_back(p.get());
      owned.push_back(std::move(p));
    }
    auto templates = Templates::builtin(settings("Acme", "acme.example"));
    REQUIRE(templates.is_ok());
    auto created =
        Outbox::create(config, std::move(templates).value(), std::move(owned), clock, &observer);
    REQUIRE(created.is_ok());
    outbox = std::move(created).value();
  }

  Status send(const std::string& id, std::chrono::milliseconds lifetime = 10min,
              Channel channel = Channel::kPhone) {
    const Delivery d{channel,
                     channel == Channel::kPhone ? kPhone : "user@example.com",
                     "+92*******67",
                     kCode,
                     Purpose::kLogin,
                     clock.now() + lifetime,
                     id,
                     "en"};
    return outbox->send(d);
  }
  DeliveryState wait(const std::string& id) {
    auto r = outbox->wait(id, 10s);
    REQUIRE(r.is_ok());
    return *r;
  }
  ScriptedProvider& provider(std::size_t i) { return *providers.at(i); }

  FakeClock clock;
  RecordingObserver observer;
  std::vector<ScriptedProvider*> providers;
  std::unique_ptr<Outbox> outbox;  // last: destroyed first, while the rest still exists
};

}  // namespace veribind::testing
