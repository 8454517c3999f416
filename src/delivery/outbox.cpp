#include "veribind/outbox.hpp"

#include <sodium.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

namespace veribind {
namespace {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;
using std::chrono::milliseconds;

// One queued message and what the outbox knows of its attempts. Held by unique_ptr and never
// moved, so that the subject (a plain string in OutgoingMessage) can be wiped where it lies.
struct Message {
  OutgoingMessage out;
  int attempts = 0;
  std::size_t next_position = 0;  // where the next attempt starts in the channel's provider list
  std::uint64_t number = 0;       // order of send() calls
  std::string_view last_provider;
  AttemptResult last;
  bool decoy = false;  // send_decoy(): dropped by the worker that takes it
  Message() = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message() { sodium_memzero(out.subject.data(), out.subject.size()); }
};
using MessagePtr = std::unique_ptr<Message>;

struct ProviderHealth {
  int consecutive_failures = 0;
  SteadyTime rest_until{};  // not tried before this (failures, or its Retry-After)
};

// Queue order: due time, then arrival.
struct QueueKey {
  SteadyTime due;
  std::uint64_t seq = 0;
  bool operator<(const QueueKey& o) const { return due != o.due ? due < o.due : seq < o.seq; }
};

struct FinalState {
  DeliveryState state = DeliveryState::kSent;
  std::uint64_t generation = 0;  // which record in the eviction order is this one
  std::uint64_t number = 0;      // the message's Message::number
};

std::size_t channel_index(Channel c) { return c == Channel::kPhone ? 0 : 1; }

}  // namespace

struct Outbox::State {
  OutboxConfig config;
  Templates templates;
  std::vector<std::unique_ptr<DeliveryProvider>> providers;
  std::array<std::vector<std::size_t>, 2> by_channel;  // provider indexes, in failover order
  const Clock* clock = nullptr;
  DeliveryObserver* observer = nullptr;

  mutable std::mutex mutex;
  std::condition_variable work;     // workers: a message was queued, or stop
  std::condition_variable changed;  // shutdown() and wait(): an attempt ended, a message finished
  std::map<QueueKey, MessagePtr> queue;
  std::uint64_t next_seq = 0;
  std::size_t held = 0;       // queued + owned by a worker + being queued by send()
  std::size_t in_flight = 0;  // owned by a worker
  std::size_t reserving = 0;  // counted in held by send(), not yet in the queue
  // send_decoy()'s messages in the queue: apart from held and its capacity, so that refused
  // requests never crowd out real ones; bounded by the same capacity of their own.
  std::size_t decoys = 0;
  bool accepting = true;
  bool stopping = false;  // workers exit; every message left is abandoned
  bool shutdown_started = false;
  std::size_t shutdown_abandoned = 0;
  std::vector<ProviderHealth> health;
  struct Pending {
    int messages = 0;          // not yet final
    std::uint64_t newest = 0;  // Message::number of the last one queued
  };
  std::unordered_map<std::string, Pending> pending;  // by challenge id
  std::uint64_t next_number = 0;
  std::unordered_map<std::string, FinalState> finals;
  std::deque<std::pair<std::string, std::uint64_t>> final_order;  // oldest first
  std::uint64_t next_generation = 0;
  std::vector<std::thread> threads;

  State(OutboxConfig c, Templates t) : config(c), templates(std::move(t)) {}

  void emit(std::unique_lock<std::mutex>& lock, const DeliveryEvent& event) {
    if (observer == nullptr) return;
    lock.unlock();
    observer->on_delivery_event(event);
    lock.lock();
  }

  DeliveryEvent event_for(const Message& m, DeliveryState state) const {
    DeliveryEvent e;
    e.challenge_id = m.out.challenge_id;
    e.channel = m.out.channel;
    e.provider = m.last_provider;
    e.state = state;
    e.attempt = m.attempts;
    e.attempt_class = m.last.result;
    e.reply_code = m.last.reply_code;
    e.detail = m.last.detail;
    return e;
  }

  milliseconds backoff(int failures) const {
    std::int64_t d = config.initial_backoff.count();
    for (int i = 1; i < failures && d < config.max_backoff.count(); ++i) d *= 2;
    d = std::min<std::int64_t>(d, config.max_backoff.count());
    const auto uniform = [](std::int64_t upto) {  // [0, upto]; upto < 2^32 (validate())
      return static_cast<std::int64_t>(randombytes_uniform(static_cast<std::uint32_t>(upto + 1)));
    };
    switch (config.jitter) {
      case Jitter::kNone: return milliseconds(d);
      case Jitter::kHalf: return milliseconds(d / 2 + uniform(d));
      case Jitter::kFull: return milliseconds(uniform(d));
    }
    return milliseconds(d);
  }

