#include <ostream>

#include "veribind/sender.hpp"

namespace veribind {

Status ConsoleSender::send(const Delivery& delivery) {
  // Development only: the code is printed because there is no real channel to carry it.
  *out_ << "[veribind console sender: NO "
        << (delivery.channel == Channel::kPhone ? "SMS" : "EMAIL") << " WAS SENT] "
        << purpose_name(delivery.purpose) << " code for " << delivery.masked_destination << ": "
        << delivery.code << '\n';
  out_->flush();
  if (!*out_) return {ErrorCode::kDeliveryFailed, "console sender could not write"};
  return Status::ok();
}

}  // namespace veribind
