// Outbox: the Sender that never makes the request thread wait for a mail server or a gateway.
//
// Example:
//   veribind::TemplateSettings settings;
//   settings.app_name = "Acme";
//   auto templates = veribind::Templates::builtin(settings).value();
//   std::vector<std::unique_ptr<veribind::DeliveryProvider>> providers;  // failover order
//   providers.push_back(std::move(twilio));
//   providers.push_back(std::move(webhook));
//   auto outbox = veribind::Outbox::create({}, std::move(templates), std::move(providers), clock);
//   auto verifier = veribind::Verifier::create(config, ring, store, **outbox, clock);
//
// send() renders the message, queues it in memory and returns; a fixed pool of worker threads
// makes the attempts. The rules, per message:
//   - An attempt goes to the channel's providers in the order given, starting after the one
//     that made the previous attempt (so a temporary failure fails over to the next provider,
//     and with one provider retries it), skipping providers that are resting (below).
//   - kSent: done. kPermanent: abandoned at once, with no retry and no failover: a refusal of the
//     destination or the message does not change with another provider, and retrying it would
//     only send a duplicate if the refusal was wrong.
//   - kTemporary: the next attempt waits initial_backoff * 2^(failures - 1), at most max_backoff,
//     with jitter. A provider's Retry-After makes that provider rest at least that long, for
//     every message. No attempt is ever made, or scheduled, at or after the code's expiry (the
//     injected Clock decides); such a message is abandoned, as is one after max_attempts.
//   - Resting: a provider whose last provider_failure_threshold attempts all failed
//     temporarily is not tried for provider_skip_for (other providers take its messages); after
//     that it is tried again, and one more failure makes it rest again. When every provider of a
//     channel rests, the message waits for the first to wake (or is abandoned if that is past its
//     expiry).
//   - A message queued for a challenge id that has a newer message queued (a resend, whose new
//     code voids the old one) is abandoned before its next attempt instead of sending a dead code.
//   - Exactly one worker owns a message while its attempt runs; a slow provider delays only that
//     message: nothing is ever re-queued because an attempt takes long. (A provider that accepts
//     a message but reports a timeout can still cause a duplicate on retry: that is the
//     provider's ambiguity, not the outbox's.)
//   - The code, the destination and the text live only in SecretText (the subject in a string
//     wiped in place), destroyed as soon as the message is sent or abandoned. Nothing is written
//     to disk: messages queued when the process dies are lost, and their codes simply expire.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "veribind/clock.hpp"
#include "veribind/delivery.hpp"
#include "veribind/delivery_events.hpp"
#include "veribind/result.hpp"
#include "veribind/sender.hpp"
#include "veribind/templates.hpp"

namespace veribind {

enum class Jitter : std::uint8_t {
  kNone,  // exactly the backoff: for tests
  kHalf,  // uniform in [backoff / 2, backoff * 3 / 2]: spreads retries, keeps a minimum wait
  kFull,  // uniform in [0, backoff]
};

// Validated by Outbox::create (kInvalidConfig naming the field). Randomness for the jitter comes
// from libsodium.
struct OutboxConfig {
  int workers = 2;                                 // 1..64 threads
  std::size_t capacity = 1024;                     // messages held (queued or in an attempt), >= 1
  std::chrono::milliseconds initial_backoff{500};  // >= 1 ms
  std::chrono::milliseconds max_backoff{30'000};   // >= initial_backoff; caps it before jitter
  Jitter jitter = Jitter::kHalf;
  int max_attempts = 8;                                 // 1..100, over all providers
  int provider_failure_threshold = 3;                   // >= 1 consecutive temporary failures
  std::chrono::milliseconds provider_skip_for{60'000};  // >= 0: how long such a provider rests
  std::size_t recent_results = 4096;                    // final states kept for wait(), >= 1

  [[nodiscard]] Status validate() const;
};

class Outbox final : public Sender {
 public:
  // Validates `config`; takes ownership of `templates` and `providers` (the order given is the
  // failover order within each channel). kInvalidConfig for a null provider, an empty or repeated
  // provider name, or no provider at all. `clock` and `observer` (optional) are not owned and
  // must outlive the Outbox. Starts config.workers threads.
  static Result<std::unique_ptr<Outbox>> create(
      OutboxConfig config, Templates templates,
      std::vector<std::unique_ptr<DeliveryProvider>> providers, const Clock& clock,
      DeliveryObserver* observer = nullptr);

  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  // shutdown(kDestructorDeadline); waits for attempts in progress to return.
  ~Outbox() override;
  static constexpr std::chrono::milliseconds kDestructorDeadline{500};

  // Renders and queues; never blocks, never does I/O (the observer's kQueued event excepted).
  // The Delivery's views are copied. Errors: kOutboxFull when `capacity` messages are held,
  // kUnavailable after shutdown, kDeliveryFailed when no provider serves the channel or the code
  // has already expired, a render error (kInvalidArgument) for a bad purpose or code.
  Status send(const Delivery& delivery) override;
  // What send() does, up to the queue and a worker taking the message, which the worker then
  // drops without an attempt or an event: a refused request costs the request thread what a sent
  // one does. Dropped at once when the outbox is full or shut down.
  void send_decoy(const Delivery& delivery) noexcept override;

  // Blocks until the newest message queued under `challenge_id` (a resend queues another under
  // the same id) reached a final state, and returns it: kSent or kAbandoned.
  // kInvalidArgument if the outbox does not know the id (never queued, or its result dropped out
  // of the recent_results kept); kUnavailable when `timeout` passes first.
  Result<DeliveryState> wait(std::string_view challenge_id, std::chrono::milliseconds timeout);

  // Stops accepting (send() returns kUnavailable), lets the workers make the attempts that fall
  // due before `deadline` passes, then abandons every message left (the observer sees
  // kAbandoned, reason kShutdown) and joins the workers, waiting for attempts in progress to
  // return (a provider's own timeout bounds that). Returns how many messages were abandoned;
  // 0 when called again.
  std::size_t shutdown(std::chrono::milliseconds deadline);

  // Messages held now (queued or in an attempt).
  [[nodiscard]] std::size_t held() const;

 private:
  struct State;  // the queue, the workers and the providers' health (src/delivery/outbox.cpp)
  explicit Outbox(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace veribind
