// A store that records every operation called on it, in order, with the number of counter steps
// it was given ("create_challenge/5"), then forwards it.
#pragma once

#include <string>
#include <vector>

#include "fakes/forwarding_store.hpp"

namespace veribind::testing {

class CountingStore final : public ForwardingStore {
 public:
  std::vector<std::string> calls;

 protected:
  Status before(std::string_view operation, std::size_t counter_steps) override {
    std::string call(operation);
    if (counter_steps > 0) call += "/" + std::to_string(counter_steps);
    calls.push_back(std::move(call));
    return Status::ok();
  }
};

}  // namespace veribind::testing