  // Ends a message: the observer hears of it, the message (code, destination, text) is wiped,
  // then wait() can see the final state.
  void finish(std::unique_lock<std::mutex>& lock, MessagePtr m, DeliveryState state,
              AbandonReason reason) {
    DeliveryEvent e = event_for(*m, state);
    e.reason = reason;
    emit(lock, e);
    std::string id = m->out.challenge_id;
    const std::uint64_t number = m->number;
    m.reset();
    if (reason == AbandonReason::kShutdown) ++shutdown_abandoned;
    --held;
    changed.notify_all();
    // Only the newest message of a challenge id gives wait() its answer.
    bool newest = true;
    if (auto it = pending.find(id); it != pending.end()) {
      newest = it->second.newest == number;
      if (--it->second.messages <= 0) pending.erase(it);
    }
    if (!newest) return;
    const std::uint64_t generation = next_generation++;
    finals[id] = {state, generation, number};
    final_order.emplace_back(std::move(id), generation);
    while (final_order.size() > config.recent_results) {
      auto& [old_id, old_generation] = final_order.front();
      if (auto it = finals.find(old_id);
          it != finals.end() && it->second.generation == old_generation) {
        finals.erase(it);
      }
      final_order.pop_front();
    }
  }

  void requeue(std::unique_lock<std::mutex>& lock, MessagePtr m, SteadyTime due) {
    if (stopping) {  // shutdown() already swept the queue
      finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kShutdown);
      return;
    }
    queue.emplace(QueueKey{due, next_seq++}, std::move(m));
    work.notify_one();
  }

  // True when `wait` from now reaches the message's expiry on the injected clock.
  bool past_expiry(const Message& m, SteadyClock::duration wait) const {
    const auto remaining = m.out.expires_at - clock->now();
    return wait >= remaining;
  }

  [[nodiscard]] Result<std::unique_ptr<Message>> prepare(const Delivery& delivery) const;
  void attempt(std::unique_lock<std::mutex>& lock, MessagePtr m);
  void run_worker();
};

void Outbox::State::attempt(std::unique_lock<std::mutex>& lock, MessagePtr m) {
  // A resend queued a newer code under the same challenge id: this one no longer verifies.
  if (!m->out.challenge_id.empty() && pending[m->out.challenge_id].newest != m->number) {
    finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kSuperseded);
    return;
  }
  if (past_expiry(*m, SteadyClock::duration::zero())) {
    finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kExpired);
    return;
  }
  const std::vector<std::size_t>& list = by_channel[channel_index(m->out.channel)];
  const SteadyTime now = SteadyClock::now();
  std::optional<std::size_t> position;
  SteadyTime first_awake = SteadyTime::max();
  for (std::size_t k = 0; k < list.size() && !position; ++k) {
    const std::size_t p = (m->next_position + k) % list.size();
    if (health[list[p]].rest_until <= now) {
      position = p;
    } else {
      first_awake = std::min(first_awake, health[list[p]].rest_until);
    }
  }
  if (!position) {  // every provider rests: wait for the first to wake, if the code lives
    if (past_expiry(*m, first_awake - now)) {
      finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kExpired);
    } else {
      requeue(lock, std::move(m), first_awake);
    }
    return;
  }
  const std::size_t index = list[*position];
  DeliveryProvider& provider = *providers[index];
  ++m->attempts;
  m->last_provider = provider.name();
  lock.unlock();
  AttemptResult result;
  try {
    result = provider.deliver(m->out);
  } catch (...) {  // a provider must not throw; if one does, the worker survives it
    result = {AttemptClass::kTemporary, 0, milliseconds(0), "provider threw an exception"};
  }
  lock.lock();

  ProviderHealth& h = health[index];
  const SteadyTime after = SteadyClock::now();
  if (result.result == AttemptClass::kTemporary) {
    if (++h.consecutive_failures >= config.provider_failure_threshold) {
      h.rest_until = std::max(h.rest_until, after + config.provider_skip_for);
    }
  } else {  // sent, or a refusal of this message: either way the provider answers
    h.consecutive_failures = 0;
  }
  if (result.retry_after > milliseconds(0)) {
    h.rest_until = std::max(h.rest_until, after + result.retry_after);
  }
  m->last = std::move(result);

  if (m->last.result == AttemptClass::kSent) {
    finish(lock, std::move(m), DeliveryState::kSent, AbandonReason::kNone);
    return;
  }
  emit(lock, event_for(*m, DeliveryState::kFailed));
  if (m->last.result == AttemptClass::kPermanent) {
    finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kPermanent);
    return;
  }
  if (stopping) {
    finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kShutdown);
    return;
  }
  if (m->attempts >= config.max_attempts) {
    finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kMaxAttempts);
    return;
  }
  const milliseconds delay = backoff(m->attempts);
  if (past_expiry(*m, delay)) {
    finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kExpired);
    return;
  }
  m->next_position = (*position + 1) % list.size();
  DeliveryEvent retrying = event_for(*m, DeliveryState::kRetrying);
  retrying.retry_in = delay;
  emit(lock, retrying);
  requeue(lock, std::move(m), SteadyClock::now() + delay);
}

