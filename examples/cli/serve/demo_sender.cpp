#include "serve/demo_sender.hpp"

#include <algorithm>

namespace veribind::serve {

void DemoSender::drop_expired(Timestamp now) {
  std::erase_if(codes_, [now](const auto& entry) { return entry.second.expires_at <= now; });
}

Status DemoSender::send(const Delivery& delivery) {
  const Timestamp now = clock_->now();
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = codes_.find(delivery.challenge_id);
  if (it == codes_.end() && codes_.size() >= capacity_) {
    drop_expired(now);
    if (codes_.size() >= capacity_) {
      codes_.erase(std::min_element(codes_.begin(), codes_.end(), [](const auto& a, const auto& b) {
        return a.second.expires_at < b.second.expires_at;
      }));
    }
  }
  Held held{SecretText::copy_of(delivery.code), delivery.expires_at};
  if (it != codes_.end()) {
    it->second = std::move(held);
  } else {
    codes_.emplace(std::string(delivery.challenge_id), std::move(held));
  }
  return Status::ok();
}

std::optional<SecretText> DemoSender::code_for(std::string_view challenge_id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = codes_.find(challenge_id);
  if (it == codes_.end()) return std::nullopt;
  if (it->second.expires_at <= clock_->now()) {
    codes_.erase(it);
    return std::nullopt;
  }
  return SecretText::copy_of(it->second.code.reveal());
}

std::size_t DemoSender::held() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return codes_.size();
}

}  // namespace veribind::serve
