// start() with delivery behind an Outbox: whether a code is sent no longer shows in start()'s
// time. Without it, start() called the Sender (the gateway request) only for a sent code, so its
// time told a sent code from a refused one; the Outbox renders the message, queues it in memory
// and returns, and its workers make the gateway request. Each iteration is one start(), with the
// uniform pairs' machinery (uniform_bench.hpp: a fresh store, a clock that stands still, one
// configuration for both sides of a pair):
//   BM_Start_Sent/outbox                a code queued for a number last sent one 40 s ago, SQLite
//   BM_Start_Refused/outbox             refused by the resend cooldown, SQLite
//   BM_Start_Sent/direct_sender         as BM_Start_Sent/outbox, but the Sender makes the gateway
//                                       request itself, as start() used to wait for it
//   BM_Start_Sent/outbox_memory         BM_Start_Sent/outbox on a MemoryStore
//   BM_Start_Refused/outbox_memory      BM_Start_Refused/outbox on a MemoryStore
// The pairs' gateway accepts at once, and the Outbox has its default 2 workers: between messages
// the workers are idle, as in a service that is not saturated, so that a sent code and a refused
// one (whose decoy the Outbox queues and a worker drops, Sender::send_decoy) each wake a worker.
// (With a slow gateway and a growing queue a sent code would find every worker busy and wake
// none, which is not the state an attacker probing one number meets.) direct_sender's gateway
// takes 2 ms, a request to a nearby SMS gateway, called on the request thread as start() once
// did. Before each repetition (untimed) every outbox here is drained, so that each repetition
// starts from an empty queue and no worker of an earlier benchmark runs into a later one.
// Working set: the sent benchmarks walk iterations x repetitions numbers with history (10^4;
// 10^3 for direct_sender), the refused ones as many numbers within the cooldown, each used once,
// so that both sides of a pair touch as many rows; a sent repetition queues 2000 messages, a
// refused one none.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fresh_sqlite.hpp"
#include "uniform_bench.hpp"
#include "veribind/delivery.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/outbox.hpp"
#include "veribind/templates.hpp"

namespace vb = veribind;
namespace uniform = vb::bench::uniform;

namespace {

constexpr std::chrono::milliseconds kGatewayTime{2};
constexpr int kWorkers = 2;  // OutboxConfig's default
constexpr std::size_t kOutboxCapacity = 20000;
constexpr int kDirectIterations = 200;  // 2 ms each: 10x fewer than the pairs' 2000

// An SMS gateway as seen from a nearby server: the request takes ~2 ms and the gateway accepts.
// Sleeping, not spinning: a worker waiting on a gateway holds no core.
class TwoMillisecondGateway final : public vb::DeliveryProvider {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "bench-gateway"; }
  [[nodiscard]] vb::Channel channel() const noexcept override { return vb::Channel::kPhone; }
  [[nodiscard]] vb::AttemptResult deliver(const vb::OutgoingMessage&) override {
    std::this_thread::sleep_for(kGatewayTime);
    return {vb::AttemptClass::kSent, 200, std::chrono::milliseconds(0), "accepted"};
  }
};

// The pairs' gateway: accepts at once, so that the outbox's workers are idle between messages.
class InstantGateway final : public vb::DeliveryProvider {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "bench-gateway"; }
  [[nodiscard]] vb::Channel channel() const noexcept override { return vb::Channel::kPhone; }
  [[nodiscard]] vb::AttemptResult deliver(const vb::OutgoingMessage&) override {
    return {vb::AttemptClass::kSent, 200, std::chrono::milliseconds(0), "accepted"};
  }
};

vb::Templates bench_templates() {
  vb::TemplateSettings settings;
  settings.app_name = "Acme";
  settings.domain = "acme.example";
  return vb::Templates::builtin(settings).value();
}

// What start() did before the outbox: the Sender renders the message the outbox would and makes
// the gateway request before returning.
class DirectSender final : public vb::Sender {
 public:
  vb::Status send(const vb::Delivery& d) override {
    auto rendered = templates_.render(d.channel, d.purpose, d.locale, d.code,
                                      std::chrono::ceil<std::chrono::minutes>(d.expires_at - now_));
    if (!rendered) return rendered.status();
    vb::OutgoingMessage m;
    m.channel = d.channel;
    m.challenge_id = std::string(d.challenge_id);
    m.destination = vb::SecretText::copy_of(d.destination);
    m.text = std::move(rendered->text);
    m.expires_at = d.expires_at;
    if (gateway_.deliver(m).result != vb::AttemptClass::kSent) {
      return {vb::ErrorCode::kDeliveryFailed, "the gateway refused the message"};
    }
    return vb::Status::ok();
  }