void Outbox::State::run_worker() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (queue.empty()) {
      work.wait(lock);
      continue;
    }
    const SteadyTime due = queue.begin()->first.due;
    if (due > SteadyClock::now()) {
      work.wait_until(lock, due);
      continue;
    }
    // Taken out of the queue: from here until it is requeued or finished, this worker alone
    // holds the message, however long the attempt takes.
    MessagePtr m = std::move(queue.extract(queue.begin()).mapped());
    if (m->decoy) {  // never attempted, never reported, never waited for
      m.reset();
      --decoys;
      continue;
    }
    ++in_flight;
    attempt(lock, std::move(m));
    --in_flight;
    changed.notify_all();
  }
}

Result<std::unique_ptr<Outbox>> Outbox::create(
    OutboxConfig config, Templates templates,
    std::vector<std::unique_ptr<DeliveryProvider>> providers, const Clock& clock,
    DeliveryObserver* observer) {
  if (Status s = config.validate(); !s) return s;
  if (providers.empty()) return Status(ErrorCode::kInvalidConfig, "no delivery provider");
  if (sodium_init() < 0) return Status(ErrorCode::kInternal, "libsodium failed to initialise");
  auto state = std::make_unique<State>(config, std::move(templates));
  for (std::size_t i = 0; i < providers.size(); ++i) {
    if (providers[i] == nullptr) {
      return Status(ErrorCode::kInvalidConfig, "a delivery provider is null");
    }
    const std::string_view name = providers[i]->name();
    if (name.empty()) return Status(ErrorCode::kInvalidConfig, "a provider has an empty name");
    for (std::size_t j = 0; j < i; ++j) {
      if (providers[j]->name() == name) {
        return Status(ErrorCode::kInvalidConfig, "two providers are named " + std::string(name));
      }
    }
    const Channel channel = providers[i]->channel();
    if (channel != Channel::kPhone && channel != Channel::kEmail) {
      return Status(ErrorCode::kInvalidConfig, "provider " + std::string(name) + ": bad channel");
    }
    state->by_channel[channel_index(channel)].push_back(i);
  }
  state->providers = std::move(providers);
  state->health.resize(state->providers.size());
  state->clock = &clock;
  state->observer = observer;
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(state)));
  try {
    for (int i = 0; i < config.workers; ++i) {
      State* s = outbox->state_.get();
      outbox->state_->threads.emplace_back([s] { s->run_worker(); });
    }
  } catch (const std::system_error&) {
    return Status(ErrorCode::kInternal, "cannot start the outbox's worker threads");
  }
  return outbox;
}

Outbox::Outbox(std::unique_ptr<State> state) : state_(std::move(state)) {}

Outbox::~Outbox() { shutdown(kDestructorDeadline); }

// The work send() and send_decoy() share: validation, rendering and the copies into a message.
Result<std::unique_ptr<Message>> Outbox::State::prepare(const Delivery& delivery) const {
  if (delivery.channel != Channel::kPhone && delivery.channel != Channel::kEmail) {
    return Status(ErrorCode::kInvalidArgument, "unknown channel");
  }
  if (by_channel[channel_index(delivery.channel)].empty()) {
    return Status(ErrorCode::kDeliveryFailed, "no delivery provider serves the channel");
  }
  const Timestamp now = clock->now();
  if (delivery.expires_at <= now) {
    return Status(ErrorCode::kDeliveryFailed, "the code expired before it was queued");
  }
  const auto lifetime = std::chrono::ceil<std::chrono::minutes>(delivery.expires_at - now);
  auto rendered = templates.render(delivery.channel, delivery.purpose, delivery.locale,
                                   delivery.code, lifetime);
  if (!rendered) return rendered.status();
  auto m = std::make_unique<Message>();
  m->out.channel = delivery.channel;
  m->out.challenge_id = std::string(delivery.challenge_id);
  m->out.destination = SecretText::copy_of(delivery.destination);
  m->out.subject.reserve(rendered->subject.size());
  m->out.subject.assign(rendered->subject.reveal());
  m->out.text = std::move(rendered->text);
  m->out.html = std::move(rendered->html);
  m->out.expires_at = delivery.expires_at;
  return m;
}

