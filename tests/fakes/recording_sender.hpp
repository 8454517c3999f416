// Senders for tests: one that keeps what it was asked to send, one that always fails.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "veribind/sender.hpp"

namespace veribind::testing {

struct SentMessage {
  Channel channel;
  std::string destination;
  std::string masked_destination;
  std::string code;
  Purpose purpose;
  Timestamp expires_at;
};

class RecordingSender final : public Sender {
 public:
  Status send(const Delivery& d) override {
    std::lock_guard lock(mutex_);
    sent_.push_back({d.channel, std::string(d.destination), std::string(d.masked_destination),
                     std::string(d.code), d.purpose, d.expires_at});
    return Status::ok();
  }
  [[nodiscard]] std::vector<SentMessage> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  [[nodiscard]] std::string last_code() const {
    std::lock_guard lock(mutex_);
    return sent_.empty() ? std::string() : sent_.back().code;
  }
  [[nodiscard]] std::size_t count() const {
    std::lock_guard lock(mutex_);
    return sent_.size();
  }
  // Decoys handed over for refused requests (never sent): how many.
  void send_decoy(const Delivery&) noexcept override {
    std::lock_guard lock(mutex_);
    ++decoys_;
  }
  [[nodiscard]] std::size_t decoys() const {
    std::lock_guard lock(mutex_);
    return decoys_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<SentMessage> sent_;
  std::size_t decoys_ = 0;
};

class FailingSender final : public Sender {
 public:
  Status send(const Delivery&) override {
    ++calls;
    return {ErrorCode::kDeliveryFailed, "gateway refused the message"};
  }
  int calls = 0;
};

}  // namespace veribind::testing
