// Delivery providers for outbox tests: one that answers from a script, records what it got and
// can hold an attempt until the test releases it; one observer that keeps every event.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "veribind/delivery.hpp"
#include "veribind/delivery_events.hpp"

namespace veribind::testing {

struct ReceivedMessage {
  std::string challenge_id;
  std::string destination;
  std::string subject;
  std::string text;
  std::string html;
  std::chrono::steady_clock::time_point at;
};

class ScriptedProvider final : public DeliveryProvider {
 public:
  ScriptedProvider(std::string name, Channel channel) : name_(std::move(name)), channel_(channel) {}

  // Answers in order; once the script runs out, every attempt gets `fallback`.
  void script(std::vector<AttemptResult> results) {
    std::lock_guard lock(mutex_);
    for (auto& r : results) script_.push_back(std::move(r));
  }
  void set_fallback(AttemptResult r) {
    std::lock_guard lock(mutex_);
    fallback_ = std::move(r);
  }
  // Attempts block (after being recorded) until release().
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    changed_.notify_all();
  }

  [[nodiscard]] std::string_view name() const noexcept override { return name_; }
  [[nodiscard]] Channel channel() const noexcept override { return channel_; }
  AttemptResult deliver(const OutgoingMessage& m) override {
    std::unique_lock lock(mutex_);
    received_.push_back({m.challenge_id, std::string(m.destination.reveal()), m.subject,
                         std::string(m.text.reveal()), std::string(m.html.reveal()),
                         std::chrono::steady_clock::now()});
    ++calls_per_message_[m.challenge_id];
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
    if (script_.empty()) return fallback_;
    AttemptResult r = std::move(script_.front());
    script_.pop_front();
    return r;
  }

  [[nodiscard]] std::size_t calls() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  [[nodiscard]] std::vector<ReceivedMessage> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  [[nodiscard]] std::map<std::string, int> calls_per_message() const {
    std::lock_guard lock(mutex_);
    return calls_per_message_;
  }
  // Waits until at least `n` attempts were made; false on timeout.
  bool wait_for_calls(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
  }

 private:
  std::string name_;
  Channel channel_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<AttemptResult> script_;
  AttemptResult fallback_{AttemptClass::kSent, 250, std::chrono::milliseconds(0), "ok"};
  bool held_ = false;
  std::vector<ReceivedMessage> received_;
  std::map<std::string, int> calls_per_message_;
};

inline AttemptResult sent() {
  return {AttemptClass::kSent, 250, std::chrono::milliseconds(0), "ok"};
}
inline AttemptResult temporary(std::chrono::milliseconds retry_after = {}) {
  return {AttemptClass::kTemporary, 451, retry_after, "smtp reply 451"};
}
inline AttemptResult permanent() {
  return {AttemptClass::kPermanent, 550, std::chrono::milliseconds(0), "smtp reply 550"};
}

struct RecordedEvent {
  std::string challenge_id;
  Channel channel;
  std::string provider;
  DeliveryState state;
  int attempt;
  AttemptClass attempt_class;
  int reply_code;
  std::string detail;
  AbandonReason reason;
  std::chrono::milliseconds retry_in;
};

class RecordingObserver final : public DeliveryObserver {
 public:
  void on_delivery_event(const DeliveryEvent& e) noexcept override {
    std::lock_guard lock(mutex_);
    events_.push_back({std::string(e.challenge_id), e.channel, std::string(e.provider), e.state,
                       e.attempt, e.attempt_class, e.reply_code, std::string(e.detail), e.reason,
                       e.retry_in});
  }
  [[nodiscard]] std::vector<RecordedEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // The states one message went through, in order.
  [[nodiscard]] std::vector<DeliveryState> states_of(const std::string& id) const {
    std::lock_guard lock(mutex_);
    std::vector<DeliveryState> states;
    for (const auto& e : events_) {
      if (e.challenge_id == id) states.push_back(e.state);
    }
    return states;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<RecordedEvent> events_;
};

}  // namespace veribind::testing