Status Outbox::send(const Delivery& delivery) try {
  State& s = *state_;
  auto prepared = s.prepare(delivery);
  if (!prepared) return prepared.status();
  MessagePtr m = std::move(prepared).value();

  std::unique_lock lock(s.mutex);
  if (!s.accepting) return {ErrorCode::kUnavailable, "the outbox has shut down"};
  if (s.held >= s.config.capacity) return {ErrorCode::kOutboxFull, "the outbox is full"};
  // The one step that may throw (it allocates), taken before any count moves.
  State::Pending& p = s.pending[m->out.challenge_id];
  ++s.held;
  ++s.reserving;
  m->number = ++s.next_number;
  ++p.messages;
  p.newest = m->number;
  // Queued is reported before a worker can see the message, so that events arrive in order.
  s.emit(lock, s.event_for(*m, DeliveryState::kQueued));
  --s.reserving;
  s.requeue(lock, std::move(m), SteadyClock::now());
  s.changed.notify_all();
  return Status::ok();
} catch (const std::exception&) {  // out of memory: nothing was queued, no count moved
  return {ErrorCode::kInternal, "the outbox could not take the message"};
}

void Outbox::send_decoy(const Delivery& delivery) noexcept {
  State& s = *state_;
  try {
    auto prepared = s.prepare(delivery);
    if (!prepared) return;
    MessagePtr m = std::move(prepared).value();
    m->decoy = true;
    std::unique_lock lock(s.mutex);
    if (!s.accepting || s.stopping || s.decoys >= s.config.capacity) return;
    ++s.decoys;
    m->number = ++s.next_number;
    s.requeue(lock, std::move(m), SteadyClock::now());
    s.changed.notify_all();
  } catch (...) {  // out of memory: a decoy that is not queued changes nothing else
  }
}

Result<DeliveryState> Outbox::wait(std::string_view challenge_id, milliseconds timeout) {
  State& s = *state_;
  const std::string id(challenge_id);
  std::unique_lock lock(s.mutex);
  if (!s.pending.contains(id) && !s.finals.contains(id)) {
    return Status(ErrorCode::kInvalidArgument, "the outbox does not know that challenge id");
  }
  const auto newest_final = [&] {
    const auto p = s.pending.find(id);
    if (p == s.pending.end()) return true;
    const auto f = s.finals.find(id);
    return f != s.finals.end() && f->second.number == p->second.newest;
  };
  if (!s.changed.wait_for(lock, timeout, newest_final)) {
    return Status(ErrorCode::kUnavailable, "timed out before the message was sent or abandoned");
  }
  const auto it = s.finals.find(id);
  if (it == s.finals.end()) {
    return Status(ErrorCode::kInvalidArgument, "the result is no longer kept");
  }
  return it->second.state;
}

std::size_t Outbox::shutdown(milliseconds deadline) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.shutdown_started) return 0;
  s.shutdown_started = true;
  s.accepting = false;
  const SteadyTime until = SteadyClock::now() + deadline;
  // Drain: done early once nothing runs and nothing falls due before the deadline.
  s.changed.wait_until(lock, until, [&] {
    return s.reserving == 0 && s.in_flight == 0 &&
           (s.queue.empty() || s.queue.begin()->first.due > until);
  });
  s.stopping = true;
  s.changed.wait(lock, [&] { return s.reserving == 0; });
  std::vector<MessagePtr> left;
  for (auto& [key, m] : s.queue) left.push_back(std::move(m));
  s.queue.clear();
  s.work.notify_all();
  for (MessagePtr& m : left) {
    if (m->decoy) {
      m.reset();
      --s.decoys;
      continue;
    }
    s.finish(lock, std::move(m), DeliveryState::kAbandoned, AbandonReason::kShutdown);
  }
  lock.unlock();
  for (std::thread& t : s.threads) t.join();
  lock.lock();
  return s.shutdown_abandoned;
}

std::size_t Outbox::held() const {
  std::lock_guard lock(state_->mutex);
  return state_->held;
}

}  // namespace veribind