 private:
  vb::Templates templates_ = bench_templates();
  TwoMillisecondGateway gateway_;
  vb::Timestamp now_ = uniform::kNow;
};

// Every outbox made here, to drain them all before a repetition.
std::vector<std::weak_ptr<vb::Outbox>>& outboxes() {
  static std::vector<std::weak_ptr<vb::Outbox>> all;
  return all;
}

void drain_outboxes() {
  for (const auto& weak : outboxes()) {
    if (auto outbox = weak.lock()) {
      while (outbox->held() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

// An Outbox over the gateway, with a still clock of its own: setup moves the verifier's clock
// back while the workers read theirs. The clock lives beside the outbox and outlives it.
std::shared_ptr<vb::Sender> make_outbox() {
  struct Owned {
    uniform::StillClock clock;
    std::unique_ptr<vb::Outbox> outbox;
  };
  auto owned = std::make_shared<Owned>();
  vb::OutboxConfig config;
  config.workers = kWorkers;
  config.capacity = kOutboxCapacity;
  std::vector<std::unique_ptr<vb::DeliveryProvider>> providers;
  providers.push_back(std::make_unique<InstantGateway>());
  auto outbox = vb::Outbox::create(config, bench_templates(), std::move(providers), owned->clock);
  if (!outbox) std::abort();
  owned->outbox = std::move(outbox).value();
  outboxes().push_back(std::shared_ptr<vb::Outbox>(owned, owned->outbox.get()));
  return std::shared_ptr<vb::Sender>(owned, owned->outbox.get());
}

template <typename MakeSender>
uniform::OpenStore sqlite_with(MakeSender make_sender) {
  return [make_sender](int max_failed_checks) {
    return std::make_unique<uniform::Rig>(vb::bench::open_fresh_sqlite_store(), max_failed_checks,
                                          make_sender());
  };
}

uniform::OpenStore memory_with_outbox() {
  return [](int max_failed_checks) {
    return std::make_unique<uniform::Rig>(std::make_unique<vb::MemoryStore>(), max_failed_checks,
                                          make_outbox());
  };
}

void sent(benchmark::State& state, uniform::Rig& rig) {
  drain_outboxes();
  uniform::run_starts(state, rig, vb::Limit::kNone);
}

void refused(benchmark::State& state, uniform::Rig& rig) {
  drain_outboxes();
  uniform::run_starts(state, rig, vb::Limit::kResendCooldown);
}

// Registers the pair over `open` as "<name>/<suffix>".
void register_pair(const std::string& suffix, const uniform::OpenStore& open) {
  const int uses = uniform::kIterations * uniform::kRepetitions;
  uniform::register_rigged("BM_Start_Sent/" + suffix, open, uniform::kStartMaxFailedChecks, sent,
                           [uses](uniform::Rig& r) {
                             uniform::setup_sent_with_history(r, uses);
                             drain_outboxes();
                           });
  uniform::register_rigged("BM_Start_Refused/" + suffix, open, uniform::kStartMaxFailedChecks,
                           refused, [uses](uniform::Rig& r) {
                             uniform::setup_refused_cooldown(r, uses);
                             drain_outboxes();
                           });
}

const bool registered = [] {
  register_pair("outbox", sqlite_with(make_outbox));
  const int direct_uses = kDirectIterations * uniform::kRepetitions;
  uniform::register_rigged(
      "BM_Start_Sent/direct_sender",
      sqlite_with([] { return std::shared_ptr<vb::Sender>(std::make_shared<DirectSender>()); }),
      uniform::kStartMaxFailedChecks, sent,
      [direct_uses](uniform::Rig& r) { uniform::setup_sent_with_history(r, direct_uses); },
      kDirectIterations);
  register_pair("outbox_memory", memory_with_outbox());
  return true;
}();

}  // namespace
