// A store that fails every operation with kUnavailable while `down` is set, and otherwise
// forwards to a MemoryStore. Counts operations, so tests can show a refused call touched nothing.
#pragma once

#include <atomic>

#include "fakes/forwarding_store.hpp"

namespace veribind::testing {

class FailingStore final : public ForwardingStore {
 public:
  std::atomic<bool> down{false};
  // Fails audit appends only, so a test can let the lookup succeed and the append fail.
  std::atomic<bool> append_down{false};
  std::atomic<int> operations{0};

 protected:
  Status before(std::string_view operation, std::size_t) override {
    ++operations;
    if (down) return {ErrorCode::kUnavailable, "store is down (test double)"};
    if (append_down && operation == "append_audit") {
      return {ErrorCode::kUnavailable, "audit append is down (test double)"};
    }
    return Status::ok();
  }
};

}  // namespace veribind::testing
