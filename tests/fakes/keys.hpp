// Key rings for tests: fresh random master keys, never files.
#pragma once

#include "veribind/keys.hpp"

namespace veribind::testing {

inline KeyRing random_ring(std::uint32_t version = 1) {
  return KeyRing::from_master_key(SecretBytes::random(KeyRing::kMasterKeyBytes), version).value();
}

}  // namespace veribind::testing
